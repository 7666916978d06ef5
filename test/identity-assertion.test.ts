import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

/** A backend's check, as the README's example does it: the gateway's JWKS, our issuer, this backend's name. */
async function backendAccepts (gatewayUrl: string, assertion: string, audience: string): Promise<boolean> {
  try {
    await jwtVerify(assertion, createRemoteJWKSet(new URL(`${gatewayUrl}/.well-known/jwks.json`)), { issuer: 'atenex-gateway', audience })
    return true
  } catch {
    return false
  }
}

for (const { backend, skip } of await backends()) {
  describe(`the identity backends can verify (X-Atenex-Identity) [${backend}]`, { skip }, () => {
    let ingest: StandInUpstream
    let query: StandInUpstream
    let gateway: TestGateway
    let user: TestUser

    before(async () => {
      ingest = await startUpstream()
      query = await startUpstream()
      gateway = await startGateway({ backend, env: { GATEWAY_INGEST_SERVICE_URL: ingest.url, GATEWAY_QUERY_SERVICE_URL: query.url } })
      user = await gateway.user({ companyId: (await gateway.company()).id, roles: ['user', 'admin'] })
    })
    after(async () => {
      await gateway.close()
      await ingest.close()
      await query.close()
    })

    const get = async (path: string, token: string): Promise<void> => {
      assert.equal((await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status, 200)
    }

    test('a short-lived EdDSA JWT naming the user, company, roles and this upstream, with a kid published in the JWKS', async () => {
      await get('/api/v1/ingest/status', await gateway.tokenFor(user))
      const assertion = String(ingest.last().headers['x-atenex-identity'])
      const header = decodeProtectedHeader(assertion)
      assert.equal(header.alg, 'EdDSA')
      const claims = decodeJwt(assertion)
      assert.equal(claims.iss, 'atenex-gateway')
      assert.equal(claims.aud, 'ingest')
      assert.equal(claims.sub, user.id)
      assert.equal(claims.company_id, user.companyId)
      assert.deepEqual(claims.roles, ['user', 'admin'])
      assert.equal(claims.auth_type, 'user')
      assert.equal((claims.exp as number) - (claims.iat as number), 60)
      assert.equal(typeof claims.jti, 'string')
      const jwks = await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json() as { keys: { kid: string, d?: string }[] }
      assert.ok(jwks.keys.some((key) => key.kid === header.kid))
      assert.ok(jwks.keys.every((key) => key.d === undefined), 'no private part is published')
      assert.equal(await backendAccepts(gateway.url, assertion, 'ingest'), true)
    })

    test('a backend refuses an assertion meant for another one, a forged one, and one for the route the gateway did not sign', async () => {
      await get('/api/v1/ingest/status', await gateway.tokenFor(user))
      const forIngest = String(ingest.last().headers['x-atenex-identity'])
      assert.equal(await backendAccepts(gateway.url, forIngest, 'query'), false, 'replayed to the query service')
      const { privateKey } = await generateKeyPair('EdDSA')
      const kid = decodeProtectedHeader(forIngest).kid as string
      const forged = await new SignJWT({ company_id: user.companyId }).setProtectedHeader({ alg: 'EdDSA', kid }).setIssuer('atenex-gateway').setAudience('query')
        .setSubject(user.id).setIssuedAt().setExpirationTime('1m').sign(privateKey)
      assert.equal(await backendAccepts(gateway.url, forged, 'query'), false, 'signed by anyone else')
      const [head, body] = forIngest.split('.')
      const tampered = `${head}.${Buffer.from(JSON.stringify({ ...decodeJwt(forIngest), sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url')}.${forIngest.split('.')[2]}`
      assert.ok(body !== undefined)
      assert.equal(await backendAccepts(gateway.url, tampered, 'ingest'), false, 'a changed subject')
      await get('/api/v1/query/chats', await gateway.tokenFor(user))
      assert.equal(await backendAccepts(gateway.url, String(query.last().headers['x-atenex-identity']), 'query'), true)
    })

    test('one assertion is reused for the same identity and upstream, never across users or upstreams', async () => {
      const token = await gateway.tokenFor(user)
      await get('/api/v1/ingest/a', token)
      await get('/api/v1/ingest/b', token)
      const [first, second] = ingest.received.slice(-2).map((r) => String(r.headers['x-atenex-identity']))
      assert.equal(first, second)
      const other = await gateway.user({ companyId: user.companyId })
      await get('/api/v1/ingest/c', await gateway.tokenFor(other))
      assert.notEqual(String(ingest.last().headers['x-atenex-identity']), first)
      await get('/api/v1/documents/stats', token)
      assert.equal(decodeJwt(String(ingest.last().headers['x-atenex-identity'])).aud, 'ingest', 'documents/stats is the ingest service too')
    })

    test('an API key\'s assertion is reused too: one signature per key and upstream, not one per request', async () => {
      const admin = await gateway.tokenFor(user)
      const created = await fetch(`${gateway.url}/api/v1/admin/companies/${user.companyId as string}/api-keys`, {
        method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'sync', scopes: ['ingest:read'] }),
      })
      const { key } = await created.json() as { key: string }
      for (const path of ['/api/v1/ingest/k1', '/api/v1/ingest/k2', '/api/v1/ingest/k3']) await get(path, key)
      const assertions = ingest.received.slice(-3).map((r) => String(r.headers['x-atenex-identity']))
      assert.equal(new Set(assertions).size, 1, 'the same assertion for three requests of one key')
      assert.equal(decodeJwt(assertions[0] as string).auth_type, 'api_key')
    })

    test('a client cannot send its own X-Atenex-Identity', async () => {
      await fetch(`${gateway.url}/api/v1/ingest/own`, { headers: { authorization: `Bearer ${await gateway.tokenFor(user)}`, 'x-atenex-identity': 'forged' } })
      const names = ingest.last().rawHeaders.filter((_v, i) => i % 2 === 0).filter((name) => name.toLowerCase() === 'x-atenex-identity')
      assert.equal(names.length, 1)
      assert.notEqual(ingest.last().headers['x-atenex-identity'], 'forged')
    })
  })

  describe(`signing key rotation [${backend}]`, { skip }, () => {
    test('with the old public key still published, assertions signed by either key verify', async () => {
      const upstream = await startUpstream()
      const pem = (): { privateKey: string, publicKey: string } => generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
      const [oldKey, newKey] = [pem(), pem()]
      const env = { GATEWAY_INGEST_SERVICE_URL: upstream.url }
      const before = await startGateway({ backend, env: { ...env, GATEWAY_IDENTITY_SIGNING_KEY: oldKey.privateKey } })
      const company = await before.company()
      const member = await before.user({ companyId: company.id })
      await fetch(`${before.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${await before.tokenFor(member)}` } })
      const signedByOld = String(upstream.last().headers['x-atenex-identity'])
      await before.close()
      const after = await startGateway({ backend, env: { ...env, GATEWAY_IDENTITY_SIGNING_KEY: newKey.privateKey, GATEWAY_IDENTITY_PREVIOUS_KEYS: oldKey.publicKey } })
      try {
        const again = await after.user({ companyId: (await after.company()).id })
        await fetch(`${after.url}/api/v1/ingest/y`, { headers: { authorization: `Bearer ${await after.tokenFor(again)}` } })
        const signedByNew = String(upstream.last().headers['x-atenex-identity'])
        assert.notEqual(decodeProtectedHeader(signedByNew).kid, decodeProtectedHeader(signedByOld).kid)
        assert.equal(await backendAccepts(after.url, signedByOld, 'ingest'), true, 'in-flight assertions of the old key')
        assert.equal(await backendAccepts(after.url, signedByNew, 'ingest'), true)
      } finally {
        await after.close()
        await upstream.close()
      }
    })
  })
}
