import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { lockDataFolder } from './data-folder-lock.js'
import type { Database, Queryable, QueryResult } from './database.js'

/** PGlite is one in-process PostgreSQL connection; it queues concurrent statements itself. */
class EmbeddedDatabase implements Database {
  readonly kind = 'embedded'
  readonly #db: PGlite
  readonly #releaseFolder: () => void
  #queries = 0

  constructor (db: PGlite, releaseFolder: () => void) {
    this.#db = db
    this.#releaseFolder = releaseFolder
  }

  get queryCount (): number {
    return this.#queries
  }

  async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
    this.#queries += 1
    const result = await this.#db.query<Row>(sql, params as unknown[])
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length }
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (transaction) => work({
      query: async <Row>(sql: string, params: readonly unknown[] = []) => {
        this.#queries += 1
        const result = await transaction.query<Row>(sql, params as unknown[])
        return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length }
      },
    }))
  }

  async listen (channel: string, onMessage: (payload: string) => void): Promise<void> {
    // In-process: the connection cannot be lost, so there is never a reconnect to report.
    await this.#db.listen(channel, onMessage)
  }

  async ping (): Promise<boolean> {
    try {
      await this.#db.query('SELECT 1')
      return true
    } catch {
      return false
    }
  }

  async close (): Promise<void> {
    try {
      await this.#db.close()
    } finally {
      this.#releaseFolder()
    }
  }
}

/**
 * `memory://` keeps the database in memory (tests); any other value is a folder, created if absent and
 * held by this process alone until close (data-folder-lock.ts).
 */
export async function openEmbedded (dataDir: string): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://')
  if (!inMemory) mkdirSync(dataDir, { recursive: true })
  const release = inMemory ? () => undefined : lockDataFolder(dataDir)
  try {
    return new EmbeddedDatabase(await PGlite.create(dataDir), release)
  } catch (error) {
    release()
    throw error
  }
}
