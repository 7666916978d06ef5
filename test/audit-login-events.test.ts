import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { eventOf, type AuditEventView } from './helpers/audit.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'

/** The audit trail of the login routes (issue 19): who, from where, under which request id. */
for (const { backend, skip } of await backends()) {
  describe(`audit events of logins and sessions [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let admin: TestUser
    let member: TestUser
    let companyId: string
    let adminToken: string

    before(async () => {
      // A trusted proxy in front: the address recorded is the client's, from X-Forwarded-For.
      gateway = await startGateway({ backend, env: { GATEWAY_TRUST_PROXY: '127.0.0.1', GATEWAY_LOGIN_MAX_FAILURES: '3' } })
      companyId = (await gateway.company()).id
      admin = await gateway.user({ companyId, roles: ['admin', 'user'] })
      member = await gateway.user({ companyId })
      adminToken = await gateway.tokenFor(admin)
    })
    after(async () => { await gateway.close() })

    /** A call from client `ip` (through the trusted proxy) with a request id of its own. */
    const call = async (path: string, body: unknown, ip = '203.0.113.7', headers: Record<string, string> = {}) => {
      const requestId = `req-${randomUUID()}`
      const response = await fetch(`${gateway.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, 'x-request-id': requestId, 'user-agent': 'audit-test/1.0', ...headers },
        body: JSON.stringify(body),
      })
      return { response, requestId }
    }
    const login = async (email: string, password: string, ip?: string) => call('/api/v1/users/login', { email, password }, ip)
    const assertFrom = (event: AuditEventView, requestId: string, ip = '203.0.113.7'): void => {
      assert.equal(event.request_id, requestId)
      assert.equal(event.client_ip, ip)
      assert.equal(event.user_agent, 'audit-test/1.0')
    }

    test('a successful login writes login.succeeded: the user, their company, the session it opened', async () => {
      const { response, requestId } = await login(member.email, member.password)
      assert.equal(response.status, 200)
      const event = await eventOf(gateway, adminToken, 'login.succeeded', requestId)
      assertFrom(event, requestId)
      assert.deepEqual(event.actor, { type: 'user', id: member.id })
      assert.equal(event.company_id, companyId)
      assert.equal(event.target?.type, 'session')
    })

    test('an unknown email and a wrong password answer a non-admin alike; only the audit trail tells them apart', async () => {
      const unknown = await login(`nobody-${randomUUID()}@example.com`, 'whatever-password', '198.51.100.1')
      const wrong = await login(member.email, 'wrong-password', '198.51.100.2')
      assert.equal(unknown.response.status, 401)
      assert.equal(wrong.response.status, wrong.response.status)
      assert.equal(await unknown.response.text(), await wrong.response.text())
      const headersOf = (response: Response): [string, string][] => [...response.headers].filter(([name]) => !['date', 'x-request-id', 'x-process-time', 'content-length'].includes(name))
      assert.deepEqual(headersOf(unknown.response), headersOf(wrong.response))
      // A non-admin asking the audit trail gets the same refusal, whatever was written.
      const memberToken = await gateway.tokenFor(member)
      const asked = await fetch(`${gateway.url}/api/v1/admin/audit?type=login.failed`, { headers: { authorization: `Bearer ${memberToken}` } })
      assert.equal(asked.status, 403)
      const unknownEvent = await eventOf(gateway, adminToken, 'login.failed', unknown.requestId)
      const wrongEvent = await eventOf(gateway, adminToken, 'login.failed', wrong.requestId)
      assertFrom(unknownEvent, unknown.requestId, '198.51.100.1')
      assertFrom(wrongEvent, wrong.requestId, '198.51.100.2')
      assert.deepEqual(unknownEvent.details, { reason: 'unknown_account' })
      assert.equal(unknownEvent.target, null)
      assert.equal(unknownEvent.company_id, null)
      assert.deepEqual(wrongEvent.details, { reason: 'wrong_password' })
      assert.deepEqual(wrongEvent.target, { type: 'user', id: member.id })
      assert.equal(wrongEvent.company_id, companyId)
    })

    test('the failure that uses up the limit writes login.locked, once', async () => {
      const victim = await gateway.user({ companyId })
      const attempts = []
      for (let i = 0; i < 4; i++) attempts.push(await login(victim.email, `wrong-${i}`, '198.51.100.9'))
      assert.deepEqual(attempts.map((attempt) => attempt.response.status), [401, 401, 401, 429])
      const locked = await eventOf(gateway, adminToken, 'login.locked', attempts[2]?.requestId as string)
      assertFrom(locked, attempts[2]?.requestId as string, '198.51.100.9')
      assert.deepEqual(locked.target, { type: 'user', id: victim.id })
      assert.equal(locked.company_id, companyId)
      assert.deepEqual(locked.details, { limit: 'email_and_address' })
      await assert.rejects(eventOf(gateway, adminToken, 'login.locked', attempts[3]?.requestId as string), /found 0/)
    })

    test('refresh writes token.refreshed; a spent token again writes token.reuse_detected and session.revoked', async () => {
      const first = await (await login(member.email, member.password)).response.json() as { refresh_token: string }
      const refreshed = await call('/api/v1/users/refresh', { refresh_token: first.refresh_token })
      assert.equal(refreshed.response.status, 200)
      const event = await eventOf(gateway, adminToken, 'token.refreshed', refreshed.requestId)
      assertFrom(event, refreshed.requestId)
      assert.deepEqual(event.actor, { type: 'user', id: member.id })
      assert.equal(event.company_id, companyId)
      const replay = await call('/api/v1/users/refresh', { refresh_token: first.refresh_token }, '192.0.2.66')
      assert.equal(replay.response.status, 401)
      const reuse = await eventOf(gateway, adminToken, 'token.reuse_detected', replay.requestId)
      assertFrom(reuse, replay.requestId, '192.0.2.66')
      assert.deepEqual(reuse.actor, { type: 'user', id: member.id })
      const revoked = await eventOf(gateway, adminToken, 'session.revoked', replay.requestId)
      assert.deepEqual(revoked.target, reuse.target)
      assert.equal(revoked.details.reason, 'refresh_token_reuse')
    })

    test('logout writes session.revoked by the user; ensure-company to another company writes user.company_changed', async () => {
      const body = await (await login(member.email, member.password)).response.json() as { access_token: string }
      const out = await call('/api/v1/users/logout', {}, undefined, { authorization: `Bearer ${body.access_token}` })
      assert.equal(out.response.status, 200)
      const revoked = await eventOf(gateway, adminToken, 'session.revoked', out.requestId)
      assertFrom(revoked, out.requestId)
      assert.deepEqual(revoked.actor, { type: 'user', id: member.id })
      assert.equal(revoked.company_id, companyId)
      assert.equal(revoked.details.reason, 'logout')

      // An administrator may attach themselves to any company (a member only to the default one).
      const homeless = await gateway.user({ companyId: null, roles: ['admin', 'user'] })
      const moved = await call('/api/v1/users/me/ensure-company', { company_id: companyId }, undefined, { authorization: `Bearer ${await gateway.tokenFor(homeless)}` })
      assert.equal(moved.response.status, 200)
      const changed = await eventOf(gateway, adminToken, 'user.company_changed', moved.requestId)
      assertFrom(changed, moved.requestId)
      assert.deepEqual(changed.actor, { type: 'user', id: homeless.id })
      assert.deepEqual(changed.target, { type: 'user', id: homeless.id })
      assert.deepEqual(changed.details, { from: null, to: companyId })
      assert.equal(changed.company_id, companyId)
    })

    test('a non-admin refused an admin route writes admin.denied with who, where and which route', async () => {
      const denied = await call('/api/v1/admin/companies', { name: 'Not allowed' }, undefined, { authorization: `Bearer ${await gateway.tokenFor(member)}` })
      assert.equal(denied.response.status, 403)
      const event = await eventOf(gateway, adminToken, 'admin.denied', denied.requestId)
      assertFrom(event, denied.requestId)
      assert.deepEqual(event.actor, { type: 'user', id: member.id })
      assert.equal(event.company_id, companyId)
      assert.deepEqual(event.details, { method: 'POST', route: '/api/v1/admin/companies' })
    })
  })
}
