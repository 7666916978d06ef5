import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import { GatewayError } from '../errors.js'
import { rateLimitHeaders, type LimitState } from './ratelimit-headers.js'

/** One limit: `max` requests per `windowMs` for each key `keyOf` gives. */
export interface LimitPolicy {
  readonly name: string
  readonly max: number
  readonly windowMs: number
  /** When the shared store (Redis) is unreachable: let the request through (true) or refuse it with 503. */
  readonly failOpen: boolean
  readonly keyOf: (request: FastifyRequest) => string
}

/** A limit counted against a request, or the store's failure when it could not be. */
export type Counter = (request: FastifyRequest, options?: { increment?: boolean }) => Promise<LimitState | undefined>

export const tooManyRequests = (retryAfterSeconds: number): GatewayError =>
  new GatewayError('RATE_LIMITED', 429, 'Too many requests.', { headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) } })

export const limitsUnavailable = (): GatewayError =>
  new GatewayError('SERVICE_UNAVAILABLE', 503, 'Rate limiting is unavailable; try again shortly.', { headers: { 'retry-after': '5' } })

/**
 * The counting (windows, stores, Redis scripts) is @fastify/rate-limit's; which keys are limited, how the
 * headers read and what happens when Redis is down are ours.
 */
export async function registerRateLimitStore (app: FastifyInstance, redis: Redis | undefined): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    skipOnError: false,
    ...(redis ? { redis, nameSpace: 'atenex-gateway:rl:' } : {}),
  })
}

export function counterFor (app: FastifyInstance, policy: LimitPolicy): Counter {
  const check = app.createRateLimit({ max: policy.max, timeWindow: policy.windowMs, keyGenerator: (request) => `${policy.name}:${policy.keyOf(request)}` })
  return async (request, options) => {
    try {
      const result = await check(request, options)
      if (result.isAllowed) return undefined
      return {
        policy: policy.name,
        quota: policy.max,
        windowSeconds: Math.ceil(policy.windowMs / 1000),
        remaining: result.remaining,
        resetSeconds: result.ttlInSeconds,
        exceeded: result.isExceeded,
      }
    } catch (error) {
      request.log.warn({ err: error, policy: policy.name }, 'rate limit store unavailable')
      if (policy.failOpen) return undefined
      throw limitsUnavailable()
    }
  }
}

/** Sets the draft-10 headers for `states` and refuses the request when one of them is exceeded. */
export function enforce (reply: FastifyReply, states: readonly (LimitState | undefined)[]): void {
  const counted = states.filter((state): state is LimitState => state !== undefined)
  if (counted.length === 0) return
  reply.headers(rateLimitHeaders(counted))
  const exceeded = counted.filter((state) => state.exceeded)
  if (exceeded.length > 0) throw tooManyRequests(Math.max(...exceeded.map((state) => state.resetSeconds)))
}

/** An onRequest hook counting the request against every policy given. */
export function rateLimitHook (app: FastifyInstance, policies: readonly LimitPolicy[]) {
  const counters = policies.map((policy) => counterFor(app, policy))
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    enforce(reply, await Promise.all(counters.map(async (count) => count(request))))
  }
}
