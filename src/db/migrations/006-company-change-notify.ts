import type { Queryable } from '../database.js'

/** The channel every replica LISTENs on to drop a company's cached status at once. */
export const COMPANY_CHANGED_CHANNEL = 'gateway_company_changed'

/** A deactivated company's users are refused at once on every replica, not when a cache entry ages out. */
export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE OR REPLACE FUNCTION gateway_notify_company_changed() RETURNS trigger AS $$
    BEGIN
      PERFORM pg_notify('${COMPANY_CHANGED_CHANNEL}', COALESCE(NEW.id, OLD.id)::text);
      RETURN NULL;
    END
  $$ LANGUAGE plpgsql`)
  await db.query('DROP TRIGGER IF EXISTS gateway_company_changed ON companies')
  await db.query(`CREATE TRIGGER gateway_company_changed AFTER UPDATE ON companies FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION gateway_notify_company_changed()`)
  await db.query('DROP TRIGGER IF EXISTS gateway_company_deleted ON companies')
  await db.query(`CREATE TRIGGER gateway_company_deleted AFTER DELETE ON companies FOR EACH ROW
    EXECUTE FUNCTION gateway_notify_company_changed()`)
}
