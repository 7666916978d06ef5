import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import type { CompanyStatus } from '../db/companies-repository.js'
import type { UserStatus } from '../db/users-repository.js'
import { GatewayError } from '../errors.js'
import { adminRequired, companyInactive, companyRequired, invalidToken, notAuthenticated, sessionRevoked } from './auth-errors.js'
import type { Identity } from './identity.js'
import type { NotifiedCache } from './notified-cache.js'
import type { Sessions } from './sessions.js'
import type { TokenVerifier } from './token-verifier.js'

const BEARER = /^Bearer +(\S+) *$/i

export type AuthHook = (request: FastifyRequest) => Promise<void>

/** What a credential says about who presents it, before the database has a say. */
export interface Subject {
  readonly userId: string
  readonly companyId: string | null
  readonly email: string | null
  readonly sessionId: string | null
  readonly expiresAt: number
  /** False for an external issuer trusted without a local account (no database roles, so never admin). */
  readonly requireLocalUser: boolean
}

export interface Authenticators {
  /** Proxied routes: valid token, existing active user, company in the token. Synchronous when both are cached. */
  readonly strict: onRequestHookHandler
  /** ensure-company: the same without the company requirement. */
  readonly initial: AuthHook
  /** Administration: strict, plus the `admin` role in the database. */
  readonly admin: AuthHook
  /** The identity behind an Authorization header value, for callers outside a route (the data plane). */
  readonly identify: (authorization: string | undefined, requireCompany: boolean) => Promise<Identity>
  /**
   * StrictAuth's answer when everything it needs is cached (token, user, company, session): the identity or
   * the refusal, without a promise; undefined when only the database can tell.
   */
  readonly cachedIdentity: (authorization: string | undefined) => Identity | GatewayError | undefined
  /** The identity of a known user, company and session (a WebSocket ticket), checked like a token's. */
  readonly identifyUser: (subject: Omit<Subject, 'email' | 'requireLocalUser'>) => Promise<Identity>
  /** Checks again an identity granted earlier (an open WebSocket), against the user, company and session now. */
  readonly recheck: (identity: Identity) => Promise<GatewayError | undefined>
}

export interface AuthState {
  readonly tokens: TokenVerifier
  readonly users: NotifiedCache<UserStatus>
  readonly companies: NotifiedCache<CompanyStatus>
  readonly sessions: Sessions
}

/**
 * Who a credential's subject is now (SPEC §2.2, §3.4): its session not revoked, its user existing and active,
 * and for tenant routes its company present, still the user's company, and active. Roles always come from the
 * database, never from the token: a demoted user loses them at once. Pure: the caller supplies the rows.
 */
function admit (subject: Subject, requireCompany: boolean, sessions: Sessions, user: UserStatus | null, company: CompanyStatus | null): Identity | GatewayError {
  if (subject.sessionId !== null && sessions.isRevoked(subject.sessionId)) return sessionRevoked()
  if (subject.requireLocalUser) {
    if (user === null) return invalidToken('User associated with token not found.')
    if (!user.isActive) return invalidToken('User associated with token is inactive.')
  }
  const companyId = subject.companyId
  if (requireCompany) {
    if (companyId === null) return companyRequired()
    // A user moved to another company keeps an old token: it no longer opens the old tenant's data.
    if (user !== null && user.companyId?.toLowerCase() !== companyId) return companyRequired()
    if (company === null || !company.isActive) return companyInactive(companyId)
  }
  return {
    userId: subject.userId,
    companyId,
    email: subject.email ?? user?.email ?? null,
    roles: user?.roles ?? [],
    authType: 'user',
    localUser: subject.requireLocalUser,
    sessionId: subject.sessionId,
    expiresAt: subject.expiresAt,
  }
}

export function authenticators (state: AuthState): Authenticators {
  const { tokens, users, companies, sessions } = state

  async function admitLoaded (subject: Subject, requireCompany: boolean): Promise<Identity> {
    const [user, company] = await Promise.all([
      subject.requireLocalUser ? users.get(subject.userId) : null,
      requireCompany && subject.companyId !== null ? companies.get(subject.companyId) : null,
    ])
    const admitted = admit(subject, requireCompany, sessions, user, company)
    if (admitted instanceof GatewayError) throw admitted
    return admitted
  }

  async function identify (header: string | undefined, requireCompany: boolean): Promise<Identity> {
    const match = header === undefined ? null : BEARER.exec(header)
    if (!match) throw notAuthenticated()
    return admitLoaded(await tokens.verify(match[1] as string), requireCompany)
  }

  function cachedIdentity (header: string | undefined): Identity | GatewayError | undefined {
    const match = header === undefined ? null : BEARER.exec(header)
    if (!match) return header === undefined ? notAuthenticated() : undefined
    const subject = tokens.peek(match[1] as string)
    if (subject === undefined) return undefined
    const user = subject.requireLocalUser ? users.peek(subject.userId) : null
    if (user === undefined) return undefined
    const company = subject.companyId === null ? null : companies.peek(subject.companyId)
    if (company === undefined) return undefined
    return admit(subject, true, sessions, user, company)
  }

  return {
    identify,
    cachedIdentity,
    identifyUser: async (subject) => admitLoaded({ ...subject, email: null, requireLocalUser: true }, true),
    recheck: async (identity) => {
      try {
        await admitLoaded({ ...identity, requireLocalUser: identity.localUser }, true)
        return undefined
      } catch (error) {
        if (error instanceof GatewayError) return error
        throw error
      }
    },
    strict: (request, _reply, done) => {
      const cached = cachedIdentity(request.headers.authorization)
      if (cached instanceof GatewayError) {
        done(cached)
        return
      }
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
