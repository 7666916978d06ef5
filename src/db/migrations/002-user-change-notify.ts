import type { Queryable } from '../database.js'

/** The channel every replica LISTENs on to drop a user's cached status at once (SPEC §2.3). */
export const USER_CHANGED_CHANNEL = 'gateway_user_changed'

export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE OR REPLACE FUNCTION gateway_notify_user_changed() RETURNS trigger AS $$
    BEGIN
      PERFORM pg_notify('${USER_CHANGED_CHANNEL}', COALESCE(NEW.id, OLD.id)::text);
      RETURN NULL;
    END
  $$ LANGUAGE plpgsql`)
  await db.query('DROP TRIGGER IF EXISTS gateway_user_changed ON users')
  // Only what the request path caches: login's last_login updates must not flush every replica's cache.
  await db.query(`CREATE TRIGGER gateway_user_changed AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.roles IS DISTINCT FROM NEW.roles
      OR OLD.company_id IS DISTINCT FROM NEW.company_id OR OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION gateway_notify_user_changed()`)
  await db.query('DROP TRIGGER IF EXISTS gateway_user_deleted ON users')
  await db.query(`CREATE TRIGGER gateway_user_deleted AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION gateway_notify_user_changed()`)
}
