import type { DatabaseConfig } from '../config.js'
import type { Command } from './command.js'
import { withDatabase } from './database.js'

export function migrateCommand (loadDatabase: () => DatabaseConfig): Command {
  return {
    summary: 'Apply pending database migrations, say which, and exit.',
    usage: 'migrate',
    details: 'Safe to run from several replicas at once: an advisory lock serialises them, and each migration runs once (recorded in gateway_migrations).',
    settings: 'database',
    options: {},
    run: async () => {
      await withDatabase(loadDatabase(), async (_db, applied) => {
        const count = `${applied.length} migration${applied.length === 1 ? '' : 's'}`
        process.stdout.write(applied.length === 0 ? 'Database is up to date.\n' : `Applied ${count}: ${applied.join(', ')}.\n`)
      })
    },
  }
}
