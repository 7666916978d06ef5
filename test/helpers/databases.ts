import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { requireService } from './services.js'

export type Backend = 'pglite' | 'postgres'

const PG_HOST = process.env.TEST_POSTGRES_HOST ?? '127.0.0.1'
const PG_PORT = Number(process.env.TEST_POSTGRES_PORT ?? 5432)
const PG_USER = process.env.TEST_POSTGRES_USER ?? 'postgres'

const admin = (): pg.Client => new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres', connectionTimeoutMillis: 2000 })

let postgresAvailable: Promise<string | undefined> | undefined

/** Why the real PostgreSQL cannot be used here, or undefined when it can. */
export async function postgresUnavailableReason (): Promise<string | undefined> {
  postgresAvailable ??= (async () => {
    if (process.env.TEST_SKIP_POSTGRES === '1') return 'TEST_SKIP_POSTGRES=1'
    const client = admin()
    try {
      await client.connect()
      await client.query('SELECT 1')
      return undefined
    } catch (error) {
      return `no PostgreSQL at ${PG_HOST}:${PG_PORT} (${(error as Error).message})`
    } finally {
      await client.end().catch(() => undefined)
    }
  })()
  return postgresAvailable
}

/**
 * The backends every database test runs on: the embedded PGlite always, the real server when reachable.
 * Each entry says why it is skipped, so a run without PostgreSQL prints the reason instead of passing silently
 * (and fails in CI, see requireService).
 */
export async function backends (): Promise<{ backend: Backend, skip: string | false }[]> {
  return [{ backend: 'pglite', skip: false }, { backend: 'postgres', skip: await postgresSkip() }]
}

/** The `skip` option of a PostgreSQL-only suite: the reason locally; in CI also a failing test naming PostgreSQL. */
export async function postgresSkip (): Promise<string | false> {
  return requireService('PostgreSQL', await postgresUnavailableReason())
}

/** A fresh database on the real server, for one test app; dropped by the returned function. */
export async function createPostgresDatabase (): Promise<{ env: Record<string, string>, drop: () => Promise<void> }> {
  const name = `gateway_test_${randomBytes(6).toString('hex')}`
  const client = admin()
  await client.connect()
  await client.query(`CREATE DATABASE ${name}`)
  await client.end()
  return {
    env: { GATEWAY_POSTGRES_SERVER: PG_HOST, GATEWAY_POSTGRES_PORT: String(PG_PORT), GATEWAY_POSTGRES_USER: PG_USER, GATEWAY_POSTGRES_DB: name },
    drop: async () => {
      const dropper = admin()
      await dropper.connect()
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await dropper.end()
    },
  }
}
