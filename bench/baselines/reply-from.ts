/**
 * Baseline (b) "reply-from (no auth)": a bare @fastify/reply-from proxy over an undici Pool, bodies left
 * unparsed and streamed both ways. No authentication, no logging: the floor a Fastify gateway starts from.
 * With ACCESS_LOG=1, baseline bl: the same proxy with Fastify's own logger at info, writing one line per
 * request (Fastify's "request completed", its default pino destination on stdout) as the gateway does at INFO.
 */
import replyFrom from '@fastify/reply-from'
import Fastify, { LogController } from 'fastify'
import { Pool } from 'undici'
import { listenPort, upstreamUrl } from './headers.js'

const accessLog = process.env.ACCESS_LOG === '1'
const app = Fastify(accessLog ? { logger: { level: 'info' }, logController: new LogController({ disableRequestLogging: true }) } : { logger: false })
if (accessLog) {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ res: reply, responseTime: reply.elapsedTime }, 'request completed')
    done()
  })
}
await app.register(replyFrom, { base: upstreamUrl(), undici: new Pool(upstreamUrl(), { connections: 200, pipelining: 1 }) as never, disableRequestLogging: true })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
app.all('/*', (_request, reply) => { reply.from() })

const address = await app.listen({ port: listenPort(), host: '127.0.0.1' })
process.stdout.write(`LISTENING ${new URL(address).port}\n`)
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
