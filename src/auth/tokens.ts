import { webcrypto } from 'node:crypto'
import { SignJWT, errors, jwtVerify, type JWTPayload } from 'jose'
import type { Config } from '../config.js'
import { invalidToken } from './auth-errors.js'
import { isUuid } from './uuid.js'

/** Tokens larger than this are refused before any parsing (SPEC §2.1). */
export const MAX_TOKEN_BYTES = 8 * 1024
/** Verified tokens remembered until their expiry; the oldest are forgotten first beyond this. */
const VERIFIED_TOKEN_CACHE_ENTRIES = 10_000

const HASH_OF = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' } as const

export interface VerifiedToken {
  readonly userId: string
  readonly companyId: string | null
  readonly email: string | null
  /** Seconds since the epoch. */
  readonly expiresAt: number
}

export interface IssuedClaims {
  readonly userId: string
  readonly email: string
  readonly companyId: string | null
  readonly roles: readonly string[]
}

const CLAIM_FAILURES: Record<string, string> = {
  exp: 'Token validation failed: Token has no valid expiry (exp).',
  nbf: 'Token validation failed: Token is not yet valid (nbf).',
  iat: 'Token validation failed: Token issued in the future (iat).',
  aud: 'Token validation failed: Invalid audience.',
  iss: 'Token validation failed: Invalid issuer.',
}

/** jose's messages never reach the client: each failure gets the seeds' wording or our own. */
function describeFailure (error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'Token has expired.'
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'Token validation failed: Signature verification failed.'
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'sub') return "Token missing 'sub' (user ID) claim."
    return CLAIM_FAILURES[error.claim] ?? `Token validation failed: Invalid '${error.claim}' claim.`
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'Token validation failed: Algorithm not allowed.'
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return 'Token validation failed: Malformed token.'
  }
  return 'Token validation failed: Invalid token.'
}

/** `company_id` from the top-level claim, else Supabase's `app_metadata` — never `user_metadata`, which users edit. */
function companyClaim (payload: JWTPayload): unknown {
  if (payload.company_id !== undefined && payload.company_id !== null) return payload.company_id
  const appMetadata = payload.app_metadata
  return appMetadata && typeof appMetadata === 'object' ? (appMetadata as Record<string, unknown>).company_id ?? null : null
}

function claimsOf (payload: JWTPayload, audienceConfigured: boolean): VerifiedToken {
  if (!audienceConfigured && payload.aud !== undefined) throw invalidToken('Token validation failed: Unexpected audience.')
  if (typeof payload.sub !== 'string' || payload.sub === '') throw invalidToken("Token missing 'sub' (user ID) claim.")
  if (!isUuid(payload.sub)) throw invalidToken('Invalid user ID format in token.')
  const company = companyClaim(payload)
  if (company !== null && !isUuid(company)) throw invalidToken('Invalid company ID format in token.')
  return {
    userId: payload.sub.toLowerCase(),
    companyId: company === null ? null : company.toLowerCase(),
    email: typeof payload.email === 'string' ? payload.email : null,
    expiresAt: payload.exp as number,
  }
}

/**
 * Issues and verifies the gateway's own tokens with a pinned policy: one algorithm, required sub and exp,
 * audience and issuer when configured, a small clock tolerance. The key is imported once.
 */
export class TokenService {
  readonly #key: webcrypto.CryptoKey
  readonly #jwt: Config['jwt']
  readonly #verified = new Map<string, VerifiedToken>()

  private constructor (key: webcrypto.CryptoKey, jwt: Config['jwt']) {
    this.#key = key
    this.#jwt = jwt
  }

  static async create (jwt: Config['jwt'], secret: string): Promise<TokenService> {
    const key = await webcrypto.subtle.importKey('raw', Buffer.from(secret), { name: 'HMAC', hash: HASH_OF[jwt.algorithm] }, false, ['sign', 'verify'])
    return new TokenService(key, jwt)
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

  /**
   * The verified claims of `token`, or a 401 GatewayError. A token verified once is remembered, keyed by
   * its whole text, until it expires: the signature check is the largest per-request cost otherwise.
   */
  async verify (token: string): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_BYTES) throw invalidToken('Token validation failed: Token too large.')
    const cached = this.#verified.get(token)
    if (cached) {
      if (cached.expiresAt + this.#jwt.clockToleranceSeconds > Date.now() / 1000) return cached
      this.#verified.delete(token)
    }
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: [this.#jwt.algorithm],
        requiredClaims: ['sub', 'exp'],
        clockTolerance: this.#jwt.clockToleranceSeconds,
        ...(this.#jwt.audience ? { audience: this.#jwt.audience } : {}),
        ...(this.#jwt.issuer ? { issuer: this.#jwt.issuer } : {}),
      }))
    } catch (error) {
      throw invalidToken(describeFailure(error))
    }
    const verified = claimsOf(payload, this.#jwt.audience !== undefined)
    this.#remember(token, verified)
    return verified
  }

  #remember (token: string, verified: VerifiedToken): void {
    if (this.#verified.size >= VERIFIED_TOKEN_CACHE_ENTRIES) {
      const oldest = this.#verified.keys().next().value
      if (oldest !== undefined) this.#verified.delete(oldest)
    }
    this.#verified.set(token, verified)
  }
}
