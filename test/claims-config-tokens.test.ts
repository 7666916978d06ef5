import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import pg from 'pg'
import { backends } from './helpers/databases.js'
import { signToken, startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { postJson } from './helpers/http.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

// README, "Configuration": the effect of GATEWAY_JWT_ISSUER / _AUDIENCE, _CLOCK_TOLERANCE, _EXPIRATION_MINUTES,
// GATEWAY_REFRESH_TOKEN_TTL_DAYS and GATEWAY_POSTGRES_POOL_SIZE, each set away from its default so that a
// setting that is ignored fails the test.

const ISSUER = 'https://issuer.claims.test'
const AUDIENCE = 'atenex-claims'
const now = (): number => Math.floor(Date.now() / 1000)

for (const { backend, skip } of await backends()) {
  describe(`token settings take effect [${backend}]`, { skip }, () => {
    let upstream: StandInUpstream
    let gateway: TestGateway
    let user: TestUser

    before(async () => {
      upstream = await startUpstream()
      gateway = await startGateway({
        backend,
        env: {
          GATEWAY_INGEST_SERVICE_URL: upstream.url,
          GATEWAY_JWT_ISSUER: ISSUER,
          GATEWAY_JWT_AUDIENCE: AUDIENCE,
          GATEWAY_JWT_CLOCK_TOLERANCE: '5',
          GATEWAY_JWT_EXPIRATION_MINUTES: '7',
          GATEWAY_REFRESH_TOKEN_TTL_DAYS: '3',
          GATEWAY_POSTGRES_POOL_SIZE: '2',
        },
      })
      user = await gateway.user({ companyId: (await gateway.company()).id, roles: ['admin', 'user'] })
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    const statusWith = async (claims: Record<string, unknown>): Promise<number> => {
      const token = await signToken({ sub: user.id, email: user.email, company_id: user.companyId, iat: now() - 60, ...claims })
      return (await fetch(`${gateway.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${token}` } })).status
    }
    const valid = { iss: ISSUER, aud: AUDIENCE, exp: now() + 600 }

    test('a login issues a 7-minute token naming the issuer and audience, and a refresh token stored for 3 days', async () => {
      const login = await postJson(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password })
      assert.equal(login.status, 200)
      const body = await login.json() as { access_token: string, refresh_token: string }
      const claims = decodeJwt(body.access_token)
      assert.equal(claims.iss, ISSUER)
      assert.equal(claims.aud, AUDIENCE)
      assert.equal(Number(claims.exp) - Number(claims.iat), 7 * 60)
      const proxied = await fetch(`${gateway.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${body.access_token}` } })
      assert.equal(proxied.status, 200, 'the gateway accepts what it issues')
      const hash = createHash('sha256').update(body.refresh_token).digest('hex')
      const { rows } = await gateway.app.gateway.db.query<{ days: number }>(
        'SELECT EXTRACT(EPOCH FROM expires_at - now())::float / 86400 AS days FROM gateway_refresh_tokens WHERE token_hash = $1', [hash])
      assert.equal(rows.length, 1)
      assert.ok(Math.abs(Number(rows[0]?.days) - 3) < 0.01, `the refresh token expires in ${rows[0]?.days} days`)
    })

    test('GATEWAY_JWT_ISSUER and _AUDIENCE are required: missing or other values are 401', async () => {
      assert.equal(await statusWith(valid), 200)
      assert.equal(await statusWith({ ...valid, iss: undefined }), 401, 'no iss')
      assert.equal(await statusWith({ ...valid, iss: 'https://other.issuer' }), 401, 'another iss')
      assert.equal(await statusWith({ ...valid, aud: undefined }), 401, 'no aud')
      assert.equal(await statusWith({ ...valid, aud: 'someone-else' }), 401, 'another aud')
    })

    test('GATEWAY_JWT_CLOCK_TOLERANCE=5: 2 s past exp or before nbf passes, 15 s does not (the default 30 would let it)', async () => {
      assert.equal(await statusWith({ ...valid, exp: now() - 2 }), 200, 'expired 2 s ago')
      assert.equal(await statusWith({ ...valid, exp: now() - 15 }), 401, 'expired 15 s ago')
      assert.equal(await statusWith({ ...valid, nbf: now() + 2 }), 200, 'valid in 2 s')
      assert.equal(await statusWith({ ...valid, nbf: now() + 15 }), 401, 'valid in 15 s')
    })

    if (backend === 'postgres') {
      test('GATEWAY_POSTGRES_POOL_SIZE=2: 40 concurrent database-bound requests open no more than 2 pooled connections', async () => {
        const token = (await (await postJson(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password })).json() as { access_token: string }).access_token
        const answers = await Promise.all(Array.from({ length: 40 }, async () => fetch(`${gateway.url}/api/v1/admin/stats`, { headers: { authorization: `Bearer ${token}` } })))
        assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [200])
        const database = gateway.app.gateway.config.database
        if (database.kind !== 'postgres') throw new Error('expected the PostgreSQL backend')
        const client = new pg.Client({ host: '127.0.0.1', port: Number(process.env.TEST_POSTGRES_PORT ?? 5432), user: process.env.TEST_POSTGRES_USER ?? 'postgres', database: 'postgres' })
        await client.connect()
        try {
          // Idle pooled connections stay open for pg's idle timeout (10 s): what the burst opened is still there.
          const { rows } = await client.query<{ pooled: number }>(
            "SELECT count(*)::int AS pooled FROM pg_stat_activity WHERE datname = $1 AND application_name = 'atenex-gateway' AND query NOT ILIKE 'LISTEN%'",
            [database.database])
          assert.equal(rows[0]?.pooled, 2)
        } finally { await client.end() }
      })
    }
  })
}
