import { GatewayError } from '../errors.js'

export const notAuthenticated = (): GatewayError =>
  new GatewayError('NOT_AUTHENTICATED', 401, 'Not authenticated', { headers: { 'www-authenticate': 'Bearer' } })

/** RFC 6750 §3: the challenge names the error; its description may not contain `"` or `\`. */
export const invalidToken = (detail: string): GatewayError =>
  new GatewayError('INVALID_TOKEN', 401, detail, {
    headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${detail.replace(/["\\]/g, "'")}"` },
  })

export const companyRequired = (): GatewayError =>
  new GatewayError('COMPANY_REQUIRED', 403, 'User authenticated, but required company association is missing or invalid in token.', {
    headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' },
  })

export const adminRequired = (): GatewayError =>
  new GatewayError('FORBIDDEN', 403, 'Insufficient permissions. Administrator role required.')

export const badCredentials = (): GatewayError =>
  new GatewayError('BAD_CREDENTIALS', 401, 'Incorrect email or password', { headers: { 'www-authenticate': 'Bearer' } })

export const companyInactive = (companyId: string): GatewayError =>
  new GatewayError('COMPANY_INACTIVE', 403, `Company '${companyId}' is inactive.`, {
    headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' },
  })

export const sessionRevoked = (): GatewayError => invalidToken('Token validation failed: Session has been revoked.')
