import * as oidc from 'openid-client'
import type { Flow } from './flow-cookie.js'
import type { OidcClients } from './oidc-clients.js'
import type { ProvidersRepository, SsoProvider } from './providers-repository.js'
import type { SecretBox } from './secret-box.js'
import { accountFor, domainOf, type AccountDeps, type ProvenIdentity } from './sso-accounts.js'
import { failureOf, SsoFailure } from './sso-failures.js'
import type { CodeGrant } from './sso-sessions-repository.js'

export interface SsoLoginDeps extends AccountDeps {
  readonly providers: ProvidersRepository
  readonly clients: OidcClients
  readonly box: SecretBox
  /** The redirect URI registered at every provider: <GATEWAY_PUBLIC_URL>/api/v1/users/sso/callback. */
  readonly callbackUrl: string
}

export type SsoTarget = { readonly email: string } | { readonly companyId: string }

/** The two legs of the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636, OpenID Connect Core §3.1). */
export class SsoLogin {
  readonly #deps: SsoLoginDeps

  constructor (deps: SsoLoginDeps) {
    this.#deps = deps
  }

  /** The provider's authorization URL for this email's (or company's) provider, and the flow to bind to the browser. */
  async begin (target: SsoTarget): Promise<{ url: URL, flow: Flow }> {
    const providers = this.#deps.providers
    const provider = 'email' in target ? await providers.findByDomain(domainOf(target.email)) : await providers.findByCompany(target.companyId)
    if (!provider) throw new SsoFailure('sso_not_configured')
    const configuration = await this.#deps.clients.for(provider).catch((error: unknown) => { throw failureOf(error) })
    const flow: Flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier(), companyId: provider.companyId }
    const url = oidc.buildAuthorizationUrl(configuration, {
      ...provider.authorizationParams,
      redirect_uri: this.#deps.callbackUrl,
      response_type: 'code',
      scope: provider.scopes.join(' '),
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
      ...('email' in target ? { login_hint: target.email } : {}),
    })
    return { url, flow }
  }

  /**
   * Checks the provider's answer against the flow, exchanges the code, verifies the ID token, finds the user.
   * openid-client also checks the answer's `iss` when the provider sends one (RFC 9207, mix-up attacks).
   */
  async complete (flow: Flow, query: URLSearchParams): Promise<CodeGrant> {
    // Checked here first, so that a forged or stale answer never reaches the provider's token endpoint.
    if (query.get('state') !== flow.state) throw new SsoFailure('invalid_state')
    const provider = await this.#deps.providers.findByCompany(flow.companyId)
    if (!provider) throw new SsoFailure('sso_not_configured')
    try {
      const configuration = await this.#deps.clients.for(provider)
      const tokens = await oidc.authorizationCodeGrant(configuration, new URL(`${this.#deps.callbackUrl}?${query.toString()}`), {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      })
      const user = await accountFor(await this.#identityOf(configuration, tokens), provider, this.#deps)
      return { userId: user.id, companyId: provider.companyId, providerRefreshTokenSealed: await this.#sealed(tokens.refresh_token, provider) }
    } catch (error) {
      throw failureOf(error)
    }
  }

  async #identityOf (configuration: oidc.Configuration, tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): Promise<ProvenIdentity> {
    const claims = tokens.claims()
    if (!claims) throw new SsoFailure('invalid_id_token')
    // Providers that keep the ID token small (conformIdTokenClaims) answer the email at userinfo, for the same subject.
    const source = typeof claims.email === 'string' ? claims : await oidc.fetchUserInfo(configuration, tokens.access_token, claims.sub)
    return { email: source.email, emailVerified: source.email_verified, emailDomainOwnerVerified: source.xms_edov, name: source.name }
  }

  async #sealed (refreshToken: string | undefined, provider: SsoProvider): Promise<string | null> {
    return refreshToken === undefined ? null : this.#deps.box.seal(refreshToken, provider.companyId)
  }
}
