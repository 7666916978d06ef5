import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { errors, type Dispatcher } from 'undici'
import type { FastifyBaseLogger } from 'fastify'
import type { GatewayError } from '../errors.js'
import { discardRestOfBody } from './body-limit.js'
import type { OutgoingHeaders } from './forward-headers.js'
import { BodyTooLargeError, upstreamFailure } from './upstream-errors.js'

export interface UpstreamCall {
  readonly pool: Dispatcher
  readonly method: string
  readonly path: string
  readonly headers: OutgoingHeaders
  readonly body: Readable | undefined
  readonly timeoutMs: number
}

export interface ForwardOutcome {
  /** The client left before its response was complete (the upstream call was aborted). */
  readonly clientGone: boolean
}

/** What `forward` reports: the upstream's head (to write), the end of the exchange, the response's closing. */
export interface ForwardEvents {
  /** Must write the response head. `rawHeaders` are undici's: name, value, name, value… as bytes. */
  head (statusCode: number, rawHeaders: readonly Buffer[], upstreamLatencyMs: number): void
  /** Once: no error when the response was relayed, else the failure (answered by the caller if `res.headersSent` is false). */
  settled (error: Error | null, outcome: ForwardOutcome): void
  /** When the response closes, finished or not. */
  closed? (finished: boolean): void
}

/**
 * One upstream call, as an undici dispatch handler: the response is written straight into `res`, with
 * backpressure both ways. These are the handler methods undici 7's own stream() and request() implement
 * (its newer controller interface wraps them and parses every head into an object); compared with stream(),
 * this skips an AsyncResource, stream.finished()'s listeners and that header object per request.
 */
class UpstreamExchange implements Dispatcher.DispatchHandler, ForwardOutcome {
  readonly #res: ServerResponse
  readonly #events: ForwardEvents
  readonly #started = performance.now()
  #abort: ((reason: Error) => void) | undefined
  #resume: (() => void) | undefined
  #settled = false
  clientGone = false

  constructor (res: ServerResponse, events: ForwardEvents) {
    this.#res = res
    this.#events = events
  }

  /** The client left: the upstream call is aborted, now or as soon as it is dispatched. */
  leave (): void {
    this.clientGone = true
    if (!this.#settled) this.#abort?.(new errors.RequestAbortedError())
  }

  onConnect (abort: (reason?: Error) => void): void {
    if (this.clientGone) abort(new errors.RequestAbortedError())
    else this.#abort = abort
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim answers are the upstream's business: the client gets the final one.
    if (statusCode < 200) return true
    this.#resume = resume
    this.#events.head(statusCode, rawHeaders, performance.now() - this.#started)
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.#res.write(chunk)) return true
    this.#res.once('drain', this.#resume as () => void)
    return false
  }

  onComplete (): void {
    this.#res.end()
    this.#settle(null)
  }

  onError (error: Error): void {
    // After the head, the only honest signal left is a cut response.
    if (this.#res.headersSent && !this.#res.destroyed) this.#res.destroy(error)
    this.#settle(error)
  }

  #settle (error: Error | null): void {
    if (this.#settled) return
    this.#settled = true
    this.#events.settled(error, this)
  }
}

/**
 * Streams one request to its upstream and the answer into `res`. A client that leaves aborts the upstream
 * call, before or during the response; a request body that fails (a chunked upload over its limit) fails
 * the exchange with its own error.
 */
export function forward (call: UpstreamCall, res: ServerResponse, events: ForwardEvents): void {
  const exchange = new UpstreamExchange(res, events)
  // One listener for the whole ending (a listener per concern showed in the profile).
  res.once('close', () => {
    const finished = res.writableFinished
    if (!finished) exchange.leave()
    events.closed?.(finished)
  })
  if (call.body) call.body.once('error', (error) => exchange.onError(error))
  call.pool.dispatch({
    method: call.method as Dispatcher.HttpMethod,
    path: call.path,
    headers: call.headers,
    body: call.body ?? null,
    headersTimeout: call.timeoutMs,
    bodyTimeout: call.timeoutMs,
  }, exchange)
}

/**
 * What a failed forward leaves to answer: nothing when the head was already sent (the response is cut) or the
 * client left, else the error for the client (413 for a chunked body over the limit, 502/503/504 otherwise).
 */
export function failureToAnswer (
  error: Error, outcome: ForwardOutcome, req: IncomingMessage, res: ServerResponse,
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>, upstream: string
): GatewayError | undefined {
  if (res.headersSent) {
    if (!outcome.clientGone) log.warn({ err: error, upstream }, 'upstream response failed after its head was sent')
    return undefined
  }
  if (outcome.clientGone) {
    log.info({ upstream }, 'client closed the request before the upstream answered')
    return undefined
  }
  if (error instanceof BodyTooLargeError) discardRestOfBody(req, res)
  return upstreamFailure(error)
}
