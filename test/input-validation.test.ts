import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import bcrypt from 'bcrypt'
import fc from 'fast-check'
import { createUserSchema } from '../src/admin/admin-schemas.js'
import { hashPassword, verifyPassword } from '../src/auth/passwords.js'
import { compileBodySchema } from '../src/api/validation.js'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { insertCompany } from './helpers/fixtures.js'
import { postJson as post } from './helpers/http.js'

interface Detail { loc: (string | number)[], msg: string, type: string }

async function refusal (response: Response): Promise<Detail[]> {
  assert.equal(response.status, 422, `expected 422, got ${response.status}: ${await response.clone().text()}`)
  const { detail } = await response.json() as { detail: Detail[] }
  assert.ok(Array.isArray(detail) && detail.length > 0)
  return detail
}

for (const { backend, skip } of await backends()) {
  describe(`input the database would choke on is 422 before any SQL [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let admin: TestUser
    let companyId: string
    let headers: Record<string, string>

    before(async () => {
      const defaultCompanyId = randomUUID()
      gateway = await startGateway({ backend, env: { GATEWAY_ALLOW_SELF_REGISTRATION: 'true', GATEWAY_DEFAULT_COMPANY_ID: defaultCompanyId } })
      await insertCompany(gateway, defaultCompanyId, 'Default Co')
      companyId = (await gateway.company()).id
      admin = await gateway.user({ companyId, roles: ['admin', 'user'] })
      headers = { authorization: `Bearer ${await gateway.tokenFor(admin)}` }
    })
    after(async () => { await gateway.close() })

    const createUser = async (body: Record<string, unknown>): Promise<Response> =>
      post(`${gateway.url}/api/v1/admin/users`, { email: `new-${randomUUID()}@example.com`, password: 'long-password', company_id: companyId, ...body }, headers)
    const listUsers = async (query: string, id = companyId): Promise<Response> =>
      fetch(`${gateway.url}/api/v1/admin/users/by_company/${id}?${query}`, { headers })

    test('a NUL in a company name is 422, not 500', async () => {
      const [issue] = await refusal(await post(`${gateway.url}/api/v1/admin/companies`, { name: 'Acme\u0000' }, headers))
      assert.deepEqual(issue?.loc, ['body', 'name'])
      assert.match(issue?.msg ?? '', /NUL/)
    })

    test('a NUL in a new user\'s name or password is 422, not 500', async () => {
      assert.deepEqual((await refusal(await createUser({ name: 'Ana\u0000Torres' })))[0]?.loc, ['body', 'name'])
      assert.deepEqual((await refusal(await createUser({ password: 'long-pass\u0000word' })))[0]?.loc, ['body', 'password'])
    })

    test('a NUL in a registration is 422, not 500', async () => {
      const [issue] = await refusal(await post(`${gateway.url}/api/v1/users/register`, { email: `r-${randomUUID()}@example.com`, password: 'long-password', name: 'Ana\u0000' }))
      assert.deepEqual(issue?.loc, ['body', 'name'])
      assert.equal(issue?.type, 'string_nul')
    })

    test('a NUL in a login or refresh body is 422, not 500', async () => {
      await refusal(await post(`${gateway.url}/api/v1/users/login`, { email: admin.email, password: 'correct\u0000horse' }))
      await refusal(await post(`${gateway.url}/api/v1/users/login`, { email: `a\u0000${admin.email}`, password: 'correct-horse' }))
      await refusal(await post(`${gateway.url}/api/v1/users/refresh`, { refresh_token: 'abc\u0000' }))
    })

    test('offset=1e99 on users by company is 422, not 500 (bigint out of range)', async () => {
      const [issue] = await refusal(await listUsers('offset=1e99'))
      assert.deepEqual(issue?.loc, ['query', 'offset'])
      for (const query of ['limit=abc', 'limit=1.5', 'limit=0', 'limit=201', 'offset=-1', 'offset=2147483648', 'limit=1&limit=2']) {
        await refusal(await listUsers(query))
      }
      assert.equal((await listUsers('limit=200&offset=2147483647')).status, 200)
    })

    test('a company id as urn:uuid:… (which ajv-formats takes and PostgreSQL does not) is 422, not 500', async () => {
      assert.deepEqual((await refusal(await listUsers('', `urn:uuid:${companyId}`)))[0]?.loc, ['path', 'companyId'])
      await refusal(await createUser({ company_id: `urn:uuid:${companyId}` }))
      await refusal(await post(`${gateway.url}/api/v1/users/me/ensure-company`, { company_id: `urn:uuid:${companyId}` }, headers))
    })

    test('a body is validated as sent: {"name": 12345} and {"name": true} are 422, not coerced to text', async () => {
      for (const name of [12345, true, ['Acme']]) {
        const [issue] = await refusal(await post(`${gateway.url}/api/v1/admin/companies`, { name }, headers))
        assert.deepEqual(issue, { loc: ['body', 'name'], msg: 'must be string', type: 'type' })
      }
      await refusal(await createUser({ roles: 'admin' }))
    })

    test('unknown fields are refused with 422 where the schema says additionalProperties: false, not silently dropped', async () => {
      const name = `Extra ${randomUUID()}`
      const [issue] = await refusal(await post(`${gateway.url}/api/v1/admin/companies`, { name, x: 1 }, headers))
      assert.equal(issue?.type, 'additionalProperties')
      const select = await (await fetch(`${gateway.url}/api/v1/admin/companies/select`, { headers })).json() as { name: string }[]
      assert.ok(!select.some((company) => company.name === name), 'the company was not created')
      await refusal(await createUser({ is_admin: true }))
    })

    test('a password over 72 bytes is refused at creation and registration, ASCII or not, and the answer says so', async () => {
      assert.equal((await createUser({ password: 'A'.repeat(72) })).status, 201, '72 bytes is still fine')
      assert.deepEqual((await refusal(await createUser({ password: 'A'.repeat(73) })))[0]?.loc, ['body', 'password'])
      // 40 characters, 80 bytes: under any character limit, over bcrypt's.
      const [issue] = await refusal(await createUser({ password: 'é'.repeat(40) }))
      assert.deepEqual(issue, { loc: ['body', 'password'], msg: 'String should have at most 72 bytes in UTF-8', type: 'string_too_long' })
      await refusal(await post(`${gateway.url}/api/v1/users/register`, { email: `r-${randomUUID()}@example.com`, password: 'ü'.repeat(37) }))
      const documented = await (await fetch(`${gateway.url}/openapi.json`)).json() as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: { properties: Record<string, { description?: string }> } }> } }>> }
      const password = documented.paths['/api/v1/admin/users']?.post?.requestBody.content['application/json']?.schema.properties.password
      assert.match(password?.description ?? '', /72 bytes/)
    })

    test('a login with a password over 72 bytes never matches: 72×"A"+"2" does not open the account of 72×"A"+"1"', async () => {
      // A hash written before the limit (or by another service): bcrypt kept only the first 72 bytes.
      const old = await gateway.user({ companyId, password: `${'A'.repeat(72)}1` })
      for (const password of [`${'A'.repeat(72)}2`, `${'A'.repeat(72)}1`]) {
        const response = await post(`${gateway.url}/api/v1/users/login`, { email: old.email, password })
        assert.equal(response.status, 401)
        assert.deepEqual(await response.json(), { detail: 'Incorrect email or password' })
      }
    })

    test('login takes exactly the addresses its documented schema takes (0@com included)', async () => {
      const documented = await (await fetch(`${gateway.url}/openapi.json`)).json() as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: { properties: Record<string, { pattern: string, maxLength: number }> } }> } }>> }
      const email = documented.paths['/api/v1/users/login']?.post?.requestBody.content['application/json']?.schema.properties.email
      assert.ok(email?.pattern)
      const allowed = (candidate: string): boolean => candidate.length <= (email.maxLength) && new RegExp(email.pattern, 'u').test(candidate)
      const answer = async (candidate: string): Promise<number> =>
        (await post(`${gateway.url}/api/v1/users/login`, { email: candidate, password: 'not-the-password' })).status
      for (const candidate of ['0@com', 'ana.torres+x@sub.example.co', 'a..b@example.com', '.a@example.com', 'a@-example.com', 'a@b_c.com', 'notanemail', 'a b@c.com']) {
        assert.equal(await answer(candidate), allowed(candidate) ? 401 : 422, candidate)
      }
      // Addresses fast-check writes by RFC 5322/1123, and strings that are not addresses.
      await fc.assert(fc.asyncProperty(fc.oneof(fc.emailAddress(), fc.string({ maxLength: 30 })), async (candidate) => {
        assert.equal(await answer(candidate), allowed(candidate) ? 401 : 422, candidate)
      }), { numRuns: 12 })
    })
  })
}

describe('the validation rules outside a route', () => {
  test('the admin schema compiled with the gateway\'s validation refuses notanemail and takes 0@com (the CLI checks the same)', () => {
    const validate = compileBodySchema(createUserSchema.body)
    const user = { password: 'long-password', company_id: randomUUID() }
    assert.equal(validate({ ...user, email: 'notanemail' }), false)
    assert.equal(validate({ ...user, email: '0@com' }), true)
    assert.equal(validate({ ...user, email: '0@com', password: 'é'.repeat(40) }), false)
  })

  test('nothing over 72 bytes is hashed, and a too-long password costs the same bcrypt compare as a wrong one', async () => {
    await assert.rejects(hashPassword('A'.repeat(73)), RangeError)
    const hash = await bcrypt.hash('A'.repeat(72), 10)
    assert.equal(await verifyPassword('A'.repeat(72), hash), true)
    const timed = async (password: string): Promise<number> => {
      let fastest = Infinity
      for (let round = 0; round < 3; round++) {
        const started = performance.now()
        assert.equal(await verifyPassword(password, hash), false)
        fastest = Math.min(fastest, performance.now() - started)
      }
      return fastest
    }
    const wrong = await timed('B'.repeat(72))
    const tooLong = await timed(`${'A'.repeat(72)}suffix`)
    // A compare at cost 10 takes tens of milliseconds; skipping it would take microseconds.
    assert.ok(tooLong > wrong / 2, `too long ${tooLong.toFixed(1)} ms vs wrong ${wrong.toFixed(1)} ms`)
  })
})
