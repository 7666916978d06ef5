import type { FastifyBaseLogger as Logger } from 'fastify'
import pino from 'pino'
import type { DatabaseConfig } from '../config.js'
import type { Database } from '../db/database.js'
import { migrate } from '../db/migrate.js'
import { openDatabase } from '../db/open.js'
import { loggerOptions } from '../observability/logger.js'
import { CommandError, step } from './command.js'

function describeDatabase (config: DatabaseConfig): string {
  return config.kind === 'postgres'
    ? `the PostgreSQL database ${config.database} at ${config.host}:${config.port} (user ${config.user})`
    : `the embedded database in ${config.dataDir}`
}

/** A driver's connection error in words: Node's AggregateError (one try per address of `localhost`) has an empty message. */
function reason (error: unknown): string {
  const { message, code, errors } = error as { message?: string, code?: string, errors?: unknown[] }
  if (message) return message
  if (errors?.[0] !== undefined) return reason(errors[0])
  return code ?? String(error)
}

/** Opens the database and proves it answers: a pg pool connects lazily, so "done" would otherwise come before any connection. */
async function openAnswering (config: DatabaseConfig, log: Logger): Promise<Database> {
  const db = await openDatabase(config, log)
  try {
    await db.query('SELECT 1')
    return db
  } catch (error) {
    await db.close().catch(() => undefined)
    throw new CommandError(`cannot connect to ${describeDatabase(config)}: ${reason(error)}`)
  }
}

export const appliedOutcome = (applied: readonly string[]): string =>
  applied.length === 0 ? 'done (none pending)' : `done (applied ${applied.join(', ')})`

/**
 * Opens the configured database for one command, applies pending migrations, runs `work`, and closes it.
 * `work` receives the names of the migrations this run applied.
 */
export async function withDatabase<T> (config: DatabaseConfig, work: (db: Database, applied: readonly string[]) => Promise<T>): Promise<T> {
  // Warnings only (a lost idle connection), as JSON on stderr: stdout is the command's result.
  const log = pino(loggerOptions({ logLevel: 'warn', projectName: 'atenex-gateway' }), pino.destination(2))
  const db = await step(`Opening ${describeDatabase(config)}`, () => openAnswering(config, log))
  try {
    const applied = await step('Applying migrations', () => migrate(db, log), appliedOutcome)
    return await work(db, applied)
  } finally {
    await db.close()
  }
}
