import type { Queryable } from '../database.js'

/**
 * Single sign-on per company (OpenID Connect). Nothing is added to the shared users/companies tables:
 * a company's provider, its email domains, the one-time codes handed to the frontend and the sessions
 * opened by SSO live in the gateway's own tables. Client secrets and the providers' refresh tokens are
 * stored sealed (AES-256-GCM), one-time codes only as their SHA-256.
 */
export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS gateway_sso_providers (
    company_id uuid PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
    issuer text NOT NULL,
    client_id text NOT NULL,
    client_secret_sealed text NOT NULL,
    scopes text[] NOT NULL,
    password_login boolean NOT NULL DEFAULT true,
    provisioning text NOT NULL DEFAULT 'pre_created' CHECK (provisioning IN ('jit', 'pre_created')),
    max_session_hours integer NOT NULL DEFAULT 24 CHECK (max_session_hours > 0),
    authorization_params jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`)
  // A domain belongs to one company at most: the email's domain alone decides where SSO starts.
  await db.query(`CREATE TABLE IF NOT EXISTS gateway_sso_domains (
    domain text PRIMARY KEY CHECK (domain = lower(domain)),
    company_id uuid NOT NULL REFERENCES gateway_sso_providers(company_id) ON DELETE CASCADE
  )`)
  await db.query('CREATE INDEX IF NOT EXISTS gateway_sso_domains_company_idx ON gateway_sso_domains (company_id)')
  await db.query(`CREATE TABLE IF NOT EXISTS gateway_sso_codes (
    code_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    company_id uuid NOT NULL,
    provider_refresh_token_sealed text,
    expires_at timestamptz NOT NULL
  )`)
  // One row per refresh-token family opened by SSO; no foreign key to the provider on purpose: a session
  // whose provider configuration was removed must be refused, not forgotten (and taken for a password login).
  await db.query(`CREATE TABLE IF NOT EXISTS gateway_sso_sessions (
    family_id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    company_id uuid NOT NULL,
    provider_refresh_token_sealed text,
    started_at timestamptz NOT NULL DEFAULT now(),
    validated_at timestamptz NOT NULL DEFAULT now()
  )`)
}
