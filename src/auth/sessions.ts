import type { Database } from '../db/database.js'
import { SESSION_REVOKED_CHANNEL } from '../db/migrations/005-sessions.js'
import { refreshTokensRepository } from '../db/refresh-tokens-repository.js'
import { sessionsRepository, type AuthMethod } from '../db/sessions-repository.js'

const HOUSEKEEPING_INTERVAL_MS = 60 * 60_000

/**
 * Logins as sessions (SPEC §3.4): long-lived access tokens stay revocable. Each replica keeps the set of
 * revoked sessions whose tokens could still be presented; a revocation reaches every replica through NOTIFY,
 * so the request path checks a set, never the database.
 */
export class Sessions {
  readonly #db: Database
  /** How long a session must stay known: as long as any token issued under it may live. */
  readonly #lifetimeSeconds: number
  #revoked = new Set<string>()
  /** Revocations seen while a reload's query runs: the query's snapshot may predate them. */
  #seenDuringReload: Set<string> | null = null
  readonly #listeners: ((sessionId: string) => void)[] = []
  #housekeeping: NodeJS.Timeout | undefined

  constructor (db: Database, lifetimeSeconds: number) {
    this.#db = db
    this.#lifetimeSeconds = lifetimeSeconds
  }

  async subscribe (): Promise<void> {
    await this.#reload()
    await this.#db.listen(SESSION_REVOKED_CHANNEL, (id) => this.#revokedHere(id), () => { void this.#reload() })
  }

  /** Called when a session is revoked (on this replica or another). */
  onRevoke (listener: (sessionId: string) => void): void {
    this.#listeners.push(listener)
  }

  isRevoked (sessionId: string): boolean {
    return this.#revoked.has(sessionId)
  }

  async open (userId: string, method: AuthMethod): Promise<string> {
    return sessionsRepository(this.#db).create(userId, method, this.#lifetimeSeconds)
  }

  /** A refresh issues tokens under the session: it stays known as long as they may live. */
  async extend (sessionId: string, userId: string): Promise<void> {
    await sessionsRepository(this.#db).extend(sessionId, userId, this.#lifetimeSeconds)
  }

  /** Ends a session: its access tokens are refused and its refresh tokens revoked, on every replica. */
  async revoke (sessionId: string): Promise<boolean> {
    const revoked = await this.#db.transaction(async (tx) => {
      await refreshTokensRepository(tx).revokeFamily(sessionId)
      return sessionsRepository(tx).revoke(sessionId)
    })
    this.#revokedHere(sessionId)
    return revoked
  }

  async revokeAllOf (userId: string): Promise<number> {
    const ids = await this.#db.transaction(async (tx) => {
      const revoked = await sessionsRepository(tx).revokeAllOf(userId)
      for (const id of revoked) await refreshTokensRepository(tx).revokeFamily(id)
      return revoked
    })
    for (const id of ids) this.#revokedHere(id)
    return ids.length
  }

  startHousekeeping (onError: (error: unknown) => void): void {
    this.#housekeeping = setInterval(() => {
      sessionsRepository(this.#db).deleteExpired().then(() => this.#reload()).catch(onError)
    }, HOUSEKEEPING_INTERVAL_MS).unref()
  }

  stopHousekeeping (): void {
    clearInterval(this.#housekeeping)
  }

  #revokedHere (sessionId: string): void {
    const id = sessionId.toLowerCase()
    this.#seenDuringReload?.add(id)
    if (this.#revoked.has(id)) return
    this.#revoked.add(id)
    for (const listener of this.#listeners) listener(id)
  }

  /** Replaces the set with the database's (dropping sessions that expired), keeping what arrived meanwhile. */
  async #reload (): Promise<void> {
    const seen = new Set<string>()
    this.#seenDuringReload = seen
    try {
      const revoked = new Set(await sessionsRepository(this.#db).revokedAndLive())
      for (const id of seen) revoked.add(id)
      const fresh = [...revoked].filter((id) => !this.#revoked.has(id))
      this.#revoked = revoked
      for (const id of fresh) for (const listener of this.#listeners) listener(id)
    } finally {
      if (this.#seenDuringReload === seen) this.#seenDuringReload = null
    }
  }
}
