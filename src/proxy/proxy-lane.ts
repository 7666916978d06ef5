import type { IncomingMessage, ServerResponse } from 'node:http'
import { context as otelContext } from '@opentelemetry/api'
import type { Logger } from 'pino'
import type { Identity } from '../auth/identity.js'
import { logGatewayError, writeGatewayError, type GatewayError } from '../errors.js'
import type { GatewayMetrics } from '../observability/metrics.js'
import { requestIdFor } from '../observability/request-id.js'
import { ACCESS_LOG_MESSAGE, accessLogFields, CLIENT_GONE_MESSAGE, pathOf, processTime } from '../observability/request-log.js'
import { startTrace, type RequestTracing } from '../observability/tracing.js'
import type { ClientAddress } from '../server/client-address.js'
import type { RouteLimits } from '../traffic/policies.js'
import { tooManyRequests } from '../traffic/rate-limits.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js'
import { failureToAnswer, forward } from './forward.js'
import type { RouteForwarder } from './route-forwarder.js'

interface Match {
  readonly forwarder: RouteForwarder
  /** The route template Fastify would report (the metrics label). */
  readonly template: string
}

/** What the lane needs to relay a request on its own. */
export interface Admission extends Match {
  readonly identity: Identity
  readonly upstreamPath: string
}

export interface ProxyLane {
  /** How the lane would relay `req`, or undefined when it must be left to Fastify. Looks, changes nothing. */
  admit (req: IncomingMessage): Admission | undefined
  /** Answers the request (true), or leaves it untouched for Fastify (false). */
  take (req: IncomingMessage, res: ServerResponse): boolean
}

export interface ProxyLaneDeps {
  /** Every proxied route, StrictAuth or not: a request is matched against all of them, as Fastify's router would. */
  readonly forwarders: readonly RouteForwarder[]
  readonly limitsFor: (forwarder: RouteForwarder) => RouteLimits
  readonly cachedIdentity: (authorization: string | undefined) => Identity | undefined
  readonly cors: (origin: string | string[] | undefined) => Record<string, string>
  readonly client: ClientAddress
  readonly metrics: GatewayMetrics
  readonly tracing: RequestTracing
  readonly log: Logger
  readonly maxUrlBytes: number
  readonly isClosing: () => boolean
}

/**
 * Fastify's routing for the proxied routes of one method: a static path (a bare prefix or an exact route)
 * wins over a wildcard, and the longest wildcard prefix over a shorter one.
 */
function routeMatcher (forwarders: readonly RouteForwarder[], method: string): (path: string) => Match | undefined {
  const statics = new Map<string, Match>()
  const wildcards: { prefix: string, match: Match }[] = []
  for (const forwarder of forwarders) {
    const { route } = forwarder
    if (!route.methods.includes(method as never)) continue
    if (!statics.has(route.path)) statics.set(route.path, { forwarder, template: route.path })
    if (!route.exact) wildcards.push({ prefix: `${route.path}/`, match: { forwarder, template: `${route.path}/*` } })
  }
  wildcards.sort((x, y) => y.prefix.length - x.prefix.length)
  return (path) => statics.get(path) ?? wildcards.find(({ prefix }) => path.startsWith(prefix))?.match
}

/**
 * The steady state of proxied traffic, answered beside Fastify rather than through it: a StrictAuth route,
 * a token and user both already cached, nothing to refuse before counting. Everything else (first sight
 * of a token, any error decided before the upstream call, preflights, the auth service's routes, a
 * draining server) is left to Fastify's routes, which stay the reference behaviour. The policies are the
 * same functions on both paths: the route's limits, header rules, error bodies, metrics, logs and traces.
 */
