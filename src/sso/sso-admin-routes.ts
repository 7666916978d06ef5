import type { FastifyInstance } from 'fastify'
import type { AuthHook } from '../auth/authenticate.js'
import { notFound } from '../errors.js'
import { providerView, saveProvider, type ProviderSettings, type ProviderSettingsDeps } from './provider-settings.js'
import type { ProvidersRepository } from './providers-repository.js'
import { deleteProviderSchema, getProviderSchema, listProvidersSchema, putProviderSchema } from './sso-admin-schemas.js'

export interface SsoAdminRoutesDeps extends ProviderSettingsDeps {
  readonly providers: ProvidersRepository
  readonly adminAuth: AuthHook
  readonly callbackUrl: string | undefined
}

const noProvider = (companyId: string) => notFound(`Company with ID '${companyId}' has no single sign-on configured.`)

/** /api/v1/admin/companies/{id}/sso and /api/v1/admin/sso: a platform admin connects a company's provider. */
export async function ssoAdminRoutes (app: FastifyInstance, deps: SsoAdminRoutesDeps): Promise<void> {
  app.addHook('onRequest', deps.adminAuth)

  app.get('/sso', { schema: listProvidersSchema }, async () =>
    (await deps.providers.list()).map((provider) => providerView(provider, deps.callbackUrl)))

  app.put<{ Params: { companyId: string }, Body: ProviderSettings }>('/companies/:companyId/sso', { schema: putProviderSchema }, async (request) => {
    const provider = await saveProvider(deps, request.params.companyId, request.body)
    request.log.info({ company_id: provider.companyId, issuer: provider.issuer }, 'single sign-on provider saved')
    return providerView(provider, deps.callbackUrl)
  })

  app.get<{ Params: { companyId: string } }>('/companies/:companyId/sso', { schema: getProviderSchema }, async (request) => {
    const provider = await deps.providers.findByCompany(request.params.companyId)
    if (!provider) throw noProvider(request.params.companyId)
    return providerView(provider, deps.callbackUrl)
  })

  app.delete<{ Params: { companyId: string } }>('/companies/:companyId/sso', { schema: deleteProviderSchema }, async (request, reply) => {
    if (!await deps.providers.remove(request.params.companyId)) throw noProvider(request.params.companyId)
    request.log.info({ company_id: request.params.companyId }, 'single sign-on provider removed')
    return reply.code(204).send()
  })
}
