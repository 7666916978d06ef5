import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { backends, createPostgresDatabase, postgresSkip } from './helpers/databases.js'
import { startGateway, TEST_JWT_SECRET, type TestGateway, type TestUser } from './helpers/gateway.js'
import { postJson as post } from './helpers/http.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

interface CreatedKey { id: string, key: string, company_id: string, scopes: string[] }

async function adminToken (gateway: TestGateway, companyId: string): Promise<string> {
  return gateway.tokenFor(await gateway.user({ companyId, roles: ['user', 'admin'] }))
}

async function createKey (gateway: TestGateway, admin: string, companyId: string, body: Record<string, unknown>): Promise<CreatedKey> {
  const response = await post(`${gateway.url}/api/v1/admin/companies/${companyId}/api-keys`, body, { authorization: `Bearer ${admin}` })
  assert.equal(response.status, 201, await response.clone().text())
  return await response.json() as CreatedKey
}

for (const { backend, skip } of await backends()) {
  describe(`per-company API keys [${backend}]`, { skip }, () => {
    let upstream: StandInUpstream
    let gateway: TestGateway
    let companyId: string
    let admin: string

    before(async () => {
      upstream = await startUpstream()
      gateway = await startGateway({ backend, env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_QUERY_SERVICE_URL: upstream.url } })
      companyId = (await gateway.company()).id
      admin = await adminToken(gateway, companyId)
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    const call = async (path: string, key: string, init: RequestInit = {}, header: 'authorization' | 'x-api-key' = 'authorization'): Promise<Response> =>
      fetch(`${gateway.url}${path}`, { ...init, headers: { [header]: header === 'authorization' ? `Bearer ${key}` : key, ...init.headers } })

    test('created, shown once, and opening only its scoped routes; never the admin API or ensure-company', async () => {
      const created = await createKey(gateway, admin, companyId, { name: 'nightly sync', scopes: ['ingest:write'] })
      assert.match(created.key, /^atx_[0-9a-f]{32}_[0-9A-Za-z]{49}$/)
      assert.equal((await call('/api/v1/ingest/upload', created.key, { method: 'POST', body: 'file' })).status, 200)
      const seen = upstream.last().headers
      assert.equal(seen['x-user-id'], created.id, 'the key is the subject')
      assert.equal(seen['x-company-id'], companyId)
      assert.equal(seen['x-auth-type'], 'api_key')
      assert.equal(seen.authorization, undefined, 'the key itself never reaches the upstream')
      const read = await call('/api/v1/ingest/status', created.key)
      assert.equal(read.status, 403, 'ingest:write does not read')
      assert.deepEqual(await read.json(), { detail: 'API key not allowed on this route.' })
      assert.equal((await call('/api/v1/query/ask', created.key, { method: 'POST', body: '{}' })).status, 403)
      assert.equal((await call('/api/v1/admin/stats', created.key)).status, 401)
      assert.equal((await call('/api/v1/users/me/ensure-company', created.key, { method: 'POST' })).status, 401)
      const listed = await (await fetch(`${gateway.url}/api/v1/admin/companies/${companyId}/api-keys`, { headers: { authorization: `Bearer ${admin}` } })).json() as Record<string, unknown>[]
      assert.ok(listed.some((key) => key.id === created.id))
      assert.ok(!JSON.stringify(listed).includes(created.key.slice(41, 80)), 'the secret is never listed')
      const stored = await gateway.app.gateway.db.query<{ secret_hash: string }>('SELECT secret_hash FROM gateway_api_keys WHERE id = $1', [created.id])
      assert.match(stored.rows[0]?.secret_hash ?? '', /^[0-9a-f]{64}$/, 'only a keyed hash is stored')
      assert.ok(!gateway.logs.text.includes(created.key.slice(41, 80)), 'nor logged')
    })

    test('X-API-Key works as well as Authorization: Bearer', async () => {
      const created = await createKey(gateway, admin, companyId, { name: 'support bot', scopes: ['query:read', 'query:ask'] })
      assert.equal((await call('/api/v1/query/ask', created.key, { method: 'POST', body: '{}' }, 'x-api-key')).status, 200)
      assert.equal(upstream.last().headers['x-api-key'], undefined, 'not forwarded')
    })

    test('a key with its own rate limit gets its own 429', async () => {
      const created = await createKey(gateway, admin, companyId, { name: 'limited', scopes: ['ingest:read'], rate_limit_per_minute: 3 })
      const statuses: number[] = []
      let last: Response | undefined
      for (let i = 0; i < 5; i++) {
        last = await call('/api/v1/ingest/status', created.key)
        statuses.push(last.status)
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429])
      assert.match(last?.headers.get('ratelimit-policy') ?? '', /^"api-key";q=3;w=60/)
    })

    test('revoked or expired: 401 at once; a wrong checksum is refused without a database query', async () => {
      const created = await createKey(gateway, admin, companyId, { name: 'to revoke', scopes: ['ingest:read'] })
      assert.equal((await call('/api/v1/ingest/status', created.key)).status, 200)
      const revoked = await fetch(`${gateway.url}/api/v1/admin/api-keys/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })
      assert.equal(revoked.status, 200)
      await eventually(async () => (await call('/api/v1/ingest/status', created.key)).status === 401, 1000, 'the revoked key refused')

      const expiring = await createKey(gateway, admin, companyId, { name: 'to expire', scopes: ['ingest:read'] })
      assert.equal((await call('/api/v1/ingest/status', expiring.key)).status, 200)
      await gateway.app.gateway.db.query("UPDATE gateway_api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [expiring.id])
      await eventually(async () => (await call('/api/v1/ingest/status', expiring.key)).status === 401, 1000, 'the expired key refused')

      const fresh = await createKey(gateway, admin, companyId, { name: 'mistyped', scopes: ['ingest:read'] })
      const last = fresh.key.at(-1) as string
      const mistyped = fresh.key.slice(0, -1) + (last === 'a' ? 'b' : 'a')
      const queries = gateway.app.gateway.db.queryCount
      const refused = await call('/api/v1/ingest/status', mistyped)
      assert.equal(refused.status, 401)
      assert.deepEqual(await refused.json(), { detail: 'Token validation failed: Invalid API key.' })
      assert.equal(gateway.app.gateway.db.queryCount, queries, 'no database query for a key whose checksum is wrong')
    })

    test('rotation: the new secret works, the old one only for its grace period', async () => {
      const created = await createKey(gateway, admin, companyId, { name: 'rotating', scopes: ['ingest:read'] })
      assert.equal((await call('/api/v1/ingest/status', created.key)).status, 200)
      const rotated = await (await post(`${gateway.url}/api/v1/admin/api-keys/${created.id}/rotate`, { grace_seconds: 2 }, { authorization: `Bearer ${admin}` })).json() as CreatedKey
      assert.notEqual(rotated.key, created.key)
      assert.equal(rotated.id, created.id, 'the same service account')
      assert.equal((await call('/api/v1/ingest/status', rotated.key)).status, 200)
      assert.equal((await call('/api/v1/ingest/status', created.key)).status, 200, 'the old secret during the grace period')
      await eventually(async () => (await call('/api/v1/ingest/status', created.key)).status === 401, 5000, 'the old secret refused after the grace period')
      assert.equal((await call('/api/v1/ingest/status', rotated.key)).status, 200)
    })

    test('steady state: no database query per request, and last_used_at written in a batch', async () => {
      const created = await createKey(gateway, admin, companyId, { name: 'busy', scopes: ['ingest:read'] })
      await call('/api/v1/ingest/status', created.key)
      const before = gateway.app.gateway.db.queryCount
      for (let i = 0; i < 50; i++) assert.equal((await call('/api/v1/ingest/status', created.key)).status, 200)
      assert.equal(gateway.app.gateway.db.queryCount, before)
      await gateway.app.gateway.apiKeys.flushUse()
      const { rows } = await gateway.app.gateway.db.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM gateway_api_keys WHERE id = $1', [created.id])
      assert.ok(rows[0]?.last_used_at instanceof Date)
    })

    test('bad creation requests: unknown scopes and companies, past expiry', async () => {
      const create = async (id: string, body: unknown): Promise<number> => (await post(`${gateway.url}/api/v1/admin/companies/${id}/api-keys`, body, { authorization: `Bearer ${admin}` })).status
      assert.equal(await create(companyId, { name: 'x', scopes: ['admin:everything'] }), 422)
      assert.equal(await create(companyId, { name: 'x', scopes: [] }), 422)
      assert.equal(await create('00000000-0000-4000-8000-000000000000', { name: 'x', scopes: ['ingest:read'] }), 404)
      assert.equal(await create(companyId, { name: 'x', scopes: ['ingest:read'], expires_at: '2001-01-01T00:00:00Z' }), 400)
      const member = await gateway.tokenFor(await gateway.user({ companyId }))
      assert.equal((await post(`${gateway.url}/api/v1/admin/companies/${companyId}/api-keys`, { name: 'x', scopes: ['ingest:read'] }, { authorization: `Bearer ${member}` })).status, 403)
    })
  })
}

const noPostgres = await postgresSkip()

describe('API keys across replicas', { skip: noPostgres }, () => {
  let upstream: StandInUpstream
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>
  let first: TestGateway
  let second: TestGateway
  let member: TestUser

  before(async () => {
    upstream = await startUpstream()
    database = await createPostgresDatabase()
    const env = { ...database.env, GATEWAY_JWT_SECRET: TEST_JWT_SECRET, GATEWAY_INGEST_SERVICE_URL: upstream.url }
    first = await startGateway({ env })
    second = await startGateway({ env })
    member = await first.user({ companyId: (await first.company()).id, roles: ['user', 'admin'] })
  })
  after(async () => {
    await first.close()
    await second.close()
    await database.drop()
    await upstream.close()
  })

  test('a key revoked on one replica is refused on the other within 1 s', async () => {
    const admin = await first.tokenFor(member)
    const created = await createKey(first, admin, member.companyId as string, { name: 'shared', scopes: ['ingest:read'] })
    const onSecond = async (): Promise<number> => (await fetch(`${second.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${created.key}` } })).status
    assert.equal(await onSecond(), 200)
    await fetch(`${first.url}/api/v1/admin/api-keys/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })
    await eventually(async () => await onSecond() === 401, 1000, 'the other replica refuses the revoked key')
  })
})
