import { webcrypto } from 'node:crypto'
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
}

/** Signs the gateway's own access tokens: sub, email, company_id, roles, iat, exp (and iss/aud when configured). */
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

  async issue (claims: IssuedClaims, lifetimeMinutes = this.#jwt.expirationMinutes): Promise<string> {
    const token = new SignJWT({ email: claims.email, company_id: claims.companyId, roles: [...claims.roles] })
      .setProtectedHeader({ alg: this.#jwt.algorithm, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuedAt()
      .setExpirationTime(`${lifetimeMinutes}m`)
    if (this.#jwt.issuer) token.setIssuer(this.#jwt.issuer)
    if (this.#jwt.audience) token.setAudience(this.#jwt.audience)
    return token.sign(this.#key)
  }
}
