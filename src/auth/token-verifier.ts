import type { webcrypto } from 'node:crypto'
import { decodeJwt, jwtVerify, type JWTPayload } from 'jose'
import type { Config, ExternalIssuer } from '../config.js'
import { GatewayError } from '../errors.js'
import { invalidToken } from './auth-errors.js'
import { jwksKeyResolver, type KeyResolver } from './jwks.js'
import { claimsOf, describeFailure, type ClaimsProfile, type VerifiedToken } from './token-claims.js'
import { HASH_OF, importHmacKey } from './token-issuer.js'

/** Tokens larger than this are refused before any parsing (SPEC §2.1). */
export const MAX_TOKEN_BYTES = 8 * 1024
/** Verified tokens remembered until their expiry; the oldest are forgotten first beyond this. */
const VERIFIED_TOKEN_CACHE_ENTRIES = 10_000

/** Everything needed to verify one issuer's tokens, pinned: its algorithms, its keys, its claims. */
interface IssuerPolicy {
  readonly algorithms: string[]
  readonly key: webcrypto.CryptoKey | KeyResolver
  readonly audience: string | undefined
  readonly issuer: string | undefined
  readonly profile: ClaimsProfile
  readonly requireLocalUser: boolean
  readonly ownSessions: boolean
}

async function externalPolicy (issuer: ExternalIssuer): Promise<IssuerPolicy> {
  let key: IssuerPolicy['key']
  if (issuer.secret !== undefined) {
    const secret = issuer.secret
    const keys = new Map(await Promise.all(issuer.algorithms.map(async (alg) =>
      [alg, await importHmacKey(secret, alg as keyof typeof HASH_OF)] as const)))
    key = async (header) => {
      const found = keys.get(header.alg as ExternalIssuer['algorithms'][number])
      if (!found) throw invalidToken('Token validation failed: Algorithm not allowed.')
      return found
    }
  } else {
    key = jwksKeyResolver(issuer.jwksUrl as string, issuer.algorithms, { cooldownMs: issuer.jwksCooldownMs, maxAgeMs: issuer.jwksMaxAgeMs })
  }
  return {
    algorithms: issuer.algorithms,
    key,
    audience: issuer.audience,
    issuer: issuer.issuer,
    profile: issuer.profile,
    requireLocalUser: issuer.requireLocalUser,
    ownSessions: false,
  }
}

/**
 * Each segment in the one canonical base64url spelling (RFC 7515 §2, RFC 4648 §3.5): no padding, and zero
 * bits in the unused low bits of the last character. jose decodes the others too, but the verified-token
 * cache and the revocation of sessions key on the token text, so one token must have one text.
 */
const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

export function isCanonicalJws (token: string): boolean {
  const segments = token.split('.')
  if (segments.length !== 3) return false
  for (const segment of segments) {
    if (!BASE64URL_SEGMENT.test(segment)) return false
    const rest = segment.length % 4
    if (rest === 1) return false
    if (rest === 0) continue
    const last = ALPHABET.indexOf(segment.charAt(segment.length - 1))
    if (last % (rest === 2 ? 16 : 4) !== 0) return false
  }
  return true
}

/** The issuer a token claims, read before verification only to pick whose keys verify it. */
function claimedIssuer (token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/**
 * Verifies access tokens: the gateway's own (HS256 by default) and those of configured external issuers,
 * each with its own pinned policy (SPEC §2.1). A verified token is remembered, keyed by its whole text,
 * until it expires: the signature check is otherwise the largest per-request cost.
 */
export class TokenVerifier {
  readonly #own: IssuerPolicy
  readonly #external: Map<string, IssuerPolicy>
  readonly #clockToleranceSeconds: number
  readonly #maxLifetimeSeconds: number
  readonly #verified = new Map<string, VerifiedToken>()

  private constructor (own: IssuerPolicy, external: Map<string, IssuerPolicy>, jwt: Config['jwt']) {
    this.#own = own
    this.#external = external
    this.#clockToleranceSeconds = jwt.clockToleranceSeconds
    this.#maxLifetimeSeconds = jwt.maxLifetimeSeconds
  }

  static async create (jwt: Config['jwt'], secret: string): Promise<TokenVerifier> {
    const own: IssuerPolicy = {
      algorithms: [jwt.algorithm],
      key: await importHmacKey(secret, jwt.algorithm),
      audience: jwt.audience,
      issuer: jwt.issuer,
      profile: 'gateway',
      requireLocalUser: true,
      ownSessions: true,
    }
    const external = new Map(await Promise.all(jwt.externalIssuers.map(async (issuer) => [issuer.issuer, await externalPolicy(issuer)] as const)))
    return new TokenVerifier(own, external, jwt)
  }

  /** The claims of a token verified before and not yet expired, without any async work; else undefined. */
  peek (token: string): VerifiedToken | undefined {
    const cached = this.#verified.get(token)
    if (cached === undefined) return undefined
    if (cached.expiresAt + this.#clockToleranceSeconds > Date.now() / 1000) return cached
    this.#verified.delete(token)
    return undefined
  }

  async verify (token: string): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_BYTES) throw invalidToken('Token validation failed: Token too large.')
    const cached = this.peek(token)
    if (cached) return cached
    if (!isCanonicalJws(token)) throw invalidToken('Token validation failed: Malformed token.')
    const policy = this.#external.size > 0 ? this.#external.get(claimedIssuer(token) ?? '') ?? this.#own : this.#own
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(token, policy.key as webcrypto.CryptoKey, {
        algorithms: policy.algorithms,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: this.#clockToleranceSeconds,
        ...(policy.audience ? { audience: policy.audience } : {}),
        ...(policy.issuer ? { issuer: policy.issuer } : {}),
      }))
    } catch (error) {
      if (error instanceof GatewayError) throw error
      throw invalidToken(describeFailure(error))
    }
    const verified = claimsOf(payload, {
      audienceRequired: policy.audience !== undefined,
      profile: policy.profile,
      requireLocalUser: policy.requireLocalUser,
      clockToleranceSeconds: this.#clockToleranceSeconds,
      maxLifetimeSeconds: this.#maxLifetimeSeconds,
      ownSessions: policy.ownSessions,
    })
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
