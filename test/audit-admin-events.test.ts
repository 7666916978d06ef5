import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { auditEvents, eventOf, type AuditEventView } from './helpers/audit.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

/** The audit trail of administration and API keys (issue 19). */
for (const { backend, skip } of await backends()) {
  describe(`audit events of administration and API keys [${backend}]`, { skip }, () => {
    let upstream: StandInUpstream
    let gateway: TestGateway
    let admin: TestUser
    let companyId: string
    let adminToken: string

    before(async () => {
      upstream = await startUpstream()
      gateway = await startGateway({ backend, env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_QUERY_SERVICE_URL: upstream.url } })
      companyId = (await gateway.company()).id
      admin = await gateway.user({ companyId, roles: ['admin', 'user'] })
      adminToken = await gateway.tokenFor(admin)
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    /** An admin call from 127.0.0.1 (no proxy trusted: the socket's address) with a request id of its own. */
    const adminCall = async (method: string, path: string, body?: unknown) => {
      const requestId = `req-${randomUUID()}`
      const response = await fetch(`${gateway.url}/api/v1/admin${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, 'x-request-id': requestId, 'user-agent': 'audit-admin-test', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return { response, requestId, json: async () => await response.json() as Record<string, unknown> }
    }
    const byAdmin = (event: AuditEventView, requestId: string, company: string): void => {
      assert.deepEqual(event.actor, { type: 'user', id: admin.id })
      assert.equal(event.company_id, company)
      assert.equal(event.request_id, requestId)
      assert.equal(event.client_ip, '127.0.0.1')
      assert.equal(event.user_agent, 'audit-admin-test')
    }

    test('company.created and user.created, in the new company\'s chain, by the administrator', async () => {
      const company = await adminCall('POST', '/companies', { name: `Audited ${randomUUID()}` })
      assert.equal(company.response.status, 201)
      const newCompany = (await company.json()).id as string
      const event = await eventOf(gateway, adminToken, 'company.created', company.requestId)
      byAdmin(event, company.requestId, newCompany)
      assert.deepEqual(event.target, { type: 'company', id: newCompany })

      const user = await adminCall('POST', '/users', { email: `made-${randomUUID()}@example.com`, password: 'a-long-password-1', company_id: newCompany })
      assert.equal(user.response.status, 201)
      const created = await eventOf(gateway, adminToken, 'user.created', user.requestId)
      byAdmin(created, user.requestId, newCompany)
      assert.deepEqual(created.target, { type: 'user', id: (await user.json()).id })
      assert.deepEqual(created.details, { roles: ['user'] })
    })

    test('a change refused by the database writes no event: the change and its record commit together', async () => {
      const name = `Twice ${randomUUID()}`
      assert.equal((await adminCall('POST', '/companies', { name })).response.status, 201)
      const again = await adminCall('POST', '/companies', { name })
      assert.equal(again.response.status, 409)
      assert.equal((await auditEvents(gateway, adminToken, { type: 'company.created' })).filter((event) => event.request_id === again.requestId).length, 0)
    })

    test('PATCH a user: user.deactivated, user.reactivated and user.roles_changed with before and after', async () => {
      const member = await gateway.user({ companyId })
      const off = await adminCall('PATCH', `/users/${member.id}`, { is_active: false })
      assert.equal(off.response.status, 200)
      assert.equal((await off.json()).is_active, false)
      byAdmin(await eventOf(gateway, adminToken, 'user.deactivated', off.requestId), off.requestId, companyId)
      const login = await fetch(`${gateway.url}/api/v1/users/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: member.email, password: member.password }) })
      assert.equal(login.status, 401, 'a deactivated user cannot log in')
      const on = await adminCall('PATCH', `/users/${member.id}`, { is_active: true, roles: ['user', 'admin'] })
      assert.equal(on.response.status, 200)
      byAdmin(await eventOf(gateway, adminToken, 'user.reactivated', on.requestId), on.requestId, companyId)
      const roles = await eventOf(gateway, adminToken, 'user.roles_changed', on.requestId)
      byAdmin(roles, on.requestId, companyId)
      assert.deepEqual(roles.target, { type: 'user', id: member.id })
      assert.deepEqual(roles.details, { before: ['user'], after: ['user', 'admin'] })
      const same = await adminCall('PATCH', `/users/${member.id}`, { roles: ['user', 'admin'] })
      assert.equal(same.response.status, 200)
      assert.equal((await auditEvents(gateway, adminToken, { type: 'user.roles_changed' })).filter((event) => event.request_id === same.requestId).length, 0, 'no change, no event')
      assert.equal((await adminCall('PATCH', `/users/${randomUUID()}`, { is_active: false })).response.status, 404)
      assert.equal((await adminCall('PATCH', `/users/${member.id}`, { is_active: 'no' })).response.status, 422)
    })

    test('admin revoke-sessions writes session.revoked with the count', async () => {
      const member = await gateway.user({ companyId })
      const revoked = await adminCall('POST', `/users/${member.id}/revoke-sessions`)
      assert.equal(revoked.response.status, 200)
      const event = await eventOf(gateway, adminToken, 'session.revoked', revoked.requestId)
      byAdmin(event, revoked.requestId, companyId)
      assert.deepEqual(event.target, { type: 'user', id: member.id })
      assert.deepEqual(event.details, { reason: 'admin', sessions: 0 })
    })

    test('api_key.created and api_key.revoked by the administrator; api_key.used once per UTC day, from the batched flush', async () => {
      const created = await adminCall('POST', `/companies/${companyId}/api-keys`, { name: 'audited key', scopes: ['ingest:read'] })
      assert.equal(created.response.status, 201)
      const key = await created.json() as { id: string, key: string }
      const event = await eventOf(gateway, adminToken, 'api_key.created', created.requestId)
      byAdmin(event, created.requestId, companyId)
      assert.deepEqual(event.target, { type: 'api_key', id: key.id })
      assert.deepEqual(event.details, { name: 'audited key', scopes: ['ingest:read'], expires_at: null })

      const use = async (): Promise<number> => (await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${key.key}` } })).status
      const before = gateway.app.gateway.db.queryCount
      for (let i = 0; i < 3; i++) assert.equal(await use(), 200)
      assert.ok(gateway.app.gateway.db.queryCount - before <= 2, 'the data plane writes no audit row per request')
      await gateway.app.gateway.apiKeys.flushUse()
      assert.equal(await use(), 200)
      await gateway.app.gateway.apiKeys.flushUse()
      const used = (await auditEvents(gateway, adminToken, { type: 'api_key.used', actor: key.id }))
      assert.equal(used.length, 1, 'the first use of the day only')
      assert.deepEqual(used[0]?.actor, { type: 'api_key', id: key.id })
      assert.equal(used[0]?.company_id, companyId)

      const revoked = await adminCall('DELETE', `/api-keys/${key.id}`)
      assert.equal(revoked.response.status, 200)
      const gone = await eventOf(gateway, adminToken, 'api_key.revoked', revoked.requestId)
      byAdmin(gone, revoked.requestId, companyId)
      assert.deepEqual(gone.target, { type: 'api_key', id: key.id })
    })
  })
}
