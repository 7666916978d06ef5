import { GatewayError } from '../errors.js'

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'GATEWAY_UPSTREAM_QUEUE_TIMEOUT',
])

/**
 * Every transport failure maps here, by code, to the seeds' answers (httpx's timeout → 504, connect error →
 * 503, anything else → 502). The library's own message is kept for the log only, as the error's cause.
 */
export function upstreamFailure (error: unknown): GatewayError {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new GatewayError('UPSTREAM_TIMEOUT', 504, 'Upstream service timed out.', { cause: error })
  }
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return new GatewayError('UPSTREAM_UNAVAILABLE', 503, 'Could not connect to upstream service.', { cause: error })
  }
  return new GatewayError('UPSTREAM_BAD_GATEWAY', 502, 'Error communicating with upstream service.', { cause: error })
}
