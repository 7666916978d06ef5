import { randomFillSync } from 'node:crypto'

/** W3C Trace Context level 1 `traceparent`, version 00; all-zero ids are invalid. */
const TRACEPARENT = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})[0-9a-f]{16}-([0-9a-f]{2})$/

/** Random ids come from a pool refilled a few KiB at a time: one randomFillSync per request showed in the profile. */
const POOL_BYTES = 8192
const pool = Buffer.alloc(POOL_BYTES)
let offset = POOL_BYTES

function randomHex (bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const hex = pool.toString('hex', offset, offset + bytes)
  offset += bytes
  return hex
}

/**
 * The traceparent to send upstream: the caller's trace continued with the gateway as the new parent span,
 * or a new sampled trace when the caller sent none (or an invalid one).
 */
export function childTraceparent (incoming: string | string[] | undefined): string {
  const spanId = randomHex(8)
  const match = typeof incoming === 'string' ? TRACEPARENT.exec(incoming) : null
  if (match) return `00-${match[1]}-${spanId}-${match[2]}`
  return `00-${randomHex(16)}-${spanId}-01`
}
