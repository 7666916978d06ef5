import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex, Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { Identity } from '../auth/identity.js'
import { GatewayError, logGatewayError, payloadTooLarge } from '../errors.js'
import type { ClientAddress } from '../http/client-address.js'
import { writeRefusal, writeRefusalOnSocket, type ResponseHeaders } from '../http/refusal.js'
import type { GatewayMetrics } from '../observability/metrics.js'
import { CLIENT_GONE_MESSAGE, declaredLength, processTime, type AccessEntry, type AccessLog, type UpstreamTiming } from '../observability/request-log.js'
import type { RequestTrace, RequestTracing } from '../observability/tracing.js'
import type { ConcurrencyLimiter } from '../traffic/concurrency.js'
import type { OutgoingHeaders, UpstreamEvents, UpstreamExchange } from '../upstream/upstream-exchange.js'
import { upstreamFailure } from '../upstream/upstream-errors.js'
import { BodyTooLargeError, ClientBodyTimeoutError, bodyTimedOut } from './body-errors.js'
import { clientResponseHeaders } from './forward-headers.js'
import type { RouteMatch } from './route-match.js'

/** What every exchange shares: built once with the data plane. */
export interface PlaneContext {
  readonly log: Logger
  readonly access: AccessLog
  readonly metrics: GatewayMetrics
  readonly tracing: RequestTracing
  readonly client: ClientAddress
  /** The gateway's CORS headers for an actual (non-preflight) request from `origin`. */
  readonly cors: (origin: string | string[] | undefined) => ResponseHeaders
}

/** A concurrency cap an exchange holds until it ends. */
interface Permit { readonly limiter: ConcurrencyLimiter, readonly key: string }

const NO_HEADERS: ResponseHeaders = {}

/**
 * One proxied request (or WebSocket upgrade), from its arrival to the end of its answer: what the steps of the
 * chain learn about it, and how it ends. Every field exists from the constructor on (one hidden class for all
 * exchanges, which kept the old generation quiet), and its methods are the upstream call's events (a closure
 * per step cost allocations on every request).
 */
export class Exchange implements UpstreamEvents, AccessEntry {
  readonly started = performance.now()
  readonly req: IncomingMessage
  /** The response; null for a WebSocket upgrade, which is answered on `socket`. */
  readonly res: ServerResponse | null
  readonly socket: Duplex
  /** The upgrade's first bytes after its head (empty for HTTP). */
  readonly upgradeHead: Buffer
  readonly match: RouteMatch
  readonly context: PlaneContext

  /** The request target to forward: as received, minus a WebSocket ticket. */
  forwardedUrl: string
  requestId = ''
  trace: RequestTrace | null = null
  clientIp = ''
  /** The upstream request target: the upstream prefix, then the rest of the path and the query string as received. */
  target = ''
  /** A WebSocket ticket taken out of the query string. */
  ticket: string | null = null
  identity: Identity | null = null
  /** The gateway's own headers on the answer (CORS, request id, rate limits); upstream headers of the same name lose. */
  responseHeaders: ResponseHeaders = NO_HEADERS
  upstreamHeaders: OutgoingHeaders | null = null
  body: Readable | null = null
  upstreamCall: UpstreamExchange | null = null
  upstream: UpstreamTiming | null = null
  refusal: GatewayError | null = null
  /** A WebSocket whose handshake was completed: its end is the socket's close. */
  upgraded = false
  #permits: Permit[] | null = null
  #over = false
  #status = 0
  #elapsedMs = 0

  constructor (req: IncomingMessage, res: ServerResponse | null, socket: Duplex, head: Buffer, match: RouteMatch, context: PlaneContext) {
    this.req = req
    this.res = res
    this.socket = socket
    this.upgradeHead = head
    this.match = match
    this.context = context
    this.forwardedUrl = req.url ?? ''
    // One listener for the whole ending (a listener per concern showed in the profile).
    if (res) res.once('close', () => this.end(res.writableFinished || this.refusal !== null ? res.statusCode : 499))
    else socket.once('close', () => { if (!this.upgraded) this.end(499) })
  }

  /** The client is gone, or the exchange ended: the steps still pending must not run. */
  get over (): boolean {
    return this.#over
  }

