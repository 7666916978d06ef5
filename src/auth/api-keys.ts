import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { Database, Queryable } from '../db/database.js'
import { API_KEY_CHANGED_CHANNEL } from '../db/migrations/007-api-keys.js'
import { apiKeysRepository, type ApiKeyRecord } from '../db/api-keys-repository.js'
import { GatewayError } from '../errors.js'
import { invalidToken } from './auth-errors.js'
import { newApiKey, parseApiKey } from './api-key-format.js'
import { NotifiedCache } from './notified-cache.js'

/** Keys verified once, remembered by their text (their HMAC is then not recomputed); beyond this, forgotten. */
const VERIFIED_KEYS = 10_000
const LAST_USED_FLUSH_MS = 30_000

export const invalidApiKey = (): GatewayError => invalidToken('Token validation failed: Invalid API key.')

/** A key's record and which of its secrets the presented text carried. */
export interface VerifiedKey {
  readonly record: ApiKeyRecord
  /** The stored hash the secret matched: the current one, or the previous one during a rotation's grace. */
  readonly matchedHash: string
}

export interface NewKeySettings {
  readonly companyId: string
  readonly name: string
  readonly scopes: readonly string[]
  readonly expiresAt: Date | null
  readonly rateLimitPerMinute: number | null
  readonly createdBy: string | null
}

/**
 * The key that hashes API key secrets. A fast keyed hash is right for 256-bit random secrets (bcrypt is for
 * passwords people choose): HMAC-SHA-256 with GATEWAY_API_KEY_SECRET, or a key derived from the JWT secret.
 */
export function apiKeyHashingKey (configured: string | undefined, jwtSecret: string): Buffer {
  if (configured !== undefined) return Buffer.from(configured)
  return Buffer.from(hkdfSync('sha256', jwtSecret, 'atenex-gateway', 'api-key secret hashing', 32))
}

/**
 * Per-company API keys: created, listed, rotated and revoked by administrators; verified on the data plane at
 * the cost of a cached token in steady state (a map lookup, and the key's record from a cache that NOTIFY
 * clears on every replica when it is revoked or rotated). `last_used_at` is written in batches.
 */
export class ApiKeys {
  readonly #db: Database
  readonly #hashingKey: Buffer
  readonly records: NotifiedCache<ApiKeyRecord>
  readonly #verified = new Map<string, { readonly id: string, readonly hash: string }>()
  #used = new Map<string, number>()
  #flushing: NodeJS.Timeout | undefined
  #onFirstUseToday: (uses: { id: string, companyId: string, at: Date }[]) => Promise<void> = async () => {}

  constructor (db: Database, hashingKey: Buffer, cacheTtlMs: number) {
    this.#db = db
    this.#hashingKey = hashingKey
    this.records = new NotifiedCache(async (id) => apiKeysRepository(db).find(id), cacheTtlMs)
  }

  async subscribe (): Promise<void> {
    await this.records.subscribe(this.#db, API_KEY_CHANGED_CHANNEL)
  }

  #hash (secret: string): string {
    return createHmac('sha256', this.#hashingKey).update(secret).digest('hex')
  }

  /** `tx`: the transaction that also records the creation, when the caller has one. */
  async create (settings: NewKeySettings, tx: Queryable = this.#db): Promise<{ record: ApiKeyRecord, key: string }> {
    const key = newApiKey()
    const record = await apiKeysRepository(tx).insert({ id: key.id, ...settings, secretHash: this.#hash(key.secret) })
    return { record, key: key.text }
  }

  /** A new secret for the key; the previous one keeps working for `graceSeconds`. */
  async rotate (id: string, graceSeconds: number): Promise<{ record: ApiKeyRecord, key: string } | null> {
    const key = newApiKey(id)
    const record = await apiKeysRepository(this.#db).rotate(id, this.#hash(key.secret), graceSeconds)
    if (record) this.records.invalidate(id)
    return record ? { record, key: key.text } : null
  }

  async revoke (id: string, tx: Queryable = this.#db): Promise<ApiKeyRecord | null> {
    const record = await apiKeysRepository(tx).revoke(id)
    if (record) this.records.invalidate(id)
    return record
  }

  async list (companyId: string): Promise<ApiKeyRecord[]> {
    return apiKeysRepository(this.#db).listByCompany(companyId)
  }

  /** A key seen and verified before, with its record cached: no hashing, no promise. Undefined otherwise. */
  peek (text: string): VerifiedKey | undefined {
    const known = this.#verified.get(text)
    if (known === undefined) return undefined
    const record = this.records.peek(known.id)
    if (record === undefined) return undefined
    if (record === null) return undefined
    return { record, matchedHash: known.hash }
  }

  /** The key's record, or 401: a malformed key or a wrong checksum without any lookup, a wrong secret after one. */
  async verify (text: string): Promise<VerifiedKey> {
    const known = this.peek(text)
    if (known) return known
    const parsed = parseApiKey(text)
    if (!parsed) throw invalidApiKey()
    const record = await this.records.get(parsed.id)
    if (!record) throw invalidApiKey()
    const presented = Buffer.from(this.#hash(parsed.secret), 'hex')
    const matchedHash = [record.secretHash, record.previousSecretHash].find((hash) =>
      hash !== null && timingSafeEqual(Buffer.from(hash, 'hex'), presented))
    if (matchedHash === undefined || matchedHash === null) throw invalidApiKey()
    if (this.#verified.size >= VERIFIED_KEYS) this.#verified.clear()
    this.#verified.set(text, { id: record.id, hash: matchedHash })
    return { record, matchedHash }
  }

  /** Remembers the use; written with every other key's at the next flush. */
  markUsed (id: string): void {
    this.#used.set(id, Date.now())
  }

  /** Told, after a flush, of the keys used for the first time this UTC day (the audit trail's api_key.used). */
  onFirstUseToday (listener: (uses: { id: string, companyId: string, at: Date }[]) => Promise<void>): void {
    this.#onFirstUseToday = listener
  }

  async flushUse (): Promise<void> {
    if (this.#used.size === 0) return
    const used = this.#used
    this.#used = new Map()
    const firsts = await apiKeysRepository(this.#db).recordUse(new Map([...used].map(([id, at]) => [id, new Date(at)])))
    if (firsts.length > 0) await this.#onFirstUseToday(firsts)
  }

  startFlushing (onError: (error: unknown) => void): void {
    this.#flushing = setInterval(() => { this.flushUse().catch(onError) }, LAST_USED_FLUSH_MS).unref()
  }

  async stopFlushing (): Promise<void> {
    clearInterval(this.#flushing)
    await this.flushUse()
  }
}
