import type { Queryable } from '../database.js'

/**
 * Refresh tokens (SPEC §3.4): only their SHA-256 is stored. A family is one login's chain of rotations;
 * presenting a spent member revokes the whole family (RFC 9700 §4.14.2, refresh token rotation).
 */
export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS gateway_refresh_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash text NOT NULL UNIQUE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    spent_at timestamptz,
    replaced_by uuid,
    revoked_at timestamptz
  )`)
  await db.query('CREATE INDEX IF NOT EXISTS gateway_refresh_tokens_family_idx ON gateway_refresh_tokens (family_id)')
  await db.query('CREATE INDEX IF NOT EXISTS gateway_refresh_tokens_expiry_idx ON gateway_refresh_tokens (expires_at)')
}
