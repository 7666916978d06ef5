import type { FastifyBaseLogger } from 'fastify'

/**
 * Stable codes of every error the gateway itself answers with, with their status and meaning. The wire
 * format stays the seeds' `{"detail": ...}`; the code travels beside it in the log, and this table is
 * printed into the README.
 */
export const ERROR_CODES = {
  NOT_FOUND: { status: 404, meaning: 'No such route (also /api/v1/auth/* without an auth service), user or company.' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'The gateway\'s own route exists but not with this method; `Allow` lists the methods it has.' },
  VALIDATION_FAILED: { status: 422, meaning: 'The JSON body, path or query failed validation; `detail` is FastAPI\'s list of {loc, msg, type}.' },
  BAD_REQUEST: { status: 400, meaning: 'A request the gateway understood but refuses: unknown or inactive company, no company to associate.' },
  UNSAFE_PATH: { status: 400, meaning: 'The path escapes its proxy prefix once decoded, or holds encoded slashes, backslashes or NUL.' },
  BAD_HOST: { status: 400, meaning: 'The Host header is missing, repeated or not a valid host[:port] (RFC 9112 §3.2).' },
  BAD_WEBSOCKET_HANDSHAKE: { status: 400, meaning: 'An Upgrade request that is not a valid WebSocket opening handshake (RFC 6455 §4.2.1).' },
  UNSUPPORTED_WEBSOCKET_VERSION: { status: 426, meaning: 'A WebSocket handshake for a version other than 13; Sec-WebSocket-Version says which the gateway speaks.' },
  REQUEST_TIMEOUT: { status: 408, meaning: 'The client stopped sending its request body for GATEWAY_CLIENT_BODY_TIMEOUT seconds.' },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'The request header block is over GATEWAY_MAX_HEADER_BYTES, or has more than GATEWAY_MAX_HEADER_COUNT fields.' },
  URI_TOO_LONG: { status: 414, meaning: 'The request target is longer than GATEWAY_MAX_URL_BYTES.' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The request body is over the route\'s limit (declared or streamed).' },
  NOT_AUTHENTICATED: { status: 401, meaning: 'No `Authorization: Bearer` header.' },
  INVALID_TOKEN: { status: 401, meaning: 'The token failed verification, or its user is unknown or inactive; `detail` says which.' },
  BAD_CREDENTIALS: { status: 401, meaning: 'Login failed (the same answer for unknown email, wrong password and inactive user).' },
  COMPANY_REQUIRED: { status: 403, meaning: 'A valid token without a company, on a route that needs one.' },
  COMPANY_INACTIVE: { status: 403, meaning: 'The token\'s company has been deactivated: its users are refused until it is active again.' },
  FORBIDDEN: { status: 403, meaning: 'Not allowed: administrator role required, or a company change a non-admin may not make.' },
  CONFLICT: { status: 409, meaning: 'A company name or user email that already exists.' },
  UPSTREAM_BAD_GATEWAY: { status: 502, meaning: 'The upstream reset the connection or answered something that is not HTTP.' },
  UPSTREAM_UNAVAILABLE: { status: 503, meaning: 'The upstream refused the connection or its name does not resolve.' },
  UPSTREAM_TIMEOUT: { status: 504, meaning: 'The upstream did not connect or answer in time; once its head was sent, a stalled body is a cut response (logged with this code).' },
  KEYS_UNAVAILABLE: { status: 503, meaning: 'An external issuer\'s signing keys (JWKS) cannot be fetched and none are cached for this token.' },
  DATABASE_UNAVAILABLE: { status: 503, meaning: 'PostgreSQL cannot be reached right now (a login, an admin call or a first-seen token needed it); retry after Retry-After.' },
  SERVICE_UNAVAILABLE: { status: 503, meaning: 'Shutting down, or a shared dependency of a limit (Redis) is down and the limit fails closed.' },
  RATE_LIMITED: { status: 429, meaning: 'Too many requests for this user, company, IP or login email; see Retry-After and RateLimit.' },
  INTERNAL: { status: 500, meaning: 'A bug; the client sees only "Internal Server Error", the log has the cause.' },
} as const satisfies Record<string, { status: number, meaning: string }>

export type GatewayErrorCode = keyof typeof ERROR_CODES

export class GatewayError extends Error {
  override name = 'GatewayError'
  readonly code: GatewayErrorCode
  readonly statusCode: number
  readonly detail: unknown
  readonly headers: Readonly<Record<string, string>> | undefined

  constructor (code: GatewayErrorCode, statusCode: number, detail: unknown, options: { headers?: Record<string, string>, cause?: unknown } = {}) {
    super(typeof detail === 'string' ? detail : code, { cause: options.cause })
    this.code = code
    this.statusCode = statusCode
    this.detail = detail
    this.headers = options.headers
  }
}

export const notFound = (detail = 'Not Found'): GatewayError => new GatewayError('NOT_FOUND', 404, detail)
export const badRequest = (detail: string): GatewayError => new GatewayError('BAD_REQUEST', 400, detail)
export const forbidden = (detail: string): GatewayError => new GatewayError('FORBIDDEN', 403, detail)
export const conflict = (detail: string): GatewayError => new GatewayError('CONFLICT', 409, detail)
export const internalError = (cause: unknown): GatewayError => new GatewayError('INTERNAL', 500, 'Internal Server Error', { cause })
/** RFC 9110 §15.5.6: a 405 names the methods the resource has. */
export const methodNotAllowed = (allow: readonly string[]): GatewayError =>
  new GatewayError('METHOD_NOT_ALLOWED', 405, 'Method Not Allowed', { headers: { allow: allow.join(', ') } })
export const payloadTooLarge = (limitBytes: number): GatewayError =>
  new GatewayError('PAYLOAD_TOO_LARGE', 413, `Request body exceeds the limit of ${limitBytes} bytes.`)

/** The log line of a refusal: a warning for the 5xx the gateway answers, debug for the client's own errors. */
export function logGatewayError (log: Pick<FastifyBaseLogger, 'error' | 'warn' | 'debug'>, error: GatewayError, bindings?: Record<string, unknown>): void {
  const level = error.code === 'INTERNAL' ? 'error' : error.statusCode >= 500 ? 'warn' : 'debug'
  log[level]({ ...bindings, code: error.code, status: error.statusCode, err: error.cause }, error.message)
}
