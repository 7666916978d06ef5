import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { LoginGuard } from '../traffic/policies.js'
import type { CompaniesRepository } from '../db/companies-repository.js'
import type { CompanyStatus } from '../db/companies-repository.js'
import type { UsersRepository, UserStatus } from '../db/users-repository.js'
import type { AuthHook } from './authenticate.js'
import { badCredentials, notAuthenticated } from './auth-errors.js'
import { DuplicateEmailError } from '../db/users-repository.js'
import { badRequest } from '../errors.js'
import type { Identity } from './identity.js'
import type { Sessions } from './sessions.js'
import { chooseCompany, requireActiveCompany, userNotFound } from './company-association.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { ensureCompanySchema, loginSchema, logoutSchema, refreshSchema, registerSchema } from './user-schemas.js'
import { invalidRefreshToken, type RefreshTokens } from './refresh-tokens.js'
import type { TokenIssuer } from './token-issuer.js'
import { signIn } from './sign-in.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditEvent } from '../audit/events.js'
import { actorOf, auditContext } from '../audit/request-context.js'
import { usersRepository } from '../db/users-repository.js'

export interface UserRoutesDeps {
  readonly users: UsersRepository
  readonly companies: CompaniesRepository
  readonly companyStatus: (companyId: string) => Promise<CompanyStatus | null>
  readonly tokens: TokenIssuer
  readonly sessions: Sessions
  /** Null when GATEWAY_REFRESH_TOKENS=false. */
  readonly refreshTokens: RefreshTokens | null
  readonly initialAuth: AuthHook
  /** The identity behind a bearer header (InitialAuth's rules), for logout. */
  readonly bearer: (authorization: string | undefined) => Promise<Identity>
  readonly defaultCompanyId: string | undefined
  readonly allowSelfRegistration: boolean
  readonly perIpLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  readonly loginGuard: LoginGuard
  /** False for a user whose company signs in through single sign-on only. */
  readonly passwordLoginAllowed: (user: { readonly companyId: string | null }) => Promise<boolean>
  /** Throws for a refresh-token family that may no longer refresh (a single sign-on session its company ended). */
  readonly refreshCheck: (family: { readonly userId: string, readonly familyId: string }) => Promise<void>
  readonly audit: AuditLog
  /**
   * Drops this replica's cached status of a user at once: the token ensure-company answers names the new
   * company, and the next request (from the same client, at once) must not meet the old one in the cache
   * before NOTIFY clears it.
   */
  readonly forgetUser: (userId: string) => void
}

/** Why a password login was refused, for the audit trail only: every caller gets the same 401. */
type LoginRefusal = 'unknown_account' | 'wrong_password' | 'inactive' | 'password_login_disabled' | 'company_inactive'

async function refusal (deps: UserRoutesDeps, user: UserStatus | null, passwordMatches: boolean): Promise<LoginRefusal | null> {
  if (!user) return 'unknown_account'
  if (!passwordMatches) return 'wrong_password'
  if (!user.isActive) return 'inactive'
  if (!await deps.passwordLoginAllowed(user)) return 'password_login_disabled'
  return null
}

/** RFC 6749 §5.1: answers that carry tokens are never stored by a cache. */
export function neverCached (context: FastifyInstance): void {
  context.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store')
    reply.header('pragma', 'no-cache')
    done(null, payload)
  })
}

/** An empty JSON body is the same as no body: ensure-company takes absent, null and {} alike. */
function acceptEmptyJson (context: FastifyInstance): void {
  context.removeContentTypeParser('application/json')
  context.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim()
    if (text === '') {
      done(null, null)
      return
    }
    try {
      done(null, JSON.parse(text))
    } catch (error) {
      done(error as Error, undefined)
    }
  })
}

