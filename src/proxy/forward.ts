import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
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

/**
 * Streams one request to its upstream and the answer straight into `res`, with backpressure both ways
 * (undici's stream(): no intermediate Readable). `writeHead` is called with the upstream's status, headers
 * and latency, and must write the response head. `done` is called once: with no error when the response was
 * relayed, or with the failure, in which case the caller answers if `res.headersSent` is still false.
 * A client that leaves aborts the upstream call, before or during the response. `onClose` is called when
 * the response closes, finished or not.
 */
export function forward (
  call: UpstreamCall,
  res: ServerResponse,
  writeHead: (statusCode: number, headers: Record<string, string | string[] | undefined>, upstreamLatencyMs: number) => void,
  done: (error: Error | null, outcome: ForwardOutcome) => void,
  onClose?: (finished: boolean) => void
): void {
  // undici accepts an EventEmitter as the abort signal; creating an AbortController per request showed in the profile.
  const abort = new EventEmitter()
  let clientGone = false
  // One listener for the whole ending (a listener per concern showed in the profile).
  res.once('close', () => {
    const finished = res.writableFinished
    if (!finished) {
      clientGone = true
      abort.emit('abort')
    }
    onClose?.(finished)
  })
  const started = performance.now()
  call.pool.stream({
    method: call.method as Dispatcher.HttpMethod,
    path: call.path,
    headers: call.headers,
    body: call.body ?? null,
    signal: abort,
    headersTimeout: call.timeoutMs,
    bodyTimeout: call.timeoutMs,
  }, ({ statusCode, headers }) => {
    writeHead(statusCode, headers, performance.now() - started)
    return res
  }, (error) => done(error, { clientGone }))
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
