import { randomBytes } from 'node:crypto'
import bcrypt from 'bcrypt'

/** passlib's default bcrypt cost in the seeds; its `$2b$` hashes verify unchanged. */
export const BCRYPT_COST = 12

/** bcrypt runs on libuv's thread pool, off the event loop. */
export async function hashPassword (password: string): Promise<string> {
  return bcrypt.hash(password, BCRYPT_COST)
}

let dummyHash: Promise<string> | undefined

/**
 * Compares against the user's hash, or, when there is no user, against a hash of the same cost, so that
 * unknown emails take as long as wrong passwords (no user enumeration by timing).
 */
export async function verifyPassword (password: string, hashed: string | undefined): Promise<boolean> {
  dummyHash ??= bcrypt.hash(randomBytes(16).toString('hex'), BCRYPT_COST)
  const target = hashed ?? await dummyHash
  try {
    const matches = await bcrypt.compare(password, target)
    return matches && hashed !== undefined
  } catch {
    // A malformed stored hash is a wrong password, not a server error.
    return false
  }
}

/** Warms the dummy hash at startup so that the first unknown-email login is not faster than the rest. */
export async function warmPasswordHashing (): Promise<void> {
  dummyHash ??= bcrypt.hash(randomBytes(16).toString('hex'), BCRYPT_COST)
  await dummyHash
}
