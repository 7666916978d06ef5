import { errors, type JWTPayload } from 'jose'
import { invalidToken } from './auth-errors.js'
import { isUuid } from './uuid.js'

export type ClaimsProfile = 'gateway' | 'supabase'

export interface VerifiedToken {
  readonly userId: string
  readonly companyId: string | null
  readonly email: string | null
  /** The session the token belongs to (`sid`), for the gateway's own tokens; null for tokens without one. */
  readonly sessionId: string | null
  /** Seconds since the epoch. */
  readonly expiresAt: number
  /** Whether the user must exist and be active in our users table. */
  readonly requireLocalUser: boolean
}

const CLAIM_FAILURES: Record<string, string> = {
  exp: 'Token validation failed: Token has no valid expiry (exp).',
  nbf: 'Token validation failed: Token is not yet valid (nbf).',
  iat: 'Token validation failed: Token issued in the future (iat).',
  aud: 'Token validation failed: Invalid audience.',
  iss: 'Token validation failed: Invalid issuer.',
}

/** jose's messages never reach the client: each failure gets the seeds' wording or our own. */
export function describeFailure (error: unknown): string {
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

function appMetadataCompany (payload: JWTPayload): unknown {
  const appMetadata = payload.app_metadata
  return appMetadata && typeof appMetadata === 'object' ? (appMetadata as Record<string, unknown>).company_id ?? null : null
}

/**
 * `company_id` from the top-level claim, else `app_metadata` — never `user_metadata`, which users edit.
 * Supabase tokens take it from `app_metadata` only.
 */
function companyClaim (payload: JWTPayload, profile: ClaimsProfile): unknown {
  if (profile === 'gateway' && payload.company_id !== undefined && payload.company_id !== null) return payload.company_id
  return appMetadataCompany(payload)
}

export interface ClaimsPolicy {
  readonly audienceRequired: boolean
  readonly profile: ClaimsProfile
  readonly requireLocalUser: boolean
  readonly clockToleranceSeconds: number
  /** The longest lifetime (exp - iat, or exp - now without iat) accepted. */
  readonly maxLifetimeSeconds: number
  /** The gateway's own tokens name their session in `sid`; other issuers' sessions are not ours to know. */
  readonly ownSessions: boolean
}

/** What a verified token says, checked against the rules jose does not know (SPEC §2.1). */
export function claimsOf (payload: JWTPayload, options: ClaimsPolicy): VerifiedToken {
  if (!options.audienceRequired && payload.aud !== undefined) throw invalidToken('Token validation failed: Unexpected audience.')
  const now = Math.floor(Date.now() / 1000)
  const exp = payload.exp as number
  // jose checks iat only against a maximum age: a token minted for the future would be good for longer than it says.
  if (typeof payload.iat === 'number' && payload.iat > now + options.clockToleranceSeconds) throw invalidToken(CLAIM_FAILURES.iat as string)
  if (exp - Math.min(typeof payload.iat === 'number' ? payload.iat : now, now) > options.maxLifetimeSeconds + options.clockToleranceSeconds) {
    throw invalidToken('Token validation failed: Token lifetime exceeds the allowed maximum.')
  }
  // Supabase signs anon and service_role keys with the same key: only end users may reach tenant routes.
  if (options.profile === 'supabase' && payload.role !== 'authenticated') throw invalidToken('Token validation failed: Role not allowed.')
  if (typeof payload.sub !== 'string' || payload.sub === '') throw invalidToken("Token missing 'sub' (user ID) claim.")
  if (!isUuid(payload.sub)) throw invalidToken('Invalid user ID format in token.')
  const company = companyClaim(payload, options.profile)
  if (company !== null && !isUuid(company)) throw invalidToken('Invalid company ID format in token.')
  const session = options.ownSessions ? payload.sid : undefined
  if (session !== undefined && !isUuid(session)) throw invalidToken('Token validation failed: Invalid session (sid).')
  return {
    userId: payload.sub.toLowerCase(),
    companyId: company === null ? null : company.toLowerCase(),
    email: typeof payload.email === 'string' ? payload.email : null,
    sessionId: session === undefined ? null : session.toLowerCase(),
    expiresAt: exp,
    requireLocalUser: options.requireLocalUser,
  }
}
