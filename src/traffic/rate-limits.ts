import LocalStore from '@fastify/rate-limit/store/LocalStore.js'
import RedisStore from '@fastify/rate-limit/store/RedisStore.js'
import type { Redis } from 'ioredis'
import { GatewayError } from '../errors.js'
import { policyItem, remainingHeader, type LimitState } from './ratelimit-headers.js'

/** One limit: `max` requests per `windowMs` for each key. */
export interface LimitPolicy {
  readonly name: string
  readonly max: number
  readonly windowMs: number
  /** When the shared store (Redis) is unreachable: let the request through (true) or refuse it with 503. */
  readonly failOpen: boolean
}

export const tooManyRequests = (retryAfterSeconds: number, headers: Record<string, string> = {}): GatewayError =>
  new GatewayError('RATE_LIMITED', 429, 'Too many requests.', { headers: { ...headers, 'retry-after': String(Math.max(1, retryAfterSeconds)) } })

export const limitsUnavailable = (): GatewayError =>
  new GatewayError('SERVICE_UNAVAILABLE', 503, 'Rate limiting is unavailable; try again shortly.', { headers: { 'retry-after': '5' } })

/** How many keys the in-memory store remembers (least recently used first out). */
const LOCAL_KEYS = 100_000

export type LimitStore = InstanceType<typeof LocalStore>

/**
 * The counting (fixed windows, the Redis script) is @fastify/rate-limit's, through its stores; which keys
 * are limited, how the headers read and what happens when Redis is down are ours. The in-memory store
 * answers synchronously, so a counted request costs no promise.
 */
export function limitStore (redis: Redis | undefined): LimitStore {
  return redis ? new RedisStore(false, false, redis, 'atenex-gateway:rl:') : new LocalStore(false, false, LOCAL_KEYS)
}

/** The outcome of counting: the state to report, or the error to answer with (429, or 503 when failing closed). */
export type CountCallback = (error: GatewayError | undefined, state: LimitState | undefined) => void

export class LimitCounter {
  /** This limit's item of RateLimit-Policy. */
  readonly policyItem: string

  constructor (readonly policy: LimitPolicy, private readonly store: LimitStore, private readonly onStoreError: (error: Error, policy: string) => void) {
    this.policyItem = policyItem(policy)
  }

  /** Counts one request of `key` (or only reads its state); calls back at once with the in-memory store. */
  count (key: string, callback: CountCallback, increment = true): void {
    const { name, max, windowMs, failOpen } = this.policy
    this.store[increment ? 'incr' : 'read'](`${name}:${key}`, (error, result) => {
      if (error || !result) {
        this.onStoreError(error ?? new Error('empty store answer'), name)
        callback(failOpen ? undefined : limitsUnavailable(), undefined)
        return
      }
      const resetSeconds = Math.ceil(result.ttl / 1000)
      callback(undefined, {
        policy: name,
        remaining: Math.max(0, max - result.current),
        resetSeconds,
        exceeded: result.current > max,
      })
    }, windowMs, max)
  }

  async countAsync (key: string, increment = true): Promise<LimitState | undefined> {
    return new Promise((resolve, reject) => {
      this.count(key, (error, state) => { error ? reject(error) : resolve(state) }, increment)
    })
  }
}

/** What counting a set of limits gives: the error to answer with, or the draft-10 headers to send (none when every limit failed open). */
export type LimitsCallback = (error: GatewayError | undefined, headers: Record<string, string> | undefined) => void

/**
 * A set of limits counted together (a route's per-user and per-company budgets): the draft-10 headers of
 * all, or the refusal of any. With the in-memory store it calls back before returning.
 */
export class LimitSet {
  /** RateLimit-Policy when every limit was counted (the usual case): fixed, so built once. */
  readonly #policyHeader: string

  constructor (private readonly counters: readonly LimitCounter[]) {
    this.#policyHeader = counters.map((counter) => counter.policyItem).join(', ')
  }

  /** `keys[i]` is counted against the i-th limit. */
  count (keys: readonly string[], callback: LimitsCallback): void {
    const states: (LimitState | undefined)[] = new Array(this.counters.length)
    let pending = this.counters.length
    let failed: GatewayError | undefined
    for (let index = 0; index < this.counters.length; index++) {
      (this.counters[index] as LimitCounter).count(keys[index] as string, (error, state) => {
        if (error) failed ??= error
        states[index] = state
        if (--pending === 0) this.#settle(states, failed, callback)
      })
    }
  }

  /** The headers of the limits counted (one that failed open is left out), and the 429 when one is exceeded. */
  #settle (states: readonly (LimitState | undefined)[], failed: GatewayError | undefined, callback: LimitsCallback): void {
    if (failed) return callback(failed, undefined)
    let counted = 0
    let retryAfter = -1
    for (const state of states) {
      if (state === undefined) continue
      counted++
      if (state.exceeded && state.resetSeconds > retryAfter) retryAfter = state.resetSeconds
    }
    if (counted === 0) return callback(undefined, undefined)
    const policy = counted === states.length
      ? this.#policyHeader
      : this.counters.filter((_counter, index) => states[index] !== undefined).map((counter) => counter.policyItem).join(', ')
    const headers = { 'ratelimit-policy': policy, ratelimit: remainingHeader(states) }
    callback(retryAfter >= 0 ? tooManyRequests(retryAfter, headers) : undefined, headers)
  }
}
