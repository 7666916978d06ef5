// Run as a child process by migrations.test.ts: migrates the database its environment names, once, and prints
// what it applied and whether umzug was loaded to do it (umzug is CommonJS, so it shows in require.cache).
import { createRequire } from 'node:module'
import pino from 'pino'
import { loadDatabaseConfig } from '../../src/config.js'
import { migrate } from '../../src/db/migrate.js'
import { openDatabase } from '../../src/db/open.js'

const db = await openDatabase(loadDatabaseConfig(process.env), pino({ level: 'silent' }))
try {
  const applied = await migrate(db, pino({ level: 'silent' }))
  const umzugLoaded = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/node_modules/umzug/'))
  process.stdout.write(JSON.stringify({ applied, umzugLoaded }))
} finally {
  await db.close()
}
