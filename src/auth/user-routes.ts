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
    if (!user || !passwordMatches || !user.isActive || !await deps.passwordLoginAllowed(user)) {
      await deps.loginGuard.recordFailure(request, email)
      throw badCredentials()
    }
    if (!await companyAllows(user)) throw badCredentials()
    await deps.users.recordLogin(user.id)
    request.log.info({ user_id: user.id }, 'login succeeded')
    return (await signIn(deps, user, { lifetimeMinutes: request.body.access_token_minutes })).body
  })

  const refreshTokens = deps.refreshTokens
  if (refreshTokens) {
    app.post<{ Body: { refresh_token: string, access_token_minutes?: number } }>('/refresh', { schema: refreshSchema }, async (request) => {
      const rotated = await refreshTokens.rotate(request.body.refresh_token, async (familyId) => deps.sessions.revoke(familyId))
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
      return { access_token: accessToken, refresh_token: rotated.refreshToken, token_type: 'bearer', expires_in: lifetime * 60 }
    })
  }

  // Logout ends the session named by the bearer token, the refresh token, or both, on every replica (SPEC §3.4).
  app.post<{ Body: { refresh_token?: string } | null | undefined }>('/logout', { schema: logoutSchema }, async (request) => {
    const header = request.headers.authorization
    const refreshToken = request.body?.refresh_token
    if (header === undefined && refreshToken === undefined) throw notAuthenticated()
    const sessions = new Set<string>()
    if (header !== undefined) {
      const identity = await deps.bearer(header)
      if (identity.sessionId !== null) sessions.add(identity.sessionId)
    }
    if (refreshToken !== undefined && refreshTokens) {
      const familyId = await refreshTokens.familyOf(refreshToken)
      if (familyId !== null) sessions.add(familyId)
    }
    for (const sessionId of sessions) await deps.sessions.revoke(sessionId)
    return { message: 'Logged out.' }
  })

  if (deps.allowSelfRegistration) {
    app.post<{ Body: { email: string, password: string, name?: string | null } }>('/register', { schema: registerSchema }, async (request, reply) => {
      if (!deps.defaultCompanyId) throw badRequest('Registration is not available: no default company is configured.')
      const company = await requireActiveCompany(deps.companies, deps.defaultCompanyId)
      // A new and an already registered email get the same answer, after the same work: no account enumeration.
      const hashedPassword = await hashPassword(request.body.password)
      try {
        const user = await deps.users.create({ email: request.body.email, hashedPassword, fullName: request.body.name ?? null, companyId: company.id, roles: ['user'] })
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
      if (changed) await deps.users.setCompany(user.id, companyId)
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
