import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A PostgreSQL server of this test's own (initdb + pg_ctl on a free port), so that a test can stop and restart
 * it under a running gateway without touching the machine's shared server. As root, the server runs as the
 * `postgres` user (initdb refuses root).
 */
export interface PrivatePostgres {
  readonly port: number
  /** The gateway's connection settings for it (GATEWAY_POSTGRES_*). */
  readonly env: Record<string, string>
  stop (): Promise<void>
  start (): Promise<void>
  destroy (): Promise<void>
}

function binDir (): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const version = readdirSync(root).filter((name) => existsSync(join(root, name, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))[0]
  return version === undefined ? undefined : join(root, version, 'bin')
}

const asRoot = process.getuid?.() === 0

/** Why no private cluster can be made here, or false. */
export function privatePostgresUnavailableReason (): string | false {
  if (binDir() === undefined) return 'no initdb under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)'
  if (asRoot && !existsSync('/usr/sbin/runuser')) return 'running as root without runuser to start PostgreSQL as the postgres user'
  return false
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function startPrivatePostgres (): Promise<PrivatePostgres> {
  const bin = binDir() as string
  const home = mkdtempSync(join(tmpdir(), 'gateway-private-pg-'))
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    chownSync(home, Number(stdout.trim()), -1)
  }
  const tool = async (name: string, args: string[]): Promise<void> => {
    const command = asRoot ? ['/usr/sbin/runuser', ['-u', 'postgres', '--', join(bin, name), ...args]] as const : [join(bin, name), args] as const
    await run(command[0], [...command[1]], { timeout: 60_000 })
  }
  const data = join(home, 'data')
  await tool('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  const port = await freePort()
  const start = async (): Promise<void> => {
    await tool('pg_ctl', ['-D', data, '-l', join(home, 'log'), '-w', '-t', '60', '-o', `-p ${port} -k ${home} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'])
  }
  const stop = async (): Promise<void> => { await tool('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']) }
  await start()
  let running = true
  return {
    port,
    env: { GATEWAY_POSTGRES_SERVER: '127.0.0.1', GATEWAY_POSTGRES_PORT: String(port), GATEWAY_POSTGRES_USER: 'postgres', GATEWAY_POSTGRES_DB: 'postgres' },
    stop: async () => { await stop(); running = false },
    start: async () => { await start(); running = true },
    destroy: async () => {
      if (running) await stop().catch(() => undefined)
      rmSync(home, { recursive: true, force: true })
    },
  }
}
