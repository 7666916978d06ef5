import type { ConcurrencyLimiter } from '../traffic/concurrency.js'
import type { TrafficPolicies } from '../traffic/policies.js'
import { tooManyRequests } from '../traffic/rate-limits.js'
import type { GatewayError } from '../errors.js'
import type { Exchange } from './exchange.js'
import type { Step, StepOutcome } from './step.js'

/**
 * The route's rate limits: per user and per company (per client address on routes reached without a token).
 * Their draft-10 headers go on the answer. Synchronous with the in-memory store; awaited with Redis.
 */
export function rateLimits (traffic: TrafficPolicies): Step {
  return {
    name: 'rate limits',
    run (exchange) {
      let synchronous = true
      let counted = false
      let outcome: GatewayError | undefined
      let later: ((refusal: GatewayError | undefined) => void) | undefined
      traffic.routeLimits(exchange.match.route).count(exchange.identity, exchange.clientIp, (refusal, headers) => {
        if (headers) Object.assign(exchange.responseHeaders, headers)
        if (synchronous) {
          counted = true
          outcome = refusal
        } else {
          (later as (refusal: GatewayError | undefined) => void)(refusal)
        }
      })
      synchronous = false
      if (counted) return outcome
      return new Promise<GatewayError | undefined>((resolve) => { later = resolve }) as StepOutcome
    },
  }
}

function take (exchange: Exchange, limiter: ConcurrencyLimiter, key: string): GatewayError | undefined {
  if (!limiter.tryAcquire(key)) return tooManyRequests(1)
  exchange.hold(limiter, key)
  return undefined
}

/**
 * Requests in flight: per user on every route (nobody takes a whole upstream pool), and per company on the
 * routes that set a cap (by default the LLM route). The excess is refused at once, never queued.
 */
export function concurrencyCaps (traffic: TrafficPolicies): Step {
  return {
    name: 'concurrency caps',
    run (exchange) {
      const identity = exchange.identity
      if (identity === null) return undefined
      const refused = take(exchange, traffic.inFlightPerUser, identity.userId)
      if (refused) return refused
      const perCompany = traffic.routeLimits(exchange.match.route).concurrency
      return perCompany && identity.companyId ? take(exchange, perCompany, identity.companyId) : undefined
    },
  }
}

/** Open WebSockets per user and per company: held for the socket's whole life. */
export function webSocketCaps (traffic: TrafficPolicies): Step {
  return {
    name: 'websocket caps',
    run (exchange) {
      const identity = exchange.identity
      if (identity === null) return undefined
      return take(exchange, traffic.webSocketsPerUser, identity.userId) ??
        (identity.companyId ? take(exchange, traffic.webSocketsPerCompany, identity.companyId) : undefined)
    },
  }
}
