import { Redis } from 'ioredis'
import { requireService } from './services.js'

/** The Redis the shared-limit tests use (TEST_REDIS_URL points elsewhere). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Why Redis cannot be used here, or false when it can. */
export async function redisUnavailableReason (): Promise<string | false> {
  if (process.env.TEST_SKIP_REDIS === '1') return 'TEST_SKIP_REDIS=1'
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.ping()
    return false
  } catch (error) {
    return `no Redis at ${REDIS_URL} (${(error as Error).message})`
  } finally {
    client.disconnect()
  }
}

/** The `skip` option of a Redis suite: the reason locally; in CI also a failing test naming Redis. */
export async function redisSkip (): Promise<string | false> {
  return requireService('Redis', await redisUnavailableReason())
}
