import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { LoginGuard } from '../traffic/policies.js'
import type { CompaniesRepository } from '../db/companies-repository.js'
import type { UsersRepository } from '../db/users-repository.js'
import type { AuthHook } from './authenticate.js'
import { badCredentials } from './auth-errors.js'
import { DuplicateEmailError } from '../db/users-repository.js'
import { badRequest, conflict } from '../errors.js'
import { chooseCompany, requireActiveCompany, userNotFound } from './company-association.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { ensureCompanySchema, loginSchema, logoutSchema, refreshSchema, registerSchema } from './user-schemas.js'
import { invalidRefreshToken, type RefreshTokens } from './refresh-tokens.js'
import type { TokenIssuer } from './token-issuer.js'
import { signIn } from './sign-in.js'

export interface UserRoutesDeps {
  readonly users: UsersRepository
  readonly companies: CompaniesRepository
  readonly tokens: TokenIssuer
  /** Null when GATEWAY_REFRESH_TOKENS=false. */
  readonly refreshTokens: RefreshTokens | null
  readonly initialAuth: AuthHook
  readonly defaultCompanyId: string | undefined
  readonly allowSelfRegistration: boolean
  readonly perIpLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  readonly loginGuard: LoginGuard
  /** False for a user whose company signs in through single sign-on only. */
  readonly passwordLoginAllowed: (user: { readonly companyId: string | null }) => Promise<boolean>
  /** Throws for a refresh-token family that may no longer refresh (a single sign-on session its company ended). */
  readonly refreshCheck: (family: { readonly userId: string, readonly familyId: string }) => Promise<void>
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
  app.addHook('onRequest', deps.perIpLimit)

  app.post<{ Body: { email: string, password: string } }>('/login', { schema: loginSchema }, async (request) => {
    const { email, password } = request.body
    await deps.loginGuard.check(request, email)
    const user = await deps.users.findCredentialsByEmail(email)
    // The password is checked even for unknown and inactive users: every failure costs one bcrypt compare.
    const passwordMatches = await verifyPassword(password, user?.hashedPassword)
    if (!user || !passwordMatches || !user.isActive || !await deps.passwordLoginAllowed(user)) {
      await deps.loginGuard.recordFailure(request, email)
      throw badCredentials()
    }
    await deps.users.recordLogin(user.id)
    request.log.info({ user_id: user.id }, 'login succeeded')
    return signIn(deps, user)
  })

  const refreshTokens = deps.refreshTokens
  if (refreshTokens) {
    app.post<{ Body: { refresh_token: string } }>('/refresh', { schema: refreshSchema }, async (request) => {
      const rotated = await refreshTokens.rotate(request.body.refresh_token)
      await deps.refreshCheck(rotated)
      const user = await deps.users.findStatus(rotated.userId)
      if (!user?.isActive) {
        await refreshTokens.revokeFamily(rotated.familyId)
        throw invalidRefreshToken('User associated with token is inactive.')
      }
      const accessToken = await deps.tokens.issue({ userId: user.id, email: user.email, companyId: user.companyId, roles: user.roles })
      return { access_token: accessToken, refresh_token: rotated.refreshToken, token_type: 'bearer', expires_in: deps.tokens.lifetimeSeconds }
    })

    app.post<{ Body: { refresh_token: string } }>('/logout', { schema: logoutSchema }, async (request) => {
      await refreshTokens.revokeFamilyOf(request.body.refresh_token)
      return { message: 'Logged out.' }
    })
  }

  if (deps.allowSelfRegistration) {
    app.post<{ Body: { email: string, password: string, name?: string | null } }>('/register', { schema: registerSchema }, async (request, reply) => {
      if (!deps.defaultCompanyId) throw badRequest('Registration is not available: no default company is configured.')
      const company = await requireActiveCompany(deps.companies, deps.defaultCompanyId)
      try {
        const user = await deps.users.create({
          email: request.body.email,
          hashedPassword: await hashPassword(request.body.password),
          fullName: request.body.name ?? null,
          companyId: company.id,
          roles: ['user'],
        })
        request.log.info({ created_user_id: user.id }, 'user registered')
        return reply.code(201).send({ message: 'Registration successful.', user_id: user.id })
      } catch (error) {
        if (error instanceof DuplicateEmailError) throw conflict('A user with this email already exists.')
        throw error
      }
    })
  }

  await app.register(async (authenticated) => {
    authenticated.addHook('onRequest', deps.initialAuth)
    authenticated.post<{ Body: { company_id?: string | null } | null | undefined }>('/me/ensure-company', { schema: ensureCompanySchema }, async (request) => {
      const identity = request.identity
      const user = identity ? await deps.users.findStatus(identity.userId) : null
      if (!user) throw userNotFound()
      const { companyId, changed } = await chooseCompany(user, request.body?.company_id ?? undefined, deps.defaultCompanyId, deps.companies)
      if (changed) await deps.users.setCompany(user.id, companyId)
      const newAccessToken = await deps.tokens.issue({ userId: user.id, email: user.email, companyId, roles: user.roles })
      const refreshToken = await deps.refreshTokens?.issue(user.id)
      return {
        user_id: user.id,
        company_id: companyId,
        message: changed ? `Company association successfully updated to ${companyId}.` : `Company association confirmed as ${companyId}.`,
        new_access_token: newAccessToken,
        token_type: 'bearer',
        roles: user.roles,
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
      }
    })
  })
}
