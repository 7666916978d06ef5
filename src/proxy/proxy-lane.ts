import type { IncomingMessage, ServerResponse } from 'node:http'
import { context as otelContext } from '@opentelemetry/api'
import type { Logger } from 'pino'
import type { Identity } from '../auth/identity.js'
import { logGatewayError, writeGatewayError, type GatewayError } from '../errors.js'
import type { GatewayMetrics } from '../observability/metrics.js'
import { requestIdFor } from '../observability/request-id.js'
import { ACCESS_LOG_MESSAGE, accessLogFields, CLIENT_GONE_MESSAGE, pathOf, processTime, type UpstreamTiming } from '../observability/request-log.js'
import { startTrace, type RequestTrace, type RequestTracing } from '../observability/tracing.js'
import type { ClientAddress } from '../server/client-address.js'
import type { ConcurrencyLimiter } from '../traffic/concurrency.js'
import type { RouteLimits } from '../traffic/policies.js'
import { tooManyRequests } from '../traffic/rate-limits.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js'
import { failureToAnswer, forward, type ForwardEvents, type ForwardOutcome } from './forward.js'
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
  /** How many requests it has taken. */
  readonly taken: number
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

  const shared: LaneShared = { deps, accessLog: deps.log.isLevelEnabled('info') }

  let taken = 0
  function take (req: IncomingMessage, res: ServerResponse): boolean {
    const admission = admit(req)
    if (!admission) return false
    taken++
    new LaneRelay(shared, req, res, admission).start(limits.get(admission.forwarder) as RouteLimits)
    return true
  }

  return { admit, take, get taken () { return taken } }
}

interface LaneShared {
  readonly deps: ProxyLaneDeps
  /** The level is fixed at startup: below INFO the access line is not even built. */
  readonly accessLog: boolean
}

/**
 * One request relayed by the lane, from counting it to its response's close. Its state lives in one object
 * whose methods are the forwarder's events (a closure per step cost allocations on every request).
 */
class LaneRelay implements ForwardEvents {
  readonly #started = performance.now()
  readonly #shared: LaneShared
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  readonly #admission: Admission
  readonly #requestId: string
  readonly #trace: RequestTrace
  readonly #clientIp: string
  readonly #gatewayHeaders: Record<string, string>
  #upstream: UpstreamTiming | null = null
  #concurrency: ConcurrencyLimiter | undefined
  #forwarding = false

  constructor (shared: LaneShared, req: IncomingMessage, res: ServerResponse, admission: Admission) {
    const { deps } = shared
    this.#shared = shared
    this.#req = req
    this.#res = res
    this.#admission = admission
    this.#requestId = requestIdFor(req)
    this.#trace = startTrace(deps.tracing, req)
    this.#clientIp = deps.client.ip(req)
    this.#gatewayHeaders = deps.cors(req.headers.origin)
    this.#gatewayHeaders['x-request-id'] = this.#requestId
  }

  start (limits: RouteLimits): void {
    limits.count(this.#admission.identity, this.#clientIp, (limited, rateLimitHeaders) => {
      if (limited) return this.#refuse(limited)
      if (rateLimitHeaders) Object.assign(this.#gatewayHeaders, rateLimitHeaders)
      const company = this.#admission.identity.companyId
      if (limits.concurrency && company) {
        if (!limits.concurrency.tryAcquire(company)) return this.#refuse(tooManyRequests(1))
        this.#concurrency = limits.concurrency
      }
      this.#forward()
    })
  }

  #forward (): void {
    const { deps } = this.#shared
    const req = this.#req
    const { forwarder, identity, upstreamPath } = this.#admission
    const call = forwarder.call(req, upstreamPath, upstreamRequestHeaders(req.headers, {
      requestId: this.#requestId, clientIp: this.#clientIp, protocol: deps.client.protocol(req), traceparent: this.#trace.traceparent, identity, forwardCredentials: false,
    }))
    this.#forwarding = true
    const context = this.#trace.context
    // With OpenTelemetry, the upstream call runs in the server span's context: undici's instrumentation makes it a child.
    if (context) otelContext.with(context, () => forward(call, this.#res, this))
    else forward(call, this.#res, this)
  }

  head (statusCode: number, rawHeaders: readonly Buffer[], latencyMs: number): void {
    this.#upstream = { name: this.#admission.forwarder.route.name, latencyMs }
    this.#gatewayHeaders['x-process-time'] = processTime(performance.now() - this.#started)
    this.#res.writeHead(statusCode, clientResponseHeaders(rawHeaders, this.#gatewayHeaders))
  }

  settled (error: Error | null, outcome: ForwardOutcome): void {
    if (!error) return
    const answer = failureToAnswer(error, outcome, this.#req, this.#res, this.#shared.deps.log.child(this.#bindings()), this.#admission.forwarder.route.name)
    if (answer) this.#refuse(answer)
  }

  /** Called once, when the response closes: 'close' follows 'finish' for an answered request, and comes alone for one the client left. */
  closed (finished: boolean): void {
    const { deps, accessLog } = this.#shared
    const { template, identity } = this.#admission
    const req = this.#req
    const method = req.method ?? 'GET'
    const url = req.url ?? ''
    const upstream = this.#upstream
    const company = identity.companyId
    if (this.#concurrency && company) this.#concurrency.release(company)
    if (!finished) {
      deps.log.info({ ...this.#bindings(), method, path: pathOf(url), user_id: identity.userId, upstream: upstream?.name }, CLIENT_GONE_MESSAGE)
      return
    }
    const status = this.#res.statusCode
    const elapsedMs = performance.now() - this.#started
    deps.metrics.observe(template, method, status, elapsedMs, upstream)
    if (accessLog) deps.log.info({ ...this.#bindings(), ...accessLogFields(method, url, status, elapsedMs, identity, upstream) }, ACCESS_LOG_MESSAGE)
    if (deps.tracing.enabled) {
      deps.tracing.end(this.#trace, { method, route: template, status, upstream: upstream?.name, companyId: company })
    }
  }

  #refuse (error: GatewayError): void {
    const { deps } = this.#shared
    const res = this.#res
    if (!this.#forwarding) res.once('close', () => this.closed(res.writableFinished))
    deps.metrics.countError(error, this.#admission.template, this.#admission.forwarder.route.name)
    logGatewayError(deps.log, error, this.#bindings())
    this.#gatewayHeaders['x-process-time'] = processTime(performance.now() - this.#started)
    writeGatewayError(res, error, this.#gatewayHeaders)
  }

  #bindings (): Record<string, string> {
    return { request_id: this.#requestId, trace_id: this.#trace.traceId }
  }
}
