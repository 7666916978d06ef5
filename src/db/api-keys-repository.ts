import type { Queryable } from './database.js'

export interface ApiKeyRecord {
  readonly id: string
  readonly companyId: string
  readonly name: string
  readonly scopes: readonly string[]
  readonly secretHash: string
  readonly previousSecretHash: string | null
  readonly previousValidUntil: Date | null
  readonly rateLimitPerMinute: number | null
  readonly expiresAt: Date | null
  readonly createdAt: Date
  readonly revokedAt: Date | null
  readonly lastUsedAt: Date | null
}

export interface NewApiKey {
  readonly id: string
  readonly companyId: string
  readonly name: string
  readonly scopes: readonly string[]
  readonly secretHash: string
  readonly rateLimitPerMinute: number | null
  readonly expiresAt: Date | null
  readonly createdBy: string | null
}

interface Row {
  id: string,
  company_id: string,
  name: string,
  scopes: string[],
  secret_hash: string,
  previous_secret_hash: string | null,
  previous_valid_until: Date | null,
  rate_limit_per_minute: number | null,
  expires_at: Date | null,
  created_at: Date,
  revoked_at: Date | null,
  last_used_at: Date | null
}

const COLUMNS = `id, company_id, name, scopes, secret_hash, previous_secret_hash, previous_valid_until, rate_limit_per_minute,
  expires_at, created_at, revoked_at, last_used_at`

const toRecord = (row: Row): ApiKeyRecord => ({
  id: row.id,
  companyId: row.company_id,
  name: row.name,
  scopes: row.scopes,
  secretHash: row.secret_hash,
  previousSecretHash: row.previous_secret_hash,
  previousValidUntil: row.previous_valid_until,
  rateLimitPerMinute: row.rate_limit_per_minute,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
  lastUsedAt: row.last_used_at,
})

export function apiKeysRepository (db: Queryable) {
  return {
    async insert (key: NewApiKey): Promise<ApiKeyRecord> {
      const { rows } = await db.query<Row>(
        `INSERT INTO gateway_api_keys (id, company_id, name, scopes, secret_hash, rate_limit_per_minute, expires_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
        [key.id, key.companyId, key.name, key.scopes, key.secretHash, key.rateLimitPerMinute, key.expiresAt, key.createdBy])
      return toRecord(rows[0] as Row)
    },

    async find (id: string): Promise<ApiKeyRecord | null> {
      const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM gateway_api_keys WHERE id = $1`, [id])
      return rows[0] ? toRecord(rows[0]) : null
    },

    async listByCompany (companyId: string): Promise<ApiKeyRecord[]> {
      const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM gateway_api_keys WHERE company_id = $1 ORDER BY created_at DESC, id`, [companyId])
      return rows.map(toRecord)
    },

    /** A new secret; the previous one keeps working until `graceSeconds` from now. */
    async rotate (id: string, secretHash: string, graceSeconds: number): Promise<ApiKeyRecord | null> {
      const { rows } = await db.query<Row>(
        `UPDATE gateway_api_keys SET previous_secret_hash = secret_hash, secret_hash = $2,
           previous_valid_until = now() + make_interval(secs => $3::int)
         WHERE id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`, [id, secretHash, graceSeconds])
      return rows[0] ? toRecord(rows[0]) : null
    },

    async revoke (id: string): Promise<ApiKeyRecord | null> {
      const { rows } = await db.query<Row>(
        `UPDATE gateway_api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`, [id])
      return rows[0] ? toRecord(rows[0]) : null
    },

    /** One statement for every key used since the last flush (the request path never writes). */
    /**
     * Writes the batch's last uses; answers the keys whose previous use was on an earlier UTC day (or never):
     * their first use today. Row locks make two replicas' flushes agree on which of them saw it first.
     */
    async recordUse (lastUsed: ReadonlyMap<string, Date>): Promise<{ id: string, companyId: string, at: Date }[]> {
      if (lastUsed.size === 0) return []
      const { rows } = await db.query<{ id: string, company_id: string, at: Date }>(
        `WITH used AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)),
              before AS (SELECT k.id, k.last_used_at FROM gateway_api_keys AS k JOIN used ON used.id = k.id FOR UPDATE OF k)
         UPDATE gateway_api_keys AS k SET last_used_at = greatest(coalesce(k.last_used_at, u.at), u.at)
           FROM used AS u, before AS b WHERE k.id = u.id AND b.id = k.id
         RETURNING k.id, k.company_id, u.at,
           (b.last_used_at IS NULL OR (b.last_used_at AT TIME ZONE 'UTC')::date < (u.at AT TIME ZONE 'UTC')::date) AS first_today`,
        [[...lastUsed.keys()], [...lastUsed.values()]])
      return (rows as ({ id: string, company_id: string, at: Date, first_today: boolean })[])
        .filter((row) => row.first_today).map((row) => ({ id: row.id, companyId: row.company_id, at: new Date(row.at) }))
    },
  }
}

export type ApiKeysRepository = ReturnType<typeof apiKeysRepository>
