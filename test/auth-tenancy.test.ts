import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { usersRepository } from '../src/db/users-repository.js'
import { startAuthWorld, type AuthWorld } from './helpers/auth-world.js'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import type { StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'
import { postJson as post } from './helpers/http.js'

// What a verified user may reach: the company requirement, identity from the database, ensure-company; both databases.
for (const { backend, skip } of await backends()) {
  describe(`company requirement, identity headers and ensure-company [${backend}]`, { skip }, () => {
    let world: AuthWorld
    let gateway: TestGateway
    let upstream: StandInUpstream
    let defaultCompanyId: string
    let member: TestUser

    before(async () => {
      world = await startAuthWorld(backend)
      ;({ gateway, upstream, defaultCompanyId, member } = world)
    })
    after(async () => { await world.close() })

    const ingest = async (token: string | undefined, path?: string): Promise<Response> => world.ingest(token, path)

    describe('company requirement and identity headers', () => {
      test('no company: 403 on proxied routes, but ensure-company works', async () => {
        const loner = await gateway.user()
        const token = await gateway.tokenFor(loner)
        const response = await ingest(token)
        assert.equal(response.status, 403)
        assert.equal(response.headers.get('www-authenticate'), 'Bearer error="insufficient_scope"')
        assert.deepEqual(await response.json(), { detail: 'User authenticated, but required company association is missing or invalid in token.' })
        const ensured = await post(`${gateway.url}/api/v1/users/me/ensure-company`, undefined, { authorization: `Bearer ${token}` })
        assert.equal(ensured.status, 200)
      })

      test('roles come from the database, not the token', async () => {
        const token = await gateway.tokenFor(member, { roles: ['admin'] })
        await ingest(token)
        assert.equal(upstream.last().headers['x-user-roles'], 'user')
      })

      test('a deactivated user is refused within 1 s through NOTIFY, not the 300 s TTL', async () => {
        const user = await gateway.user({ companyId: member.companyId })
        const token = await gateway.tokenFor(user)
        assert.equal((await ingest(token)).status, 200)
        await usersRepository(gateway.app.gateway.db).setActive(user.id, false)
        const took = await eventually(async () => (await ingest(token)).status === 401, 1000, 'deactivation seen')
        assert.ok(took < 1000)
      })

      test('steady state: no database query per proxied request', async () => {
        const token = await gateway.tokenFor(member)
        assert.equal((await ingest(token)).status, 200)
        const before = gateway.app.gateway.db.queryCount
        for (let i = 0; i < 25; i++) assert.equal((await ingest(token)).status, 200)
        assert.equal(gateway.app.gateway.db.queryCount - before, 0)
      })
    })

    describe('ensure-company', () => {
      const ensure = async (user: TestUser, body?: unknown, raw?: string): Promise<Response> => {
        const headers = { authorization: `Bearer ${await gateway.tokenFor(user)}`, 'content-type': 'application/json' }
        return fetch(`${gateway.url}/api/v1/users/me/ensure-company`, { method: 'POST', headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) })
      }

      test('no company and no body: the default company, and a token that opens the proxied routes', async () => {
        const user = await gateway.user()
        for (const [body, raw] of [[undefined, undefined], [null, undefined], [{}, undefined], [undefined, '']] as const) {
          const response = await ensure(user, body, raw)
          assert.equal(response.status, 200, `body ${JSON.stringify(body)} raw ${JSON.stringify(raw)}`)
          const result = await response.json() as Record<string, unknown>
          assert.equal(result.company_id, defaultCompanyId)
          assert.equal(result.user_id, user.id)
          assert.equal(result.token_type, 'bearer')
          assert.deepEqual(result.roles, ['user'])
          assert.match(String(result.message), /^Company association (successfully updated to|confirmed as) [0-9a-f-]{36}\.$/)
          assert.equal((await ingest(result.new_access_token as string)).status, 200)
          assert.equal(upstream.last().headers['x-company-id'], defaultCompanyId)
        }
      })

      test('messages: updated the first time, confirmed after', async () => {
        const user = await gateway.user()
        const first = await (await ensure(user)).json() as { message: string }
        assert.equal(first.message, `Company association successfully updated to ${defaultCompanyId}.`)
        const again = await (await ensure({ ...user, companyId: defaultCompanyId })).json() as { message: string }
        assert.equal(again.message, `Company association confirmed as ${defaultCompanyId}.`)
      })

      test('the user\'s current company wins over the default', async () => {
        const result = await (await ensure(member)).json() as Record<string, unknown>
        assert.equal(result.company_id, member.companyId)
        assert.equal(result.message, `Company association confirmed as ${member.companyId}.`)
      })

      test('a non-admin cannot move to another company, existing or not', async () => {
        const other = await gateway.company()
        for (const companyId of [other.id, randomUUID()]) {
          const response = await ensure(member, { company_id: companyId })
          assert.equal(response.status, 403)
          assert.deepEqual(await response.json(), { detail: 'Not allowed to change company association.' })
        }
      })

      test('an admin may choose any active company; unknown and inactive ones are refused', async () => {
        const admin = await gateway.user({ companyId: member.companyId, roles: ['admin', 'user'] })
        const other = await gateway.company()
        const moved = await ensure(admin, { company_id: other.id })
        assert.equal(moved.status, 200)
        assert.equal((await moved.json() as { company_id: string }).company_id, other.id)
        const unknown = randomUUID()
        const missing = await ensure(admin, { company_id: unknown })
        assert.equal(missing.status, 400)
        assert.deepEqual(await missing.json(), { detail: `Company with ID '${unknown}' not found.` })
        const closed = await gateway.company(undefined, false)
        const inactive = await ensure(admin, { company_id: closed.id })
        assert.equal(inactive.status, 400)
        assert.deepEqual(await inactive.json(), { detail: `Cannot assign user to inactive company '${closed.id}'.` })
      })

      test('a malformed company id is a 422', async () => {
        const response = await ensure(member, { company_id: 'not-a-uuid' })
        assert.equal(response.status, 422)
      })

      test('no body, no company, no default: 400', async () => {
        const noDefault = await startGateway({ backend, env: { GATEWAY_INGEST_SERVICE_URL: upstream.url } })
        try {
          const user = await noDefault.user()
          const response = await fetch(`${noDefault.url}/api/v1/users/me/ensure-company`, { method: 'POST', headers: { authorization: `Bearer ${await noDefault.tokenFor(user)}` } })
          assert.equal(response.status, 400)
          assert.deepEqual(await response.json(), { detail: 'Cannot associate company: No specific ID provided and no default available for this user.' })
        } finally { await noDefault.close() }
      })

      test('a bad token is a 401', async () => {
        const response = await fetch(`${gateway.url}/api/v1/users/me/ensure-company`, { method: 'POST', headers: { authorization: 'Bearer nope' } })
        assert.equal(response.status, 401)
      })
    })
  })
}
