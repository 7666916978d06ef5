import { GatewayError } from '../errors.js'

/** Raised by the body limiter when a streamed request body crosses its route's limit. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
  readonly code = 'GATEWAY_BODY_TOO_LARGE'
  constructor (readonly limitBytes: number) {
    super(`request body over ${limitBytes} bytes`)
  }
}

/** The client stopped sending its request body for longer than the body timeout. */
export class ClientBodyTimeoutError extends Error {
  override name = 'ClientBodyTimeoutError'
  readonly code = 'GATEWAY_CLIENT_BODY_TIMEOUT'
}

export const bodyTimedOut = (): GatewayError => new GatewayError('REQUEST_TIMEOUT', 408, 'Request body timed out.')
