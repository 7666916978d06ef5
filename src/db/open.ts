import type { FastifyBaseLogger as Logger } from 'fastify'
import type { DatabaseConfig } from '../config.js'
import type { Database } from './database.js'
import { openEmbedded } from './embedded.js'
import { openPostgres } from './postgres.js'

export async function openDatabase (config: DatabaseConfig, log: Logger): Promise<Database> {
  return config.kind === 'postgres' ? openPostgres(config, log) : openEmbedded(config.dataDir)
}
