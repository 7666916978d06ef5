import { createHash } from 'node:crypto'
import type { AuditRow } from '../db/audit-repository.js'

/** The genesis link: the prev_hash of a chain's first row. */
export const GENESIS_HASH = '0'.repeat(64)

/** The fields a row's hash covers, as stored (ids lower-case, the time to the millisecond): all but its own id and hash. */
export type HashedFields = Omit<AuditRow, 'id' | 'hash' | 'details'> & { readonly details: unknown }

/** JSON with object keys sorted at every depth: the same text for a value before and after jsonb. */
function canonical (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** SHA-256 over the previous row's hash and this row's fields, as one JSON array (unambiguous boundaries). */
export function rowHash (row: HashedFields): string {
  const fields = [
    row.prevHash, row.occurredAt.toISOString(), row.type, row.actorType, row.actorId, row.targetType, row.targetId,
    row.companyId, row.clientIp, row.userAgent, row.requestId, canonical(row.details),
  ]
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex')
}
