import type { Queryable } from '../database.js'

/** Every replica LISTENs here to drop a key's cached record at once (revoked, rotated, expiry changed). */
export const API_KEY_CHANGED_CHANNEL = 'gateway_api_key_changed'

/**
 * Per-company API keys (service accounts). Only a keyed hash of each secret is stored; a rotation keeps the
 * previous secret's hash until its grace period ends.
 */
export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS gateway_api_keys (
    id uuid PRIMARY KEY,
    company_id uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name text NOT NULL,
    scopes text[] NOT NULL,
    secret_hash text NOT NULL,
    previous_secret_hash text,
    previous_valid_until timestamptz,
    rate_limit_per_minute integer,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    revoked_at timestamptz,
    last_used_at timestamptz
  )`)
  await db.query('CREATE INDEX IF NOT EXISTS gateway_api_keys_company_idx ON gateway_api_keys (company_id)')
  await db.query(`CREATE OR REPLACE FUNCTION gateway_notify_api_key_changed() RETURNS trigger AS $$
    BEGIN
      PERFORM pg_notify('${API_KEY_CHANGED_CHANNEL}', COALESCE(NEW.id, OLD.id)::text);
      RETURN NULL;
    END
  $$ LANGUAGE plpgsql`)
  await db.query('DROP TRIGGER IF EXISTS gateway_api_key_changed ON gateway_api_keys')
  // last_used_at is written in batches and changes nothing a request checks: it notifies no one.
  await db.query(`CREATE TRIGGER gateway_api_key_changed AFTER UPDATE ON gateway_api_keys FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash
      OR OLD.previous_valid_until IS DISTINCT FROM NEW.previous_valid_until OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
      OR OLD.scopes IS DISTINCT FROM NEW.scopes OR OLD.rate_limit_per_minute IS DISTINCT FROM NEW.rate_limit_per_minute)
    EXECUTE FUNCTION gateway_notify_api_key_changed()`)
  await db.query('DROP TRIGGER IF EXISTS gateway_api_key_deleted ON gateway_api_keys')
  await db.query(`CREATE TRIGGER gateway_api_key_deleted AFTER DELETE ON gateway_api_keys FOR EACH ROW
    EXECUTE FUNCTION gateway_notify_api_key_changed()`)
}
