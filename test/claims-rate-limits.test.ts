import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { postJson } from './helpers/http.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

// README, "Traffic protection": per user and per company on proxied routes, per IP on the routes reached
// without a token, GATEWAY_LOGIN_MAX_FAILURES per email and IP per GATEWAY_LOGIN_FAILURE_WINDOW_MINUTES, and
// draft-10 RateLimit-Policy / RateLimit on every counted response. In memory here; Redis in claims-redis-outage.

describe('per-company and per-IP limits, with their draft-10 headers', () => {
  let gateway: TestGateway
  let upstream: StandInUpstream
  let authService: StandInUpstream

  before(async () => {
    upstream = await startUpstream()
    authService = await startUpstream()
    gateway = await startGateway({
      env: {
        GATEWAY_INGEST_SERVICE_URL: upstream.url,
        GATEWAY_AUTH_SERVICE_URL: authService.url,
        GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '100',
        GATEWAY_RATE_LIMIT_COMPANY_PER_MINUTE: '4',
        GATEWAY_RATE_LIMIT_IP_PER_MINUTE: '5',
        // Each test plays its clients from addresses of its own, through the loopback proxy.
        GATEWAY_TRUST_PROXY: 'loopback',
      },
    })
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
    await authService.close()
  })

  const ingest = async (token: string): Promise<Response> => fetch(`${gateway.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${token}` } })

  test('a company\'s users share its budget: the 5th request of the company is 429 whoever sends it; another company is unaffected', async () => {
    const company = await gateway.company()
    const users: TestUser[] = []
    for (let i = 0; i < 3; i++) users.push(await gateway.user({ companyId: company.id }))
    const tokens = await Promise.all(users.map(async (user) => gateway.tokenFor(user)))
    const responses: Response[] = []
    for (let i = 0; i < 6; i++) responses.push(await ingest(tokens[i % 3] as string))
    assert.deepEqual(responses.map((response) => response.status), [200, 200, 200, 200, 429, 429])
    const first = responses[0] as Response
    assert.equal(first.headers.get('ratelimit-policy'), '"user";q=100;w=60, "company";q=4;w=60')
    assert.match(first.headers.get('ratelimit') ?? '', /^"user";r=99;t=\d+, "company";r=3;t=\d+$/)
    const limited = responses[4] as Response
    assert.deepEqual(await limited.json(), { detail: 'Too many requests.' })
    assert.ok(Number(limited.headers.get('retry-after')) >= 1)
    assert.match(limited.headers.get('ratelimit') ?? '', /"company";r=0;t=\d+$/)
    const outsider = await gateway.user({ companyId: (await gateway.company()).id })
    assert.equal((await ingest(await gateway.tokenFor(outsider))).status, 200, 'another company has its own budget')
  })

  test('login, refresh and the auth service share one per-IP budget, each answer with its headers; another address is unaffected', async () => {
    const user = await gateway.user()
    const from = { 'x-forwarded-for': '203.0.113.10' }
    const answers: Response[] = [
      await postJson(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password }, from),
      await postJson(`${gateway.url}/api/v1/users/refresh`, { refresh_token: 'not-a-real-refresh-token' }, from),
      await fetch(`${gateway.url}/api/v1/auth/token`, { method: 'POST', headers: from }),
      await postJson(`${gateway.url}/api/v1/users/login`, { email: user.email, password: 'wrong-password!' }, from),
      await fetch(`${gateway.url}/api/v1/auth/token`, { method: 'POST', headers: from }),
      await postJson(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password }, from),
      await fetch(`${gateway.url}/api/v1/auth/token`, { method: 'POST', headers: from }),
    ]
    assert.deepEqual(answers.map((answer) => answer.status), [200, 401, 200, 401, 200, 429, 429])
    answers.forEach((answer, index) => {
      assert.equal(answer.headers.get('ratelimit-policy'), '"ip";q=5;w=60', `answer ${index}: RateLimit-Policy`)
      assert.match(answer.headers.get('ratelimit') ?? '', new RegExp(`^"ip";r=${Math.max(0, 4 - index)};t=\\d+$`), `answer ${index}: RateLimit`)
    })
    for (const limited of answers.slice(5)) {
      assert.deepEqual(await limited.json(), { detail: 'Too many requests.' })
      assert.ok(Number(limited.headers.get('retry-after')) >= 1)
    }
    assert.equal(authService.received.filter((r) => r.headers['x-forwarded-for']?.includes('203.0.113.10')).length, 2, 'the refused call never reached the auth service')
    const elsewhere = await postJson(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password }, { 'x-forwarded-for': '203.0.113.11' })
    assert.equal(elsewhere.status, 200, 'another address has its own budget')
  })
})

describe('GATEWAY_LOGIN_MAX_FAILURES and GATEWAY_LOGIN_FAILURE_WINDOW_MINUTES', () => {
  let gateway: TestGateway

  before(async () => {
    gateway = await startGateway({ env: { GATEWAY_LOGIN_MAX_FAILURES: '3', GATEWAY_LOGIN_FAILURE_WINDOW_MINUTES: '7', GATEWAY_TRUST_PROXY: 'loopback' } })
  })
  after(async () => { await gateway.close() })

  const login = async (who: { email: string, password: string }, address: string): Promise<Response> =>
    postJson(`${gateway.url}/api/v1/users/login`, who, { 'x-forwarded-for': address })

  test('3 failures lock the email from that address for the 7-minute window; the right password is refused too, elsewhere it works', async () => {
    const victim = await gateway.user()
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await login({ email: victim.email, password: `wrong-guess-${i}` }, '198.51.100.7')).status)
    assert.deepEqual(statuses, [401, 401, 401])
    const locked = await login(victim, '198.51.100.7')
    assert.equal(locked.status, 429)
    assert.deepEqual(await locked.json(), { detail: 'Too many requests.' })
    const retryAfter = Number(locked.headers.get('retry-after'))
    assert.ok(retryAfter > 6 * 60 && retryAfter <= 7 * 60, `Retry-After ${retryAfter} s is the rest of a 7-minute window`)
    assert.equal((await login(victim, '198.51.100.8')).status, 200, 'the pair is email and address: another address may still log in')
    assert.equal((await login({ email: victim.email.toUpperCase(), password: victim.password }, '198.51.100.7')).status, 429, 'the email is counted without letter case')
  })

  test('failures are counted in the window, not since the last success: 2 failures, a success, a 3rd failure, then 429', async () => {
    const user = await gateway.user()
    const statuses: number[] = []
    for (const password of ['wrong-one!', 'wrong-two!', user.password, 'wrong-three!', user.password]) {
      statuses.push((await login({ email: user.email, password }, '198.51.100.9')).status)
    }
    assert.deepEqual(statuses, [401, 401, 200, 401, 429])
  })
})
