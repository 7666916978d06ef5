import type { FastifyRequest } from 'fastify'
import { adminRequired, companyRequired, invalidToken, notAuthenticated } from './auth-errors.js'
import type { Identity } from './identity.js'
import type { TokenVerifier } from './token-verifier.js'
import type { UserStatusCache } from './user-status-cache.js'

const BEARER = /^Bearer +(\S+) *$/i

export type AuthHook = (request: FastifyRequest) => Promise<void>

export interface Authenticators {
  /** Proxied routes: valid token, existing active user, company in the token. */
  readonly strict: AuthHook
  /** ensure-company: the same without the company requirement. */
  readonly initial: AuthHook
  /** Administration: strict, plus the `admin` role in the database. */
  readonly admin: AuthHook
}

/** Roles always come from the database, never from the token: a demoted user loses them at once. */
export function authenticators (tokens: TokenVerifier, users: UserStatusCache): Authenticators {
  async function identify (request: FastifyRequest, requireCompany: boolean): Promise<Identity> {
    const header = request.headers.authorization
    const match = header === undefined ? null : BEARER.exec(header)
    if (!match) throw notAuthenticated()
    const claims = await tokens.verify(match[1] as string)
    if (!claims.requireLocalUser) {
      // An external issuer trusted without a local account: no database roles, so never admin.
      if (requireCompany && !claims.companyId) throw companyRequired()
      return { userId: claims.userId, companyId: claims.companyId, email: claims.email, roles: [] }
    }
    const user = await users.get(claims.userId)
    if (!user) throw invalidToken('User associated with token not found.')
    if (!user.isActive) throw invalidToken('User associated with token is inactive.')
    if (requireCompany && !claims.companyId) throw companyRequired()
    return { userId: claims.userId, companyId: claims.companyId, email: claims.email ?? user.email, roles: user.roles }
  }

  return {
    strict: async (request) => { request.identity = await identify(request, true) },
    initial: async (request) => { request.identity = await identify(request, false) },
    admin: async (request) => {
      const identity = await identify(request, true)
      if (!identity.roles.includes('admin')) throw adminRequired()
      request.identity = identity
    },
  }
}
