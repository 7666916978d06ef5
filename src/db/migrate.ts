import type { UmzugStorage } from 'umzug'
import type { FastifyBaseLogger as Logger } from 'fastify'
import type { Database, Queryable } from './database.js'
import * as schema from './migrations/001-schema.js'
import * as userChangeNotify from './migrations/002-user-change-notify.js'
import * as refreshTokens from './migrations/003-refresh-tokens.js'
import * as wsTickets from './migrations/004-ws-tickets.js'
import * as sessions from './migrations/005-sessions.js'
import * as companyChangeNotify from './migrations/006-company-change-notify.js'
import * as apiKeys from './migrations/007-api-keys.js'
import * as sso from './migrations/008-sso.js'
import * as audit from './migrations/009-audit.js'

const MIGRATIONS = [
  { name: '001-schema', up: schema.up },
  { name: '002-user-change-notify', up: userChangeNotify.up },
  { name: '003-refresh-tokens', up: refreshTokens.up },
  { name: '004-ws-tickets', up: wsTickets.up },
  { name: '005-sessions', up: sessions.up },
  { name: '006-company-change-notify', up: companyChangeNotify.up },
  { name: '007-api-keys', up: apiKeys.up },
  { name: '008-sso', up: sso.up },
  { name: '009-audit', up: audit.up },
]

/** Every migration the gateway ships, in the order they apply. */
export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map((migration) => migration.name)

/** Any constant shared by every replica: serialises concurrent migrations across them. */
const MIGRATION_LOCK_KEY = 41_172_024

/** Umzug's record of applied migrations, kept in the database it migrates. */
class MigrationTable implements UmzugStorage<Queryable> {
  constructor (private readonly db: Queryable) {}

  async executed (): Promise<string[]> {
    await this.db.query(`CREATE TABLE IF NOT EXISTS gateway_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await this.db.query<{ name: string }>('SELECT name FROM gateway_migrations ORDER BY name')
    return rows.map((row) => row.name)
  }

  async logMigration ({ name }: { name: string }): Promise<void> {
    await this.db.query('INSERT INTO gateway_migrations (name) VALUES ($1)', [name])
  }

  async unlogMigration ({ name }: { name: string }): Promise<void> {
    await this.db.query('DELETE FROM gateway_migrations WHERE name = $1', [name])
  }
}

/** Applies the pending migrations in one transaction; returns their names. Safe to run from many replicas at once. */
export async function migrate (db: Database, log: Logger): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    const storage = new MigrationTable(tx)
    const executed = new Set(await storage.executed())
    if (MIGRATION_NAMES.every((name) => executed.has(name))) return []
    // Loaded only when something is pending: umzug requires its CLI (@rushstack, z-schema), ~4 MB of live heap
    // that a serving process on an up-to-date database would otherwise carry, and pay for in every major GC.
    const { Umzug } = await import('umzug')
    const umzug = new Umzug<Queryable>({
      migrations: MIGRATIONS,
      context: tx,
      storage,
      logger: {
        info: (event) => log.debug(event, 'migration'),
        warn: (event) => log.warn(event, 'migration'),
        error: (event) => log.error(event, 'migration'),
        debug: (event) => log.debug(event, 'migration'),
      },
    })
    const applied = await umzug.up()
    return applied.map((migration) => migration.name)
  })
}
