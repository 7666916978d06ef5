import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AuthHook } from '../auth/authenticate.js'
import type { SignInDeps } from '../auth/sign-in.js'
import type { Config } from '../config.js'
import { companiesRepository } from '../db/companies-repository.js'
import type { Database } from '../db/database.js'
import type { AuditLog } from '../audit/audit-log.js'
import { usersRepository } from '../db/users-repository.js'
import { OidcClients } from './oidc-clients.js'
import { providersRepository } from './providers-repository.js'
import { resolveSecretBox } from './secret-box.js'
import { ssoAdminRoutes } from './sso-admin-routes.js'
import { SsoLogin } from './sso-login.js'
import { ssoRoutes } from './sso-routes.js'
import { SsoSessions } from './sso-sessions.js'

export interface Sso {
  /** The login handler's one question: false for a user whose company signs in through SSO alone. */
  passwordLoginAllowed (user: { readonly companyId: string | null }): Promise<boolean>
  /** The refresh handler's one question: throws 401 (revoking the family) for a session its company no longer allows. */
  checkRefresh (family: { readonly userId: string, readonly familyId: string }): Promise<void>
  /** The flow's routes under /api/v1/users/sso and the provider admin under /api/v1/admin, when SSO is on. */
  register (app: FastifyInstance, hooks: { perIpLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>, adminAuth: AuthHook }): Promise<void>
}

/**
 * Single sign-on per company with OpenID Connect. The password policy and the refresh check work whether SSO
 * is on or not (a company that gave up passwords stays so when SSO is switched off: it fails closed).
 */
export function createSso (config: Config, deps: SignInDeps & { readonly db: Database, readonly audit: AuditLog }, log: FastifyBaseLogger): Sso {
  const box = resolveSecretBox(config, log)
  const clients = box ? new OidcClients(box, config.sso.allowHttpIssuers) : undefined
  const providers = providersRepository(deps.db)
  const users = usersRepository(deps.db)
  const companies = companiesRepository(deps.db)
  const sessions = new SsoSessions({ ...deps, users, companies, clients, box, log })

  return {
    passwordLoginAllowed: async (user) => user.companyId === null || providers.passwordLoginAllowed(user.companyId),
    checkRefresh: async (family) => sessions.checkRefresh(family),
    register: async (app, hooks) => {
      const { frontendUrl, callbackUrl } = config.sso
      if (frontendUrl === undefined || callbackUrl === undefined || !box || !clients) return
      const login = new SsoLogin({ providers, users, companies, clients, box, callbackUrl })
      await app.register(ssoRoutes, {
        prefix: '/api/v1/users/sso', login, sessions, providers, box, frontendUrl, secureCookie: callbackUrl.startsWith('https:'), perIpLimit: hooks.perIpLimit, audit: deps.audit,
      })
      await app.register(ssoAdminRoutes, {
        prefix: '/api/v1/admin', providers, adminAuth: hooks.adminAuth, callbackUrl, db: deps.db, companies, box, allowHttpIssuers: config.sso.allowHttpIssuers,
      })
    },
  }
}
