import type { Queryable } from './database.js'

/** One stored audit event, as read back (bigint ids as strings: they outgrow a JS number's safe range in theory). */
export interface AuditRow {
  readonly id: string
  readonly occurredAt: Date
  readonly type: string
  readonly actorType: string
  readonly actorId: string | null
  readonly targetType: string | null
  readonly targetId: string | null
  readonly companyId: string | null
  readonly clientIp: string | null
  readonly userAgent: string | null
  readonly requestId: string | null
  readonly details: Record<string, unknown>
  readonly prevHash: string
  readonly hash: string
}

export type NewAuditRow = Omit<AuditRow, 'id'>

export interface AuditFilter {
  readonly companyId?: string | undefined
  readonly type?: string | undefined
  readonly actor?: string | undefined
  readonly since?: Date | undefined
  readonly until?: Date | undefined
}

interface Row {
  id: string | number | bigint
  occurred_at: Date
  type: string
  actor_type: string
  actor_id: string | null
  target_type: string | null
  target_id: string | null
  company_id: string | null
  client_ip: string | null
  user_agent: string | null
  request_id: string | null
  details: Record<string, unknown>
  prev_hash: string
  hash: string
}

const COLUMNS = 'id, occurred_at, type, actor_type, actor_id, target_type, target_id, company_id, client_ip, user_agent, request_id, details, prev_hash, hash'

const toRow = (row: Row): AuditRow => ({
  id: String(row.id),
  occurredAt: new Date(row.occurred_at),
  type: row.type,
  actorType: row.actor_type,
  actorId: row.actor_id,
  targetType: row.target_type,
  targetId: row.target_id,
  companyId: row.company_id,
  clientIp: row.client_ip,
  userAgent: row.user_agent,
  requestId: row.request_id,
  details: row.details,
  prevHash: row.prev_hash,
  hash: row.hash,
})

/** Serialises appends to one chain across replicas; the second key is the chain's (hashtext of its name). */
const AUDIT_LOCK_CLASS = 41_172_025

/** WHERE clauses for a filter, from $`first` on; only values are parameters, never text. */
function where (filter: AuditFilter, first: number): { sql: string[], params: unknown[] } {
  const sql: string[] = []
  const params: unknown[] = []
  const add = (clause: string, value: unknown): void => {
    params.push(value)
    sql.push(clause.replace('?', `$${first + params.length - 1}`))
  }
  if (filter.companyId !== undefined) add('company_id = ?', filter.companyId)
  if (filter.type !== undefined) add('type = ?', filter.type)
  if (filter.actor !== undefined) add('actor_id = ?', filter.actor)
  if (filter.since !== undefined) add('occurred_at >= ?', filter.since)
  if (filter.until !== undefined) add('occurred_at < ?', filter.until)
  return { sql, params }
}

export function auditRepository (db: Queryable) {
  return {
    /** Holds the chain's lock to the end of the transaction; then reads its newest row's hash. */
    async lockChain (companyId: string | null): Promise<string | null> {
      await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [AUDIT_LOCK_CLASS, companyId ?? 'platform'])
      const { rows } = companyId === null
        ? await db.query<{ hash: string }>('SELECT hash FROM audit_events WHERE company_id IS NULL ORDER BY id DESC LIMIT 1')
        : await db.query<{ hash: string }>('SELECT hash FROM audit_events WHERE company_id = $1 ORDER BY id DESC LIMIT 1', [companyId])
      return rows[0]?.hash ?? null
    },

    async insert (row: NewAuditRow): Promise<void> {
      await db.query(
        `INSERT INTO audit_events (occurred_at, type, actor_type, actor_id, target_type, target_id, company_id, client_ip, user_agent, request_id, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [row.occurredAt, row.type, row.actorType, row.actorId, row.targetType, row.targetId, row.companyId, row.clientIp, row.userAgent, row.requestId,
          JSON.stringify(row.details), row.prevHash, row.hash])
    },

    /** Newest first, ids below `before` (the keyset cursor): inserts after the first page never shift a later one. */
    async page (filter: AuditFilter, before: bigint | null, limit: number): Promise<AuditRow[]> {
      const { sql, params } = where(filter, 1)
      if (before !== null) {
        params.push(before.toString())
        sql.push(`id < $${params.length}`)
      }
      params.push(limit)
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM audit_events ${sql.length > 0 ? `WHERE ${sql.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`, params)
      return rows.map(toRow)
    },

    /** Oldest first, ids in (after, upTo]: the export's and verification's walk, a page at a time. */
    async ascending (filter: AuditFilter, after: bigint, upTo: bigint, limit: number): Promise<AuditRow[]> {
      const { sql, params } = where(filter, 4)
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM audit_events WHERE id > $1 AND id <= $2 ${sql.map((clause) => `AND ${clause}`).join(' ')} ORDER BY id LIMIT $3`,
        [after.toString(), upTo.toString(), limit, ...params])
      return rows.map(toRow)
    },

    /** Rows of one chain (null: the platform's), oldest first, after `after`. */
    async chain (companyId: string | null, after: bigint, limit: number): Promise<AuditRow[]> {
      const { rows } = companyId === null
        ? await db.query<Row>(`SELECT ${COLUMNS} FROM audit_events WHERE company_id IS NULL AND id > $1 ORDER BY id LIMIT $2`, [after.toString(), limit])
        : await db.query<Row>(`SELECT ${COLUMNS} FROM audit_events WHERE company_id = $3 AND id > $1 ORDER BY id LIMIT $2`, [after.toString(), limit, companyId])
      return rows.map(toRow)
    },

    async chains (): Promise<(string | null)[]> {
      const { rows } = await db.query<{ company_id: string | null }>('SELECT DISTINCT company_id FROM audit_events')
      return rows.map((row) => row.company_id)
    },

    async newestId (): Promise<bigint> {
      const { rows } = await db.query<{ id: string | null }>('SELECT max(id)::text AS id FROM audit_events')
      return BigInt(rows[0]?.id ?? 0)
    },

    /** The retention prune: the one DELETE the append-only trigger lets through. */
    async prune (olderThanDays: number): Promise<number> {
      const { rows } = await db.query<{ removed: string | number }>(
        'SELECT gateway_audit_prune(now() - make_interval(days => $1)) AS removed', [olderThanDays])
      return Number(rows[0]?.removed ?? 0)
    },
  }
}

export type AuditRepository = ReturnType<typeof auditRepository>
