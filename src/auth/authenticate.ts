import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import type { ApiKeys, VerifiedKey } from './api-keys.js'
import { invalidApiKey } from './api-keys.js'
import { looksLikeApiKey } from './api-key-format.js'
import type { CompanyStatus } from '../db/companies-repository.js'
import type { UserStatus } from '../db/users-repository.js'
import { GatewayError } from '../errors.js'
import { adminRequired, companyInactive, companyRequired, invalidToken, notAuthenticated, sessionRevoked } from './auth-errors.js'
import type { Identity } from './identity.js'
import type { NotifiedCache } from './notified-cache.js'
import type { Sessions } from './sessions.js'
import type { VerifiedToken } from './token-claims.js'
import type { TokenVerifier } from './token-verifier.js'

const BEARER = /^Bearer +(\S+) *$/i

export type AuthHook = (request: FastifyRequest) => Promise<void>

/** What a credential says about who presents it, before the database has a say: a verified token's claims. */
export type Subject = VerifiedToken

export interface Authenticators {
  /** Proxied routes: valid token, existing active user, company in the token. Synchronous when both are cached. */
  readonly strict: onRequestHookHandler
  /** ensure-company: the same without the company requirement. */
  readonly initial: AuthHook
  /** Administration: strict, plus the `admin` role in the database. */
  readonly admin: AuthHook
  /**
   * The identity behind a request's credential (a bearer token, or an API key in Authorization or X-API-Key
   * where `apiKeys` allows), for callers outside a route (the data plane, logout).
   */
  readonly identify: (headers: IncomingHttpHeaders, requireCompany: boolean, apiKeys?: boolean) => Promise<Identity>
  /**
   * StrictAuth's answer on the data plane when everything it needs is cached (token or key, user, company,
   * session): the identity or the refusal, without a promise; undefined when only the database can tell.
   */
  readonly cachedIdentity: (headers: IncomingHttpHeaders) => Identity | GatewayError | undefined
  /** The identity of a known user, company and session (a WebSocket ticket), checked like a token's. */
  readonly identifyUser: (subject: Omit<Subject, 'email' | 'requireLocalUser'>) => Promise<Identity>
  /** Checks again an identity granted earlier (an open WebSocket), against the user, company and session now. */
  readonly recheck: (identity: Identity) => Promise<GatewayError | undefined>
}

export interface AuthState {
  readonly tokens: TokenVerifier
  readonly apiKeys: ApiKeys
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
    roles: user?.roles ?? NO_ROLES,
    authType: 'user',
    localUser: subject.requireLocalUser,
    scopes: null,
    rateLimitPerMinute: null,
    sessionId: subject.sessionId,
    expiresAt: subject.expiresAt,
  }
}

/** No expiry: a socket opened with a key lives until the key changes (checked again then). */
const NEVER = Number.MAX_SAFE_INTEGER
/**
 * One empty role list for every identity without database roles (API keys, external users), because the
 * assertion cache compares roles by reference: a new [] per request made it sign every key's request.
 */
const NO_ROLES: readonly string[] = Object.freeze([])

/**
 * What an API key may do now (issue 17): not revoked, not expired, its previous secret only within the
 * rotation's grace period, its company active. The subject the upstream sees is the key (a service account).
 */
function admitKey ({ record, matchedHash }: VerifiedKey, company: CompanyStatus | null): Identity | GatewayError {
  const now = Date.now()
  if (record.revokedAt !== null) return invalidToken('Token validation failed: API key has been revoked.')
  if (record.expiresAt !== null && record.expiresAt.getTime() <= now) return invalidToken('Token validation failed: API key has expired.')
  if (matchedHash !== record.secretHash && !(record.previousValidUntil !== null && record.previousValidUntil.getTime() > now)) return invalidApiKey()
  if (company === null || !company.isActive) return companyInactive(record.companyId)
  return {
    userId: record.id,
    companyId: record.companyId,
    email: null,
    roles: NO_ROLES,
    authType: 'api_key',
    localUser: false,
    scopes: record.scopes,
    rateLimitPerMinute: record.rateLimitPerMinute,
    sessionId: null,
    expiresAt: record.expiresAt === null ? NEVER : Math.floor(record.expiresAt.getTime() / 1000),
  }
}

