import type { IncomingMessage } from 'node:http'
import { GatewayError } from '../errors.js'

/** RFC 9112 §3.2 / RFC 3986 §3.2.2: `host [ ":" port ]`, an IP literal in brackets or a reg-name. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]{1,5})?$/

export interface FrontDoorLimits {
  readonly maxUrlBytes: number
  readonly maxHeaderCount: number
}

const badHost = (): GatewayError => new GatewayError('BAD_HOST', 400, 'Invalid Host header.')

/** How many times `lowerName` occurs among the raw header names. */
function occurrences (rawHeaders: readonly string[], lowerName: string): number {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) if ((rawHeaders[i] as string).length === lowerName.length && (rawHeaders[i] as string).toLowerCase() === lowerName) count++
  return count
}

/**
 * The checks every request passes before any road takes it (the gateway's own API, the data plane or a
 * WebSocket upgrade): a bounded request target, a bounded header count (Node would drop the fields past its
 * limit, and with them a Content-Length or Transfer-Encoding, so the request is refused instead), and exactly
 * one valid Host, since it is copied into X-Forwarded-Host (RFC 9112 §3.2: 400 for a missing, repeated or
 * invalid Host).
 */
export function frontDoorRefusal (req: IncomingMessage, limits: FrontDoorLimits): GatewayError | undefined {
  if ((req.url ?? '').length > limits.maxUrlBytes) return new GatewayError('URI_TOO_LONG', 414, 'URI Too Long')
  const rawHeaders = req.rawHeaders
  if (rawHeaders.length / 2 > limits.maxHeaderCount) return new GatewayError('HEADERS_TOO_LARGE', 431, 'Request Header Fields Too Large')
  const host = req.headers.host
  if (host === undefined) return req.httpVersionMinor >= 1 ? badHost() : undefined
  if (!HOST.test(host) || occurrences(rawHeaders, 'host') !== 1) return badHost()
  return undefined
}
