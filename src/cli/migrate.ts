import pino from 'pino'
import type { Config } from '../config.js'
import { migrate } from '../db/migrate.js'
import { openDatabase } from '../db/open.js'
import { loggerOptions } from '../observability/logger.js'

export async function runMigrate (config: Config): Promise<void> {
  const log = pino(loggerOptions(config))
  const db = await openDatabase(config.database, log)
  try {
    const applied = await migrate(db, log)
    process.stdout.write(applied.length > 0 ? `Applied migrations: ${applied.join(', ')}\n` : 'Database is up to date.\n')
  } finally {
    await db.close()
  }
}
