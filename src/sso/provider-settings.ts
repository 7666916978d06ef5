import type { CompaniesRepository } from '../db/companies-repository.js'
import type { Database } from '../db/database.js'
import { badRequest, conflict, notFound } from '../errors.js'
import { discover } from './oidc-clients.js'
import { DomainTakenError, providersRepository, type Provisioning, type SsoProvider } from './providers-repository.js'
import type { SecretBox } from './secret-box.js'

/** A lower-case DNS name with at least one dot (RFC 1123 labels). */
export const DOMAIN_PATTERN = '^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$'
const DOMAIN = new RegExp(DOMAIN_PATTERN)
export const DEFAULT_SCOPES = ['openid', 'email', 'profile'] as const
export const DEFAULT_MAX_SESSION_HOURS = 24
/**
 * The authorization request parameters a company may add; never those that carry the flow's own security
 * (state, nonce, PKCE, redirect_uri, scope, response_type, client_id). `prompt=consent` is what OpenID Connect
 * Core §11 asks for with offline_access; Google wants `access_type=offline` for a refresh token.
 */
export const AUTHORIZATION_PARAMS = ['prompt', 'access_type', 'hd', 'domain_hint', 'acr_values', 'max_age', 'ui_locales'] as const

/** A company's provider as the admin API and the CLI take it (snake_case, as on the wire). */
export interface ProviderSettings {
  readonly issuer: string
  readonly client_id: string
  /** Required for a new provider; left out, a replacement keeps the stored one. */
  readonly client_secret?: string | undefined
  readonly allowed_domains: readonly string[]
  readonly scopes?: readonly string[] | undefined
  readonly password_login?: boolean | undefined
  readonly provisioning?: Provisioning | undefined
  readonly max_session_hours?: number | undefined
  readonly authorization_params?: Readonly<Record<string, string>> | undefined
}

export interface ProviderSettingsDeps {
  readonly db: Database
  readonly companies: CompaniesRepository
  readonly box: SecretBox
  readonly allowHttpIssuers: boolean
}

/** The provider as shown to an admin: never the secret, only whether one is stored. */
export const providerView = (provider: SsoProvider, callbackUrl: string | undefined) => ({
  company_id: provider.companyId,
  issuer: provider.issuer,
  client_id: provider.clientId,
  client_secret_set: true,
  allowed_domains: provider.domains,
  scopes: provider.scopes,
  password_login: provider.passwordLogin,
  provisioning: provider.provisioning,
  max_session_hours: provider.maxSessionHours,
  authorization_params: provider.authorizationParams,
  redirect_uri: callbackUrl ?? null,
  created_at: provider.createdAt.toISOString(),
  updated_at: provider.updatedAt.toISOString(),
})

function checkIssuer (issuer: string, allowHttp: boolean): string {
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    throw badRequest('issuer must be an absolute URL such as https://login.microsoftonline.com/<tenant>/v2.0.')
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) throw badRequest('issuer must be an https:// URL.')
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') throw badRequest('issuer must not carry a query, fragment or credentials.')
  return issuer
}

function normalisedDomains (domains: readonly string[]): string[] {
  const unique = [...new Set(domains.map((domain) => domain.trim().toLowerCase()))]
  const bad = unique.find((domain) => !DOMAIN.test(domain))
  if (bad !== undefined) throw badRequest(`'${bad}' is not an email domain such as example.com.`)
  if (unique.length === 0) throw badRequest('allowed_domains needs at least one domain.')
  return unique
}

export interface CheckedSettings {
  readonly issuer: string
  readonly domains: string[]
  readonly scopes: string[]
}

/** The checks that need no database, so that the CLI refuses a bad value before it opens one. */
export function checkSettings (settings: ProviderSettings, allowHttpIssuers: boolean): CheckedSettings {
  const issuer = checkIssuer(settings.issuer, allowHttpIssuers)
  const domains = normalisedDomains(settings.allowed_domains)
  const scopes = [...new Set(settings.scopes ?? DEFAULT_SCOPES)]
  if (!scopes.includes('openid')) throw badRequest("scopes must include 'openid'.")
  const unknown = Object.keys(settings.authorization_params ?? {}).find((name) => !(AUTHORIZATION_PARAMS as readonly string[]).includes(name))
  if (unknown !== undefined) throw badRequest(`authorization_params may not set '${unknown}' (allowed: ${AUTHORIZATION_PARAMS.join(', ')}).`)
  return { issuer, domains, scopes }
}

/**
 * Creates or replaces a company's provider. The issuer is discovered with the given credentials first, so a
 * typo or an unreachable issuer is refused here rather than at a user's first sign-in.
 */
export async function saveProvider (deps: ProviderSettingsDeps, companyId: string, settings: ProviderSettings): Promise<SsoProvider> {
  const { issuer, domains, scopes } = checkSettings(settings, deps.allowHttpIssuers)
  if (!await deps.companies.findById(companyId)) throw notFound(`Company with ID '${companyId}' not found.`)
  const providers = providersRepository(deps.db)
  const existing = await providers.findByCompany(companyId)
  const clientSecret = settings.client_secret ?? (existing ? await deps.box.open(existing.clientSecretSealed, companyId) : undefined)
  if (clientSecret === undefined) throw badRequest('client_secret is required for a new provider.')
  try {
    await discover({ issuer, clientId: settings.client_id, clientSecret }, deps.allowHttpIssuers)
  } catch {
    throw badRequest(`Could not read the OpenID configuration of '${issuer}' (unreachable, not OpenID Connect, or its issuer differs).`)
  }
  const sealed = await deps.box.seal(clientSecret, companyId)
  try {
    await deps.db.transaction((tx) => providersRepository(tx).upsert({
      companyId,
      issuer,
      clientId: settings.client_id,
      clientSecretSealed: sealed,
      scopes,
      domains,
      passwordLogin: settings.password_login ?? existing?.passwordLogin ?? true,
      provisioning: settings.provisioning ?? existing?.provisioning ?? 'pre_created',
      maxSessionHours: settings.max_session_hours ?? existing?.maxSessionHours ?? DEFAULT_MAX_SESSION_HOURS,
      authorizationParams: settings.authorization_params ?? existing?.authorizationParams ?? {},
    }))
  } catch (error) {
    if (error instanceof DomainTakenError) throw conflict(`Domain '${error.domain}' already belongs to another company's single sign-on.`)
    throw error
  }
  return await providers.findByCompany(companyId) as SsoProvider
}
