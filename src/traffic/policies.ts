import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { ConcurrencyLimiter } from './concurrency.js'
import { LimitCounter, LimitSet, limitStore, tooManyRequests, type LimitPolicy, type LimitsCallback } from './rate-limits.js'

const MINUTE_MS = 60_000

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

export interface LoginGuard {
  /**
   * Refuses (429) an email+IP pair that has used up its failures, or an account that has, from whatever
   * addresses (OWASP Authentication Cheat Sheet: a limit the client's address cannot reset), without counting
   * this attempt.
   */
  check (request: FastifyRequest, email: string): Promise<void>
  /**
   * Counts a failure; answers which limit it used up (the attempt that locked: an email+IP pair, or the
   * account), or null while attempts remain.
   */
  recordFailure (request: FastifyRequest, email: string): Promise<'email_and_address' | 'account' | null>
}

/** Who is counted: a user or an API key, of a company, with a budget of its own or not. */
export interface CountedCaller {
  readonly userId: string
  readonly companyId: string | null
  readonly rateLimitPerMinute: number | null
}

/** What a proxied route says about its budgets (the route table's entry). */
export interface RouteBudgets {
  readonly name: string
  readonly auth: 'strict' | 'none'
  readonly userPerMinute: number | undefined
  readonly companyPerMinute: number | undefined
  readonly maxConcurrentPerCompany: number | undefined
  readonly rateLimitFailOpen: boolean | undefined
}

/** A proxied route's limits, counted by the data plane. */
export interface RouteLimits {
  /**
   * Counts one request against the per-user and per-company budgets and calls back with the draft-10
   * headers to send, or the error to answer with. Synchronous with the in-memory store.
   */
  count (identity: CountedCaller | null, clientIp: string, callback: LimitsCallback): void
  /** The per-company cap on requests in flight, where the route sets one. */
  readonly concurrency: ConcurrencyLimiter | undefined
}

export interface TrafficPolicies {
  /** Per client IP, for routes reached without a token (login, refresh, the auth service). */
  readonly perIp: Hook
  /** The proxied routes' per-user budget, for the gateway's own routes that open one (the WebSocket ticket). */
  readonly perUser: Hook
  readonly login: LoginGuard
  routeLimits (route: RouteBudgets): RouteLimits
  /** Proxied requests in flight per user (or API key), on every route. */
  readonly inFlightPerUser: ConcurrencyLimiter
  readonly webSocketsPerUser: ConcurrencyLimiter
  readonly webSocketsPerCompany: ConcurrencyLimiter
}

/** Runs `count` in a Fastify hook: headers on the reply, refusals thrown to the error handler. */
function asHook (count: (request: FastifyRequest, callback: LimitsCallback) => void): Hook {
  return async (request, reply) => new Promise((resolve, reject) => {
    count(request, (error, headers) => {
      if (error) return reject(error)
      if (headers) reply.headers(headers)
      resolve()
    })
  })
}

