import type { ClientRequest } from 'node:http'
import WebSocket, { WebSocketServer, type RawData } from 'ws'
import { GatewayError } from '../errors.js'
import { upstreamFailure } from '../upstream/upstream-errors.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

/** RFC 6455 §7.4.1: 1008 policy violation (the token expired, the user was deactivated), 1011 unexpected condition upstream. */
export const POLICY_VIOLATION = 1008
const UPSTREAM_FAILED = 1011
/** setTimeout's ceiling (about 24.8 days); a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface RelaySettings {
  readonly connectTimeoutMs: number
  readonly maxMessageBytes: number
}

/** An open, relayed WebSocket: what the gateway may close on policy grounds (expiry, deactivation, logout). */
export interface OpenSocket {
  readonly exchange: Exchange
  close (code: number, reason: string): void
}

/** Where open sockets are registered while they live, so that a revoked identity can close them. */
export interface SocketRegistry {
  add (socket: OpenSocket): () => void
}

const closeCode = (code: number): number => (code === 1005 || code === 1006 ? 1000 : code)

function relayMessages (client: WebSocket, upstream: WebSocket): void {
  const forward = (to: WebSocket) => (data: RawData, isBinary: boolean): void => { if (to.readyState === WebSocket.OPEN) to.send(data, { binary: isBinary }) }
  client.on('message', forward(upstream))
  upstream.on('message', forward(client))
  client.on('close', (code, reason) => { if (upstream.readyState === WebSocket.OPEN) upstream.close(closeCode(code), reason) })
  upstream.on('close', (code, reason) => { if (client.readyState === WebSocket.OPEN) client.close(closeCode(code), reason) })
  upstream.on('error', () => client.close(UPSTREAM_FAILED, 'Upstream error'))
  client.on('error', () => upstream.terminate())
}

/**
 * The last step of a WebSocket upgrade: only now, with the handshake checked and the client authenticated
 * and counted, is the upstream dialled, with the same identity and forwarding headers as an HTTP request and
 * the target byte for byte. The client's handshake is completed once the upstream's is, with the upstream
 * paused in between so that a message it sends at once is relayed, not lost. Every failure closes the
 * upstream side.
 */
export function relay (settings: RelaySettings, registry: SocketRegistry): Step {
  const server = new WebSocketServer({ noServer: true, maxPayload: settings.maxMessageBytes, perMessageDeflate: false, clientTracking: false })

  function dial (exchange: Exchange): WebSocket {
    const headers: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(exchange.upstreamHeaders ?? {})) if (!name.startsWith('sec-websocket-')) headers[name] = value
    const protocols = (exchange.req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean)
    const origin = exchange.match.origin.replace(/^http/, 'ws')
    return new WebSocket(origin + exchange.target, protocols, {
      headers: headers as Record<string, string>,
      handshakeTimeout: settings.connectTimeoutMs,
      followRedirects: false,
      perMessageDeflate: false,
      maxPayload: settings.maxMessageBytes,
      // ws builds the request line from a parsed URL (which normalises it); the upstream gets the target as received.
      finishRequest: (request: ClientRequest) => {
        request.path = exchange.target
        request.end()
      },
    })
  }

  function open (exchange: Exchange, upstream: WebSocket): void {
    upstream.pause()
    exchange.upgraded = true
    server.handleUpgrade(exchange.req, exchange.socket, exchange.upgradeHead, (client) => {
      const { log } = exchange.context
      const identity = exchange.identity
      log.info({ request_id: exchange.requestId, path: exchange.match.template, upstream: exchange.match.route.name, user_id: identity?.userId, company_id: identity?.companyId ?? undefined }, 'websocket opened')
      relayMessages(client, upstream)
      const unregister = registry.add({
        exchange,
        close: (code, reason) => {
          client.close(code, reason)
          upstream.close(1000, reason)
        },
      })
      let expiry: NodeJS.Timeout | undefined
      if (identity) {
        // The socket lives no longer than the token it was opened with.
        expiry = setTimeout(() => {
          client.close(POLICY_VIOLATION, 'Token expired')
          upstream.close(1000, 'Token expired')
        }, Math.min(MAX_TIMER_MS, Math.max(0, identity.expiresAt * 1000 - Date.now())))
      }
      client.once('close', () => {
        clearTimeout(expiry)
        unregister()
        exchange.end(101)
      })
      upstream.resume()
    })
  }

  return {
    name: 'relay',
    run (exchange) {
      const upstream = dial(exchange)
      // The client may leave while the upstream is dialled: the upstream side is closed with it.
      const clientGone = (): void => upstream.terminate()
      exchange.socket.once('close', clientGone)
      return new Promise<GatewayError | undefined>((resolve) => {
        upstream.once('open', () => {
          exchange.socket.removeListener('close', clientGone)
          if (exchange.socket.destroyed) {
            upstream.terminate()
            resolve(undefined)
            return
          }
          open(exchange, upstream)
          resolve(undefined)
        })
        upstream.once('error', (error) => {
          upstream.terminate()
          resolve(upstreamFailure(error))
        })
        upstream.once('unexpected-response', (request, response) => {
          response.destroy()
          request.destroy()
          upstream.terminate()
          resolve(new GatewayError('UPSTREAM_BAD_GATEWAY', 502, `Upstream refused the WebSocket (${response.statusCode ?? 0}).`))
        })
      })
    },
  }
}
