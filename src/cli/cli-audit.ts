import { AuditLog } from '../audit/audit-log.js'
import type { AuditActor } from '../audit/events.js'
import type { Database } from '../db/database.js'

/** What the command line changes is in the audit trail too, by the system's `cli` actor (no request, no address). */
export const CLI_ACTOR: AuditActor = { type: 'system', id: 'cli' }

/** The audit writer for a command: a failure to write fails the command (its change is rolled back with it). */
export const auditOf = (db: Database): AuditLog => new AuditLog(db, true, (error) => { throw error })
