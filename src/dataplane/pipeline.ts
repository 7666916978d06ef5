import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Authenticators } from '../auth/authenticate.js'
import type { WsTickets } from '../auth/ws-tickets.js'
import type { TrafficPolicies } from '../traffic/policies.js'
import { pathOf } from '../observability/request-log.js'
import { apiKeyScopes } from './api-key-scopes.js'
import { asRefusal, authentication } from './authentication.js'
import { declaredBodyLimit } from './body-limits.js'
import { Exchange, type PlaneContext } from './exchange.js'
import { upstreamHeaders } from './identity-headers.js'
import { forward, type ForwardSettings } from './forward.js'
import { identityAssertion, type AssertionSigner } from './identity-assertion.js'
import { pathSafety } from './path-safety.js'
import { draining, requestContext } from './request-context.js'
import type { RouteMatcher } from './route-match.js'
import type { Step } from './step.js'
import { concurrencyCaps, rateLimits, webSocketCaps } from './traffic-limits.js'
import { webSocketHandshake } from './websocket-handshake.js'
import { relay, type RelaySettings, type SocketRegistry } from './websocket-relay.js'

/** Runs `steps` from `from` on: synchronously while each step answers at once, resuming after each awaited one. */
function run (steps: readonly Step[], exchange: Exchange, from: number): void {
  for (let index = from; index < steps.length; index++) {
    const outcome = (steps[index] as Step).run(exchange)
    if (outcome === undefined) continue
    if (!(outcome instanceof Promise)) {
      exchange.refuse(outcome)
      return
    }
    outcome.then((refusal) => {
      if (exchange.over) return
      if (refusal) exchange.refuse(refusal)
      else run(steps, exchange, index + 1)
    }, (error: unknown) => { exchange.refuse(asRefusal(error)) })
    return
  }
}

export interface DataPlaneDeps {
  readonly routes: RouteMatcher
  readonly context: PlaneContext
  readonly auth: Authenticators
  readonly tickets: WsTickets
  readonly traffic: TrafficPolicies
  readonly forward: ForwardSettings
  readonly relay: RelaySettings
  readonly sockets: SocketRegistry
  /** Signs X-Atenex-Identity; null when GATEWAY_IDENTITY_ASSERTION=false. */
  readonly assertions: AssertionSigner | null
  readonly isDraining: () => boolean
}

export interface DataPlane {
  /** Serves `req` when it is under a proxied prefix (true); false leaves it to the gateway's own API. */
  serve (req: IncomingMessage, res: ServerResponse): boolean
  /** Serves a WebSocket upgrade under a proxied prefix (true); false when no route matches. */
  upgrade (req: IncomingMessage, socket: Duplex, head: Buffer): boolean
}

/**
 * The data plane: every request under a proxied prefix, and every WebSocket upgrade on one, passes one chain
 * of small steps, in the order a request meets them (SPEC §5, one data plane). A step fills the exchange or
 * returns a refusal, which the exchange's one writer answers; the last step hands the request to its upstream.
 * Preflights stay with the gateway's own API (CORS), as does everything outside the route table.
 */
export function dataPlane (deps: DataPlaneDeps): DataPlane {
  const stopWhileDraining = draining(deps.isDraining)
  const authenticate = authentication(deps.auth, deps.tickets)
  const countRequests = rateLimits(deps.traffic)
  const signIdentity: readonly Step[] = deps.assertions ? [identityAssertion(deps.assertions)] : []

  const http: readonly Step[] = [
    requestContext,
    stopWhileDraining,
    pathSafety,
    declaredBodyLimit,
    authenticate,
    apiKeyScopes,
    countRequests,
    concurrencyCaps(deps.traffic),
    upstreamHeaders,
    ...signIdentity,
    forward(deps.forward),
  ]

  const webSocket: readonly Step[] = [
    requestContext,
    stopWhileDraining,
    webSocketHandshake,
    pathSafety,
    authenticate,
    apiKeyScopes,
    countRequests,
    webSocketCaps(deps.traffic),
    upstreamHeaders,
    ...signIdentity,
    relay(deps.relay, deps.sockets),
  ]

  return {
    serve (req, res) {
      const method = req.method ?? 'GET'
      // A CORS preflight is the gateway's own to answer, without authentication (SPEC §6).
      if (method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) return false
      const match = deps.routes.match(method, pathOf(req.url ?? ''))
      if (!match) return false
      run(http, new Exchange(req, res, req.socket, EMPTY, match, deps.context), 0)
      return true
    },
    upgrade (req, socket, head) {
      const match = deps.routes.match('GET', pathOf(req.url ?? ''))
      if (!match) return false
      run(webSocket, new Exchange(req, null, socket, head, match, deps.context), 0)
      return true
    },
  }
}

const EMPTY = Buffer.alloc(0)
