import type { Queryable } from '../database.js'

/**
 * The schema shared with the other services (SPEC §3.1). Every statement is idempotent, so it also runs
 * cleanly against a database whose tables another service already created.
 */
export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS companies (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE,
    email text,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`)
  await db.query(`CREATE TABLE IF NOT EXISTS users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id uuid NULL REFERENCES companies(id),
    email text NOT NULL,
    hashed_password text NOT NULL,
    full_name text,
    roles text[] NOT NULL DEFAULT '{user}',
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login timestamptz
  )`)
  await db.query('CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_key ON users (lower(email))')
  await db.query('CREATE INDEX IF NOT EXISTS users_company_id_idx ON users (company_id)')
}
