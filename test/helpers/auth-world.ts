import { randomUUID } from 'node:crypto'
import type { Backend } from './databases.js'
import { insertCompany } from './fixtures.js'
import { startGateway, type TestGateway, type TestUser } from './gateway.js'
import { startUpstream, type StandInUpstream } from './upstream.js'

/** What the auth suites share: a gateway with a default company (created as another program would), a member of another company, one upstream. */
export interface AuthWorld {
  readonly gateway: TestGateway
  readonly upstream: StandInUpstream
  readonly defaultCompanyId: string
  readonly member: TestUser
  /** GET on a proxied route with `token` (or none). */
  ingest (token: string | undefined, path?: string): Promise<Response>
  close (): Promise<void>
}

export async function startAuthWorld (backend: Backend): Promise<AuthWorld> {
  const upstream = await startUpstream()
  const defaultCompanyId = randomUUID()
  const gateway = await startGateway({
    backend,
    env: {
      GATEWAY_INGEST_SERVICE_URL: upstream.url,
      GATEWAY_QUERY_SERVICE_URL: upstream.url,
      GATEWAY_DEFAULT_COMPANY_ID: defaultCompanyId,
      GATEWAY_USER_CACHE_TTL: '300',
    },
  })
  await insertCompany(gateway, defaultCompanyId, `Default ${defaultCompanyId}`)
  const member = await gateway.user({ companyId: (await gateway.company()).id })
  return {
    gateway,
    upstream,
    defaultCompanyId,
    member,
    ingest: async (token, path = '/api/v1/ingest/status') =>
      fetch(`${gateway.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }),
    close: async () => {
      await gateway.close()
      await upstream.close()
    },
  }
}
