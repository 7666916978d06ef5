import type { FastifyBaseLogger as Logger } from 'fastify'
import type { DatabaseConfig } from '../config.js'
import type { Database } from './database.js'

/** Only the driver in use is loaded: the other one's modules would sit in every process's heap for nothing. */
export async function openDatabase (config: DatabaseConfig, log: Logger): Promise<Database> {
  if (config.kind === 'postgres') return (await import('./postgres.js')).openPostgres(config, log)
  return (await import('./embedded.js')).openEmbedded(config.dataDir)
}
