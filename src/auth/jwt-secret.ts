import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { FastifyBaseLogger as Logger } from 'fastify'
import type { Config } from '../config.js'

/**
 * The configured secret; on the embedded database only (config refuses a missing secret elsewhere), a
 * generated one, kept beside the data folder so that tokens survive a restart and all workers agree.
 */
export function resolveJwtSecret (config: Config, log: Logger): string {
  if (config.jwt.secret !== undefined) return config.jwt.secret
  if (config.database.kind !== 'embedded') throw new Error('GATEWAY_JWT_SECRET is required outside the embedded mode')
  const dataDir = config.database.dataDir
  if (dataDir.startsWith('memory://')) {
    log.warn('GATEWAY_JWT_SECRET is not set: using a random secret for this in-memory run')
    return randomBytes(48).toString('base64url')
  }
  const path = `${dataDir.replace(/\/+$/, '')}.jwt-secret`
  if (!existsSync(path)) writeFileSync(path, randomBytes(48).toString('base64url'), { mode: 0o600 })
  log.warn({ path }, 'GATEWAY_JWT_SECRET is not set: using a generated secret for the embedded database (never do this in production)')
  return readFileSync(path, 'utf8').trim()
}
