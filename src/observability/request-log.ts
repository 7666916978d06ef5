import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { traceOf, type RequestTracing } from './tracing.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Filled by the proxy: which upstream served the request and how long it took to answer. */
    upstream: { name: string, latencyMs: number } | null
  }
}

function pathOf (url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

/** The X-Process-Time value for `elapsedMs`. */
export const processTime = (elapsedMs: number): string => `${elapsedMs.toFixed(2)}ms`

/**
 * X-Request-ID and X-Process-Time on every response (404s and errors included), and one access-log
 * line per request. The query string is left out of the log: it may carry tickets or tokens.
 */
export function registerRequestObservability (app: FastifyInstance, tracing: RequestTracing): void {
  app.decorateRequest('upstream', null)
  // The level is fixed at startup: below INFO the access line is not even built.
  const accessLog = (app.log as unknown as Logger).isLevelEnabled('info')

  // One onSend hook sets both: it runs for every answer, errors and 404s included (each hook is a per-request cost).
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    reply.header('x-process-time', processTime(reply.elapsedTime))
    done(null, payload)
  })

  app.addHook('onRequestAbort', (request, done) => {
    request.log.info({ method: request.method, path: pathOf(request.url), user_id: request.identity?.userId, upstream: request.upstream?.name },
      'client closed the connection before the response completed')
    done()
  })

  if (tracing.enabled) {
    app.addHook('onResponse', (request, reply, done) => {
      const trace = traceOf(request.raw)
      if (trace) {
        tracing.end(trace, {
          method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, upstream: request.upstream?.name, companyId: request.identity?.companyId,
        })
      }
      done()
    })
  }

  if (!accessLog) return
  app.addHook('onResponse', (request, reply, done) => {
    const identity = request.identity
    request.log.info({
      method: request.method,
      path: pathOf(request.url),
      status: reply.statusCode,
      duration_ms: Number(reply.elapsedTime.toFixed(2)),
      user_id: identity?.userId,
      company_id: identity?.companyId,
      upstream: request.upstream?.name,
      upstream_latency_ms: request.upstream ? Number(request.upstream.latencyMs.toFixed(2)) : undefined,
    }, 'request completed')
    done()
  })
}
