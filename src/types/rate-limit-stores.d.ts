/** @fastify/rate-limit's stores, used directly (the package types only its plugin). */
declare module '@fastify/rate-limit/store/*.js' {
  import type { Redis } from 'ioredis'

  type StoreCallback = (error: Error | null, result: { current: number, ttl: number } | null) => void

  interface RateLimitStore {
    incr (key: string, callback: StoreCallback, windowMs: number, max: number): void
    read (key: string, callback: StoreCallback, windowMs: number, max: number): void
  }

  const Store: {
    new (continueExceeding: boolean, exponentialBackoff: boolean, backend?: number | Redis, nameSpace?: string): RateLimitStore
  }
  export default Store
}
