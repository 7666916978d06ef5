import type { GatewayError } from '../errors.js'
import { payloadTooLarge } from '../errors.js'
import { upstreamFailure } from '../upstream/upstream-errors.js'
import { BodyTooLargeError, ClientBodyTimeoutError, bodyTimedOut } from './body-limits.js'
import type { Exchange } from './exchange.js'

/**
 * What a failed upstream call leaves to answer: nothing when the client left or the head was already sent
 * (the response is cut), else the refusal: 413 for a chunked body over the limit, 408 for a body that stopped
 * arriving, 502/503/504 for the upstream's own failure.
 */
export function failureToAnswer (error: Error, exchange: Exchange): GatewayError | undefined {
  if (exchange.over) return undefined
  const { log } = exchange.context
  const upstream = exchange.match.route.name
  if (exchange.res?.headersSent === true) {
    log.warn({ request_id: exchange.requestId, err: error, upstream }, 'upstream response failed after its head was sent')
    return undefined
  }
  if (error instanceof BodyTooLargeError) return payloadTooLarge(error.limitBytes)
  if (error instanceof ClientBodyTimeoutError) return bodyTimedOut()
  return upstreamFailure(error)
}
