import { AuthorizationResponseError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client'

/**
 * Why a single sign-on ended without a code: the `error` the frontend page receives. Each is a fixed word
 * a frontend can translate; none carries the provider's own text, an email or a token. Printed into the README.
 */
export const SSO_FAILURES = {
  sso_not_configured: 'No single sign-on is configured for this email domain or company.',
  access_denied: 'The user cancelled at the identity provider, or the provider refused them.',
  provider_error: 'The identity provider answered with another error (or refused the gateway\'s client credentials).',
  provider_unavailable: 'The identity provider could not be reached.',
  invalid_state: 'The sign-in expired (10 minutes), was started in another browser, or its answer was altered or replayed.',
  code_rejected: 'The identity provider refused the authorization code (expired, already used, or issued to another client).',
  invalid_id_token: 'The ID token failed verification: issuer, audience, signature, nonce or expiry.',
  email_not_verified: 'The identity provider did not vouch for the email address (email_verified).',
  email_domain_not_allowed: 'The email\'s domain is not one of the company\'s domains.',
  user_not_provisioned: 'No user with this email exists and the company does not create users on first sign-in.',
  account_unavailable: 'The email belongs to a user of another company (or of none).',
  account_inactive: 'The user or their company is deactivated.',
  sso_failed: 'Anything else (the gateway\'s log has the cause).',
} as const

export type SsoFailureCode = keyof typeof SSO_FAILURES

/** A sign-in refused for a reason the frontend is told; `cause` goes to the log only. */
export class SsoFailure extends Error {
  override name = 'SsoFailure'
  constructor (readonly code: SsoFailureCode, options: { cause?: unknown } = {}) {
    super(code, options)
  }
}

const UNREACHABLE = new Set(['OAUTH_TIMEOUT', 'OAUTH_ABORT', 'OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON'])

/** Maps what openid-client throws (it validates everything) to the frontend's code, by class and `code`. */
export function failureOf (error: unknown): SsoFailure {
  if (error instanceof SsoFailure) return error
  if (error instanceof AuthorizationResponseError) {
    return new SsoFailure(error.error === 'access_denied' ? 'access_denied' : 'provider_error', { cause: error })
  }
  if (error instanceof ResponseBodyError) {
    return new SsoFailure(error.error === 'invalid_grant' ? 'code_rejected' : 'provider_error', { cause: error })
  }
  if (error instanceof WWWAuthenticateChallengeError) return new SsoFailure('provider_error', { cause: error })
  const code = (error as { code?: unknown }).code
  // fetch() itself failing (refused, DNS, reset) is a TypeError without a code; openid-client's own argument
  // errors are TypeErrors with an ERR_ code, and are bugs.
  if (error instanceof TypeError && code === undefined) return new SsoFailure('provider_unavailable', { cause: error })
  if (typeof code === 'string' && UNREACHABLE.has(code)) return new SsoFailure('provider_unavailable', { cause: error })
  if (typeof code === 'string' && code.startsWith('OAUTH_')) return new SsoFailure('invalid_id_token', { cause: error })
  return new SsoFailure('sso_failed', { cause: error })
}
