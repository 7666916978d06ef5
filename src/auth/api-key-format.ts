import { randomBytes, randomUUID } from 'node:crypto'
import { crc32 } from 'node:zlib'

/**
 * API keys made for secret scanners, as GitHub's `ghp_` tokens: a fixed prefix, the key's id, a 256-bit
 * secret, and a CRC-32 of all of it, so that a leaked key is recognised by its shape and a mistyped one is
 * refused without a database lookup: `atx_<32 hex id>_<43 base62 secret><6 base62 checksum>`.
 */
export const API_KEY_PREFIX = 'atx_'
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const SECRET_CHARS = 43
const CHECKSUM_CHARS = 6
const KEY_SHAPE = /^atx_([0-9a-f]{32})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})$/

function base62 (value: bigint, width: number): string {
  let out = ''
  for (let rest = value; rest > 0n; rest /= 62n) out = (BASE62[Number(rest % 62n)] as string) + out
  return out.padStart(width, '0')
}

const checksum = (body: string): string => base62(BigInt(crc32(body)), CHECKSUM_CHARS)

export interface ParsedApiKey {
  /** The key's id (a UUID), the subject the upstream sees. */
  readonly id: string
  readonly secret: string
}

/** A new key: its id and secret, and the text shown to its owner once. */
export function newApiKey (id: string = randomUUID()): ParsedApiKey & { readonly text: string } {
  const secret = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), SECRET_CHARS)
  const body = `${API_KEY_PREFIX}${id.replace(/-/g, '')}_${secret}`
  return { id, secret, text: body + checksum(body) }
}

/** The id and secret of a well-formed key whose checksum holds, or null (no lookup needed to refuse it). */
export function parseApiKey (text: string): ParsedApiKey | null {
  const match = KEY_SHAPE.exec(text)
  if (!match) return null
  const [, hex = '', secret = '', sum = ''] = match
  if (checksum(text.slice(0, text.length - CHECKSUM_CHARS)) !== sum) return null
  return { id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`, secret }
}

export const looksLikeApiKey = (text: string): boolean => text.startsWith(API_KEY_PREFIX)
