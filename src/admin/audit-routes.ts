import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { AuthHook } from '../auth/authenticate.js'
import { verifyAll, type ChainReport } from '../audit/verify.js'
import type { Database } from '../db/database.js'
import { auditRepository, type AuditFilter, type AuditRepository, type AuditRow } from '../db/audit-repository.js'
import { exportAuditSchema, listAuditSchema, verifyAuditSchema } from './audit-schemas.js'

export interface AuditRoutesDeps {
  readonly db: Database
  readonly adminAuth: AuthHook
}

export interface FilterQuery { company_id?: string, type?: string, actor?: string, since?: string, until?: string }

/** Rows per database read of the export: what it holds in memory at once. */
const EXPORT_PAGE = 500

/** An RFC 3339 time as a Date; a leap second (valid there, not to JavaScript) is read as the second before it. */
export const timeOf = (text: string): Date => new Date(text.replace(/:60(?=(\.\d+)?(z|[+-]))/i, ':59'))

export const filterOf = (query: FilterQuery): AuditFilter => ({
  companyId: query.company_id?.toLowerCase(),
  type: query.type,
  actor: query.actor,
  since: query.since === undefined ? undefined : timeOf(query.since),
  until: query.until === undefined ? undefined : timeOf(query.until),
})

export const auditEventView = (row: AuditRow) => ({
  id: row.id,
  occurred_at: row.occurredAt.toISOString(),
  type: row.type,
  actor: { type: row.actorType, id: row.actorId },
  target: row.targetType === null || row.targetId === null ? null : { type: row.targetType, id: row.targetId },
  company_id: row.companyId,
  client_ip: row.clientIp,
  user_agent: row.userAgent,
  request_id: row.requestId,
  details: row.details,
  prev_hash: row.prevHash,
  hash: row.hash,
})

export const chainReportView = (report: ChainReport) => ({
  company_id: report.companyId, rows: report.rows, head_id: report.headId, head_hash: report.headHash, broken: report.broken,
})

/** The export's lines, a page at a time: pulled by the reply as the client reads (backpressure), never all held. */
async function * ndjson (db: Database, filter: AuditFilter, after: bigint): AsyncGenerator<Buffer> {
  const audit = auditRepository(db)
  // Up to the newest event when the export began: under a steady stream of inserts it still ends.
  const upTo = await audit.newestId()
  let cursor = after
  for (;;) {
    const page = await exportPage(audit, filter, cursor, upTo)
    if (page === undefined) return
    cursor = page.last
    yield page.bytes
  }
}

/**
 * One page of the export, as the bytes to send and the cursor after them. Its rows are garbage once this
 * returns: held across the yield, where a slow client keeps the generator waiting, they outlived scavenges and
 * piled up in the old generation (the RSS of a 100,000-event export grew by up to 54 MB).
 */
async function exportPage (audit: AuditRepository, filter: AuditFilter, after: bigint, upTo: bigint): Promise<{ bytes: Buffer, last: bigint } | undefined> {
  const rows = await audit.ascending(filter, after, upTo, EXPORT_PAGE)
  if (rows.length === 0) return undefined
  return { bytes: Buffer.from(rows.map((row) => `${JSON.stringify(auditEventView(row))}\n`).join('')), last: BigInt((rows.at(-1) as AuditRow).id) }
}

/** /api/v1/admin/audit*: the audit trail, for administrators (API keys are refused as on every admin route). */
export async function auditRoutes (app: FastifyInstance, deps: AuditRoutesDeps): Promise<void> {
  app.addHook('onRequest', deps.adminAuth)

  app.get<{ Querystring: FilterQuery & { cursor?: string, limit: number } }>('/audit', { schema: listAuditSchema }, async (request) => {
    const { cursor, limit } = request.query
    // One more than asked tells whether a next page exists without a second query.
    const rows = await auditRepository(deps.db).page(filterOf(request.query), cursor === undefined ? null : BigInt(cursor), limit + 1)
    const page = rows.slice(0, limit)
    return { events: page.map(auditEventView), next_cursor: rows.length > limit ? (page.at(-1) as AuditRow).id : null }
  })

  app.get<{ Querystring: FilterQuery & { after?: string } }>('/audit/export', { schema: exportAuditSchema }, async (request, reply) => {
    const lines = Readable.from(ndjson(deps.db, filterOf(request.query), BigInt(request.query.after ?? 0)), { objectMode: false, highWaterMark: 64 * 1024 })
    lines.on('error', (error) => request.log.error({ err: error }, 'audit export failed'))
    return reply.type('application/x-ndjson').header('cache-control', 'no-store').send(lines)
  })

  app.get<{ Querystring: { company_id?: string } }>('/audit/verify', { schema: verifyAuditSchema }, async (request) => {
    const reports = await verifyAll(deps.db, request.query.company_id?.toLowerCase())
    return { ok: reports.every((report) => report.broken === null), chains: reports.map(chainReportView) }
  })
}
