import type { Queryable } from '../db/database.js'
import { auditRepository, type AuditRow } from '../db/audit-repository.js'
import { rowHash } from './hash.js'

const PAGE = 1000

export interface ChainReport {
  /** Null: the platform's chain. */
  readonly companyId: string | null
  readonly rows: number
  /** The newest row: record its hash elsewhere to notice later that rows were removed from the end. */
  readonly headId: string | null
  readonly headHash: string | null
  /** The first broken link, if any: the row whose own hash is wrong (altered), or whose
   * prev_hash is not its predecessor's (a row before it was removed, or rewritten with a recomputed hash). */
  readonly broken: { readonly id: string, readonly reason: 'altered' | 'broken_link' } | null
}

/**
 * Recomputes one chain, oldest row first: each row's hash over its fields, and its prev_hash against the
 * row before it. The oldest remaining row's prev_hash is taken as given (older rows may have been pruned).
 */
export async function verifyChain (db: Queryable, companyId: string | null): Promise<ChainReport> {
  const audit = auditRepository(db)
  let after = 0n
  let previous: AuditRow | null = null
  let rows = 0
  for (;;) {
    const page = await audit.chain(companyId, after, PAGE)
    for (const row of page) {
      rows += 1
      if (previous !== null && row.prevHash !== previous.hash) return { companyId, rows, headId: null, headHash: null, broken: { id: row.id, reason: 'broken_link' } }
      if (rowHash(row) !== row.hash) return { companyId, rows, headId: null, headHash: null, broken: { id: row.id, reason: 'altered' } }
      previous = row
    }
    if (page.length < PAGE) break
    after = BigInt((page.at(-1) as AuditRow).id)
  }
  return { companyId, rows, headId: previous?.id ?? null, headHash: previous?.hash ?? null, broken: null }
}

/** Every chain (the platform's first), verified. */
export async function verifyAll (db: Queryable, companyId?: string | null): Promise<ChainReport[]> {
  const chains = companyId !== undefined ? [companyId] : await auditRepository(db).chains()
  chains.sort((a, b) => (a === null ? -1 : b === null ? 1 : a < b ? -1 : 1))
  const reports: ChainReport[] = []
  for (const chain of chains) reports.push(await verifyChain(db, chain))
  return reports
}
