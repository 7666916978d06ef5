import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Redis } from 'ioredis'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { postJson } from './helpers/http.js'
import { redisServerMissing, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js'
import { writeRoutesFile } from './helpers/routes-file.js'
import { closedPortUrl, startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

// README, "Traffic protection": if Redis is down, proxied routes fail open or closed
// (GATEWAY_RATE_LIMIT_FAIL_OPEN, or rateLimitFailOpen per route); the login limit always fails closed (503).
// And what the README implies without saying: the limits come back when Redis does.

/** Three routes to one upstream: one that fails open, one that fails closed, one on the global setting. */
const routesTo = (url: string): string => writeRoutesFile([
  { name: 'open', path: '/api/v1/open', upstream: url, upstreamPath: '/open', rateLimitFailOpen: true },
  { name: 'closed', path: '/api/v1/closed', upstream: url, upstreamPath: '/closed', rateLimitFailOpen: false },
  { name: 'global', path: '/api/v1/global', upstream: url, upstreamPath: '/global' },
])

describe('rateLimitFailOpen per route, with Redis unreachable', () => {
  let upstream: StandInUpstream
  before(async () => { upstream = await startUpstream() })
  after(async () => { await upstream.close() })

  for (const globalFailOpen of [false, true]) {
    test(`GATEWAY_RATE_LIMIT_FAIL_OPEN=${globalFailOpen}: the route's own setting wins, the others follow the global one`, async () => {
      const gateway = await startGateway({
        env: { GATEWAY_REDIS_URL: (await closedPortUrl()).replace('http', 'redis'), GATEWAY_RATE_LIMIT_FAIL_OPEN: String(globalFailOpen), GATEWAY_ROUTES_FILE: routesTo(upstream.url) },
      })
      try {
        const headers = { authorization: `Bearer ${await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id }))}` }
        const statusOf = async (route: string): Promise<Response> => fetch(`${gateway.url}/api/v1/${route}/x`, { headers })
        const open = await statusOf('open')
        assert.equal(open.status, 200)
        assert.equal(open.headers.get('ratelimit'), null, 'no RateLimit header from a limit that was not counted')
        const closed = await statusOf('closed')
        assert.equal(closed.status, 503)
        assert.deepEqual(await closed.json(), { detail: 'Rate limiting is unavailable; try again shortly.' })
        assert.ok(Number(closed.headers.get('retry-after')) >= 1)
        assert.equal((await statusOf('global')).status, globalFailOpen ? 200 : 503)
        assert.equal(upstream.received.filter((r) => r.url.startsWith('/closed')).length, 0, 'the closed route reached no upstream')
      } finally { await gateway.close() }
    })
  }
})

describe('Redis dies mid-run and comes back', { skip: redisServerMissing }, () => {
  let redis: PrivateRedis
  let upstream: StandInUpstream
  let gateway: TestGateway
  let user: TestUser
  let headers: Record<string, string>

  before(async () => {
    redis = await startPrivateRedis()
    upstream = await startUpstream()
    gateway = await startGateway({ env: { GATEWAY_REDIS_URL: redis.url, GATEWAY_RATE_LIMIT_FAIL_OPEN: 'false', GATEWAY_ROUTES_FILE: routesTo(upstream.url) } })
    user = await gateway.user({ companyId: (await gateway.company()).id })
    headers = { authorization: `Bearer ${await gateway.tokenFor(user)}` }
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
    await redis.kill()
  })

  const get = async (route: string): Promise<Response> => fetch(`${gateway.url}/api/v1/${route}/x`, { headers })
  const login = async (): Promise<Response> => postJson(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password })

  test('up: counted in Redis; killed: closed routes and login 503, the open route passes uncounted; restarted: counted again', async () => {
    const counted = await get('closed')
    assert.equal(counted.status, 200)
    assert.match(counted.headers.get('ratelimit') ?? '', /^"user";r=\d+;t=\d+, "company";r=\d+;t=\d+$/)
    assert.equal((await login()).status, 200)
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
    try {
      assert.ok((await client.keys('atenex-gateway:rl:*')).length > 0, 'the counters live in Redis')
    } finally { client.disconnect() }

    await redis.kill()
    await eventually(async () => (await get('closed')).status === 503, 10_000, 'the fail-closed route refusing once Redis is gone')
    const open = await get('open')
    assert.equal(open.status, 200, 'the fail-open route still passes')
    assert.equal(open.headers.get('ratelimit'), null)
    const refusedLogin = await login()
    assert.equal(refusedLogin.status, 503, 'login fails closed')
    assert.deepEqual(await refusedLogin.json(), { detail: 'Rate limiting is unavailable; try again shortly.' })

    await redis.start()
    const ms = await eventually(async () => (await get('closed')).status === 200, 15_000, 'the fail-closed route serving again once Redis is back')
    const recounted = await get('open')
    assert.equal(recounted.status, 200)
    assert.match(recounted.headers.get('ratelimit') ?? '', /^"user";r=\d+;t=\d+/, `counted again (${ms.toFixed(0)} ms after the restart)`)
    assert.equal((await login()).status, 200, 'login works again')
  })
})
