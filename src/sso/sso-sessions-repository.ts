import type { Queryable } from '../db/database.js'

export interface CodeGrant {
  readonly userId: string
  readonly companyId: string
  readonly providerRefreshTokenSealed: string | null
}

export interface SsoSession {
  readonly familyId: string
  readonly userId: string
  readonly companyId: string
  readonly providerRefreshTokenSealed: string | null
  readonly startedAt: Date
}

interface CodeRow { user_id: string, company_id: string, provider_refresh_token_sealed: string | null, expires_at: Date }
interface SessionRow { family_id: string, user_id: string, company_id: string, provider_refresh_token_sealed: string | null, started_at: Date }

/** The one-time codes handed to the frontend and the refresh-token families SSO opened. */
export function ssoSessionsRepository (db: Queryable) {
  return {
    async insertCode (codeHash: string, grant: CodeGrant, ttlSeconds: number): Promise<void> {
      await db.query('DELETE FROM gateway_sso_codes WHERE expires_at < now()')
      await db.query(
        `INSERT INTO gateway_sso_codes (code_hash, user_id, company_id, provider_refresh_token_sealed, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::int))`,
        [codeHash, grant.userId, grant.companyId, grant.providerRefreshTokenSealed, ttlSeconds])
    },

    /** Deleting is redeeming: of two concurrent attempts, on any replica, exactly one gets the row. */
    async redeemCode (codeHash: string): Promise<CodeGrant | null> {
      const { rows } = await db.query<CodeRow>(
        `DELETE FROM gateway_sso_codes WHERE code_hash = $1
         RETURNING user_id, company_id, provider_refresh_token_sealed, expires_at`, [codeHash])
      const row = rows[0]
      if (!row || row.expires_at.getTime() <= Date.now()) return null
      return { userId: row.user_id, companyId: row.company_id, providerRefreshTokenSealed: row.provider_refresh_token_sealed }
    },

    async insertSession (familyId: string, grant: CodeGrant): Promise<void> {
      await db.query(
        `INSERT INTO gateway_sso_sessions (family_id, user_id, company_id, provider_refresh_token_sealed)
         VALUES ($1, $2, $3, $4)`, [familyId, grant.userId, grant.companyId, grant.providerRefreshTokenSealed])
    },

    async findSession (familyId: string): Promise<SsoSession | null> {
      const { rows } = await db.query<SessionRow>(
        `SELECT family_id, user_id, company_id, provider_refresh_token_sealed, started_at
           FROM gateway_sso_sessions WHERE family_id = $1`, [familyId])
      const row = rows[0]
      return row
        ? { familyId: row.family_id, userId: row.user_id, companyId: row.company_id, providerRefreshTokenSealed: row.provider_refresh_token_sealed, startedAt: row.started_at }
        : null
    },

    async markValidated (familyId: string, providerRefreshTokenSealed: string | null): Promise<void> {
      await db.query(
        `UPDATE gateway_sso_sessions SET validated_at = now(),
           provider_refresh_token_sealed = COALESCE($2, provider_refresh_token_sealed) WHERE family_id = $1`,
        [familyId, providerRefreshTokenSealed])
    },

    /**
     * Rows whose refresh-token family is dead. Never a live family's row: without it, the family would pass
     * for a password login's and skip the SSO checks. The hour of grace covers a row written before its token.
     */
    async deleteDead (): Promise<void> {
      await db.query(
        `DELETE FROM gateway_sso_sessions s WHERE s.started_at < now() - interval '1 hour'
            AND NOT EXISTS (SELECT 1 FROM gateway_refresh_tokens t
                             WHERE t.family_id = s.family_id AND t.revoked_at IS NULL AND t.expires_at > now())`)
    },
  }
}
