import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { adminRequired, companyRequired, invalidToken, notAuthenticated } from './auth-errors.js'
import type { Identity } from './identity.js'
import type { TokenVerifier } from './token-verifier.js'
import type { UserStatusCache } from './user-status-cache.js'

const BEARER = /^Bearer +(\S+) *$/i

export type AuthHook = (request: FastifyRequest) => Promise<void>

export interface Authenticators {
  /** Proxied routes: valid token, existing active user, company in the token. Synchronous when both are cached. */
  readonly strict: onRequestHookHandler
  /** ensure-company: the same without the company requirement. */
  readonly initial: AuthHook
  /** Administration: strict, plus the `admin` role in the database. */
  readonly admin: AuthHook
  /** The identity behind an Authorization header value, for callers outside a route (WebSocket upgrades). */
  readonly identify: (authorization: string | undefined, requireCompany: boolean) => Promise<Identity>
  /** StrictAuth's identity when token and user are both cached, without a promise; undefined when either is not. */
  readonly cachedIdentity: (authorization: string | undefined) => Identity | undefined
  /** The identity of a known user and company (a WebSocket ticket), checked against the database like a token's. */
  readonly identifyUser: (claims: { userId: string, companyId: string, expiresAt: number }) => Promise<Identity>
}

/** Roles always come from the database, never from the token: a demoted user loses them at once. */
export function authenticators (tokens: TokenVerifier, users: UserStatusCache): Authenticators {
  async function identifyUser (claims: { userId: string, companyId: string | null, email?: string | null, expiresAt: number }, requireCompany = true): Promise<Identity> {
    const user = await users.get(claims.userId)
    if (!user) throw invalidToken('User associated with token not found.')
    if (!user.isActive) throw invalidToken('User associated with token is inactive.')
    if (requireCompany && !claims.companyId) throw companyRequired()
    return { userId: claims.userId, companyId: claims.companyId, email: claims.email ?? user.email, roles: user.roles, authType: 'user', expiresAt: claims.expiresAt }
  }

  async function identify (header: string | undefined, requireCompany: boolean): Promise<Identity> {
    const match = header === undefined ? null : BEARER.exec(header)
    if (!match) throw notAuthenticated()
    const claims = await tokens.verify(match[1] as string)
    if (!claims.requireLocalUser) {
      // An external issuer trusted without a local account: no database roles, so never admin.
      if (requireCompany && !claims.companyId) throw companyRequired()
      return { userId: claims.userId, companyId: claims.companyId, email: claims.email, roles: [], authType: 'user', expiresAt: claims.expiresAt }
    }
    return identifyUser(claims, requireCompany)
  }

  /**
   * The steady state of every proxied request: token and user both cached. Answered without a promise,
   * since async hooks were a visible share of the per-request cost.
   */
  function cachedIdentity (header: string | undefined): Identity | undefined {
    const match = header === undefined ? null : BEARER.exec(header)
    if (!match) return undefined
    const claims = tokens.peek(match[1] as string)
    if (!claims?.requireLocalUser || !claims.companyId) return undefined
    const user = users.peek(claims.userId)
    if (!user?.isActive) return undefined
    return { userId: claims.userId, companyId: claims.companyId, email: claims.email ?? user.email, roles: user.roles, authType: 'user', expiresAt: claims.expiresAt }
  }

  return {
    identify,
    cachedIdentity,
    identifyUser: async (claims) => identifyUser(claims),
    strict: (request, _reply, done) => {
      const cached = cachedIdentity(request.headers.authorization)
      if (cached) {
        request.identity = cached
        done()
        return
      }
      identify(request.headers.authorization, true).then((identity) => {
        request.identity = identity
        done()
      }, done)
    },
    initial: async (request) => { request.identity = await identify(request.headers.authorization, false) },
    admin: async (request) => {
      const identity = await identify(request.headers.authorization, true)
      if (!identity.roles.includes('admin')) throw adminRequired()
      request.identity = identity
    },
  }
}
