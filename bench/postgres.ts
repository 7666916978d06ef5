import { randomBytes } from 'node:crypto'
import pg from 'pg'
import pino from 'pino'
import { loadConfig } from '../src/config.js'
import { bootstrapDemo, type DemoCredentials } from '../src/auth/demo-admin.js'
import { migrate } from '../src/db/migrate.js'
import { openDatabase } from '../src/db/open.js'

/** The local server of this machine kind (trust auth), tried when no URL is given. */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

/** Whether `url` accepts a connection within 2 s as a user who may create databases (the reason when not). */
export async function postgresReachable (url: string): Promise<true | string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    const { rows } = await client.query<{ allowed: boolean }>('SELECT rolcreatedb OR rolsuper AS allowed FROM pg_roles WHERE rolname = current_user')
    return rows[0]?.allowed === true ? true : 'the user may not CREATE DATABASE'
  } catch (error) {
    return (error as Error).message
  } finally {
    await client.end().catch(() => undefined)
  }
}

export interface BenchDatabase {
  /** The GATEWAY_POSTGRES_* settings of the fresh database. */
  readonly env: Record<string, string>
  readonly credentials: DemoCredentials
  /** Transactions the server has counted in this database so far (pg_stat_database; each lone query is one). */
  transactions (): Promise<number>
  drop (): Promise<void>
}

/**
 * A fresh database on the server of `adminUrl` (a user allowed to CREATE DATABASE), migrated and seeded
 * with the same demo company and admin the embedded mode creates; dropped again by `drop()`.
 */
export async function createBenchDatabase (adminUrl: string, jwtSecret: string): Promise<BenchDatabase> {
  const url = new URL(adminUrl)
  const name = `atenex_bench_${randomBytes(6).toString('hex')}`
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 })
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end()
    }
  }
  await admin(async (client) => client.query(`CREATE DATABASE ${name}`))
  const env: Record<string, string> = {
    GATEWAY_POSTGRES_SERVER: url.hostname,
    GATEWAY_POSTGRES_PORT: url.port || '5432',
    GATEWAY_POSTGRES_USER: decodeURIComponent(url.username) || 'postgres',
    GATEWAY_POSTGRES_DB: name,
    ...(url.password ? { GATEWAY_POSTGRES_PASSWORD: decodeURIComponent(url.password) } : {}),
  }
  const drop = async (): Promise<void> => { await admin(async (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) }
  // Read from the admin database, so that reading does not count. A backend reports its counts when it goes
  // idle, at most once a second (PostgreSQL 15+), so a reading is up to date a little over a second after the load.
  const transactions = async (): Promise<number> => admin(async (client) => {
    const { rows } = await client.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [name])
    return Number(rows[0]?.n ?? 0)
  })
  try {
    const config = loadConfig({ ...env, GATEWAY_JWT_SECRET: jwtSecret })
    const log = pino({ level: 'silent' })
    const db = await openDatabase(config.database, log)
    try {
      await migrate(db, log)
      const credentials = await bootstrapDemo(db)
      if (!credentials) throw new Error(`${name} was not empty`)
      return { env, credentials, transactions, drop }
    } finally {
      await db.close()
    }
  } catch (error) {
    await drop()
    throw error
  }
}
