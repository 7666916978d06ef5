import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import type { ProxyRoute } from '../proxy/route-table.js'
import { ConcurrencyLimiter } from './concurrency.js'
import { counterFor, enforce, rateLimitHook, tooManyRequests, type Counter, type LimitPolicy } from './rate-limits.js'

const MINUTE_MS = 60_000

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

export interface LoginGuard {
  /** Refuses (429) an email+IP pair that has used up its failures, without counting this attempt. */
  check (request: FastifyRequest, email: string): Promise<void>
  recordFailure (request: FastifyRequest, email: string): Promise<void>
}

export interface TrafficPolicies {
  /** Per client IP, for routes reached without a token (login, refresh, the auth service). */
  readonly perIp: Hook
  readonly login: LoginGuard
  /** Per user and per company, and the per-company concurrency cap where the route sets one. */
  proxyHooks (route: ProxyRoute): Hook[]
}

/** Which keys are limited, how hard, and what a Redis outage does (SPEC §5, rate limiting). */
export function trafficPolicies (app: FastifyInstance, config: Config): TrafficPolicies {
  const limits = config.rateLimits
  const perIp = rateLimitHook(app, [{ name: 'ip', max: limits.ipPerMinute, windowMs: MINUTE_MS, failOpen: limits.failOpen, keyOf: (request) => request.ip }])

  const loginEmails = new WeakMap<FastifyRequest, string>()
  // Brute-force protection must not vanish with Redis: this limit always fails closed.
  const loginFailures: Counter = counterFor(app, {
    name: 'login',
    max: limits.loginMaxFailures,
    windowMs: limits.loginFailureWindowMs,
    failOpen: false,
    keyOf: (request) => `${loginEmails.get(request) ?? ''}|${request.ip}`,
  })
  const login: LoginGuard = {
    check: async (request, email) => {
      loginEmails.set(request, email.toLowerCase())
      const state = await loginFailures(request, { increment: false })
      if (state && state.remaining === 0) throw tooManyRequests(state.resetSeconds)
    },
    recordFailure: async (request, email) => {
      loginEmails.set(request, email.toLowerCase())
      await loginFailures(request)
    },
  }

  const counters = new Map<string, Counter>()
  // One counter per policy name and failure mode: routes sharing both share the budget (each counter has its own store).
  const counter = (policy: LimitPolicy): Counter => {
    const key = `${policy.name}|${policy.failOpen}`
    let existing = counters.get(key)
    if (!existing) {
      existing = counterFor(app, policy)
      counters.set(key, existing)
    }
    return existing
  }
  const concurrency = new Map<number, ConcurrencyLimiter>()

  return {
    perIp,
    login,
    proxyHooks: (route) => {
      const failOpen = route.rateLimitFailOpen ?? limits.failOpen
      const userMax = route.userPerMinute ?? limits.userPerMinute
      const companyMax = route.companyPerMinute ?? limits.companyPerMinute
      // Routes on the defaults share one budget per user and company; a route with its own limits has its own.
      const suffix = (custom: boolean): string => custom ? `-${route.name}` : ''
      const perUser = counter({
        name: `user${suffix(route.userPerMinute !== undefined)}`, max: userMax, windowMs: MINUTE_MS, failOpen, keyOf: (request) => request.identity?.userId ?? request.ip,
      })
      const perCompany = counter({
        name: `company${suffix(route.companyPerMinute !== undefined)}`, max: companyMax, windowMs: MINUTE_MS, failOpen, keyOf: (request) => request.identity?.companyId ?? request.ip,
      })
      const hooks: Hook[] = [async (request, reply) => { enforce(reply, await Promise.all([perUser(request), perCompany(request)])) }]
      if (route.maxConcurrentPerCompany !== undefined) {
        let limiter = concurrency.get(route.maxConcurrentPerCompany)
        if (!limiter) {
          limiter = new ConcurrencyLimiter(route.maxConcurrentPerCompany)
          concurrency.set(route.maxConcurrentPerCompany, limiter)
        }
        hooks.push(limiter.hook((request) => request.identity?.companyId ?? null))
      }
      return hooks
    },
  }
}
