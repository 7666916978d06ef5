import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { closedPortUrl } from './upstream.js'
import { eventually } from './wait.js'
import { requireService } from './services.js'

export const redisServerMissing: string | false = requireService('Redis (the redis-server binary)', spawnSync('redis-server', ['--version']).status === 0 ? false : 'redis-server is not installed')

/** A private redis-server this test owns: no persistence, on a port of its own, stopped and started at will. */
export interface PrivateRedis {
  readonly url: string
  /** SIGKILL: the server dies as a crashed one would, without closing its clients politely. */
  kill (): Promise<void>
  /** Starts it again on the same port (empty: nothing was persisted). */
  start (): Promise<void>
}

export async function startPrivateRedis (): Promise<PrivateRedis> {
  // redis-server cannot listen on port 0 (that turns TCP off): a port that was free a moment ago.
  const port = Number(new URL(await closedPortUrl()).port)
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  const ping = async (): Promise<boolean> => {
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
    client.on('error', () => undefined)
    try {
      await client.connect()
      return await client.ping() === 'PONG'
    } catch {
      return false
    } finally {
      client.disconnect()
    }
  }

  const redis: PrivateRedis = {
    url,
    async start () {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' })
      await eventually(ping, 10_000, `redis-server on port ${port}`)
    },
    async kill () {
      const running = child
      if (!running || running.exitCode !== null || running.signalCode !== null) return
      const exited = once(running, 'exit')
      running.kill('SIGKILL')
      await exited
    },
  }
  await redis.start()
  return redis
}
