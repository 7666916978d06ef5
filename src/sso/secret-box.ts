import { createHash, hkdfSync, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { FastifyBaseLogger as Logger } from 'fastify'
import { compactDecrypt, CompactEncrypt } from 'jose'
import { ssoKeyBytes, type Config } from '../config.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Seals secrets at rest (the providers' client secrets and refresh tokens) with AES-256-GCM, written as a
 * compact JWE (RFC 7516, `alg: dir`, `enc: A256GCM`). The protected header, which GCM authenticates, names
 * the key (for a future rotation) and the row the value belongs to, so a sealed value copied onto another
 * company's row does not open.
 */
export class SecretBox {
  readonly #key: Uint8Array
  readonly #kid: string

  constructor (key: Uint8Array) {
    if (key.length !== 32) throw new Error('the SSO encryption key must be 32 bytes')
    this.#key = key
    this.#kid = createHash('sha256').update(key).digest('hex').slice(0, 16)
  }

  async seal (plaintext: string, belongsTo: string): Promise<string> {
    return new CompactEncrypt(encoder.encode(plaintext))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.#kid, ctx: belongsTo })
      .encrypt(this.#key)
  }

  /** Throws when the value was sealed with another key, for another row, or altered. */
  async open (sealed: string, belongsTo: string): Promise<string> {
    const { plaintext, protectedHeader } = await compactDecrypt(sealed, this.#key, { contentEncryptionAlgorithms: ['A256GCM'], keyManagementAlgorithms: ['dir'] })
    if (protectedHeader.ctx !== belongsTo) throw new Error('sealed value belongs to another record')
    return decoder.decode(plaintext)
  }

  /** A separate key for another purpose (HKDF, RFC 5869), so the sealing key itself is used for one thing only. */
  derive (purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, new Uint8Array(0), `atenex-gateway ${purpose}`, 32))
  }
}

/**
 * The configured key; on the embedded database only (config refuses SSO without a key elsewhere), a
 * generated one kept beside the data folder, as the JWT secret is. Undefined when there is none.
 */
export function resolveSecretBox (config: Config, log: Logger): SecretBox | undefined {
  const configured = config.sso.encryptionKey
  if (configured !== undefined) return new SecretBox(ssoKeyBytes(configured) as Buffer)
  if (config.database.kind !== 'embedded') return undefined
  const dataDir = config.database.dataDir
  if (dataDir.startsWith('memory://')) return new SecretBox(randomBytes(32))
  const path = `${dataDir.replace(/\/+$/, '')}.sso-key`
  if (!existsSync(path)) {
    writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600 })
    log.warn({ path }, 'GATEWAY_SSO_ENCRYPTION_KEY is not set: generated a key for the embedded database (never do this in production)')
  }
  return new SecretBox(ssoKeyBytes(readFileSync(path, 'utf8')) as Buffer)
}