/** Which keys are limited, how hard, and what a Redis outage does (SPEC §5, rate limiting). */
export function trafficPolicies (config: Config, redis: Redis | undefined, log: FastifyBaseLogger): TrafficPolicies {
  const limits = config.rateLimits
  const store = limitStore(redis)
  const onStoreError = (error: Error, policy: string): void => log.warn({ err: error, policy }, 'rate limit store unavailable')

  const counters = new Map<string, LimitCounter>()
  // One counter per policy name and failure mode: routes sharing both share the budget.
  const counter = (policy: LimitPolicy): LimitCounter => {
    const key = `${policy.name}|${policy.failOpen}`
    let existing = counters.get(key)
    if (!existing) {
      existing = new LimitCounter(policy, store, onStoreError)
      counters.set(key, existing)
    }
    return existing
  }

  const perIpCounter = counter({ name: 'ip', max: limits.ipPerMinute, windowMs: MINUTE_MS, failOpen: limits.failOpen })
  const perIpLimits = new LimitSet([perIpCounter])
  const perIp = asHook((request, callback) => perIpLimits.count([request.ip], callback))

  // Brute-force protection must not vanish with Redis: this limit always fails closed.
  const loginFailures = counter({ name: 'login', max: limits.loginMaxFailures, windowMs: limits.loginFailureWindowMs, failOpen: false })
  const accountFailures = counter({ name: 'login-account', max: limits.loginMaxFailuresPerAccount, windowMs: limits.loginFailureWindowMs, failOpen: false })
  const loginKey = (request: FastifyRequest, email: string): string => `${email.toLowerCase()}|${request.ip}`
  const login: LoginGuard = {
    check: async (request, email) => {
      const [pair, account] = await Promise.all([loginFailures.countAsync(loginKey(request, email), false), accountFailures.countAsync(email.toLowerCase(), false)])
      for (const state of [pair, account]) if (state && state.remaining === 0) throw tooManyRequests(state.resetSeconds)
    },
    recordFailure: async (request, email) => {
      const [pair, account] = await Promise.all([loginFailures.countAsync(loginKey(request, email)), accountFailures.countAsync(email.toLowerCase())])
      // check() let this attempt through, so a limit with none left was used up by this very failure.
      if (account?.remaining === 0) return 'account'
      return pair?.remaining === 0 ? 'email_and_address' : null
    },
  }
  const userBudget = new LimitSet([counter({ name: 'user', max: limits.userPerMinute, windowMs: MINUTE_MS, failOpen: limits.failOpen })])
  const perUser = asHook((request, callback) => userBudget.count([request.identity?.userId ?? request.ip], callback))

  const keyBudgets = new Map<string, LimitSet>()
  const keyBudget = (max: number, perCompany: LimitCounter, failOpen: boolean): LimitSet => {
    const name = `api-key-${max}|${perCompany.policy.name}|${failOpen}`
    let budget = keyBudgets.get(name)
    if (!budget) {
      // Counted by key id under one policy name; one counter per budget size (a counter's quota is fixed).
      budget = new LimitSet([new LimitCounter({ name: 'api-key', max, windowMs: MINUTE_MS, failOpen }, store, onStoreError), perCompany])
      keyBudgets.set(name, budget)
    }
    return budget
  }

  const concurrency = new Map<number, ConcurrencyLimiter>()
  const byRoute = new Map<RouteBudgets, RouteLimits>()
  const routeLimits = (route: RouteBudgets): RouteLimits => {
    const known = byRoute.get(route)
    if (known) return known
    const failOpen = route.rateLimitFailOpen ?? limits.failOpen
    // Routes on the defaults share one budget per user and company; a route with its own limits has its own.
    const suffix = (custom: boolean): string => custom ? `-${route.name}` : ''
    const perUser = counter({ name: `user${suffix(route.userPerMinute !== undefined)}`, max: route.userPerMinute ?? limits.userPerMinute, windowMs: MINUTE_MS, failOpen })
    const perCompany = counter({ name: `company${suffix(route.companyPerMinute !== undefined)}`, max: route.companyPerMinute ?? limits.companyPerMinute, windowMs: MINUTE_MS, failOpen })
    const both = route.auth === 'none' ? perIpLimits : new LimitSet([perUser, perCompany])
    let limiter: ConcurrencyLimiter | undefined
    if (route.maxConcurrentPerCompany !== undefined) {
      limiter = concurrency.get(route.maxConcurrentPerCompany) ?? new ConcurrencyLimiter(route.maxConcurrentPerCompany)
      concurrency.set(route.maxConcurrentPerCompany, limiter)
    }
    const limitsOfRoute: RouteLimits = {
      count: route.auth === 'none'
        ? (_identity, clientIp, callback) => both.count([clientIp], callback)
        : (identity, clientIp, callback) => {
            // An API key with a budget of its own is counted against it instead of the per-user one.
            const own = identity?.rateLimitPerMinute
            if (own != null) keyBudget(own, perCompany, failOpen).count([identity?.userId ?? clientIp, identity?.companyId ?? clientIp], callback)
            else both.count([identity?.userId ?? clientIp, identity?.companyId ?? clientIp], callback)
          },
      concurrency: limiter,
    }
    byRoute.set(route, limitsOfRoute)
    return limitsOfRoute
  }

  return {
    perIp,
    perUser,
    login,
    routeLimits,
    inFlightPerUser: new ConcurrencyLimiter(limits.maxInFlightPerUser),
    webSocketsPerUser: new ConcurrencyLimiter(limits.webSocketsPerUser),
    webSocketsPerCompany: new ConcurrencyLimiter(limits.webSocketsPerCompany),
  }
}