export async function userRoutes (app: FastifyInstance, deps: UserRoutesDeps): Promise<void> {
  acceptEmptyJson(app)
  neverCached(app)
  app.addHook('onRequest', deps.perIpLimit)

  /** A user whose company was deactivated cannot log in (nor refresh): the same answer as a wrong password. */
  const companyAllows = async (user: UserStatus): Promise<boolean> => {
    if (user.companyId === null) return true
    return (await deps.companyStatus(user.companyId))?.isActive === true
  }

  app.post<{ Body: { email: string, password: string, access_token_minutes?: number } }>('/login', { schema: loginSchema }, async (request) => {
    const { email, password } = request.body
    await deps.loginGuard.check(request, email)
    const user = await deps.users.findCredentialsByEmail(email)
    // The password is checked even for unknown and inactive users: every failure costs one bcrypt compare.
    const passwordMatches = await verifyPassword(password, user?.hashedPassword)
    const refused = await refusal(deps, user, passwordMatches)
    const context = auditContext(request)
    // An unknown email is not stored (it may be a password typed in the wrong field): the row has no target.
    const failed = (reason: LoginRefusal): AuditEvent => ({
      type: 'login.failed',
      actor: user ? { type: 'user', id: user.id } : { type: 'system', id: null },
      companyId: user?.companyId ?? null,
      target: user ? { type: 'user', id: user.id } : null,
      details: { reason },
    })
    if (refused !== null) {
      const locked = await deps.loginGuard.recordFailure(request, email)
      await deps.audit.record(context, failed(refused), ...(locked === null
        ? []
        : [{ ...failed(refused), type: 'login.locked' as const, details: { limit: locked } }]))
      throw badCredentials()
    }
    const known = user as NonNullable<typeof user>
    if (!await companyAllows(known)) {
      await deps.audit.record(context, failed('company_inactive'))
      throw badCredentials()
    }
    const signedIn = await signIn(deps, known, { lifetimeMinutes: request.body.access_token_minutes })
    await deps.audit.withChange(context, async (tx) => {
      await usersRepository(tx).recordLogin(known.id)
      return {
        result: undefined,
        events: [{ type: 'login.succeeded', actor: { type: 'user', id: known.id }, companyId: known.companyId, target: { type: 'session', id: signedIn.sessionId }, details: { method: 'password' } }],
      }
    })
    request.log.info({ user_id: known.id }, 'login succeeded')
    return signedIn.body
  })

  const refreshTokens = deps.refreshTokens
  if (refreshTokens) {
    app.post<{ Body: { refresh_token: string, access_token_minutes?: number } }>('/refresh', { schema: refreshSchema }, async (request) => {
      const context = auditContext(request)
      const rotated = await refreshTokens.rotate(request.body.refresh_token, async (family) => {
        await deps.sessions.revoke(family.familyId)
        const owner = await deps.users.findStatus(family.userId)
        const session = { type: 'session', id: family.familyId }
        await deps.audit.record(context,
          { type: 'token.reuse_detected', actor: { type: 'user', id: family.userId }, companyId: owner?.companyId ?? null, target: session },
          { type: 'session.revoked', actor: { type: 'system', id: null }, companyId: owner?.companyId ?? null, target: session, details: { reason: 'refresh_token_reuse', user_id: family.userId } })
      })
      await deps.refreshCheck(rotated)
      const user = await deps.users.findStatus(rotated.userId)
      if (!user?.isActive || !await companyAllows(user)) {
        await deps.sessions.revoke(rotated.familyId)
        throw invalidRefreshToken(user?.isActive === true ? 'The company of this session is inactive.' : 'User associated with token is inactive.')
      }
      await deps.sessions.extend(rotated.familyId, user.id)
      const lifetime = deps.tokens.lifetimeFor(request.body.access_token_minutes)
      const accessToken = await deps.tokens.issue({
        userId: user.id, email: user.email, companyId: user.companyId, roles: user.roles, fullName: user.fullName, sessionId: rotated.familyId,
      }, lifetime)
      await deps.audit.record(context, { type: 'token.refreshed', actor: { type: 'user', id: user.id }, companyId: user.companyId, target: { type: 'session', id: rotated.familyId } })
      return { access_token: accessToken, refresh_token: rotated.refreshToken, token_type: 'bearer', expires_in: lifetime * 60 }
    })
  }

  // Logout ends the session named by the bearer token, the refresh token, or both, on every replica (SPEC §3.4).
  app.post<{ Body: { refresh_token?: string } | null | undefined }>('/logout', { schema: logoutSchema }, async (request) => {
    const header = request.headers.authorization
    const refreshToken = request.body?.refresh_token
    if (header === undefined && refreshToken === undefined) throw notAuthenticated()
    const sessions = new Set<string>()
    let caller: Identity | null = null
    if (header !== undefined) {
      caller = await deps.bearer(header)
      if (caller.sessionId !== null) sessions.add(caller.sessionId)
    }
    if (refreshToken !== undefined && refreshTokens) {
      const familyId = await refreshTokens.familyOf(refreshToken)
      if (familyId !== null) sessions.add(familyId)
    }
    for (const sessionId of sessions) {
      if (!await deps.sessions.revoke(sessionId)) continue
      const owner = caller ?? null
      await deps.audit.record(auditContext(request), {
        type: 'session.revoked',
        actor: owner ? { type: 'user', id: owner.userId } : { type: 'system', id: null },
        companyId: owner?.companyId ?? null,
        target: { type: 'session', id: sessionId },
        details: { reason: 'logout' },
      })
    }
    return { message: 'Logged out.' }
  })

  if (deps.allowSelfRegistration) {
    app.post<{ Body: { email: string, password: string, name?: string | null } }>('/register', { schema: registerSchema }, async (request, reply) => {
      if (!deps.defaultCompanyId) throw badRequest('Registration is not available: no default company is configured.')
      const company = await requireActiveCompany(deps.companies, deps.defaultCompanyId)
      // A new and an already registered email get the same answer, after the same work: no account enumeration.
      const hashedPassword = await hashPassword(request.body.password)
      try {
        const user = await deps.audit.withChange(auditContext(request), async (tx) => {
          const created = await usersRepository(tx).create({ email: request.body.email, hashedPassword, fullName: request.body.name ?? null, companyId: company.id, roles: ['user'] })
          return {
            result: created,
            events: [{ type: 'user.created', actor: { type: 'user', id: created.id }, companyId: company.id, target: { type: 'user', id: created.id }, details: { via: 'registration', roles: created.roles } }],
          }
        })
        request.log.info({ created_user_id: user.id }, 'user registered')
      } catch (error) {
        if (!(error instanceof DuplicateEmailError)) throw error
        request.log.info('registration for an email that already has an account')
      }
      return reply.code(201).send({ message: REGISTRATION_RECEIVED, user_id: null })
    })
  }

  await app.register(async (authenticated) => {
    authenticated.addHook('onRequest', deps.initialAuth)
    authenticated.post<{ Body: { company_id?: string | null } | null | undefined }>('/me/ensure-company', { schema: ensureCompanySchema }, async (request) => {
      const identity = request.identity
      const user = identity ? await deps.users.findStatus(identity.userId) : null
      if (!user || !identity) throw userNotFound()
      const { companyId, changed } = await chooseCompany(user, request.body?.company_id ?? undefined, deps.defaultCompanyId, deps.companies)
      if (changed) {
        await deps.audit.withChange(auditContext(request), async (tx) => {
          await usersRepository(tx).setCompany(user.id, companyId)
          // Both companies' chains carry the move: each company's security team sees it.
          const moved = (chain: string | null): AuditEvent => ({
            type: 'user.company_changed', actor: actorOf(request), companyId: chain, target: { type: 'user', id: user.id }, details: { from: user.companyId, to: companyId },
          })
          return { result: undefined, events: user.companyId === null ? [moved(companyId)] : [moved(user.companyId), moved(companyId)] }
        })
        deps.forgetUser(user.id)
      }
      // The same login goes on under its session; a token from before sessions existed gets one now.
      const sessionId = identity.sessionId ?? await deps.sessions.open(user.id, 'password')
      const newAccessToken = await deps.tokens.issue({ userId: user.id, email: user.email, companyId, roles: user.roles, fullName: user.fullName, sessionId })
      // The login's refresh token goes on serving this session: ensure-company issues none (its answer, the seeds', has no field for one).
      return {
        user_id: user.id,
        company_id: companyId,
        message: changed ? `Company association successfully updated to ${companyId}.` : `Company association confirmed as ${companyId}.`,
        new_access_token: newAccessToken,
        token_type: 'bearer',
        roles: user.roles,
      }
    })
  })
}

/** What self-registration answers, for a new email and an existing one alike. */
export const REGISTRATION_RECEIVED = 'Registration received. If the email is new, you can log in now.'
