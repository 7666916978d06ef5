import assert from 'node:assert/strict'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { SignJWT, UnsecuredJWT } from 'jose'
import { startAuthWorld, type AuthWorld } from './helpers/auth-world.js'
import { backends } from './helpers/databases.js'
import { signToken, TEST_JWT_SECRET, type TestGateway, type TestUser } from './helpers/gateway.js'
import { insertUser } from './helpers/fixtures.js'
import type { StandInUpstream } from './helpers/upstream.js'
import { postJson as post } from './helpers/http.js'
/** A real passlib 1.7.4 hash (`CryptContext(schemes=["bcrypt"]).hash("passlib-Secret-123")`), as the seeds stored them. */
const PASSLIB_HASH = '$2b$12$683fp3csq9BHt1H0JRbTRO1GA4YbArZQLBPGNxaVNIjF1tqDwumoW'
const PASSLIB_PASSWORD = 'passlib-Secret-123'

// Logging in and the checks every bearer token passes, on both databases.
for (const { backend, skip } of await backends()) {
  describe(`login and token verification [${backend}]`, { skip }, () => {
    let world: AuthWorld
    let gateway: TestGateway
    let upstream: StandInUpstream
    let member: TestUser

    before(async () => {
      world = await startAuthWorld(backend)
      ;({ gateway, upstream, member } = world)
    })
    after(async () => { await world.close() })

    const ingest = async (token: string | undefined, path?: string): Promise<Response> => world.ingest(token, path)

    describe('login', () => {
      test('answers a token and the user\'s profile, and records last_login', async () => {
        const response = await post(`${gateway.url}/api/v1/users/login`, { email: member.email.toUpperCase(), password: member.password })
        assert.equal(response.status, 200)
        const body = await response.json() as Record<string, unknown>
        assert.deepEqual(Object.keys(body).sort(), ['access_token', 'company_id', 'email', 'full_name', 'refresh_token', 'roles', 'token_type', 'user_id'])
        assert.equal(body.token_type, 'bearer')
        assert.equal(body.user_id, member.id)
        assert.equal(body.email, member.email)
        assert.equal(body.company_id, member.companyId)
        assert.deepEqual(body.roles, ['user'])
        const proxied = await ingest(body.access_token as string)
        assert.equal(proxied.status, 200, 'the login token opens the proxied routes')
        const { rows } = await gateway.app.gateway.db.query<{ last_login: Date | null }>('SELECT last_login FROM users WHERE id = $1', [member.id])
        assert.ok(rows[0]?.last_login instanceof Date, 'last_login written')
      })

      test('a hash written by Python passlib verifies', async () => {
        const email = `passlib-${randomUUID()}@example.com`
        await insertUser(gateway, { email, hashedPassword: PASSLIB_HASH, companyId: member.companyId })
        const response = await post(`${gateway.url}/api/v1/users/login`, { email, password: PASSLIB_PASSWORD })
        assert.equal(response.status, 200)
      })

      test('unknown email, wrong password and inactive user get the same 401', async () => {
        const inactive = await gateway.user({ active: false, companyId: member.companyId })
        const attempts = [
          { email: `nobody-${randomUUID()}@example.com`, password: 'whatever-123' },
          { email: member.email, password: 'wrong-password' },
          { email: inactive.email, password: inactive.password },
        ]
        for (const attempt of attempts) {
          const response = await post(`${gateway.url}/api/v1/users/login`, attempt)
          assert.equal(response.status, 401)
          assert.equal(response.headers.get('www-authenticate'), 'Bearer')
          assert.deepEqual(await response.json(), { detail: 'Incorrect email or password' })
        }
      })

      test('bad bodies get FastAPI-shaped 422s', async () => {
        for (const body of [{ email: 'not-an-email', password: 'long-enough' }, { email: 'a@example.com', password: '12345' }, { email: 'a@example.com' }]) {
          const response = await post(`${gateway.url}/api/v1/users/login`, body)
          assert.equal(response.status, 422, JSON.stringify(body))
          const detail = (await response.json() as { detail: { loc: unknown[], msg: string, type: string }[] }).detail
          assert.ok(Array.isArray(detail) && detail.length > 0)
          assert.equal(detail[0]?.loc[0], 'body')
        }
        const broken = await fetch(`${gateway.url}/api/v1/users/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' })
        assert.equal(broken.status, 422)
      })

      test('the password and the password hash never reach the log', async () => {
        await post(`${gateway.url}/api/v1/users/login`, { email: member.email, password: member.password })
        assert.ok(!gateway.logs.text.includes(member.password))
        assert.ok(!gateway.logs.text.includes('$2b$'))
        assert.ok(!gateway.logs.text.includes(TEST_JWT_SECRET))
      })
    })

    describe('token verification', () => {
      const expectInvalid = async (token: string, detail: string): Promise<void> => {
        const response = await ingest(token)
        assert.equal(response.status, 401, detail)
        assert.deepEqual(await response.json(), { detail })
        const challenge = response.headers.get('www-authenticate') ?? ''
        assert.match(challenge, /^Bearer error="invalid_token", error_description="[^"]+"$/)
      }
      const claims = (): Record<string, unknown> => ({ sub: member.id, email: member.email, company_id: member.companyId })

      test('a missing or non-Bearer header gets 401 Not authenticated', async () => {
        for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ']) {
          const response = await fetch(`${gateway.url}/api/v1/ingest/x`, { headers: authorization === undefined ? {} : { authorization } })
          assert.equal(response.status, 401)
          assert.equal(response.headers.get('www-authenticate'), 'Bearer')
          assert.deepEqual(await response.json(), { detail: 'Not authenticated' })
        }
      })

      test('expired', async () => {
        await expectInvalid(await signToken(claims(), { expiresIn: Math.floor(Date.now() / 1000) - 120 }), 'Token has expired.')
      })

      test('not yet valid (nbf)', async () => {
        const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').setNotBefore('10m')
          .sign(new TextEncoder().encode(TEST_JWT_SECRET))
        await expectInvalid(token, 'Token validation failed: Token is not yet valid (nbf).')
      })

      test('bad signature', async () => {
        const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h')
          .sign(new TextEncoder().encode('another-secret-0123456789abcdef0123456789'))
        await expectInvalid(token, 'Token validation failed: Signature verification failed.')
      })

      test('alg none', async () => {
        const token = new UnsecuredJWT(claims()).setExpirationTime('1h').encode()
        await expectInvalid(token, 'Token validation failed: Algorithm not allowed.')
      })

      test('RS256 and the RS256/HS256 key confusion', async () => {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
        const rs256 = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(privateKey)
        await expectInvalid(rs256, 'Token validation failed: Algorithm not allowed.')
        // The classic confusion: an HS256 token whose HMAC key is the RSA public key.
        const pem = publicKey.export({ type: 'spki', format: 'pem' })
        const confused = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(String(pem)))
        await expectInvalid(confused, 'Token validation failed: Signature verification failed.')
      })

      test('missing sub, missing exp, non-UUID sub and company', async () => {
        const { sub: _sub, ...withoutSub } = claims()
        await expectInvalid(await signToken(withoutSub, { expiresIn: '1h' }), "Token missing 'sub' (user ID) claim.")
        await expectInvalid(await signToken(claims()), 'Token validation failed: Token has no valid expiry (exp).')
        await expectInvalid(await signToken({ ...claims(), sub: 'user-42' }, { expiresIn: '1h' }), 'Invalid user ID format in token.')
        await expectInvalid(await signToken({ ...claims(), company_id: 'acme' }, { expiresIn: '1h' }), 'Invalid company ID format in token.')
      })

      test('an audience is refused when none is configured', async () => {
        await expectInvalid(await signToken({ ...claims(), aud: 'authenticated' }, { expiresIn: '1h' }), 'Token validation failed: Unexpected audience.')
      })

      test('oversized tokens are refused unparsed', async () => {
        await expectInvalid(`${'a'.repeat(9000)}.b.c`, 'Token validation failed: Token too large.')
      })

      test('garbage', async () => {
        await expectInvalid('not.a.jwt', 'Token validation failed: Malformed token.')
      })

      test('unknown and inactive users', async () => {
        await expectInvalid(await signToken({ ...claims(), sub: randomUUID() }, { expiresIn: '1h' }), 'User associated with token not found.')
        const inactive = await gateway.user({ active: false, companyId: member.companyId })
        await expectInvalid(await gateway.tokenFor(inactive), 'User associated with token is inactive.')
      })

      test('company_id comes from app_metadata, never from user_metadata', async () => {
        const { company_id: _company, ...base } = claims()
        const fromApp = await signToken({ ...base, app_metadata: { company_id: member.companyId } }, { expiresIn: '1h' })
        assert.equal((await ingest(fromApp)).status, 200)
        assert.equal(upstream.last().headers['x-company-id'], member.companyId)
        const fromUser = await signToken({ ...base, user_metadata: { company_id: member.companyId } }, { expiresIn: '1h' })
        assert.equal((await ingest(fromUser)).status, 403)
      })
    })
  })
}
