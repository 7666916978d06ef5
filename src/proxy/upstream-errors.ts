import { GatewayError } from '../errors.js'

/** Raised by the body limiter when a streamed request body crosses its route's limit. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
  readonly code = 'GATEWAY_BODY_TOO_LARGE'
  constructor (readonly limitBytes: number) {
    super(`request body over ${limitBytes} bytes`)
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
])

/**
 * Every transport failure maps here, by code, to the seeds' answers (httpx's timeout → 504, connect error →
 * 503, anything else → 502). The library's own message is kept for the log only, as the error's cause.
 */
export function upstreamFailure (error: unknown): GatewayError {
  if (error instanceof BodyTooLargeError) {
    return new GatewayError('PAYLOAD_TOO_LARGE', 413, `Request body exceeds the limit of ${error.limitBytes} bytes.`)
  }
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new GatewayError('UPSTREAM_TIMEOUT', 504, 'Upstream service timed out.', { cause: error })
  }
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return new GatewayError('UPSTREAM_UNAVAILABLE', 503, 'Could not connect to upstream service.', { cause: error })
  }
  return new GatewayError('UPSTREAM_BAD_GATEWAY', 502, 'Error communicating with upstream service.', { cause: error })
}
