import { randomBytes } from 'node:crypto'
import type { Company } from '../../src/db/companies-repository.js'
import type { ProviderSettings } from '../../src/sso/provider-settings.js'
import { Browserless } from './browserless.js'
import type { Backend } from './databases.js'
import { startGateway, type TestGateway } from './gateway.js'
import { postJson } from './http.js'
import { startIdp, type TestIdp } from './oidc-provider.js'
import { closedPortUrl, startUpstream, type StandInUpstream } from './upstream.js'

/** An allowed CORS origin by default: the tests that stop at the redirect need no server behind it. */
export const FRONTEND_URL = 'http://localhost:3000/sso/landing'
const CALLBACK_PATH = '/api/v1/users/sso/callback'

/** The gateway, a proxied upstream, and two companies, each with its own real OpenID provider. */
export interface SsoWorld {
  readonly gateway: TestGateway
  readonly upstream: StandInUpstream
  readonly idpA: TestIdp
  readonly idpB: TestIdp
  readonly companyA: Company
  readonly companyB: Company
  readonly adminToken: string
  /** PUT /api/v1/admin/companies/{id}/sso with the idp's values and `settings` over them. */
  configure (company: Company, idp: TestIdp, settings?: Partial<ProviderSettings>): Promise<Response>
  /** Walks start → provider login form → credentials, and stops before the provider's redirect back to the gateway. */
  toCallback (startQuery: string, login: string, password: string): Promise<{ browser: Browserless, callback: URL }>
  /** Requests the callback and follows redirects up to (not into) the frontend page; returns its URL. */
  finish (browser: Browserless, callback: URL): Promise<URL>
  /** The whole chain for an account of `idp`, ending on the frontend page. */
  signIn (email: string, password?: string): Promise<URL>
  exchange (code: string): Promise<Response>
  close (): Promise<void>
}

export async function startSsoWorld (backend: Backend, env: Record<string, string> = {}): Promise<SsoWorld> {
  const gatewayUrl = await closedPortUrl()
  const port = Number(new URL(gatewayUrl).port)
  const [idpA, idpB, upstream] = await Promise.all([startIdp(`${gatewayUrl}${CALLBACK_PATH}`), startIdp(`${gatewayUrl}${CALLBACK_PATH}`), startUpstream()])
  const gateway = await startGateway({
    backend,
    port,
    env: {
      GATEWAY_PUBLIC_URL: gatewayUrl,
      GATEWAY_SSO_FRONTEND_URL: FRONTEND_URL,
      GATEWAY_SSO_ALLOW_HTTP_ISSUERS: 'true',
      GATEWAY_INGEST_SERVICE_URL: upstream.url,
      GATEWAY_RATE_LIMIT_IP_PER_MINUTE: '100000',
      GATEWAY_SSO_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ...env,
    },
  }).catch(async (error: unknown) => {
    await Promise.all([idpA.close(), idpB.close(), upstream.close()])
    throw error
  })
  const [companyA, companyB] = [await gateway.company(), await gateway.company()] as [Company, Company]
  const admin = await gateway.user({ companyId: companyA.id, roles: ['admin'] })
  const adminToken = await gateway.tokenFor(admin)
  const frontendOrigin = new URL(FRONTEND_URL).origin

  const world: SsoWorld = {
    gateway,
    upstream,
    idpA,
    idpB,
    companyA,
    companyB,
    adminToken,
    configure: async (company, idp, settings = {}) => fetch(`${gateway.url}/api/v1/admin/companies/${company.id}/sso`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, allowed_domains: idp === idpA ? ['a.example'] : ['b.example'], ...settings }),
    }),
    toCallback: async (startQuery, login, password) => {
      const browser = new Browserless()
      const form = await browser.follow(new URL(`${gateway.url}/api/v1/users/sso/start?${startQuery}`))
      const page = await form.response?.text() ?? ''
      const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1]
      if (!action) throw new Error(`no login form at ${form.url.href}: ${page.slice(0, 200)}`)
      const back = await browser.follow(new URL(action, form.url), {
        form: { login, password }, stopBefore: (next) => next.pathname === CALLBACK_PATH,
      })
      if (back.url.pathname !== CALLBACK_PATH) throw new Error(`the provider did not send the browser back (at ${back.url.href})`)
      return { browser, callback: back.url }
    },
    finish: async (browser, callback) => (await browser.follow(callback, { stopBefore: (next) => next.origin === frontendOrigin })).url,
    signIn: async (email, password = 'idp-password-1') => {
      const { browser, callback } = await world.toCallback(`email=${encodeURIComponent(email)}`, email, password)
      return world.finish(browser, callback)
    },
    exchange: async (code) => postJson(`${gateway.url}/api/v1/users/sso/exchange`, { code }),
    close: async () => {
      await gateway.close()
      await Promise.all([idpA.close(), idpB.close(), upstream.close()])
    },
  }
  for (const [company, idp, settings] of [[companyA, idpA, { provisioning: 'jit' }], [companyB, idpB, { password_login: false }]] as const) {
    const response = await world.configure(company, idp, settings)
    if (response.status !== 200) throw new Error(`configuring ${idp.issuer}: ${response.status} ${await response.text()}`)
  }
  return world
}