  /** Holds a place under a concurrency cap until the exchange ends. */
  hold (limiter: ConcurrencyLimiter, key: string): void {
    (this.#permits ??= []).push({ limiter, key })
  }

  /** Answers with `error`: one refusal writer for every step, HTTP or upgrade. */
  refuse (error: GatewayError): void {
    if (this.#over) return
    const { log, metrics } = this.context
    this.refusal = error
    metrics.countError(error, this.match.template, this.match.route.name)
    logGatewayError(log, error, this.#bindings())
    const headers = { ...this.responseHeaders, 'x-request-id': this.requestId, 'x-process-time': processTime(performance.now() - this.started) }
    if (this.res) {
      writeRefusal(this.req, this.res, error, headers, this.match.route.maxBodyBytes)
      return
    }
    writeRefusalOnSocket(this.socket, error.statusCode, error.detail, { ...headers, ...error.headers })
    this.end(error.statusCode)
  }

  head (statusCode: number, rawHeaders: readonly Buffer[], latencyMs: number): void {
    const res = this.res as ServerResponse
    this.upstream = { name: this.match.route.name, latencyMs }
    this.responseHeaders['x-process-time'] = processTime(performance.now() - this.started)
    res.writeHead(statusCode, clientResponseHeaders(rawHeaders, this.responseHeaders))
  }

  settled (error: Error | null): void {
    if (!error) return
    const answer = this.#failureToAnswer(error)
    if (answer) this.refuse(answer)
  }

  /**
   * What a failed upstream call leaves to answer: nothing when the client left or the head was already sent
   * (the response is cut), else the refusal: 413 for a chunked body over the limit, 408 for a body that
   * stopped arriving, 502/503/504 for the upstream's own failure.
   */
  #failureToAnswer (error: Error): GatewayError | undefined {
    if (this.#over) return undefined
    if (this.res?.headersSent === true) {
      this.context.log.warn({ request_id: this.requestId, err: error, upstream: this.match.route.name }, 'upstream response failed after its head was sent')
      // The cut is the upstream's doing, not the client's: recorded as such, with the status that was sent.
      this.refusal = upstreamFailure(error)
      this.context.metrics.countError(this.refusal, this.match.template, this.match.route.name)
      return undefined
    }
    if (error instanceof BodyTooLargeError) return payloadTooLarge(error.limitBytes)
    if (error instanceof ClientBodyTimeoutError) return bodyTimedOut()
    return upstreamFailure(error)
  }

  /** Once: the answer is complete (or the client left, status 499). Releases what the exchange held and records it. */
  end (status: number): void {
    if (this.#over) return
    this.#over = true
    if (status === 499) this.upstreamCall?.leave()
    const permits = this.#permits
    if (permits) for (const { limiter, key } of permits) limiter.release(key)
    const { metrics, access, tracing } = this.context
    const elapsedMs = performance.now() - this.started
    this.#status = status
    this.#elapsedMs = elapsedMs
    metrics.observe(this.match.template, this.req.method ?? 'GET', status, elapsedMs, this.upstream)
    access.write(this, status === 499 ? CLIENT_GONE_MESSAGE : undefined)
    if (tracing.enabled && this.trace) {
      tracing.end(this.trace, { method: this.method, route: this.match.template, status, upstream: this.upstream?.name, companyId: this.identity?.companyId })
    }
  }

  // The access line's view of the exchange (AccessEntry), read once it ended.
  get traceId (): string | undefined { return this.trace?.traceId }
  get method (): string { return this.req.method ?? 'GET' }
  get url (): string { return this.req.url ?? '' }
  get route (): string { return this.match.template }
  get status (): number { return this.#status }
  get elapsedMs (): number { return this.#elapsedMs }
  get userAgent (): string | undefined { return this.req.headers['user-agent'] }
  get requestBytes (): number | undefined {
    const counted = (this.body as { received?: number } | null)?.received
    return counted ?? declaredLength(this.req.headers['content-length'])
  }

  get responseBytes (): number | undefined {
    if (this.upstreamCall && this.upstream) return this.upstreamCall.responseBytes
    return undefined
  }

  get errorCode (): string | undefined { return this.refusal?.code ?? (this.#status === 499 ? 'CLIENT_GONE' : undefined) }

  #bindings (): { request_id: string, trace_id: string | undefined } {
    return { request_id: this.requestId, trace_id: this.trace?.traceId }
  }
}
