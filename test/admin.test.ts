import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { eventually } from './helpers/wait.js'
import { insertCompany } from './helpers/fixtures.js'
import { postJson as post } from './helpers/http.js'

for (const { backend, skip } of await backends()) {
  describe(`admin API and self-registration [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let admin: TestUser
    let member: TestUser
    let defaultCompanyId: string
    let adminHeaders: Record<string, string>

    before(async () => {
      defaultCompanyId = randomUUID()
      gateway = await startGateway({ backend, env: { GATEWAY_DEFAULT_COMPANY_ID: defaultCompanyId, GATEWAY_ALLOW_SELF_REGISTRATION: 'true' } })
      await insertCompany(gateway, defaultCompanyId, 'Default Co')
      const home = await gateway.company('Home Co')
      admin = await gateway.user({ companyId: home.id, roles: ['admin', 'user'] })
      member = await gateway.user({ companyId: home.id })
      adminHeaders = { authorization: `Bearer ${await gateway.tokenFor(admin)}`, 'content-type': 'application/json' }
    })
    after(async () => { await gateway.close() })

    const call = async (method: string, path: string, body?: unknown, headers = adminHeaders): Promise<Response> =>
      fetch(`${gateway.url}/api/v1/admin${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })

    test('a valid token without the admin role gets 403; no token 401', async () => {
      const headers = { authorization: `Bearer ${await gateway.tokenFor(member, { roles: ['admin'] })}` }
      for (const path of ['/stats', '/companies/select']) {
        const response = await call('GET', path, undefined, headers)
        assert.equal(response.status, 403)
        assert.deepEqual(await response.json(), { detail: 'Insufficient permissions. Administrator role required.' })
        assert.equal((await call('GET', path, undefined, {})).status, 401)
      }
    })

    test('companies: create 201, duplicate 409, select lists active ones by name', async () => {
      const created = await call('POST', '/companies', { name: 'Zeta Corp' })
      assert.equal(created.status, 201)
      const company = await created.json() as { id: string, name: string, created_at: string }
      assert.equal(company.name, 'Zeta Corp')
      assert.ok(!Number.isNaN(Date.parse(company.created_at)))
      const duplicate = await call('POST', '/companies', { name: 'Zeta Corp' })
      assert.equal(duplicate.status, 409)
      assert.deepEqual(await duplicate.json(), { detail: "Company with name 'Zeta Corp' already exists." })
      assert.equal((await call('POST', '/companies', { name: '' })).status, 422)
      const closed = await gateway.company('Aardvark Closed', false)
      const select = await (await call('GET', '/companies/select')).json() as { id: string, name: string }[]
      const names = select.map((entry) => entry.name)
      assert.deepEqual(names, [...names].sort())
      assert.ok(names.includes('Zeta Corp'))
      assert.ok(!select.some((entry) => entry.id === closed.id))
    })

    test('users: create 201 with the exact shape, duplicate 409, unknown or inactive company 400', async () => {
      const home = admin.companyId as string
      const email = `new-${randomUUID()}@example.com`
      const created = await call('POST', '/users', { email, password: 'long-password', name: 'New Person', company_id: home, roles: ['user'] })
      assert.equal(created.status, 201)
      const user = await created.json() as Record<string, unknown>
      assert.deepEqual(Object.keys(user).sort(), ['company_id', 'created_at', 'email', 'id', 'is_active', 'name', 'roles'])
      assert.equal(user.email, email)
      assert.equal(user.is_active, true)
      assert.deepEqual(user.roles, ['user'])
      assert.ok(!JSON.stringify(user).includes('password'))
      const login = await fetch(`${gateway.url}/api/v1/users/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'long-password' }) })
      assert.equal(login.status, 200, 'the created user can log in')

      const duplicate = await call('POST', '/users', { email: email.toUpperCase(), password: 'long-password', company_id: home })
      assert.equal(duplicate.status, 409)
      const unknown = randomUUID()
      const missing = await call('POST', '/users', { email: `x-${randomUUID()}@example.com`, password: 'long-password', company_id: unknown })
      assert.equal(missing.status, 400)
      assert.deepEqual(await missing.json(), { detail: `Company with ID '${unknown}' not found.` })
      const closed = await gateway.company(undefined, false)
      const inactive = await call('POST', '/users', { email: `y-${randomUUID()}@example.com`, password: 'long-password', company_id: closed.id })
      assert.equal(inactive.status, 400)
      assert.equal((await call('POST', '/users', { email: 'z@example.com', password: 'short', company_id: home })).status, 422)
      assert.equal((await call('POST', '/users', { email: 'z@example.com', password: 'long-password', company_id: home, roles: ['root'] })).status, 422)
    })

    test('users by company: newest first, paginated, 404 for an unknown company', async () => {
      const company = await gateway.company()
      const first = await gateway.user({ companyId: company.id })
      const second = await gateway.user({ companyId: company.id })
      const list = await (await call('GET', `/users/by_company/${company.id}`)).json() as { id: string }[]
      assert.deepEqual(list.map((u) => u.id), [second.id, first.id])
      const page = await (await call('GET', `/users/by_company/${company.id}?limit=1&offset=1`)).json() as { id: string }[]
      assert.deepEqual(page.map((u) => u.id), [first.id])
      assert.equal((await call('GET', `/users/by_company/${company.id}?limit=500`)).status, 422)
      const unknown = randomUUID()
      const missing = await call('GET', `/users/by_company/${unknown}`)
      assert.equal(missing.status, 404)
      assert.deepEqual(await missing.json(), { detail: `Company with ID '${unknown}' not found.` })
    })

    test('stats count active users of active companies', async () => {
      const company = await gateway.company('Stats Co')
      await gateway.user({ companyId: company.id })
      await gateway.user({ companyId: company.id })
      await gateway.user({ companyId: company.id, active: false })
      const stats = await (await call('GET', '/stats')).json() as { company_count: number, users_per_company: { company_id: string, name: string, user_count: number }[] }
      const entry = stats.users_per_company.find((item) => item.company_id === company.id)
      assert.deepEqual(entry, { company_id: company.id, name: 'Stats Co', user_count: 2 })
      assert.equal(stats.company_count, stats.users_per_company.length)
    })

    test('a demoted admin loses access at once', async () => {
      const deputy = await gateway.user({ companyId: admin.companyId, roles: ['admin'] })
      const headers = { authorization: `Bearer ${await gateway.tokenFor(deputy)}` }
      assert.equal((await call('GET', '/stats', undefined, headers)).status, 200)
      await gateway.app.gateway.db.query("UPDATE users SET roles = '{user}' WHERE id = $1", [deputy.id])
      let status = 200
      // Other replicas learn of it by NOTIFY; this one's cache is invalidated just as asynchronously.
      await eventually(async () => {
        status = (await call('GET', '/stats', undefined, headers)).status
        return status !== 200
      }, 5000, 'the demoted admin refused')
      assert.equal(status, 403)
    })

    test('self-registration joins the default company as a user; a new and an existing email get the same answer', async () => {
      const email = `self-${randomUUID()}@example.com`
      const register = async (body: unknown): Promise<Response> =>
        fetch(`${gateway.url}/api/v1/users/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const response = await register({ email, password: 'long-password', name: 'Self Made' })
      assert.equal(response.status, 201)
      const body = await response.json() as { message: string, user_id: string | null }
      const { rows } = await gateway.app.gateway.db.query<{ company_id: string, roles: string[] }>('SELECT company_id, roles FROM users WHERE lower(email) = lower($1)', [email])
      assert.deepEqual(rows[0], { company_id: defaultCompanyId, roles: ['user'] })
      const again = await register({ email, password: 'another-password' })
      assert.equal(again.status, 201, 'no 409: that would tell anyone which emails have accounts')
      assert.deepEqual(await again.json(), body)
      assert.equal((await post(`${gateway.url}/api/v1/users/login`, { email, password: 'another-password' })).status, 401, 'the existing account is untouched')
      assert.equal((await register({ email: 'a@example.com', password: 'seven77' })).status, 422)
    })
  })
}

describe('self-registration is off by default', () => {
  test('404', async () => {
    const gateway = await startGateway()
    try {
      const response = await fetch(`${gateway.url}/api/v1/users/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"a@example.com","password":"long-password"}' })
      assert.equal(response.status, 404)
    } finally { await gateway.close() }
  })
})
