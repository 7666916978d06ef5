import type { DatabaseConfig } from '../config.js'
import { auditEventView, chainReportView, filterOf, type FilterQuery } from '../admin/audit-routes.js'
import { listAuditSchema } from '../admin/audit-schemas.js'
import { verifyAll } from '../audit/verify.js'
import { auditRepository } from '../db/audit-repository.js'
import { CommandError, type Command, type Values } from './command.js'
import { withDatabase } from './database.js'
import { validateAsRoute } from './input-validation.js'

const AUDIT_ROUTE = '/api/v1/admin/audit'
const FILTER_FLAGS = { company_id: '--company-id', type: '--type', actor: '--actor', since: '--since', until: '--until', cursor: '--cursor', limit: '--limit' }
const EMBEDDED_NOTE = 'On the embedded database, stop the server first (it holds the data folder), or use the admin API while it runs.'

/** The flags as the route's query, checked by the route's own schema (the same values refused both ways). */
function queryOf (values: Values): Record<string, unknown> {
  const query: Record<string, unknown> = {}
  for (const [field, flag] of Object.entries(FILTER_FLAGS)) {
    const value = values[flag.slice(2)]
    if (typeof value === 'string') query[field] = field === 'limit' && /^\d+$/.test(value) ? Number(value) : value
  }
  validateAsRoute(AUDIT_ROUTE, listAuditSchema.querystring, query, FILTER_FLAGS, 'GET')
  return query
}

const filterOptions = {
  'company-id': { type: 'string', value: '<uuid>', description: 'Only this company\'s events.' },
  type: { type: 'string', value: '<type>', description: 'Only events of this type (login.failed, api_key.created, ...: README "Audit trail").' },
  actor: { type: 'string', value: '<id>', description: 'Only events by this user or API key.' },
  since: { type: 'string', value: '<time>', description: 'Events at or after this ISO 8601 time.' },
  until: { type: 'string', value: '<time>', description: 'Events before this ISO 8601 time.' },
} as const

export function auditListCommand (loadDatabase: () => DatabaseConfig): Command {
  return {
    summary: 'Print audit events, newest first, one JSON object per line (the admin API\'s view).',
    usage: 'audit [--company-id <uuid>] [--type <type>] [--actor <id>] [--since <time>] [--until <time>] [--limit <n>] [--cursor <id>]',
    details: `The filters of GET ${AUDIT_ROUTE}. When more events remain, the cursor for the next page is printed on standard error. ${EMBEDDED_NOTE}`,
    settings: 'database',
    options: {
      ...filterOptions,
      limit: { type: 'string', value: '<n>', default: '50', description: 'How many events (1 to 1000).' },
      cursor: { type: 'string', value: '<id>', description: 'The next page: the cursor a previous run printed.' },
    },
    run: async (values) => {
      const query = queryOf({ limit: '50', ...values })
      const limit = query.limit as number
      await withDatabase(loadDatabase(), async (db) => {
        const rows = await auditRepository(db).page(filterOf(query as FilterQuery), query.cursor === undefined ? null : BigInt(query.cursor as string), limit + 1)
        for (const row of rows.slice(0, limit)) process.stdout.write(`${JSON.stringify(auditEventView(row))}\n`)
        if (rows.length > limit) process.stderr.write(`More events: --cursor ${rows[limit - 1]?.id ?? ''}\n`)
      })
    },
  }
}

export function auditVerifyCommand (loadDatabase: () => DatabaseConfig): Command {
  return {
    summary: 'Recompute the audit trail\'s hash chains; exit 1 at a row changed or removed in the database.',
    usage: 'audit verify [--company-id <uuid>]',
    details: `Prints one JSON line per chain (each company's, and the platform's: company_id null) with its rows, its newest row's hash (keep it elsewhere to notice rows removed from the end later) and the first broken link. ${EMBEDDED_NOTE}`,
    settings: 'database',
    options: { 'company-id': filterOptions['company-id'] },
    run: async (values) => {
      const companyId = typeof values['company-id'] === 'string' ? queryOf({ 'company-id': values['company-id'] }).company_id as string : undefined
      await withDatabase(loadDatabase(), async (db) => {
        const reports = await verifyAll(db, companyId?.toLowerCase())
        for (const report of reports) process.stdout.write(`${JSON.stringify(chainReportView(report))}\n`)
        const broken = reports.filter((report) => report.broken !== null)
        if (broken.length > 0) {
          throw new CommandError(broken.map((report) => `chain ${report.companyId ?? 'platform'}: broken at event ${report.broken?.id ?? ''} (${report.broken?.reason ?? ''})`).join('; '))
        }
        process.stderr.write(`${reports.length} chain${reports.length === 1 ? '' : 's'} verified, ${reports.reduce((sum, report) => sum + report.rows, 0)} events, no broken link\n`)
      })
    },
  }
}
