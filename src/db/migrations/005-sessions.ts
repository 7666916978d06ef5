import type { Queryable } from '../database.js'

/** Every replica LISTENs here to refuse a revoked session's tokens at once (SPEC §3.4). */
export const SESSION_REVOKED_CHANNEL = 'gateway_session_revoked'

/**
 * Sessions: one per login (password or single sign-on). Access tokens name theirs (`sid`), refresh tokens
 * belong to it (their family id is the session id), and a revoked session's tokens are refused everywhere.
 * WebSocket tickets remember theirs, so that a logout closes the sockets opened under it.
 */
export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS gateway_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_method text NOT NULL DEFAULT 'password',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
  )`)
  await db.query('CREATE INDEX IF NOT EXISTS gateway_sessions_user_idx ON gateway_sessions (user_id) WHERE revoked_at IS NULL')
  await db.query('CREATE INDEX IF NOT EXISTS gateway_sessions_expiry_idx ON gateway_sessions (expires_at)')
  await db.query(`CREATE OR REPLACE FUNCTION gateway_notify_session_revoked() RETURNS trigger AS $$
    BEGIN
      PERFORM pg_notify('${SESSION_REVOKED_CHANNEL}', NEW.id::text);
      RETURN NULL;
    END
  $$ LANGUAGE plpgsql`)
  await db.query('DROP TRIGGER IF EXISTS gateway_session_revoked ON gateway_sessions')
  await db.query(`CREATE TRIGGER gateway_session_revoked AFTER UPDATE ON gateway_sessions FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION gateway_notify_session_revoked()`)
  await db.query('ALTER TABLE gateway_ws_tickets ADD COLUMN IF NOT EXISTS session_id uuid')
}
