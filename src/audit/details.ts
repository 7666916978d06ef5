import type { AuditDetails, AuditDetailValue } from './events.js'

/** Keys that name a secret: their values never reach a row, whatever they hold. */
const SECRET_KEY = /pass(word|phrase)?|secret|token|hash|authori[sz]ation|cookie|api_?key|credential|verifier|^code$|private/i
/** Values that look like a secret whatever their key: a JWT, an atx_ API key, a bcrypt hash, a PEM block. */
const SECRET_VALUE = /^ey[\w-]+\.[\w-]+\.|atx_|^\$2[aby]\$\d\d\$|-----BEGIN/
const MAX_STRING = 512

const clean = (value: AuditDetailValue): AuditDetailValue | undefined => {
  if (typeof value === 'string') return SECRET_VALUE.test(value) ? undefined : value.slice(0, MAX_STRING)
  if (Array.isArray(value)) return (value as readonly string[]).filter((item) => !SECRET_VALUE.test(item)).map((item) => item.slice(0, MAX_STRING))
  return value
}

/**
 * The details as stored: secret-like keys and values are dropped (and named in `dropped`, so that the
 * caller's mistake shows in the row and in tests, without the secret itself).
 */
export function scrubDetails (details: AuditDetails | undefined): Record<string, AuditDetailValue> {
  const kept: Record<string, AuditDetailValue> = {}
  const dropped: string[] = []
  for (const [key, value] of Object.entries(details ?? {})) {
    const cleaned = SECRET_KEY.test(key) ? undefined : clean(value)
    if (cleaned === undefined) dropped.push(key.slice(0, 64))
    else kept[key] = cleaned
  }
  if (dropped.length > 0) kept.dropped = dropped
  return kept
}
