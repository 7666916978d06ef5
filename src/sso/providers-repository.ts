import type { Queryable } from '../db/database.js'

export type Provisioning = 'jit' | 'pre_created'

/** A company's identity provider, as stored: the client secret stays sealed until the flow needs it. */
export interface SsoProvider {
  readonly companyId: string
  readonly issuer: string
  readonly clientId: string
  readonly clientSecretSealed: string
  readonly scopes: readonly string[]
  readonly domains: readonly string[]
  readonly passwordLogin: boolean
  readonly provisioning: Provisioning
  readonly maxSessionHours: number
  /** Extra parameters of the authorization request, e.g. Google's access_type=offline (allow-listed in provider-settings.ts). */
  readonly authorizationParams: Readonly<Record<string, string>>
  readonly createdAt: Date
  readonly updatedAt: Date
}

export type NewSsoProvider = Omit<SsoProvider, 'createdAt' | 'updatedAt'>

export class DomainTakenError extends Error {
  override name = 'DomainTakenError'
  constructor (readonly domain: string) {
    super(`domain ${domain} belongs to another company`)
  }
}

interface Row {
  company_id: string
  issuer: string
  client_id: string
  client_secret_sealed: string
  scopes: string[]
  domains: string[] | null
  password_login: boolean
  provisioning: Provisioning
  max_session_hours: number
  authorization_params: Record<string, string> | null
  created_at: Date
  updated_at: Date
}

const SELECT = `SELECT p.company_id, p.issuer, p.client_id, p.client_secret_sealed, p.scopes, p.password_login, p.provisioning,
    p.max_session_hours, p.authorization_params, p.created_at, p.updated_at,
    ARRAY(SELECT d.domain FROM gateway_sso_domains d WHERE d.company_id = p.company_id ORDER BY d.domain) AS domains
  FROM gateway_sso_providers p`

const toProvider = (row: Row): SsoProvider => ({
  companyId: row.company_id,
  issuer: row.issuer,
  clientId: row.client_id,
  clientSecretSealed: row.client_secret_sealed,
  scopes: row.scopes,
  domains: row.domains ?? [],
  passwordLogin: row.password_login,
  provisioning: row.provisioning,
  maxSessionHours: row.max_session_hours,
  authorizationParams: row.authorization_params ?? {},
  createdAt: row.created_at,
  updatedAt: row.updated_at,
})

export function providersRepository (db: Queryable) {
  return {
    async findByCompany (companyId: string): Promise<SsoProvider | null> {
      const { rows } = await db.query<Row>(`${SELECT} WHERE p.company_id = $1`, [companyId])
      return rows[0] ? toProvider(rows[0]) : null
    },

    async findByDomain (domain: string): Promise<SsoProvider | null> {
      const { rows } = await db.query<Row>(
        `${SELECT} WHERE p.company_id = (SELECT company_id FROM gateway_sso_domains WHERE domain = $1)`, [domain.toLowerCase()])
      return rows[0] ? toProvider(rows[0]) : null
    },

    async list (): Promise<SsoProvider[]> {
      const { rows } = await db.query<Row>(`${SELECT} ORDER BY p.created_at`)
      return rows.map(toProvider)
    },

    /** Creates or replaces a company's provider and its domains; run it in a transaction. */
    async upsert (provider: NewSsoProvider): Promise<void> {
      await db.query(
        `INSERT INTO gateway_sso_providers (company_id, issuer, client_id, client_secret_sealed, scopes, password_login, provisioning, max_session_hours, authorization_params)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
         ON CONFLICT (company_id) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
           client_secret_sealed = EXCLUDED.client_secret_sealed, scopes = EXCLUDED.scopes, password_login = EXCLUDED.password_login,
           provisioning = EXCLUDED.provisioning, max_session_hours = EXCLUDED.max_session_hours,
           authorization_params = EXCLUDED.authorization_params, updated_at = now()`,
        [provider.companyId, provider.issuer, provider.clientId, provider.clientSecretSealed, provider.scopes,
          provider.passwordLogin, provider.provisioning, provider.maxSessionHours, JSON.stringify(provider.authorizationParams)])
      await db.query('DELETE FROM gateway_sso_domains WHERE company_id = $1', [provider.companyId])
      for (const domain of provider.domains) {
        const { rows } = await db.query<{ company_id: string }>(
          `INSERT INTO gateway_sso_domains (domain, company_id) VALUES ($1, $2)
           ON CONFLICT (domain) DO NOTHING RETURNING company_id`, [domain, provider.companyId])
        if (rows.length === 0) throw new DomainTakenError(domain)
      }
    },

    async remove (companyId: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM gateway_sso_providers WHERE company_id = $1', [companyId])
      return rowCount > 0
    },

    /** False only for a company whose provider says its users sign in through SSO alone. */
    async passwordLoginAllowed (companyId: string): Promise<boolean> {
      const { rows } = await db.query<{ password_login: boolean }>(
        'SELECT password_login FROM gateway_sso_providers WHERE company_id = $1', [companyId])
      return rows[0]?.password_login ?? true
    },

    /** The same question for a user, by the company they belong to now. */
    async passwordLoginAllowedForUser (userId: string): Promise<boolean> {
      const { rows } = await db.query<{ password_login: boolean }>(
        `SELECT p.password_login FROM users u JOIN gateway_sso_providers p ON p.company_id = u.company_id
          WHERE u.id = $1`, [userId])
      return rows[0]?.password_login ?? true
    },
  }
}

export type ProvidersRepository = ReturnType<typeof providersRepository>
