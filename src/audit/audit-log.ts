import type { Database, Queryable } from '../db/database.js'
import { auditRepository } from '../db/audit-repository.js'
import { scrubDetails } from './details.js'
import type { AuditContext, AuditEvent } from './events.js'
import { GENESIS_HASH, rowHash } from './hash.js'

const PRUNE_INTERVAL_MS = 60 * 60_000

/**
 * The one writer of the audit trail. Each event joins its company's hash chain: the chain's lock is taken in
 * the transaction that writes it (the change's own, where the caller has one), so no two rows ever link to the
 * same predecessor, on any number of replicas.
 */
export class AuditLog {
  readonly #db: Database
  readonly #enabled: boolean
  readonly #onError: (error: unknown) => void
  #pruning: NodeJS.Timeout | undefined

  constructor (db: Database, enabled: boolean, onError: (error: unknown) => void) {
    this.#db = db
    this.#enabled = enabled
    this.#onError = onError
  }

  /**
   * Records events that come with no change of their own (a refused login, a denied admin call) in a
   * transaction of their own. A failure to write is reported, not thrown: the caller's answer stands.
   */
  async record (context: AuditContext, ...events: AuditEvent[]): Promise<void> {
    if (!this.#enabled || events.length === 0) return
    await this.#db.transaction(async (tx) => this.append(tx, context, events)).catch(this.#onError)
  }

  /**
   * Runs a change and records the events it returns in the same transaction: the change and its record
   * commit together or not at all.
   */
  async withChange<T> (context: AuditContext, change: (tx: Queryable) => Promise<{ result: T, events: readonly AuditEvent[] }>): Promise<T> {
    return this.#db.transaction(async (tx) => {
      const { result, events } = await change(tx)
      if (this.#enabled) await this.append(tx, context, events)
      return result
    })
  }

  /** Appends within `tx` (which must be a transaction: the chain locks last until it ends). */
  async append (tx: Queryable, context: AuditContext, events: readonly AuditEvent[]): Promise<void> {
    const audit = auditRepository(tx)
    const heads = new Map<string | null, string>()
    // Locks in one order (the platform's chain first, then by id), so two writers of the same chains never deadlock.
    const chains = [...new Set(events.map((event) => event.companyId?.toLowerCase() ?? null))]
      .sort((a, b) => (a === null ? -1 : b === null ? 1 : a < b ? -1 : 1))
    for (const chain of chains) heads.set(chain, await audit.lockChain(chain) ?? GENESIS_HASH)
    for (const event of events) {
      const companyId = event.companyId?.toLowerCase() ?? null
      const fields = {
        // Taken once the lock is held: within a chain, time follows the chain's order.
        occurredAt: new Date(),
        type: event.type,
        actorType: event.actor.type,
        actorId: event.actor.id,
        targetType: event.target?.type ?? null,
        targetId: event.target?.id ?? null,
        companyId,
        clientIp: context.clientIp,
        userAgent: context.userAgent,
        requestId: context.requestId,
        details: scrubDetails(event.details),
        prevHash: heads.get(companyId) as string,
      }
      const hash = rowHash(fields)
      await audit.insert({ ...fields, hash })
      heads.set(companyId, hash)
    }
  }

  /** Deletes events older than the retention, hourly; every replica may run it (the DELETE is idempotent). */
  startPruning (retentionDays: number, onError: (error: unknown) => void): void {
    const run = (): void => { auditRepository(this.#db).prune(retentionDays).catch(onError) }
    run()
    this.#pruning = setInterval(run, PRUNE_INTERVAL_MS).unref()
  }

  stopPruning (): void {
    clearInterval(this.#pruning)
  }
}
