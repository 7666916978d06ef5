import type { Backend } from './databases.js'
import { startGateway, type TestGateway, type TestUser } from './gateway.js'
import { startUpstream, type StandInUpstream } from './upstream.js'

/** The gateway in front of two recording upstreams (ingest and query), with one company user and their token. */
export interface ProxyWorld {
  readonly ingest: StandInUpstream
  readonly query: StandInUpstream
  readonly gateway: TestGateway
  readonly user: TestUser
  readonly auth: { authorization: string }
  close (): Promise<void>
}

export async function startProxyWorld (backend: Backend, env: Record<string, string> = {}): Promise<ProxyWorld> {
  const ingest = await startUpstream()
  const query = await startUpstream()
  const gateway = await startGateway({
    backend,
    env: {
      GATEWAY_INGEST_SERVICE_URL: ingest.url,
      GATEWAY_QUERY_SERVICE_URL: query.url,
      GATEWAY_MAX_BODY_BYTES: '1024',
      GATEWAY_INGEST_MAX_BODY_BYTES: String(256 * 1024 * 1024),
      ...env,
    },
  })
  const company = await gateway.company()
  const user = await gateway.user({ companyId: company.id })
  return {
    ingest,
    query,
    gateway,
    user,
    auth: { authorization: `Bearer ${await gateway.tokenFor(user)}` },
    close: async () => {
      await gateway.close()
      await ingest.close()
      await query.close()
    },
  }
}
