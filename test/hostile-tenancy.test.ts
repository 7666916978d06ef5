import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { companiesRepository } from '../src/db/companies-repository.js'
import { usersRepository } from '../src/db/users-repository.js'
import { backends, createPostgresDatabase, postgresSkip } from './helpers/databases.js'
import { startGateway, TEST_JWT_SECRET, type TestGateway, type TestUser } from './helpers/gateway.js'
import { postJson as post } from './helpers/http.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

interface Login { access_token: string, refresh_token: string }

for (const { backend, skip } of await backends()) {
  describe(`tenancy and sessions are checked on every request [${backend}]`, { skip }, () => {
    let upstream: StandInUpstream
    let gateway: TestGateway

    before(async () => {
      upstream = await startUpstream()
      gateway = await startGateway({ backend, env: { GATEWAY_INGEST_SERVICE_URL: upstream.url } })
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    const login = async (who: TestUser): Promise<Login> => {
      const response = await post(`${gateway.url}/api/v1/users/login`, { email: who.email, password: who.password })
      assert.equal(response.status, 200)
      return await response.json() as Login
    }
    const status = async (token: string): Promise<number> => (await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${token}` } })).status

    test('a user moved to another company: the old token gets 403 (no old tenant\'s data), until ensure-company', async () => {
      const member = await gateway.user({ companyId: (await gateway.company()).id, roles: ['user', 'admin'] })
      const { access_token: token } = await login(member)
      assert.equal(await status(token), 200)
      const elsewhere = await gateway.company()
      await usersRepository(gateway.app.gateway.db).setCompany(member.id, elsewhere.id)
      await eventually(async () => await status(token) === 403, 1000, 'the moved user\'s old token refused')
      const refused = await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="insufficient_scope"')
      const ensured = await (await post(`${gateway.url}/api/v1/users/me/ensure-company`, {}, { authorization: `Bearer ${token}` })).json() as { new_access_token: string, company_id: string }
      assert.equal(ensured.company_id, elsewhere.id)
      assert.equal(await status(ensured.new_access_token), 200)
      assert.equal(upstream.last().headers['x-company-id'], elsewhere.id, 'the new company, never the old one')
    })

    test('a deactivated company: its users get 403 at once, and cannot log in or refresh', async () => {
      const company = await gateway.company()
      const member = await gateway.user({ companyId: company.id })
      const session = await login(member)
      assert.equal(await status(session.access_token), 200)
      await companiesRepository(gateway.app.gateway.db).setActive(company.id, false)
      await eventually(async () => await status(session.access_token) === 403, 1000, 'the inactive company\'s token refused')
      const refused = await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${session.access_token}` } })
      assert.deepEqual(await refused.json(), { detail: `Company '${company.id}' is inactive.` })
      const again = await post(`${gateway.url}/api/v1/users/login`, { email: member.email, password: member.password })
      assert.equal(again.status, 401)
      assert.deepEqual(await again.json(), { detail: 'Incorrect email or password' })
      assert.equal((await post(`${gateway.url}/api/v1/users/refresh`, { refresh_token: session.refresh_token })).status, 401)
    })

    test('logout (bearer, refresh token, or both) refuses the access token within 1 s, and its refresh token', async () => {
      const member = await gateway.user({ companyId: (await gateway.company()).id })
      for (const how of ['bearer', 'refresh', 'both'] as const) {
        const session = await login(member)
        assert.equal(await status(session.access_token), 200)
        const body = how === 'bearer' ? undefined : { refresh_token: session.refresh_token }
        const headers: Record<string, string> = how === 'refresh' ? {} : { authorization: `Bearer ${session.access_token}` }
        const out = await post(`${gateway.url}/api/v1/users/logout`, body, headers)
        assert.equal(out.status, 200, how)
        await eventually(async () => await status(session.access_token) === 401, 1000, `the logged-out token refused (${how})`)
        assert.equal((await post(`${gateway.url}/api/v1/users/refresh`, { refresh_token: session.refresh_token })).status, 401)
      }
      const other = await login(member)
      assert.equal(await status(other.access_token), 200, 'another session of the user is untouched')
      assert.equal((await post(`${gateway.url}/api/v1/users/logout`, {})).status, 401, 'neither credential: 401')
    })

    test('an admin revokes every session of a user: all their tokens refused within 1 s', async () => {
      const admin = await gateway.user({ companyId: (await gateway.company()).id, roles: ['user', 'admin'] })
      const member = await gateway.user({ companyId: admin.companyId })
      const sessions = [await login(member), await login(member)]
      const adminToken = (await login(admin)).access_token
      const revoked = await fetch(`${gateway.url}/api/v1/admin/users/${member.id}/revoke-sessions`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } })
      assert.equal(revoked.status, 200)
      assert.deepEqual(await revoked.json(), { user_id: member.id, revoked_sessions: 2 })
      for (const session of sessions) await eventually(async () => await status(session.access_token) === 401, 1000, 'every session refused')
      assert.equal(await status((await login(member)).access_token), 200, 'a new login works')
    })

    test('steady state stays at zero queries per request with the company and session checks', async () => {
      const member = await gateway.user({ companyId: (await gateway.company()).id })
      const { access_token: token } = await login(member)
      await status(token)
      const before = gateway.app.gateway.db.queryCount
      for (let i = 0; i < 50; i++) assert.equal(await status(token), 200)
      assert.equal(gateway.app.gateway.db.queryCount, before)
    })
  })
}

const noPostgres = await postgresSkip()

describe('two replicas on one database', { skip: noPostgres }, () => {
  let upstream: StandInUpstream
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>
  let first: TestGateway
  let second: TestGateway

  before(async () => {
    upstream = await startUpstream()
    database = await createPostgresDatabase()
    const env = { ...database.env, GATEWAY_JWT_SECRET: TEST_JWT_SECRET, GATEWAY_INGEST_SERVICE_URL: upstream.url }
    first = await startGateway({ env })
    second = await startGateway({ env })
  })
  after(async () => {
    await first.close()
    await second.close()
    await database.drop()
    await upstream.close()
  })

  test('a logout on one replica refuses the access token on the other within 1 s', async () => {
    const member = await first.user({ companyId: (await first.company()).id })
    const session = await (await post(`${first.url}/api/v1/users/login`, { email: member.email, password: member.password })).json() as Login
    const onSecond = async (): Promise<number> => (await fetch(`${second.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${session.access_token}` } })).status
    assert.equal(await onSecond(), 200, 'the token works on the other replica (cached there now)')
    await post(`${first.url}/api/v1/users/logout`, undefined, { authorization: `Bearer ${session.access_token}` })
    const took = await eventually(async () => await onSecond() === 401, 1000, 'the other replica refuses the logged-out token')
    assert.ok(took < 1000)
  })

  test('a WebSocket ticket issued by one replica is redeemed on the other, once', async () => {
    const member = await first.user({ companyId: (await first.company()).id })
    const token = await first.tokenFor(member)
    const { ticket } = await (await fetch(`${first.url}/api/v1/users/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json() as { ticket: string }
    const { rows } = await second.app.gateway.db.query<{ n: number }>('SELECT count(*)::int AS n FROM gateway_ws_tickets')
    assert.ok((rows[0]?.n ?? 0) >= 1, 'the ticket is in the shared database')
    assert.equal(await second.app.gateway.tickets.redeem(ticket) !== null, true)
    assert.equal(await first.app.gateway.tickets.redeem(ticket), null, 'used once, on whichever replica')
  })
})
