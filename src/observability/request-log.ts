import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Identity } from '../auth/identity.js'
import { traceOf, type RequestTracing } from './tracing.js'

/** Which upstream served a request, and how long it took to answer (its response head). */
export interface UpstreamTiming {
  readonly name: string
  readonly latencyMs: number
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Filled by the proxy: which upstream served the request and how long it took to answer. */
    upstream: UpstreamTiming | null
  }
}

export function pathOf (url: string): string {
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
    request.log.info({ method: request.method, path: pathOf(request.url), user_id: request.identity?.userId, upstream: request.upstream?.name }, CLIENT_GONE_MESSAGE)
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
    request.log.info(accessLogFields(request.method, request.url, reply.statusCode, reply.elapsedTime, request.identity, request.upstream), ACCESS_LOG_MESSAGE)
    done()
  })
}

export const ACCESS_LOG_MESSAGE = 'request completed'
export const CLIENT_GONE_MESSAGE = 'client closed the connection before the response completed'

/** The access-log line's fields (the query string left out). */
export function accessLogFields (method: string, url: string, status: number, elapsedMs: number, identity: Identity | null, upstream: UpstreamTiming | null) {
  return {
    method,
    path: pathOf(url),
    status,
    duration_ms: Number(elapsedMs.toFixed(2)),
    user_id: identity?.userId,
    company_id: identity?.companyId,
    upstream: upstream?.name,
    upstream_latency_ms: upstream ? Number(upstream.latencyMs.toFixed(2)) : undefined,
  }
}
