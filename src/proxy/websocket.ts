import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import WebSocket, { WebSocketServer, type RawData } from 'ws'
import type { Authenticators } from '../auth/authenticate.js'
import type { Identity } from '../auth/identity.js'
import { invalidToken } from '../auth/auth-errors.js'
import type { WsTickets } from '../auth/ws-tickets.js'
import { GatewayError, notFound, writeErrorOnSocket } from '../errors.js'
import { requestIdFor } from '../observability/request-id.js'
import { childTraceparent } from '../observability/trace-context.js'
import { upstreamRequestHeaders } from './forward-headers.js'
import { upstreamTarget } from './path-safety.js'
import type { ProxyRoute } from './route-table.js'
import { upstreamFailure } from './upstream-errors.js'

/** RFC 6455 §7.4.1: 1008 policy violation (the token expired), 1011 unexpected condition upstream. */
const POLICY_VIOLATION = 1008
const UPSTREAM_FAILED = 1011
const MAX_MESSAGE_BYTES = 1024 * 1024

export interface WebSocketProxyDeps {
  readonly routes: readonly ProxyRoute[]
  readonly auth: Authenticators
  readonly tickets: WsTickets
  readonly connectTimeoutMs: number
  readonly log: FastifyBaseLogger
}

/** Answers a refused upgrade on the raw socket, as JSON like every other gateway error. */
function refuse (socket: Duplex, error: unknown, requestId: string): void {
  const failure = error instanceof GatewayError ? error : upstreamFailure(error)
  writeErrorOnSocket(socket, failure.statusCode, failure.detail, { ...failure.headers, 'X-Request-ID': requestId })
}

function routeFor (routes: readonly ProxyRoute[], path: string): ProxyRoute | undefined {
  const matching = routes.filter((route) => path === route.path || (!route.exact && path.startsWith(`${route.path}/`)))
  return matching.sort((a, b) => b.path.length - a.path.length)[0]
}

/** The ticket leaves the URL before it is forwarded: the upstream has no use for it and must not log it. */
function withoutTicket (rawUrl: string): { url: string, ticket: string | null } {
  const query = rawUrl.indexOf('?')
  if (query === -1) return { url: rawUrl, ticket: null }
  const params = new URLSearchParams(rawUrl.slice(query + 1))
  const ticket = params.get('ticket')
  params.delete('ticket')
  const rest = params.toString()
  return { url: rawUrl.slice(0, query) + (rest ? `?${rest}` : ''), ticket }
}

/** setTimeout's ceiling (about 24.8 days); a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

function relay (client: WebSocket, upstream: WebSocket, expiresAt: number | null): void {
  const forward = (to: WebSocket) => (data: RawData, isBinary: boolean) => { if (to.readyState === WebSocket.OPEN) to.send(data, { binary: isBinary }) }
  client.on('message', forward(upstream))
  upstream.on('message', forward(client))
  const closeCode = (code: number): number => (code === 1005 || code === 1006 ? 1000 : code)
  client.on('close', (code, reason) => { if (upstream.readyState === WebSocket.OPEN) upstream.close(closeCode(code), reason) })
  upstream.on('close', (code, reason) => { if (client.readyState === WebSocket.OPEN) client.close(closeCode(code), reason) })
  upstream.on('error', () => client.close(UPSTREAM_FAILED, 'Upstream error'))
  client.on('error', () => upstream.terminate())
  if (expiresAt === null) return
  // The socket lives no longer than the token it was opened with.
  const expiry = setTimeout(() => {
    client.close(POLICY_VIOLATION, 'Token expired')
    upstream.close(1000, 'Token expired')
  }, Math.min(MAX_TIMER_MS, Math.max(0, expiresAt * 1000 - Date.now())))
  client.once('close', () => clearTimeout(expiry))
}

/**
 * WebSocket upgrades on proxied prefixes: authenticated like any other request (a bearer token, or a
 * single-use ticket in the query string for browsers), stripped and given identity headers the same way,
 * then relayed message by message to the upstream's own WebSocket. Nothing reaches the upstream before
 * the client is authenticated.
 */
export function webSocketUpgradeHandler (deps: WebSocketProxyDeps) {
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES })

  async function identityFor (route: ProxyRoute, req: IncomingMessage, ticket: string | null): Promise<Identity | null> {
    if (route.auth === 'none') return null
    if (req.headers.authorization !== undefined || ticket === null) return deps.auth.identify(req.headers.authorization, true)
    const redeemed = await deps.tickets.redeem(ticket)
    if (!redeemed) throw invalidToken('Token validation failed: Invalid or used WebSocket ticket.')
    return deps.auth.identifyUser({ userId: redeemed.userId, companyId: redeemed.companyId, expiresAt: redeemed.tokenExpiresAt })
  }

  return function onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const requestId = requestIdFor(req)
    socket.on('error', () => socket.destroy())
    void (async () => {
      const { url, ticket } = withoutTicket(req.url ?? '')
      const path = url.split('?')[0] ?? ''
      const route = routeFor(deps.routes, path)
      if (!route) throw notFound()
      const target = upstreamTarget(url, route.path, route.exact, route.upstreamPath)
      const identity = await identityFor(route, req, ticket)
      const headers = upstreamRequestHeaders(req.headers, {
        requestId,
        clientIp: req.socket.remoteAddress ?? '',
        protocol: 'http',
        traceparent: childTraceparent(req.headers.traceparent),
        identity,
        forwardCredentials: route.auth === 'none',
      })
      for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name]
      const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean)
      const upstreamUrl = new URL(target, route.upstreamUrl.replace(/^http/, 'ws'))
      const upstream = new WebSocket(upstreamUrl, protocols, {
        headers: headers as Record<string, string>, handshakeTimeout: deps.connectTimeoutMs, followRedirects: false, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES,
      })
      await new Promise<void>((resolve, reject) => {
        upstream.once('open', resolve)
        upstream.once('error', reject)
        upstream.once('unexpected-response', (_request, response) => reject(new GatewayError('UPSTREAM_BAD_GATEWAY', 502, `Upstream refused the WebSocket (${response.statusCode}).`)))
      })
      server.handleUpgrade(req, socket, head, (client) => {
        deps.log.info({ request_id: requestId, path, upstream: route.name, user_id: identity?.userId, company_id: identity?.companyId }, 'websocket opened')
        relay(client, upstream, identity?.expiresAt ?? null)
      })
    })().catch((error: unknown) => {
      if (!(error instanceof GatewayError) || error.statusCode >= 500) deps.log.warn({ request_id: requestId, err: error }, 'websocket upgrade refused')
      refuse(socket, error, requestId)
    })
  }
}
