import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeJwt, SignJWT, UnsecuredJWT } from 'jose'
import { refreshTokensRepository } from '../src/db/refresh-tokens-repository.js'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { signingKey, signWith, startJwksServer, type JwksServer, type SigningKey } from './helpers/jwks-server.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { postJson as post } from './helpers/http.js'

for (const { backend, skip } of await backends()) {
  describe(`refresh tokens [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let user: TestUser

    before(async () => {
      gateway = await startGateway({ backend })
      user = await gateway.user({ companyId: (await gateway.company()).id })
    })
    after(async () => { await gateway.close() })

    const login = async (who: TestUser = user): Promise<{ access_token: string, refresh_token: string }> =>
      await (await post(`${gateway.url}/api/v1/users/login`, { email: who.email, password: who.password })).json() as { access_token: string, refresh_token: string }
    const refresh = async (token: string): Promise<Response> => post(`${gateway.url}/api/v1/users/refresh`, { refresh_token: token })

    test('login returns an opaque refresh token and the seeds\' 24-hour access token, naming the user and the session', async () => {
      const tokens = await login()
      assert.match(tokens.refresh_token, /^[A-Za-z0-9_-]{43}$/)
      const claims = decodeJwt(tokens.access_token)
      assert.equal((claims.exp as number) - (claims.iat as number), 24 * 60 * 60)
      assert.equal(claims.full_name, 'Test User', 'the web client shows the name it reads from the token')
      assert.equal(claims.name, 'Test User')
      assert.match(String(claims.sid), /^[0-9a-f-]{36}$/)
      assert.match(String(claims.jti), /^[0-9a-f-]{36}$/)
      const { rows } = await gateway.app.gateway.db.query<{ token_hash: string }>('SELECT token_hash FROM gateway_refresh_tokens')
      assert.ok(rows.every((row) => row.token_hash !== tokens.refresh_token), 'only a hash is stored')
    })

    test('refresh rotates: a new pair in the same session, the old token spent; a client may ask for shorter access tokens', async () => {
      const first = await login()
      const response = await post(`${gateway.url}/api/v1/users/refresh`, { refresh_token: first.refresh_token, access_token_minutes: 15 })
      assert.equal(response.status, 200)
      const second = await response.json() as { access_token: string, refresh_token: string, token_type: string, expires_in: number }
      assert.equal(second.token_type, 'bearer')
      assert.equal(second.expires_in, 900)
      const claims = decodeJwt(second.access_token)
      assert.equal((claims.exp as number) - (claims.iat as number), 900)
      assert.equal(claims.sid, decodeJwt(first.access_token).sid, 'the same session goes on')
      assert.notEqual(second.refresh_token, first.refresh_token)
      assert.equal(decodeJwt(second.access_token).sub, user.id)
      assert.equal((await refresh(second.refresh_token)).status, 200, 'the successor works')
    })

    test('presenting a spent token revokes the whole family', async () => {
      const first = await login()
      const second = await (await refresh(first.refresh_token)).json() as { refresh_token: string }
      const reuse = await refresh(first.refresh_token)
      assert.equal(reuse.status, 401)
      assert.deepEqual(await reuse.json(), { detail: 'Refresh token reuse detected; the session has been revoked.' })
      const successor = await refresh(second.refresh_token)
      assert.equal(successor.status, 401, 'the thief\'s (or the victim\'s) successor dies with the family')
      const other = await login()
      assert.equal((await refresh(other.refresh_token)).status, 200, 'another login\'s family is untouched')
    })

    test('logout revokes; unknown, expired and inactive users\' tokens are refused', async () => {
      const session = await login()
      const out = await post(`${gateway.url}/api/v1/users/logout`, { refresh_token: session.refresh_token })
      assert.equal(out.status, 200)
      assert.deepEqual(await out.json(), { message: 'Logged out.' })
      assert.equal((await refresh(session.refresh_token)).status, 401)
      assert.equal((await refresh('made-up-token')).status, 401)
      assert.equal((await post(`${gateway.url}/api/v1/users/refresh`, {})).status, 422)

      const expiring = await login()
      await gateway.app.gateway.db.query("UPDATE gateway_refresh_tokens SET expires_at = now() - interval '1 minute' WHERE revoked_at IS NULL AND spent_at IS NULL")
      assert.equal((await refresh(expiring.refresh_token)).status, 401)

      const leaving = await gateway.user({ companyId: user.companyId })
      const theirs = await login(leaving)
      await gateway.app.gateway.db.query('UPDATE users SET is_active = false WHERE id = $1', [leaving.id])
      const refused = await refresh(theirs.refresh_token)
      assert.equal(refused.status, 401)
      assert.deepEqual(await refused.json(), { detail: 'User associated with token is inactive.' })
    })

    test('expired rows are cleaned up', async () => {
      await gateway.app.gateway.db.query("UPDATE gateway_refresh_tokens SET expires_at = now() - interval '2 days'")
      const removed = await refreshTokensRepository(gateway.app.gateway.db).deleteExpired()
      assert.ok(removed > 0)
      const { rows } = await gateway.app.gateway.db.query<{ count: string | number }>('SELECT count(*) AS count FROM gateway_refresh_tokens')
      assert.equal(Number(rows[0]?.count), 0)
    })

    test('refresh tokens never reach the log', async () => {
      const session = await login()
      await refresh(session.refresh_token)
      assert.ok(!gateway.logs.text.includes(session.refresh_token))
    })
  })
}

describe('refresh tokens turned off', () => {
  test('no refresh_token, no /refresh, and the seeds\' 24-hour tokens', async () => {
    const gateway = await startGateway({ env: { GATEWAY_REFRESH_TOKENS: 'false' } })
    try {
      const user = await gateway.user()
      const body = await (await post(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password })).json() as Record<string, unknown>
      assert.equal(body.refresh_token, undefined)
      const claims = decodeJwt(body.access_token as string)
      assert.equal((claims.exp as number) - (claims.iat as number), 24 * 3600)
      assert.equal((await post(`${gateway.url}/api/v1/users/refresh`, { refresh_token: 'x' })).status, 404)
    } finally { await gateway.close() }
  })
})

const SUPABASE_ISS = 'https://project.supabase.co/auth/v1'

describe('external issuers: Supabase tokens from a JWKS', () => {
  let jwks: JwksServer
  let es256: SigningKey
  let rs256: SigningKey
  let upstream: StandInUpstream
  let gateway: TestGateway
  let user: TestUser

  const issuersEnv = (url: string): string => JSON.stringify([{
    name: 'supabase', issuer: SUPABASE_ISS, algorithms: ['ES256', 'RS256'], jwksUrl: url, profile: 'supabase', jwksCooldownMs: 400, jwksMaxAgeMs: 400,
  }])

  before(async () => {
    es256 = await signingKey('es-1', 'ES256')
    rs256 = await signingKey('rs-1', 'RS256')
    jwks = await startJwksServer([es256, rs256])
    upstream = await startUpstream()
    gateway = await startGateway({ env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_EXTERNAL_ISSUERS: issuersEnv(jwks.url) } })
    user = await gateway.user({ companyId: (await gateway.company()).id })
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
    await jwks.close()
  })

  const supabaseClaims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    sub: user.id, iss: SUPABASE_ISS, aud: 'authenticated', role: 'authenticated', email: user.email, app_metadata: { company_id: user.companyId }, ...extra,
  })
  const call = async (token: string): Promise<Response> => fetch(`${gateway.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${token}` } })

  test('ES256 and RS256 tokens are accepted, with the company from app_metadata', async () => {
    for (const key of [es256, rs256]) {
      const response = await call(await signWith(key, supabaseClaims()))
      assert.equal(response.status, 200, key.alg)
      assert.equal(upstream.last().headers['x-company-id'], user.companyId)
      assert.equal(upstream.last().headers['x-user-id'], user.id)
    }
  })

  test('user_metadata.company_id is ignored; a top-level company_id too', async () => {
    const claims = supabaseClaims({ app_metadata: {}, user_metadata: { company_id: user.companyId }, company_id: user.companyId })
    assert.equal((await call(await signWith(es256, claims))).status, 403)
  })

  test('anon and service_role tokens are refused', async () => {
    for (const role of ['anon', 'service_role']) {
      const response = await call(await signWith(es256, supabaseClaims({ role })))
      assert.equal(response.status, 401)
      assert.deepEqual(await response.json(), { detail: 'Token validation failed: Role not allowed.' })
    }
  })

  test('HS256 (signed with anything) and alg none are refused for the RS/ES issuer', async () => {
    const hs = await new SignJWT(supabaseClaims()).setProtectedHeader({ alg: 'HS256', kid: 'rs-1' }).setExpirationTime('1h')
      .sign(new TextEncoder().encode('a-secret-an-attacker-chose-0123456789'))
    const hsResponse = await call(hs)
    assert.equal(hsResponse.status, 401)
    assert.deepEqual(await hsResponse.json(), { detail: 'Token validation failed: Algorithm not allowed.' })
    const none = new UnsecuredJWT(supabaseClaims()).setExpirationTime('1h').encode()
    assert.equal((await call(none)).status, 401)
  })

  test('wrong audience is refused', async () => {
    const response = await call(await signWith(es256, supabaseClaims({ aud: 'other' })))
    assert.equal(response.status, 401)
    assert.deepEqual(await response.json(), { detail: 'Token validation failed: Invalid audience.' })
  })

  test('rotation: a new kid is accepted after one refetch; a burst of unknown kids costs at most one fetch', async () => {
    await new Promise((resolve) => setTimeout(resolve, 450))
    const fresh = await signingKey('es-2', 'ES256')
    jwks.keys = [...jwks.keys, fresh]
    const before = jwks.fetches
    assert.equal((await call(await signWith(fresh, supabaseClaims()))).status, 200)
    assert.equal(jwks.fetches - before, 1)

    const afterRotation = jwks.fetches
    const strangers = await Promise.all(Array.from({ length: 20 }, async (_v, i) => signWith(await signingKey(`unknown-${i}`, 'ES256'), supabaseClaims())))
    const answers = await Promise.all(strangers.map(call))
    assert.ok(answers.every((response) => response.status === 401))
    assert.ok(jwks.fetches - afterRotation <= 1, `${jwks.fetches - afterRotation} fetches for a burst of unknown kids`)
  })

  test('JWKS down: cached keys still verify new tokens; an unknown key is a 503, not a 401', async () => {
    jwks.failing = true
    const before = jwks.fetches
    try {
      // Past the 400 ms cache age (a wait for the gateway's own clock, not a race), verifying a token makes the
      // gateway refetch, which fails: the cached keys still answer.
      await new Promise((resolve) => setTimeout(resolve, 450))
      const response = await call(await signWith(rs256, supabaseClaims({ nonce: 'new-token' })))
      assert.equal(response.status, 200)
      assert.ok(jwks.fetches > before, 'a refetch of the stale JWKS was attempted (and failed)')
      const stranger = await signingKey('never-seen', 'ES256')
      const unknown = await call(await signWith(stranger, supabaseClaims()))
      assert.equal(unknown.status, 503)
      assert.deepEqual(await unknown.json(), { detail: 'Authentication keys unavailable.' })
    } finally { jwks.failing = false }
  })

  test('with no keys ever fetched, a JWKS outage answers 503', async () => {
    const down = await startJwksServer([es256])
    down.failing = true
    const cold = await startGateway({ env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_EXTERNAL_ISSUERS: issuersEnv(down.url) } })
    try {
      const response = await fetch(`${cold.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${await signWith(es256, supabaseClaims())}` } })
      assert.equal(response.status, 503)
    } finally {
      await cold.close()
      await down.close()
    }
  })

  test('the gateway\'s own tokens still work beside the external issuer', async () => {
    assert.equal((await call(await gateway.tokenFor(user))).status, 200)
  })
})
