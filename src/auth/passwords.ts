import { randomBytes } from 'node:crypto'
import bcrypt from 'bcrypt'
import { GatewayError } from '../errors.js'

/** passlib's default bcrypt cost in the seeds; its `$2b$` hashes verify unchanged. */
export const BCRYPT_COST = 12

/** Logins that may wait for a hashing slot; beyond, they are refused at once rather than queued for seconds. */
const MAX_WAITING = 64
let slots = 2
let busy = 0
const waiting: (() => void)[] = []

/**
 * bcrypt runs on libuv's thread pool (4 threads by default), which DNS lookups and file access share: a burst
 * of logins must not take all of it, nor queue without bound. At most `max` hashes run at once.
 */
export function limitConcurrentHashes (max: number): void {
  slots = max
}

export const hashingBusy = (): GatewayError =>
  new GatewayError('SERVICE_UNAVAILABLE', 503, 'Too many logins in progress; try again shortly.', { headers: { 'retry-after': '1' } })

async function withHashingSlot<T> (work: () => Promise<T>): Promise<T> {
  if (busy < slots) {
    busy++
  } else {
    if (waiting.length >= MAX_WAITING) throw hashingBusy()
    await new Promise<void>((resolve) => waiting.push(resolve))
  }
  try {
    return await work()
  } finally {
    // The slot passes straight to the next waiter, if any.
    const next = waiting.shift()
    if (next) next()
    else busy--
  }
}

/**
 * bcrypt reads only the first 72 bytes of a password and ignores the rest, so that two passwords
 * sharing those 72 bytes would be the same password. The schemas refuse longer passwords where they are
 * set (user-schemas.ts newPasswordField); here nothing longer is ever hashed or matched.
 */
export const BCRYPT_MAX_PASSWORD_BYTES = 72

export const fitsBcrypt = (password: string): boolean => Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_PASSWORD_BYTES

/** bcrypt runs on libuv's thread pool, off the event loop. */
export async function hashPassword (password: string): Promise<string> {
  // A caller that skipped the schema: storing a hash of the first 72 bytes would be a silent weakness.
  if (!fitsBcrypt(password)) throw new RangeError(`passwords over ${BCRYPT_MAX_PASSWORD_BYTES} bytes cannot be hashed with bcrypt`)
  return withHashingSlot(async () => bcrypt.hash(password, BCRYPT_COST))
}

let dummyHash: Promise<string> | undefined

/**
 * Compares against the user's hash, or, when there is no user, against a hash of the same cost, so that
 * unknown emails take as long as wrong passwords (no user enumeration by timing). A password over 72
 * bytes never matches (bcrypt would compare only its first 72), yet costs the same compare.
 */
export async function verifyPassword (password: string, hashed: string | undefined): Promise<boolean> {
  dummyHash ??= bcrypt.hash(randomBytes(16).toString('hex'), BCRYPT_COST)
  const target = hashed ?? await dummyHash
  try {
    const matches = await withHashingSlot(async () => bcrypt.compare(password, target))
    return matches && hashed !== undefined && fitsBcrypt(password)
  } catch (error) {
    if (error instanceof GatewayError) throw error
    // A malformed stored hash is a wrong password, not a server error.
    return false
  }
}

/** Warms the dummy hash at startup so that the first unknown-email login is not faster than the rest. */
export async function warmPasswordHashing (): Promise<void> {
  dummyHash ??= bcrypt.hash(randomBytes(16).toString('hex'), BCRYPT_COST)
  await dummyHash
}
