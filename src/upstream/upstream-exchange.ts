import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { errors, type Dispatcher } from 'undici'

/** Request headers for the upstream, in the form undici takes. */
export type OutgoingHeaders = Record<string, string | string[]>

export interface UpstreamCall {
  readonly pool: Dispatcher
  readonly method: string
  readonly path: string
  readonly headers: OutgoingHeaders
  readonly body: Readable | null
  /** Response headers, and then each pause between body chunks. */
  readonly timeoutMs: number
  /** How long the call may wait for a free connection of a saturated pool. */
  readonly queueTimeoutMs: number
}

/** What an upstream call reports to the request it serves. */
export interface UpstreamEvents {
  /** Must write the response head. `rawHeaders` are undici's: name, value, name, value… as bytes. */
  head (statusCode: number, rawHeaders: readonly Buffer[], upstreamLatencyMs: number): void
  /** Once: null when the response was relayed whole, else the failure (the head may already be sent). */
  settled (error: Error | null): void
}

/** The pool had no free connection for longer than the call may wait. */
export class UpstreamQueueTimeoutError extends Error {
  override name = 'UpstreamQueueTimeoutError'
  readonly code = 'GATEWAY_UPSTREAM_QUEUE_TIMEOUT'
}

/**
 * One upstream call, as an undici dispatch handler: the response is written straight into `res`, with
 * backpressure both ways. These are the handler methods undici 7's own stream() and request() implement
 * (its newer controller interface wraps them and parses every head into an object); compared with stream(),
 * this skips an AsyncResource, stream.finished()'s listeners and that header object per request.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse
  readonly #events: UpstreamEvents
  readonly #started = performance.now()
  #abort: ((reason: Error) => void) | undefined
  #resume: (() => void) | undefined
  #queued: NodeJS.Timeout | undefined
  #settled = false
  #left = false
  /** Whether the head on the client's response is the upstream's (else it may be the gateway's own refusal). */
  #relayedHead = false
  /** Body bytes relayed to the client. */
  responseBytes = 0

  constructor (res: ServerResponse, events: UpstreamEvents) {
    this.#res = res
    this.#events = events
  }

  /** Stops the call (the client left, or the gateway answered without it): now, or as soon as it is dispatched. */
  leave (reason: Error = new errors.RequestAbortedError()): void {
    this.#left = true
    clearTimeout(this.#queued)
    if (this.#settled) return
    // Not dispatched yet: it is aborted when it is (onConnect), and ends now.
    if (this.#abort === undefined) this.#settle(reason)
    else this.#abort(reason)
  }

  /** Called when the pool is saturated: the call waits in undici's queue, which has no deadline of its own. */
  waitAtMost (ms: number): void {
    this.#queued = setTimeout(() => {
      if (this.#abort !== undefined) return
      this.#left = true
      this.#settle(new UpstreamQueueTimeoutError(`no free upstream connection within ${ms} ms`))
    }, ms)
  }

  onConnect (abort: (reason?: Error) => void): void {
    clearTimeout(this.#queued)
    if (this.#left) abort(new errors.RequestAbortedError())
    else this.#abort = abort
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim answers are the upstream's business: the client gets the final one.
    if (statusCode < 200) return true
    this.#resume = resume
    this.#relayedHead = true
    this.#events.head(statusCode, rawHeaders, performance.now() - this.#started)
    return true
  }

  onData (chunk: Buffer): boolean {
    this.responseBytes += chunk.length
    if (this.#res.write(chunk)) return true
    this.#res.once('drain', this.#resume as () => void)
    return false
  }

  onComplete (): void {
    this.#res.end()
    this.#settle(null)
  }

  onError (error: Error): void {
    // After the upstream's head, the only honest signal left is a cut response. A head the gateway wrote itself
    // (a 413 for a body over the limit, whose error undici reports again afterwards) must reach the client whole.
    if (this.#relayedHead && !this.#res.destroyed) this.#res.destroy(error)
    this.#settle(error)
  }

  #settle (error: Error | null): void {
    if (this.#settled) return
    this.#settled = true
    this.#events.settled(error)
  }
}

/** Starts `call`, relaying its answer into `res`. A request body that fails fails the call with its own error. */
export function dispatchUpstream (call: UpstreamCall, res: ServerResponse, events: UpstreamEvents): UpstreamExchange {
  const exchange = new UpstreamExchange(res, events)
  if (call.body) call.body.once('error', (error) => exchange.onError(error))
  const ready = call.pool.dispatch({
    method: call.method as Dispatcher.HttpMethod,
    path: call.path,
    headers: call.headers,
    body: call.body,
    headersTimeout: call.timeoutMs,
    bodyTimeout: call.timeoutMs,
  }, exchange)
  if (!ready) exchange.waitAtMost(call.queueTimeoutMs)
  return exchange
}
