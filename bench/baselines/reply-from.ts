/**
 * Baseline (b) "reply-from (no auth)": a bare @fastify/reply-from proxy over an undici Pool, bodies left
 * unparsed and streamed both ways. No authentication, no logging: the floor a Fastify gateway starts from.
 */
import replyFrom from '@fastify/reply-from'
import Fastify from 'fastify'
import { Pool } from 'undici'
import { listenPort, upstreamUrl } from './headers.js'

const app = Fastify({ logger: false })
await app.register(replyFrom, { base: upstreamUrl(), undici: new Pool(upstreamUrl(), { connections: 200, pipelining: 1 }) as never, disableRequestLogging: true })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
app.all('/*', (_request, reply) => { reply.from() })

const address = await app.listen({ port: listenPort(), host: '127.0.0.1' })
process.stdout.write(`LISTENING ${new URL(address).port}\n`)
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
