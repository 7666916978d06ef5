import pg from 'pg'
import type { FastifyBaseLogger as Logger } from 'fastify'
import type { DatabaseConfig } from '../config.js'
import type { Database, Queryable, QueryResult } from './database.js'

type PostgresConfig = Extract<DatabaseConfig, { kind: 'postgres' }>

const CONNECT_TIMEOUT_MS = 5000
const LISTEN_RETRY_MS = 1000

class PostgresDatabase implements Database {
  readonly kind = 'postgres'
  readonly #pool: pg.Pool
  readonly #config: PostgresConfig
  readonly #log: Logger
  #listener: pg.Client | undefined
  #closed = false
  #queries = 0

  constructor (config: PostgresConfig, log: Logger) {
    this.#config = config
    this.#log = log
    this.#pool = new pg.Pool({ ...this.#connection(), max: config.poolSize })
    // An idle client's error (server restart) must not crash the process; the pool replaces it.
    this.#pool.on('error', (error) => log.warn({ err: error }, 'idle PostgreSQL connection failed'))
  }

  #connection (): pg.ClientConfig {
    const { host, port, user, password, database } = this.#config
    return { host, port, user, password, database, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'atenex-gateway' }
  }

  get queryCount (): number {
    return this.#queries
  }

  async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
    this.#queries += 1
    const result = await this.#pool.query(sql, params as unknown[])
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 }
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect()
    const tx: Queryable = {
      query: async <Row>(sql: string, params: readonly unknown[] = []) => {
        this.#queries += 1
        const result = await client.query(sql, params as unknown[])
        return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 }
      },
    }
    try {
      await client.query('BEGIN')
      const value = await work(tx)
      await client.query('COMMIT')
      return value
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }

  async listen (channel: string, onMessage: (payload: string) => void, onReconnect: () => void): Promise<void> {
    const connect = async (): Promise<void> => {
      const client = new pg.Client(this.#connection())
      client.on('notification', (message) => {
        if (message.channel === channel && message.payload !== undefined) onMessage(message.payload)
      })
      client.on('error', (error) => {
        this.#log.warn({ err: error }, 'PostgreSQL LISTEN connection lost; reconnecting')
        client.end().catch(() => undefined)
        if (this.#listener === client) this.#listener = undefined
        scheduleReconnect()
      })
      await client.connect()
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      this.#listener = client
    }
    const scheduleReconnect = (): void => {
      if (this.#closed) return
      setTimeout(() => {
        connect().then(onReconnect, (error: unknown) => {
          this.#log.warn({ err: error }, 'PostgreSQL LISTEN reconnect failed')
          scheduleReconnect()
        })
      }, LISTEN_RETRY_MS).unref()
    }
    await connect()
  }

  async ping (): Promise<boolean> {
    try {
      await this.#pool.query('SELECT 1')
      return true
    } catch {
      return false
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    await this.#listener?.end().catch(() => undefined)
    await this.#pool.end()
  }
}

export function openPostgres (config: PostgresConfig, log: Logger): Database {
  return new PostgresDatabase(config, log)
}
