import { randomBytes } from 'node:crypto'

/** W3C Trace Context level 1 `traceparent`, version 00; all-zero ids are invalid. */
const TRACEPARENT = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})[0-9a-f]{16}-([0-9a-f]{2})$/

/**
 * The traceparent to send upstream: the caller's trace continued with the gateway as the new parent span,
 * or a new sampled trace when the caller sent none (or an invalid one).
 */
export function childTraceparent (incoming: string | string[] | undefined): string {
  const spanId = randomBytes(8).toString('hex')
  const match = typeof incoming === 'string' ? TRACEPARENT.exec(incoming) : null
  if (match) return `00-${match[1]}-${spanId}-${match[2]}`
  return `00-${randomBytes(16).toString('hex')}-${spanId}-01`
}
