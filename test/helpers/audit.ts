import type { TestGateway } from './gateway.js'

/** A stored audit row as the admin API shows it. */
export interface AuditEventView {
  id: string
  occurred_at: string
  type: string
  actor: { type: string, id: string | null }
  target: { type: string, id: string } | null
  company_id: string | null
  client_ip: string | null
  user_agent: string | null
  request_id: string | null
  details: Record<string, unknown>
  prev_hash: string
  hash: string
}

/** Every stored row, oldest first, straight from SQL (no API in between). */
export async function auditRows (gateway: TestGateway): Promise<Record<string, unknown>[]> {
  const { rows } = await gateway.app.gateway.db.query('SELECT * FROM audit_events ORDER BY audit_events.id')
  return rows
}

/** The events of a type (newest first), through the admin API. */
export async function auditEvents (gateway: TestGateway, adminToken: string, query: Record<string, string> = {}): Promise<AuditEventView[]> {
  const response = await fetch(`${gateway.url}/api/v1/admin/audit?${new URLSearchParams({ limit: '1000', ...query }).toString()}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  })
  if (response.status !== 200) throw new Error(`GET /api/v1/admin/audit answered ${response.status}: ${await response.text()}`)
  return (await response.json() as { events: AuditEventView[] }).events
}

/** The one event of `type` whose request carried `requestId`. */
export async function eventOf (gateway: TestGateway, adminToken: string, type: string, requestId: string): Promise<AuditEventView> {
  const events = (await auditEvents(gateway, adminToken, { type })).filter((event) => event.request_id === requestId)
  if (events.length !== 1) throw new Error(`expected one ${type} event for request ${requestId}, found ${events.length}`)
  return events[0] as AuditEventView
}
