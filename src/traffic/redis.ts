import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'

/** Fail fast instead of queueing: a rate-limit check must not wait on a Redis that is down. */
const REDIS_CONNECT_TIMEOUT_MS = 2000
const REDIS_COMMAND_TIMEOUT_MS = 500

/** ioredis is loaded only when a Redis URL is configured (it is ~2 MiB of heap otherwise held for nothing). */
export async function connectRedis (url: string, log: FastifyBaseLogger): Promise<Redis> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  })
  let reported = false
  redis.on('error', (error) => {
    if (!reported) log.warn({ err: error }, 'Redis unreachable; rate limits follow their fail-open/closed policy')
    reported = true
  })
  redis.on('ready', () => {
    if (reported) log.info('Redis reachable again')
    reported = false
  })
  return redis
}
