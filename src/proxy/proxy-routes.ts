import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { payloadTooLarge } from '../errors.js'
import { context as otelContext } from '@opentelemetry/api'
import { traceOf } from '../observability/tracing.js'
import { processTime } from '../observability/request-log.js'
import { discardRestOfBody } from './body-limit.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js'
import { failureToAnswer, forward } from './forward.js'
import type { RouteForwarder } from './route-forwarder.js'
import type { ProxyRoute } from './route-table.js'

/**
 * Proxied bodies are never parsed: every content type is accepted here and left unread on the raw
 * request, to be streamed upstream by the handler.
 */
export function acceptAnyBodyUnread (context: FastifyInstance): void {
  context.removeAllContentTypeParsers()
  context.addContentTypeParser('*', (_request, _payload, done) => done(null))
}

function proxyHandler (forwarder: RouteForwarder) {
  const route = forwarder.route
  return async function handle (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const path = forwarder.upstreamPath(request.raw.url ?? '')
    if (forwarder.declaresTooLarge(request.headers)) {
      discardRestOfBody(request.raw, reply.raw)
      throw payloadTooLarge(route.maxBodyBytes)
    }
    const trace = traceOf(request.raw)
    const call = forwarder.call(request.raw, path, upstreamRequestHeaders(request.headers, {
      requestId: request.id,
      clientIp: request.ip,
      protocol: request.protocol,
      traceparent: trace?.traceparent,
      identity: request.identity,
      forwardCredentials: route.auth === 'none',
    }))

    await new Promise<void>((resolve, reject) => {
      const send = (): void => forward(call, reply.raw, {
        head (statusCode, rawHeaders, latencyMs) {
          request.upstream = { name: route.name, latencyMs }
          // The head is written here, so Fastify's onSend never runs: the gateway's headers are added now.
          reply.hijack()
          reply.raw.writeHead(statusCode, clientResponseHeaders(rawHeaders, {
            ...reply.getHeaders(), 'x-request-id': request.id, 'x-process-time': processTime(reply.elapsedTime),
          }))
        },
        settled (error, outcome) {
          const answer = error ? failureToAnswer(error, outcome, request.raw, reply.raw, request.log, route.name) : undefined
          if (answer) return reject(answer)
          // A client gone before the head: 499 for the logs and metrics (nothing reaches it).
          if (!reply.raw.headersSent) reply.code(499).send()
          resolve()
        },
      })
      // With OpenTelemetry, the upstream call runs in the server span's context: undici's instrumentation makes it a child.
      if (trace?.context) otelContext.with(trace.context, send)
      else send()
    })
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The upstream a proxied route forwards to, for metrics. */
    upstream?: string
  }
}

type RouteHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/**
 * Registers `routes` in `context`, whose hooks (authentication or none) then apply to all of them;
 * `hooksFor` adds each route's own (rate limits), which run after the context's.
 */
export function registerProxyRoutes (context: FastifyInstance, forwarders: readonly RouteForwarder[], hooksFor: (route: ProxyRoute) => RouteHook[]): void {
  for (const forwarder of forwarders) {
    const route = forwarder.route
    const handler = proxyHandler(forwarder)
    const onRequest = hooksFor(route)
    const urls = route.exact ? [route.path] : [route.path, `${route.path}/*`]
    for (const url of urls) {
      const schema = {
        tags: ['proxy'],
        summary: `Streamed to the ${route.name} upstream as ${route.upstreamPath}${route.exact ? '' : '/…'}${route.auth === 'strict' ? ' (StrictAuth)' : ''}`,
        ...(route.auth === 'strict' ? { security: [{ bearerAuth: [] }] } : {}),
        // Documented from the route table (server/openapi.ts), not from these routes.
        hide: true,
      }
      context.route({ method: [...route.methods], url, exposeHeadRoute: false, schema, onRequest, handler, config: { upstream: route.name } })
    }
  }
}
