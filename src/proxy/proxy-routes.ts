import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { payloadTooLarge } from '../errors.js'
import { context as otelContext } from '@opentelemetry/api'
import { traceOf } from '../observability/tracing.js'
import { discardRestOfBody, limitedBody } from './body-limit.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js'
import { upstreamTarget } from './path-safety.js'
import type { ProxyRoute } from './route-table.js'
import { BodyTooLargeError, upstreamFailure } from './upstream-errors.js'
import type { UpstreamPools } from './upstream-pools.js'

function hasBody (request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Proxied bodies are never parsed: every content type is accepted here and left unread on the raw
 * request, to be streamed upstream by the handler.
 */
export function acceptAnyBodyUnread (context: FastifyInstance): void {
  context.removeAllContentTypeParsers()
  context.addContentTypeParser('*', (_request, _payload, done) => done(null))
}

function proxyHandler (route: ProxyRoute, pools: UpstreamPools) {
  const { pool, basePath } = pools.upstreamFor(route.upstreamUrl)
  const upstreamPath = basePath + route.upstreamPath

  return async function forward (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const path = upstreamTarget(request.raw.url ?? '', route.path, route.exact, upstreamPath)
    let body: ReturnType<typeof limitedBody> | undefined
    if (hasBody(request)) {
      if (Number(request.headers['content-length']) > route.maxBodyBytes) {
        discardRestOfBody(request.raw, reply.raw)
        throw payloadTooLarge(route.maxBodyBytes)
      }
      body = limitedBody(request.raw, route.maxBodyBytes)
    }

    // Client gone (before or during the response): abort the upstream request and free its connection.
    const abort = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort()
    })

    const trace = traceOf(request.raw)
    const headers = upstreamRequestHeaders(request.headers, {
      requestId: request.id,
      clientIp: request.ip,
      protocol: request.protocol,
      traceparent: trace?.traceparent,
      identity: request.identity,
      forwardCredentials: route.auth === 'none',
    })

    const started = performance.now()
    let response
    try {
      const send = () => pool.request({
        method: request.method as 'GET',
        path,
        headers,
        body,
        signal: abort.signal,
        headersTimeout: route.timeoutMs,
        bodyTimeout: route.timeoutMs,
      })
      // With OpenTelemetry, the upstream call runs in the server span's context: undici's instrumentation makes it a child.
      response = await (trace?.context ? otelContext.with(trace.context, send) : send())
    } catch (error) {
      if (abort.signal.aborted) {
        request.log.info({ upstream: route.name }, 'client closed the request before the upstream answered')
        return reply.code(499).send()
      }
      if (error instanceof BodyTooLargeError) discardRestOfBody(request.raw, reply.raw)
      throw upstreamFailure(error)
    }
    request.upstream = { name: route.name, latencyMs: performance.now() - started }
    return reply.code(response.statusCode).headers(clientResponseHeaders(response.headers)).send(response.body)
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
export function registerProxyRoutes (context: FastifyInstance, routes: readonly ProxyRoute[], pools: UpstreamPools, hooksFor: (route: ProxyRoute) => RouteHook[]): void {
  for (const route of routes) {
    const handler = proxyHandler(route, pools)
    const onRequest = hooksFor(route)
    const urls = route.exact ? [route.path] : [route.path, `${route.path}/*`]
    for (const url of urls) {
      const schema = {
        tags: ['proxy'],
        summary: `Streamed to the ${route.name} upstream as ${route.upstreamPath}${route.exact ? '' : '/…'}${route.auth === 'strict' ? ' (StrictAuth)' : ''}`,
        ...(route.auth === 'strict' ? { security: [{ bearerAuth: [] }] } : {}),
        // One documented entry per prefix: the bare prefix duplicates its wildcard.
        hide: !route.exact && url === route.path,
      }
      context.route({ method: [...route.methods], url, exposeHeadRoute: false, schema, onRequest, handler, config: { upstream: route.name } })
    }
  }
}
