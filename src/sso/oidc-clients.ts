import * as oidc from 'openid-client'
import type { SecretBox } from './secret-box.js'
import type { SsoProvider } from './providers-repository.js'

/** How long a provider's discovered metadata is reused before it is read again, in milliseconds. */
const DISCOVERY_TTL_MS = 60 * 60_000
/** Each request to a provider (discovery, token, JWKS) gives up after this many seconds. */
const PROVIDER_TIMEOUT_SECONDS = 10
/** Clock skew tolerated on the ID token's exp/iat/nbf, in seconds (as for the gateway's own tokens). */
const CLOCK_TOLERANCE_SECONDS = 30

export interface ClientCredentials {
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
}

/**
 * The relying party: openid-client does discovery, PKCE, the code exchange and every ID token check. Pinned:
 * the discovered issuer must equal the configured one (openid-client refuses a mismatch), and the ID token's
 * signature is checked against the provider's JWKS even over TLS (OpenID Connect Core §3.1.3.7 lets a client
 * skip it; this gateway does not).
 */
export async function discover (credentials: ClientCredentials, allowHttp: boolean): Promise<oidc.Configuration> {
  const execute = [oidc.enableNonRepudiationChecks, ...(allowHttp ? [oidc.allowInsecureRequests] : [])]
  return oidc.discovery(
    new URL(credentials.issuer),
    credentials.clientId,
    { client_secret: credentials.clientSecret, [oidc.clockTolerance]: CLOCK_TOLERANCE_SECONDS },
    oidc.ClientSecretPost(credentials.clientSecret),
    { execute, timeout: PROVIDER_TIMEOUT_SECONDS }
  )
}

interface Entry { readonly version: number, readonly fetchedAt: number, readonly configuration: Promise<oidc.Configuration> }

/** One discovered client per company, reused (with its JWKS cache) until its row changes or an hour passes. */
export class OidcClients {
  readonly #box: SecretBox
  readonly #allowHttp: boolean
  readonly #entries = new Map<string, Entry>()

  constructor (box: SecretBox, allowHttp: boolean) {
    this.#box = box
    this.#allowHttp = allowHttp
  }

  async for (provider: SsoProvider): Promise<oidc.Configuration> {
    const version = provider.updatedAt.getTime()
    const cached = this.#entries.get(provider.companyId)
    if (cached && cached.version === version && Date.now() - cached.fetchedAt < DISCOVERY_TTL_MS) return cached.configuration
    const configuration = (async () => {
      const clientSecret = await this.#box.open(provider.clientSecretSealed, provider.companyId)
      return discover({ issuer: provider.issuer, clientId: provider.clientId, clientSecret }, this.#allowHttp)
    })()
    this.#entries.set(provider.companyId, { version, fetchedAt: Date.now(), configuration })
    // A failed discovery is not cached: the next sign-in tries again.
    configuration.catch(() => {
      if (this.#entries.get(provider.companyId)?.configuration === configuration) this.#entries.delete(provider.companyId)
    })
    return configuration
  }
}
