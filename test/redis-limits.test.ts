import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { REDIS_URL, redisSkip } from './helpers/redis.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { insertCompany, insertUser } from './helpers/fixtures.js'
import { closedPortUrl, startUpstream, type StandInUpstream } from './helpers/upstream.js'

const skip = await redisSkip()

describe('rate limits shared through Redis', { skip }, () => {
  let upstream: StandInUpstream
  let first: TestGateway
  let second: TestGateway
  let user: TestUser

  before(async () => {
    upstream = await startUpstream()
    const env = { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_REDIS_URL: REDIS_URL, GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '4' }
    first = await startGateway({ env })
    second = await startGateway({ env })
    // Both instances must know the user: they have separate embedded databases, so it is created in each with the same id.
    user = await first.user({ companyId: (await first.company()).id })
    await insertCompany(second, user.companyId as string, 'Shared Co')
    await insertUser(second, { id: user.id, email: user.email, hashedPassword: 'x', companyId: user.companyId })
  })
  after(async () => {
    await first.close()
    await second.close()
    await upstream.close()
  })

  test('two gateway instances share one limit', async () => {
    const token = await first.tokenFor(user)
    const statuses: number[] = []
    for (const gateway of [first, second, first, second, first, second]) {
      statuses.push((await fetch(`${gateway.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${token}` } })).status)
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429])
  })
})

describe('Redis down', () => {
  let upstream: StandInUpstream
  before(async () => { upstream = await startUpstream() })
  after(async () => { await upstream.close() })

  const withGateway = async (failOpen: boolean, check: (gateway: TestGateway, token: string, user: TestUser) => Promise<void>): Promise<void> => {
    const deadRedis = (await closedPortUrl()).replace('http', 'redis')
    const gateway = await startGateway({ env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_REDIS_URL: deadRedis, GATEWAY_RATE_LIMIT_FAIL_OPEN: String(failOpen) } })
    try {
      const user = await gateway.user({ companyId: (await gateway.company()).id })
      await check(gateway, await gateway.tokenFor(user), user)
    } finally { await gateway.close() }
  }

  test('fail-open: proxied requests go through; login still fails closed with 503', async () => {
    await withGateway(true, async (gateway, token, user) => {
      const proxied = await fetch(`${gateway.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(proxied.status, 200)
      const login = await fetch(`${gateway.url}/api/v1/users/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: user.password }) })
      assert.equal(login.status, 503)
      assert.deepEqual(await login.json(), { detail: 'Rate limiting is unavailable; try again shortly.' })
    })
  })

  test('fail-closed: proxied requests get 503 with Retry-After', async () => {
    await withGateway(false, async (gateway, token) => {
      const before = upstream.received.length
      const proxied = await fetch(`${gateway.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(proxied.status, 503)
      assert.ok(proxied.headers.get('retry-after'))
      assert.equal(upstream.received.length, before, 'nothing reached the upstream')
    })
  })
})
