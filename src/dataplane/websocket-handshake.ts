import type { IncomingMessage } from 'node:http'
import { GatewayError } from '../errors.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

const badHandshake = (detail: string): GatewayError => new GatewayError('BAD_WEBSOCKET_HANDSHAKE', 400, detail)

const hasToken = (header: string | undefined, token: string): boolean =>
  header !== undefined && header.split(',').some((part) => part.trim().toLowerCase() === token)

/** A Sec-WebSocket-Key is the base64 encoding of 16 bytes: 22 characters and `==`. */
const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/

/** Why `req` is not a WebSocket opening handshake a server may accept (RFC 6455 §4.2.1), or undefined. */
export function handshakeRefusal (req: IncomingMessage): GatewayError | undefined {
  if (req.method !== 'GET' || req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return badHandshake('A WebSocket handshake is an HTTP/1.1 GET request.')
  if (!hasToken(req.headers.upgrade, 'websocket')) return badHandshake('Only WebSocket upgrades are supported.')
  if (!hasToken(req.headers.connection, 'upgrade')) return badHandshake('Invalid WebSocket handshake: Connection must include Upgrade.')
  const key = req.headers['sec-websocket-key']
  if (typeof key !== 'string' || !WEBSOCKET_KEY.test(key.trim())) return badHandshake('Invalid WebSocket handshake: bad Sec-WebSocket-Key.')
  if (req.headers['sec-websocket-version'] !== '13') {
    return new GatewayError('UNSUPPORTED_WEBSOCKET_VERSION', 426, 'Unsupported WebSocket version.', { headers: { 'sec-websocket-version': '13' } })
  }
  return undefined
}

/**
 * The ticket leaves the request target before it is forwarded (the upstream has no use for it and must not
 * log it); every other byte of the target stays as the client sent it.
 */
export function withoutTicket (rawUrl: string): { url: string, ticket: string | null } {
  const query = rawUrl.indexOf('?')
  if (query === -1) return { url: rawUrl, ticket: null }
  let ticket: string | null = null
  const kept: string[] = []
  for (const pair of rawUrl.slice(query + 1).split('&')) {
    const equals = pair.indexOf('=')
    if ((equals === -1 ? pair : pair.slice(0, equals)) !== 'ticket') {
      kept.push(pair)
      continue
    }
    try {
      ticket ??= decodeURIComponent(equals === -1 ? '' : pair.slice(equals + 1))
    } catch {
      ticket ??= ''
    }
  }
  return { url: rawUrl.slice(0, query) + (kept.length > 0 ? `?${kept.join('&')}` : ''), ticket }
}

/**
 * The first check of an upgrade, before anything is dialled: a valid WebSocket handshake, and its ticket (a
 * browser cannot set Authorization on a WebSocket) taken out of the target.
 */
export const webSocketHandshake: Step = {
  name: 'websocket handshake',
  run (exchange: Exchange) {
    const refusal = handshakeRefusal(exchange.req)
    if (refusal) return refusal
    const { url, ticket } = withoutTicket(exchange.forwardedUrl)
    exchange.forwardedUrl = url
    exchange.ticket = ticket
    return undefined
  },
}
