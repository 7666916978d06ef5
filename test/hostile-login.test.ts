import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { postJson as post } from './helpers/http.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

const tally = (statuses: number[]): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1
  return counts
}

for (const { backend, skip } of await backends()) {
  describe(`login behind a trusted proxy, under attack [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let upstream: StandInUpstream

    before(async () => {
      upstream = await startUpstream()
      // The ingest service by name: reaching it takes a DNS lookup on libuv's thread pool, which bcrypt shares.
      gateway = await startGateway({ backend, env: { GATEWAY_TRUST_PROXY: '1', GATEWAY_INGEST_SERVICE_URL: upstream.url.replace('127.0.0.1', 'localhost'), GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '5' } })
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    const login = async (who: { email: string, password: string }, forwardedFor: string): Promise<Response> =>
      post(`${gateway.url}/api/v1/users/login`, who, { 'x-forwarded-for': forwardedFor })

    test('60 wrong passwords with a rotating leftmost X-Forwarded-For are locked after 10; then the right one is refused too', async () => {
      const victim = await gateway.user()
      const statuses: number[] = []
      for (let i = 0; i < 60; i++) statuses.push((await login({ email: victim.email, password: `guess-${i}-wrong` }, `10.9.${i}.1, 203.0.113.50`)).status)
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401))
      assert.deepEqual(tally(statuses.slice(10)), { 429: 50 })
      assert.equal((await login(victim, '10.9.99.1, 203.0.113.50')).status, 429)
    })

    test('failures from many real addresses still lock the account (a limit no address can reset)', async () => {
      const victim = await gateway.user()
      const statuses: number[] = []
      for (let i = 0; i < 30; i++) statuses.push((await login({ email: victim.email, password: `guess-${i}-wrong` }, `198.51.100.${i + 1}`)).status)
      assert.deepEqual(tally(statuses), { 401: 25, 429: 5 })
      const other = await gateway.user()
      assert.equal((await login(other, '198.51.100.200')).status, 200, 'other accounts are unaffected')
    })

    test('200 refreshes from one address behind the proxy get 429 past the per-IP budget, whatever the leftmost entries say', async () => {
      const statuses: number[] = []
      for (let i = 0; i < 200; i++) {
        statuses.push((await post(`${gateway.url}/api/v1/users/refresh`, { refresh_token: `not-a-token-${i}` }, { 'x-forwarded-for': `172.16.${i}.9, 192.0.2.77` })).status)
      }
      const seen = tally(statuses)
      assert.ok((seen[429] ?? 0) >= 70, JSON.stringify(seen))
    })

    test('a burst of 100 concurrent logins cannot take the thread pool: the excess gets 503 at once, proxied requests still connect', async () => {
      const member = await gateway.user({ companyId: (await gateway.company()).id })
      const token = await gateway.tokenFor(member)
      const burst = Array.from({ length: 100 }, async (_v, i) => login({ email: `nobody-${i}@example.com`, password: 'wrong-password' }, `192.0.2.${i + 1}`))
      const started = performance.now()
      const proxied = await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${token}` } })
      const proxiedMs = performance.now() - started
      const responses = await Promise.all(burst)
      assert.equal(proxied.status, 200)
      assert.ok(proxiedMs < 3000, `a proxied request took ${proxiedMs.toFixed(0)} ms during the burst`)
      const seen = tally(responses.map((r) => r.status))
      assert.ok((seen[503] ?? 0) > 0 && (seen[401] ?? 0) > 0, JSON.stringify(seen))
      const busy = responses.find((r) => r.status === 503) as Response
      assert.equal(busy.headers.get('retry-after'), '1')
      assert.deepEqual(await busy.json(), { detail: 'Too many logins in progress; try again shortly.' })
    })
  })

  describe(`answers that carry tokens, and WebSocket tickets [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let user: TestUser

    before(async () => {
      gateway = await startGateway({ backend, env: { GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '5', GATEWAY_DEFAULT_COMPANY_ID: '00000000-0000-4000-8000-000000000001' } })
      user = await gateway.user({ companyId: (await gateway.company()).id })
    })
    after(async () => { await gateway.close() })

    test('login, refresh, ensure-company and ws-ticket answers are never cached (RFC 6749 §5.1)', async () => {
      const loggedIn = await post(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password })
      const tokens = await loggedIn.json() as { access_token: string, refresh_token: string }
      const answers = [
        loggedIn,
        await post(`${gateway.url}/api/v1/users/refresh`, { refresh_token: tokens.refresh_token }),
        await post(`${gateway.url}/api/v1/users/me/ensure-company`, {}, { authorization: `Bearer ${tokens.access_token}` }),
        await fetch(`${gateway.url}/api/v1/users/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } }),
      ]
      for (const answer of answers) {
        assert.equal(answer.status, 200)
        assert.equal(answer.headers.get('cache-control'), 'no-store', answer.url)
      }
    })

    test('ws-ticket counts against the user\'s rate limit, and unredeemed tickets leave the table once expired', async () => {
      const member = await gateway.user({ companyId: user.companyId })
      const token = await gateway.tokenFor(member)
      const statuses: number[] = []
      for (let i = 0; i < 8; i++) statuses.push((await fetch(`${gateway.url}/api/v1/users/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status)
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429])
      const db = gateway.app.gateway.db
      const count = async (): Promise<number> => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM gateway_ws_tickets WHERE user_id = $1', [member.id])).rows[0]?.n ?? -1
      assert.equal(await count(), 5)
      await db.query("UPDATE gateway_ws_tickets SET expires_at = now() - interval '1 minute' WHERE user_id = $1", [member.id])
      await gateway.app.gateway.tickets.sweep()
      assert.equal(await count(), 0)
    })
  })
}