export function proxyLane (deps: ProxyLaneDeps): ProxyLane {
  const matchers = new Map<string, (path: string) => Match | undefined>()
  const limits = new Map(deps.forwarders.map((forwarder) => [forwarder, deps.limitsFor(forwarder)]))
  const accessLog = deps.log.isLevelEnabled('info')

  function admit (req: IncomingMessage): Admission | undefined {
    const method = req.method ?? ''
    // Preflights are @fastify/cors's to answer.
    if (method === 'OPTIONS' || deps.isClosing()) return undefined
    const url = req.url ?? ''
    if (url.length > deps.maxUrlBytes) return undefined
    const path = pathOf(url)
    // Fastify's router decodes percent-escapes before matching; such paths take that road.
    if (path.includes('%')) return undefined
    let matcher = matchers.get(method)
    if (!matcher) {
      matcher = routeMatcher(deps.forwarders, method)
      matchers.set(method, matcher)
    }
    const match = matcher(path)
    if (match?.forwarder.route.auth !== 'strict') return undefined
    const identity = deps.cachedIdentity(req.headers.authorization)
    if (!identity || match.forwarder.declaresTooLarge(req.headers)) return undefined
    let upstreamPath: string
    try {
      upstreamPath = match.forwarder.upstreamPath(url)
    } catch {
      return undefined
    }
    // A literal, not a spread of `match`: the spread made V8 build two new hidden classes per request, whose
    // garbage filled the old generation (major GC pauses showed as p99).
    return { forwarder: match.forwarder, template: match.template, identity, upstreamPath }
  }

  function take (req: IncomingMessage, res: ServerResponse): boolean {
    const admission = admit(req)
    if (!admission) return false
    relay(req, res, admission)
    return true
  }

  function relay (req: IncomingMessage, res: ServerResponse, { forwarder, template, identity, upstreamPath }: Admission): void {
    const started = performance.now()
    const route = forwarder.route
    const requestId = requestIdFor(req)
    const trace = startTrace(deps.tracing, req)
    const clientIp = deps.client.ip(req)
    const method = req.method ?? 'GET'
    const url = req.url ?? ''
    const gatewayHeaders: Record<string, string> = deps.cors(req.headers.origin)
    gatewayHeaders['x-request-id'] = requestId
    let upstream: { name: string, latencyMs: number } | null = null

    const bindings = (): Record<string, string> => ({ request_id: requestId, trace_id: trace.traceId })
    let release: (() => void) | undefined
    // Called once, when the response closes: 'close' follows 'finish' for an answered request, and comes alone for one the client left.
    const ended = (finished: boolean): void => {
      release?.()
      if (!finished) {
        deps.log.info({ ...bindings(), method, path: pathOf(url), user_id: identity.userId, upstream: upstream?.name }, CLIENT_GONE_MESSAGE)
        return
      }
      const elapsedMs = performance.now() - started
      deps.metrics.observe(template, method, res.statusCode, elapsedMs, upstream)
      if (accessLog) deps.log.info({ ...bindings(), ...accessLogFields(method, url, res.statusCode, elapsedMs, identity, upstream) }, ACCESS_LOG_MESSAGE)
      if (deps.tracing.enabled) {
        deps.tracing.end(trace, { method, route: template, status: res.statusCode, upstream: upstream?.name, companyId: identity.companyId })
      }
    }
    let forwarding = false

    const refuse = (error: GatewayError): void => {
      if (!forwarding) res.once('close', () => ended(res.writableFinished))
      deps.metrics.countError(error, template, route.name)
      logGatewayError(deps.log, error, bindings())
      gatewayHeaders['x-process-time'] = processTime(performance.now() - started)
      writeGatewayError(res, error, gatewayHeaders)
    }

    const routeLimits = limits.get(forwarder) as RouteLimits
    routeLimits.count(identity, clientIp, (limited, rateLimitHeaders) => {
      if (limited) return refuse(limited)
      if (rateLimitHeaders) Object.assign(gatewayHeaders, rateLimitHeaders)
      const company = identity.companyId
      if (routeLimits.concurrency && company) {
        if (!routeLimits.concurrency.tryAcquire(company)) return refuse(tooManyRequests(1))
        const concurrency = routeLimits.concurrency
        release = () => concurrency.release(company)
      }

      const call = forwarder.call(req, upstreamPath, upstreamRequestHeaders(req.headers, {
        requestId, clientIp, protocol: deps.client.protocol(req), traceparent: trace.traceparent, identity, forwardCredentials: false,
      }))
      forwarding = true
      const send = (): void => forward(call, res, {
        head (statusCode, rawHeaders, latencyMs) {
          upstream = { name: route.name, latencyMs }
          gatewayHeaders['x-process-time'] = processTime(performance.now() - started)
          res.writeHead(statusCode, clientResponseHeaders(rawHeaders, gatewayHeaders))
        },
        settled (error, outcome) {
          const answer = error ? failureToAnswer(error, outcome, req, res, deps.log.child(bindings()), route.name) : undefined
          if (answer) refuse(answer)
        },
        closed: ended,
      })
      if (trace.context) otelContext.with(trace.context, send)
      else send()
    })
  }

  return { admit, take }
}
