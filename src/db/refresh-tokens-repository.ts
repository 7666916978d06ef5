import type { Queryable } from './database.js'

export interface RefreshTokenRow {
  readonly id: string
  readonly userId: string
  readonly familyId: string
  readonly expiresAt: Date
  readonly spentAt: Date | null
  readonly revokedAt: Date | null
}

interface Row { id: string, user_id: string, family_id: string, expires_at: Date, spent_at: Date | null, revoked_at: Date | null }

const toToken = (row: Row): RefreshTokenRow => ({
  id: row.id, userId: row.user_id, familyId: row.family_id, expiresAt: row.expires_at, spentAt: row.spent_at, revokedAt: row.revoked_at,
})

export function refreshTokensRepository (db: Queryable) {
  return {
    async insert (tokenHash: string, userId: string, familyId: string, ttlDays: number): Promise<string> {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO gateway_refresh_tokens (token_hash, user_id, family_id, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(days => $4::int)) RETURNING id`, [tokenHash, userId, familyId, ttlDays])
      return (rows[0] as { id: string }).id
    },

    /** Locks the row until the transaction ends, so two concurrent rotations of one token cannot both succeed. */
    async findForUpdate (tokenHash: string): Promise<RefreshTokenRow | null> {
      const { rows } = await db.query<Row>(
        `SELECT id, user_id, family_id, expires_at, spent_at, revoked_at FROM gateway_refresh_tokens
          WHERE token_hash = $1 FOR UPDATE`, [tokenHash])
      return rows[0] ? toToken(rows[0]) : null
    },

    async markSpent (id: string, replacedBy: string): Promise<void> {
      await db.query('UPDATE gateway_refresh_tokens SET spent_at = now(), replaced_by = $2 WHERE id = $1', [id, replacedBy])
    },

    async revokeFamily (familyId: string): Promise<number> {
      const { rowCount } = await db.query('UPDATE gateway_refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [familyId])
      return rowCount
    },

    /** Every live refresh token of a user (a password reset ends the sessions the old password opened). */
    async revokeAllOfUser (userId: string): Promise<number> {
      const { rowCount } = await db.query('UPDATE gateway_refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId])
      return rowCount
    },

    async familyOf (tokenHash: string): Promise<string | null> {
      const { rows } = await db.query<{ family_id: string }>('SELECT family_id FROM gateway_refresh_tokens WHERE token_hash = $1', [tokenHash])
      return rows[0]?.family_id ?? null
    },

    /** Rows past their expiry (plus a day, so a late replay is still recognised as reuse) are deleted. */
    async deleteExpired (): Promise<number> {
      const { rowCount } = await db.query("DELETE FROM gateway_refresh_tokens WHERE expires_at < now() - interval '1 day'")
      return rowCount
    },
  }
}
