import { createHash, randomBytes } from 'node:crypto'
import type { Database } from '../db/database.js'
import { refreshTokensRepository } from '../db/refresh-tokens-repository.js'
import { GatewayError } from '../errors.js'

/** 256 bits of randomness: a hash without salt is enough to store what cannot be guessed. */
const REFRESH_TOKEN_BYTES = 32
const CLEANUP_INTERVAL_MS = 60 * 60_000

const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex')

export const invalidRefreshToken = (detail = 'Invalid or expired refresh token.'): GatewayError =>
  new GatewayError('INVALID_TOKEN', 401, detail, { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })

/**
 * Opaque, rotating refresh tokens (SPEC §3.4). Each use spends the token and returns its successor in the
 * same family; a spent token presented again means it was stolen (or replayed), so the family dies.
 */
export class RefreshTokens {
  readonly #db: Database
  readonly #ttlDays: number
  #cleanup: NodeJS.Timeout | undefined

  constructor (db: Database, ttlDays: number) {
    this.#db = db
    this.#ttlDays = ttlDays
  }

  /** A refresh token of the session `familyId` (a session's refresh tokens are one family). */
  async issue (userId: string, familyId: string): Promise<string> {
    const token = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url')
    await refreshTokensRepository(this.#db).insert(hashOf(token), userId, familyId, this.#ttlDays)
    return token
  }

  /**
   * Spends `token`; returns its user and successor, or throws 401. A spent token presented again means theft
   * (RFC 9700 §4.14.2): its family is revoked, and `onReuse` ends the session it belongs to.
   */
  async rotate (token: string, onReuse: (family: { readonly familyId: string, readonly userId: string }) => Promise<unknown>): Promise<{ userId: string, familyId: string, refreshToken: string }> {
    const next = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url')
    const outcome = await this.#db.transaction(async (tx) => {
      const tokens = refreshTokensRepository(tx)
      const row = await tokens.findForUpdate(hashOf(token))
      if (!row || row.revokedAt !== null || row.expiresAt.getTime() <= Date.now()) return { error: 'invalid' as const }
      if (row.spentAt !== null) {
        await tokens.revokeFamily(row.familyId)
        return { error: 'reused' as const, familyId: row.familyId, userId: row.userId }
      }
      const successor = await tokens.insert(hashOf(next), row.userId, row.familyId, this.#ttlDays)
      await tokens.markSpent(row.id, successor)
      return { userId: row.userId, familyId: row.familyId }
    })
    if ('error' in outcome) {
      if (outcome.error === 'reused') {
        await onReuse({ familyId: outcome.familyId, userId: outcome.userId })
        throw invalidRefreshToken('Refresh token reuse detected; the session has been revoked.')
      }
      throw invalidRefreshToken()
    }
    return { ...outcome, refreshToken: next }
  }

  /** The session (family) a refresh token belongs to, or null for an unknown token. */
  async familyOf (token: string): Promise<string | null> {
    return refreshTokensRepository(this.#db).familyOf(hashOf(token))
  }

  startCleanup (onError: (error: unknown) => void): void {
    const run = (): void => { refreshTokensRepository(this.#db).deleteExpired().catch(onError) }
    run()
    this.#cleanup = setInterval(run, CLEANUP_INTERVAL_MS).unref()
  }

  stopCleanup (): void {
    clearInterval(this.#cleanup)
  }
}
