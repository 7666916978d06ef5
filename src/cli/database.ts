import pino from 'pino'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import { migrate } from '../db/migrate.js'
import { openDatabase } from '../db/open.js'
import { loggerOptions } from '../observability/logger.js'
import { step } from './command.js'

/** Opens the configured database, migrated, for one CLI command, and closes it afterwards. */
export async function withDatabase<T> (config: Config, work: (db: Database) => Promise<T>): Promise<T> {
  const log = pino({ ...loggerOptions(config), level: 'warn' }, pino.destination(2))
  const db = await step(`Opening the ${config.database.kind === 'postgres' ? 'PostgreSQL' : 'embedded'} database`, () => openDatabase(config.database, log))
  try {
    await step('Applying migrations', () => migrate(db, log))
    return await work(db)
  } finally {
    await db.close()
  }
}
