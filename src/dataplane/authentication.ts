import { databaseUnavailable, isDatabaseOutage } from '../db/outage.js'
import type { Authenticators } from '../auth/authenticate.js'
import { invalidToken } from '../auth/auth-errors.js'
import type { WsTickets } from '../auth/ws-tickets.js'
import { GatewayError, internalError } from '../errors.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

/** A rejected verification as a refusal value: the gateway's own errors as they are, anything else a 500. */
export function asRefusal (error: unknown): GatewayError {
  if (error instanceof GatewayError) return error
  return isDatabaseOutage(error) ? databaseUnavailable(error) : internalError(error)
}

/**
 * StrictAuth for the routes that need it (SPEC §2.2): the identity comes from the token (or, for a browser's
 * WebSocket, a single-use ticket) and the database. Synchronous when token and user are both cached, which is
 * the steady state; otherwise the verifier and the user lookup are awaited.
 */
export function authentication (auth: Authenticators, tickets: WsTickets): Step {
  const accept = (exchange: Exchange) => (identity: Exchange['identity']): undefined => {
    exchange.identity = identity
    return undefined
  }
  return {
    name: 'authentication',
    run (exchange) {
      if (exchange.match.route.auth === 'none') return undefined
      const headers = exchange.req.headers
      const ticket = exchange.ticket
      if (ticket !== null && headers.authorization === undefined && headers['x-api-key'] === undefined) {
        return tickets.redeem(ticket).then((redeemed) => {
          if (!redeemed) throw invalidToken('Token validation failed: Invalid or used WebSocket ticket.')
          return auth.identifyUser({ userId: redeemed.userId, companyId: redeemed.companyId, sessionId: redeemed.sessionId, expiresAt: redeemed.tokenExpiresAt })
        }).then(accept(exchange), asRefusal)
      }
      const cached = auth.cachedIdentity(headers)
      if (cached instanceof GatewayError) return cached
      if (cached !== undefined) {
        exchange.identity = cached
        return undefined
      }
      return auth.identify(headers, true, true).then(accept(exchange), asRefusal)
    },
  }
}
