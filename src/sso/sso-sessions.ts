import { createHash, randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import * as oidc from 'openid-client'
import { invalidRefreshToken } from '../auth/refresh-tokens.js'
import { signIn, type SignInBody, type SignInDeps } from '../auth/sign-in.js'
import type { CompaniesRepository } from '../db/companies-repository.js'
import type { Database } from '../db/database.js'
import type { UsersRepository } from '../db/users-repository.js'
import { GatewayError } from '../errors.js'
import type { OidcClients } from './oidc-clients.js'
import { providersRepository } from './providers-repository.js'
import type { SecretBox } from './secret-box.js'
import { failureOf } from './sso-failures.js'
import { ssoSessionsRepository, type CodeGrant } from './sso-sessions-repository.js'

/** A one-time code lives this long between the callback and the frontend's exchange, in seconds. */
export const CODE_TTL_SECONDS = 60
const CODE_BYTES = 32

const hashOf = (code: string): string => createHash('sha256').update(code).digest('hex')

export const invalidCode = (): GatewayError =>
  new GatewayError('INVALID_TOKEN', 401, 'Invalid or expired sign-in code.', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })

export interface SsoSessionsDeps extends SignInDeps {
  readonly db: Database
  readonly users: UsersRepository
  readonly companies: CompaniesRepository
  /** Undefined when no encryption key exists: then no SSO session was ever opened with a provider's refresh token. */
  readonly clients: OidcClients | undefined
  readonly box: SecretBox | undefined
  readonly log: FastifyBaseLogger
}

/**
 * Everything after the provider: the one-time code the frontend trades for the login body, and the checks
 * that keep an SSO session alive only while its company still allows it ("leaving the company works").
 */
export class SsoSessions {
  readonly #deps: SsoSessionsDeps

  constructor (deps: SsoSessionsDeps) {
    this.#deps = deps
  }

  /** Only a hash is stored: a database reader cannot redeem a code, and any replica can. */
  async issueCode (grant: CodeGrant): Promise<string> {
    const code = randomBytes(CODE_BYTES).toString('base64url')
    await ssoSessionsRepository(this.#deps.db).insertCode(hashOf(code), grant, CODE_TTL_SECONDS)
    return code
  }

  /** The same body as POST /login, once per code; the refresh-token family is recorded as an SSO session first. */
  async exchange (code: string): Promise<SignInBody> {
    const sessions = ssoSessionsRepository(this.#deps.db)
    const grant = await sessions.redeemCode(hashOf(code))
    if (!grant) throw invalidCode()
    // The minute since the callback is enough to be deactivated or moved: checked again.
    const user = await this.#deps.users.findProfile(grant.userId)
    if (!user?.isActive || user.companyId !== grant.companyId) throw invalidCode()
    if (!(await this.#deps.companies.findById(grant.companyId))?.isActive) throw invalidCode()
    await sessions.deleteDead()
    await this.#deps.users.recordLogin(user.id)
    const { body, sessionId } = await signIn(this.#deps, user, { method: 'sso' })
    // The session's refresh tokens are its family: recorded as single sign-on's before any can be presented.
    if (this.#deps.refreshTokens) await sessions.insertSession(sessionId, grant)
    return body
  }

  /**
   * Called on every refresh of a token family. An SSO family is refused once older than its company's maximum
   * session age, once the company's provider is removed, and once the provider itself refuses its refresh token
   * (the user left: RFC 6749 §6, invalid_grant). Any other family passes, except for a user whose company signs
   * in through SSO only: a family opened otherwise (a password login from before, ensure-company) would outlive
   * the provider's say, so it must sign in again.
   */
  async checkRefresh ({ userId, familyId }: { userId: string, familyId: string }): Promise<void> {
    const sessions = ssoSessionsRepository(this.#deps.db)
    const session = await sessions.findSession(familyId)
    const refuse = async (detail: string): Promise<never> => {
      await this.#deps.sessions.revoke(familyId)
      throw invalidRefreshToken(detail)
    }
    if (!session) {
      if (await providersRepository(this.#deps.db).passwordLoginAllowedForUser(userId)) return
      return refuse('This company signs in through single sign-on only; sign in again.')
    }
    const provider = await providersRepository(this.#deps.db).findByCompany(session.companyId)
    if (!provider) return refuse('Single sign-on is no longer configured for this company; sign in again.')
    if (Date.now() - session.startedAt.getTime() > provider.maxSessionHours * 3_600_000) {
      return refuse('The single sign-on session reached its maximum age; sign in again.')
    }
    if (session.providerRefreshTokenSealed === null) return
    const { clients, box } = this.#deps
    if (!clients || !box) return refuse('The identity provider session cannot be checked; sign in again.')
    try {
      const providerToken = await box.open(session.providerRefreshTokenSealed, session.companyId)
      const tokens = await oidc.refreshTokenGrant(await clients.for(provider), providerToken)
      await sessions.markValidated(familyId, tokens.refresh_token === undefined ? null : await box.seal(tokens.refresh_token, session.companyId))
    } catch (error) {
      // An outage of the provider does not log its whole company out (the refresh token was already rotated,
      // so a 503 would strand the client): the session goes on, still bounded by its maximum age.
      if (failureOf(error).code === 'provider_unavailable') {
        this.#deps.log.warn({ company_id: session.companyId }, 'identity provider unreachable; SSO session refreshed without re-validation')
        return
      }
      return refuse('The identity provider no longer accepts this session; sign in again.')
    }
  }
}
