import type { Database } from '../db/database.js'
import { USER_CHANGED_CHANNEL } from '../db/migrations/002-user-change-notify.js'
import type { UserStatus, UsersRepository } from '../db/users-repository.js'

/** Beyond this many users the cache starts over rather than grow without bound. */
const MAX_CACHED_USERS = 100_000

interface Entry { readonly status: UserStatus | null, readonly expiresAt: number }

/**
 * The per-request user check of the seeds without its database round trip (SPEC §2.3): statuses are kept
 * for a short TTL and dropped at once when PostgreSQL NOTIFYs a change to the user, on every replica.
 */
export class UserStatusCache {
  readonly #users: UsersRepository
  readonly #ttlMs: number
  readonly #entries = new Map<string, Entry>()
  readonly #loading = new Map<string, Promise<UserStatus | null>>()
  /** Bumped by every invalidation: a load that raced one is returned but not kept. */
  #invalidations = 0
  hits = 0
  misses = 0

  constructor (users: UsersRepository, ttlMs: number) {
    this.#users = users
    this.#ttlMs = ttlMs
  }

  async subscribe (db: Database): Promise<void> {
    await db.listen(USER_CHANGED_CHANNEL, (userId) => this.invalidate(userId), () => this.clear())
  }

  /** A fresh cached status (null: known not to exist), or undefined when only the database can tell. */
  peek (userId: string): UserStatus | null | undefined {
    const entry = this.#entries.get(userId)
    if (entry && entry.expiresAt > Date.now()) {
      this.hits += 1
      return entry.status
    }
    return undefined
  }

  async get (userId: string): Promise<UserStatus | null> {
    const cached = this.peek(userId)
    if (cached !== undefined) return cached
    this.misses += 1
    let loading = this.#loading.get(userId)
    if (!loading) {
      loading = this.#load(userId)
      this.#loading.set(userId, loading)
    }
    return loading
  }

  async #load (userId: string): Promise<UserStatus | null> {
    const generation = this.#invalidations
    try {
      const status = await this.#users.findStatus(userId)
      if (generation === this.#invalidations && this.#ttlMs > 0) {
        if (this.#entries.size >= MAX_CACHED_USERS) this.#entries.clear()
        this.#entries.set(userId, { status, expiresAt: Date.now() + this.#ttlMs })
      }
      return status
    } finally {
      this.#loading.delete(userId)
    }
  }

  invalidate (userId: string): void {
    this.#invalidations += 1
    this.#entries.delete(userId.toLowerCase())
  }

  /** After a lost LISTEN connection nothing cached can be trusted. */
  clear (): void {
    this.#invalidations += 1
    this.#entries.clear()
  }
}
