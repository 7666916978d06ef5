import type { Queryable } from '../database.js'

/** The transaction-local setting the retention prune sets: the one way past the append-only trigger. */
export const AUDIT_PRUNE_SETTING = 'gateway.audit_prune'

/**
 * The audit trail (issue 19): one row per security event, hash-chained per company (NULL = the platform's
 * chain). Append-only: the gateway owns its tables, so a REVOKE would not bind it; a trigger refuses every
 * UPDATE and DELETE, except the retention prune's (gateway_audit_prune), which deletes the oldest rows only.
 */
export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS audit_events (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    type text NOT NULL,
    actor_type text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
    actor_id text,
    target_type text,
    target_id text,
    company_id uuid,
    client_ip text,
    user_agent text,
    request_id text,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash text NOT NULL,
    hash text NOT NULL
  )`)
  // The chains (verify, the next row's prev_hash) and the company filter; the type and actor filters.
  await db.query('CREATE INDEX IF NOT EXISTS audit_events_company_idx ON audit_events (company_id, id)')
  await db.query('CREATE INDEX IF NOT EXISTS audit_events_type_idx ON audit_events (type, id)')
  await db.query('CREATE INDEX IF NOT EXISTS audit_events_actor_idx ON audit_events (actor_id, id)')
  await db.query('CREATE INDEX IF NOT EXISTS audit_events_time_idx ON audit_events (occurred_at)')
  await db.query(`CREATE OR REPLACE FUNCTION gateway_audit_append_only() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('${AUDIT_PRUNE_SETTING}', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
  $$ LANGUAGE plpgsql`)
  await db.query('DROP TRIGGER IF EXISTS gateway_audit_append_only ON audit_events')
  await db.query(`CREATE TRIGGER gateway_audit_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW
    EXECUTE FUNCTION gateway_audit_append_only()`)
  await db.query('DROP TRIGGER IF EXISTS gateway_audit_no_truncate ON audit_events')
  await db.query(`CREATE TRIGGER gateway_audit_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION gateway_audit_append_only()`)
  // Rows are chained in id order within a company, so deleting an id prefix leaves every chain a suffix of
  // itself: verification starts at each chain's oldest remaining row.
  await db.query(`CREATE OR REPLACE FUNCTION gateway_audit_prune(cutoff timestamptz) RETURNS bigint AS $$
    DECLARE
      last_old bigint;
      removed bigint;
    BEGIN
      SELECT max(id) INTO last_old FROM audit_events WHERE occurred_at < cutoff;
      IF last_old IS NULL THEN
        RETURN 0;
      END IF;
      PERFORM set_config('${AUDIT_PRUNE_SETTING}', 'on', true);
      DELETE FROM audit_events WHERE id <= last_old;
      GET DIAGNOSTICS removed = ROW_COUNT;
      PERFORM set_config('${AUDIT_PRUNE_SETTING}', 'off', true);
      RETURN removed;
    END
  $$ LANGUAGE plpgsql`)
}
