import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { NO_REQUEST } from '../src/audit/events.js'
import { backends } from './helpers/databases.js'
import { auditRows } from './helpers/audit.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { postJson as post } from './helpers/http.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

/** No secret in any audit row (issue 19): every action with known secrets, then every row scanned. */
for (const { backend, skip } of await backends()) {
  describe(`audit rows hold no secret [${backend}]`, { skip }, () => {
    let upstream: StandInUpstream
    let gateway: TestGateway
    const secrets = new Set<string>()

    before(async () => {
      upstream = await startUpstream()
      const defaultCompanyId = randomUUID()
      gateway = await startGateway({
        backend,
        env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_QUERY_SERVICE_URL: upstream.url, GATEWAY_DEFAULT_COMPANY_ID: defaultCompanyId, GATEWAY_ALLOW_SELF_REGISTRATION: 'true' },
      })
      await gateway.app.gateway.db.query('INSERT INTO companies (id, name) VALUES ($1, $2)', [defaultCompanyId, 'Default Co'])
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    test('after logins, refreshes, reuse, logout, registration, admin changes and API keys, no row holds a secret', async () => {
      const api = gateway.url
      const companyId = (await gateway.company()).id
      const admin = await gateway.user({ companyId, roles: ['admin', 'user'], password: `admin-pass-${randomUUID()}` })
      secrets.add(admin.password)
      const adminLogin = await (await post(`${api}/api/v1/users/login`, { email: admin.email, password: admin.password })).json() as { access_token: string, refresh_token: string }
      const auth = { authorization: `Bearer ${adminLogin.access_token}` }
      secrets.add(adminLogin.access_token).add(adminLogin.refresh_token)

      const memberPassword = `member-pass-${randomUUID()}`
      const created = await (await post(`${api}/api/v1/admin/users`, { email: `m-${randomUUID()}@example.com`, password: memberPassword, company_id: companyId }, auth)).json() as { id: string, email: string }
      secrets.add(memberPassword)
      await post(`${api}/api/v1/users/login`, { email: created.email, password: `${memberPassword}-wrong` })
      secrets.add(`${memberPassword}-wrong`)
      // A password typed into the email field: the row of an unknown account keeps nothing of it.
      const typedInEmail = `pw-in-email-${randomUUID()}@example.com`
      await post(`${api}/api/v1/users/login`, { email: typedInEmail, password: 'x-password-x' })
      secrets.add(typedInEmail).add('x-password-x')
      const login = await (await post(`${api}/api/v1/users/login`, { email: created.email, password: memberPassword })).json() as { access_token: string, refresh_token: string }
      secrets.add(login.access_token).add(login.refresh_token)
      const refreshed = await (await post(`${api}/api/v1/users/refresh`, { refresh_token: login.refresh_token })).json() as { access_token: string, refresh_token: string }
      secrets.add(refreshed.access_token).add(refreshed.refresh_token)
      assert.equal((await post(`${api}/api/v1/users/refresh`, { refresh_token: login.refresh_token })).status, 401, 'reuse detected')
      await post(`${api}/api/v1/users/logout`, { refresh_token: adminLogin.refresh_token }, auth)
      const registrationPassword = `reg-pass-${randomUUID()}`
      assert.equal((await post(`${api}/api/v1/users/register`, { email: `r-${randomUUID()}@example.com`, password: registrationPassword })).status, 201)
      secrets.add(registrationPassword)

      const adminToken = await gateway.tokenFor(admin)
      const adminAuth = { authorization: `Bearer ${adminToken}` }
      secrets.add(adminToken)
      const key = await (await post(`${api}/api/v1/admin/companies/${companyId}/api-keys`, { name: 'scan me', scopes: ['ingest:read'] }, adminAuth)).json() as { id: string, key: string }
      secrets.add(key.key).add(key.key.slice(key.key.lastIndexOf('_') + 1))
      assert.equal((await fetch(`${api}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${key.key}` } })).status, 200)
      await gateway.app.gateway.apiKeys.flushUse()
      const rotated = await (await post(`${api}/api/v1/admin/api-keys/${key.id}/rotate`, {}, adminAuth)).json() as { key: string }
      secrets.add(rotated.key)
      await fetch(`${api}/api/v1/admin/api-keys/${key.id}`, { method: 'DELETE', headers: adminAuth })
      await fetch(`${api}/api/v1/admin/users/${created.id}`, { method: 'PATCH', headers: { ...adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ is_active: false, roles: ['admin'] }) })
      const memberToken = await gateway.tokenFor(await gateway.user({ companyId }))
      secrets.add(memberToken)
      assert.equal((await fetch(`${api}/api/v1/admin/stats`, { headers: { authorization: `Bearer ${memberToken}` } })).status, 403)

      // What the database holds of those secrets counts as a secret too.
      const db = gateway.app.gateway.db
      for (const row of (await db.query<{ hashed_password: string }>('SELECT hashed_password FROM users')).rows) secrets.add(row.hashed_password)
      for (const row of (await db.query<{ secret_hash: string }>('SELECT secret_hash FROM gateway_api_keys')).rows) secrets.add(row.secret_hash)
      for (const token of [login.refresh_token, refreshed.refresh_token, adminLogin.refresh_token]) secrets.add(createHash('sha256').update(token).digest('hex'))

      const rows = await auditRows(gateway)
      const types = new Set(rows.map((row) => row.type))
      for (const type of ['login.succeeded', 'login.failed', 'token.refreshed', 'token.reuse_detected', 'session.revoked', 'user.created', 'api_key.created', 'api_key.used', 'api_key.revoked', 'user.deactivated', 'user.roles_changed', 'admin.denied']) {
        assert.ok(types.has(type), `the scan covers ${type}`)
      }
      const text = JSON.stringify(rows)
      for (const secret of secrets) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) in an audit row`)
      assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(text), 'no JWT')
      assert.ok(!/atx_[0-9a-f]{32}_[0-9A-Za-z]{10,}/.test(text), 'no API key')
    })

    test('the writer drops secret-like keys and values a caller passes by mistake, and says which', async () => {
      const companyId = randomUUID()
      await gateway.app.gateway.audit.record(NO_REQUEST, {
        type: 'admin.denied',
        actor: { type: 'system', id: null },
        companyId,
        details: {
          password: 'hunter2',
          refresh_token: 'abc',
          client_secret: 'shh',
          Authorization: 'Bearer x',
          api_key: 'k',
          code: '123',
          note: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig',
          key_text: 'atx_0123456789abcdef0123456789abcdef_secret',
          bcrypt: '$2b$12$abcdefghijklmnopqrstuv',
          kept: 'fine',
        },
      })
      const { rows } = await gateway.app.gateway.db.query<{ details: Record<string, unknown> }>('SELECT details FROM audit_events WHERE company_id = $1', [companyId])
      assert.deepEqual(rows[0]?.details, {
        kept: 'fine',
        dropped: ['password', 'refresh_token', 'client_secret', 'Authorization', 'api_key', 'code', 'note', 'key_text', 'bcrypt'],
      })
    })
  })
}
