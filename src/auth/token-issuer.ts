import { randomUUID, webcrypto } from 'node:crypto'
import { SignJWT } from 'jose'
import type { Config } from '../config.js'

export const HASH_OF = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' } as const

/** Imported once: passing jose raw secret bytes re-imports the key on every call. */
export async function importHmacKey (secret: string, algorithm: keyof typeof HASH_OF): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('raw', Buffer.from(secret), { name: 'HMAC', hash: HASH_OF[algorithm] }, false, ['sign', 'verify'])
}

export interface IssuedClaims {
  readonly userId: string
  readonly email: string
  readonly companyId: string | null
  readonly roles: readonly string[]
  readonly fullName: string | null
  /** The session the token belongs to (`sid`): logging out or revoking it refuses the token. Null: none (mint-token). */
  readonly sessionId: string | null
}

/**
 * Signs the gateway's own access tokens: sub, email, company_id, roles, full_name and name (the OIDC standard
 * claim; the web client shows it), sid, jti, iat, exp (and iss/aud when configured).
 */
export class TokenIssuer {
  readonly #key: webcrypto.CryptoKey
  readonly #jwt: Config['jwt']

  private constructor (key: webcrypto.CryptoKey, jwt: Config['jwt']) {
    this.#key = key
    this.#jwt = jwt
  }

  static async create (jwt: Config['jwt'], secret: string): Promise<TokenIssuer> {
    return new TokenIssuer(await importHmacKey(secret, jwt.algorithm), jwt)
  }

  get lifetimeSeconds (): number {
    return this.#jwt.expirationMinutes * 60
  }

  /** A lifetime a client asked for, within the configured one. */
  lifetimeFor (requestedMinutes: number | undefined): number {
    return Math.min(requestedMinutes ?? this.#jwt.expirationMinutes, this.#jwt.expirationMinutes)
  }

  async issue (claims: IssuedClaims, lifetimeMinutes = this.#jwt.expirationMinutes): Promise<string> {
    const names = claims.fullName ? { full_name: claims.fullName, name: claims.fullName } : {}
    const session = claims.sessionId === null ? {} : { sid: claims.sessionId }
    const token = new SignJWT({ email: claims.email, company_id: claims.companyId, roles: [...claims.roles], ...names, ...session })
      .setProtectedHeader({ alg: this.#jwt.algorithm, typ: 'JWT' })
      .setSubject(claims.userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${lifetimeMinutes}m`)
    if (this.#jwt.issuer) token.setIssuer(this.#jwt.issuer)
    if (this.#jwt.audience) token.setAudience(this.#jwt.audience)
    return token.sign(this.#key)
  }
}