type Credential = { readonly kind: 'token' | 'key', readonly text: string } | null

/** A bearer value (a token or an API key), or an API key in X-API-Key; null when the request carries neither. */
function credentialOf (headers: IncomingHttpHeaders): Credential | undefined {
  const header = headers.authorization
  if (header !== undefined) {
    const match = BEARER.exec(header)
    if (!match) return undefined
    const text = match[1] as string
    return { kind: looksLikeApiKey(text) ? 'key' : 'token', text }
  }
  const key = headers['x-api-key']
  return typeof key === 'string' ? { kind: 'key', text: key.trim() } : null
}

export function authenticators (state: AuthState): Authenticators {
  const { tokens, apiKeys, users, companies, sessions } = state

  async function identifyKey (text: string): Promise<Identity> {
    const verified = await apiKeys.verify(text)
    const admitted = admitKey(verified, await companies.get(verified.record.companyId))
    if (admitted instanceof GatewayError) throw admitted
    apiKeys.markUsed(admitted.userId)
    return admitted
  }

  async function admitLoaded (subject: Subject, requireCompany: boolean): Promise<Identity> {
    const [user, company] = await Promise.all([
      subject.requireLocalUser ? users.get(subject.userId) : null,
      requireCompany && subject.companyId !== null ? companies.get(subject.companyId) : null,
    ])
    const admitted = admit(subject, requireCompany, sessions, user, company)
    if (admitted instanceof GatewayError) throw admitted
    return admitted
  }

  async function identify (headers: IncomingHttpHeaders, requireCompany: boolean, allowApiKeys = false): Promise<Identity> {
    const credential = credentialOf(headers)
    if (!credential) throw notAuthenticated()
    if (credential.kind === 'key') {
      // A machine's key opens the proxied routes it is scoped for, never the admin API or ensure-company.
      if (!allowApiKeys) throw invalidToken('Token validation failed: API keys cannot be used here.')
      return identifyKey(credential.text)
    }
    return admitLoaded(await tokens.verify(credential.text), requireCompany)
  }

  function cachedIdentity (headers: IncomingHttpHeaders): Identity | GatewayError | undefined {
    const credential = credentialOf(headers)
    if (credential === null) return notAuthenticated()
    if (credential === undefined) return undefined
    if (credential.kind === 'key') {
      const verified = apiKeys.peek(credential.text)
      if (verified === undefined) return undefined
      const company = companies.peek(verified.record.companyId)
      if (company === undefined) return undefined
      const admitted = admitKey(verified, company)
      if (!(admitted instanceof GatewayError)) apiKeys.markUsed(admitted.userId)
      return admitted
    }
    const subject = tokens.peek(credential.text)
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
        if (identity.authType === 'api_key') {
          const record = await apiKeys.records.get(identity.userId)
          if (!record) return invalidApiKey()
          const admitted = admitKey({ record, matchedHash: record.secretHash }, await companies.get(record.companyId))
          return admitted instanceof GatewayError ? admitted : undefined
        }
        await admitLoaded({ ...identity, requireLocalUser: identity.localUser }, true)
        return undefined
      } catch (error) {
        if (error instanceof GatewayError) return error
        throw error
      }
    },
    strict: (request, _reply, done) => {
      identify(request.headers, true).then((identity) => {
        request.identity = identity
        done()
      }, done)
    },
    initial: async (request) => { request.identity = await identify(request.headers, false) },
    admin: async (request) => {
      const identity = await identify(request.headers, true)
      if (!identity.roles.includes('admin')) throw adminRequired()
      request.identity = identity
    },
  }
}
