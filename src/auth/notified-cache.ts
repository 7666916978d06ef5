import type { Database } from '../db/database.js'

/** Beyond this many entries the cache starts over rather than grow without bound. */
const MAX_ENTRIES = 100_000

interface Entry<V> { readonly value: V | null, readonly expiresAt: number }

/**
 * A row's status cached for a short TTL, dropped at once on every replica when PostgreSQL NOTIFYs a change to
 * it (SPEC §2.3): the per-request check of the seeds without its database round trip. Used for users and
 * companies. `null` means known not to exist.
 */
export class NotifiedCache<V> {
  readonly #load: (id: string) => Promise<V | null>
  readonly #ttlMs: number
  readonly #entries = new Map<string, Entry<V>>()
  readonly #loading = new Map<string, Promise<V | null>>()
  readonly #listeners: ((id: string | null) => void)[] = []
  /** Bumped by every invalidation: a load that raced one is returned but not kept. */
  #invalidations = 0
  hits = 0
  misses = 0

  constructor (load: (id: string) => Promise<V | null>, ttlMs: number) {
    this.#load = load
    this.#ttlMs = ttlMs
  }

  async subscribe (db: Database, channel: string): Promise<void> {
    await db.listen(channel, (id) => this.invalidate(id), () => this.clear())
  }

  /** Called after each invalidation, with the id (null: everything was dropped). */
  onInvalidate (listener: (id: string | null) => void): void {
    this.#listeners.push(listener)
  }

  /** A fresh cached value (null: known not to exist), or undefined when only the database can tell. */
  peek (id: string): V | null | undefined {
    const entry = this.#entries.get(id)
    if (entry !== undefined && entry.expiresAt > Date.now()) {
      this.hits += 1
      return entry.value
    }
    return undefined
  }

  async get (id: string): Promise<V | null> {
    const cached = this.peek(id)
    if (cached !== undefined) return cached
    this.misses += 1
    let loading = this.#loading.get(id)
    if (!loading) {
      loading = this.#fetch(id)
      this.#loading.set(id, loading)
    }
    return loading
  }

  async #fetch (id: string): Promise<V | null> {
    const generation = this.#invalidations
    try {
      const value = await this.#load(id)
      if (generation === this.#invalidations && this.#ttlMs > 0) {
        if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear()
        this.#entries.set(id, { value, expiresAt: Date.now() + this.#ttlMs })
      }
      return value
    } finally {
      this.#loading.delete(id)
    }
  }

  invalidate (id: string): void {
    this.#invalidations += 1
    const key = id.toLowerCase()
    this.#entries.delete(key)
    for (const listener of this.#listeners) listener(key)
  }

  /** After a lost LISTEN connection nothing cached can be trusted. */
  clear (): void {
    this.#invalidations += 1
    this.#entries.clear()
    for (const listener of this.#listeners) listener(null)
  }
}
