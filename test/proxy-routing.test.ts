import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { backends } from './helpers/databases.js'
import { jsonOf as json, rawRequest as raw } from './helpers/http.js'
import { startGateway } from './helpers/gateway.js'
import { startProxyWorld, type ProxyWorld } from './helpers/proxy-world.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import type { TestGateway, TestUser } from './helpers/gateway.js'

// Where a proxied request goes and what it carries, on both databases: the first request of a token is
// verified and its user looked up, the next ones are served from the caches.
for (const { backend, skip } of await backends()) {
  describe(`reverse proxy routing and headers [${backend}]`, { skip }, () => {
    let world: ProxyWorld
    let ingest: StandInUpstream
    let query: StandInUpstream
    let gateway: TestGateway
    let user: TestUser
    let auth: { authorization: string }

    before(async () => {
      world = await startProxyWorld(backend)
      ;({ ingest, query, gateway, user, auth } = world)
    })
    after(async () => { await world.close() })

    test('path and query string reach the ingest service byte for byte', async () => {
      const path = '/api/v1/ingest/status/a%20b/%C3%A9?x=1&y=%2F&z&z=2&empty='
      const response = await raw(gateway.url, path, { headers: auth })
      assert.equal(response.status, 200)
      assert.equal(ingest.last().url, path)
    })

    test('the query prefix is rewritten to the query service\'s /api/v1', async () => {
      await raw(gateway.url, '/api/v1/query/chats/7/messages?limit=5', { headers: auth })
      assert.equal(query.last().url, '/api/v1/chats/7/messages?limit=5')
      await raw(gateway.url, '/api/v1/query/ask', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.from('{"q":1}') })
      assert.equal(query.last().url, '/api/v1/ask')
      assert.equal(query.last().body.toString(), '{"q":1}')
    })

    test('documents/stats goes to the ingest service\'s stats with the original query string', async () => {
      await raw(gateway.url, '/api/v1/documents/stats?from=2024-01-01&status=done', { headers: auth })
      assert.equal(ingest.last().url, '/api/v1/ingest/stats?from=2024-01-01&status=done')
    })

    test('every method is carried, DELETE with its body', async () => {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const body = ['GET', 'HEAD', 'OPTIONS'].includes(method) ? undefined : Buffer.from('{"ids":["a","b"]}')
        const response = await raw(gateway.url, '/api/v1/ingest/bulk', { method, headers: { ...auth, 'content-type': 'application/json' }, body })
        assert.equal(response.status, 200, method)
        assert.equal(ingest.last().method, method)
        if (body) assert.equal(ingest.last().body.toString(), body.toString())
      }
    })

    test('client-sent identity headers and Connection-nominated headers never reach the upstream', async () => {
      const response = await raw(gateway.url, '/api/v1/ingest/headers', {
        headers: {
          ...auth,
          'X-User-ID': 'attacker',
          'x-COMPANY-id': '00000000-0000-0000-0000-000000000000',
          'X-User-Email': 'evil@example.com',
          'X-User-Roles': 'admin',
          'X-Gateway-Trusted': 'yes',
          'X-Company-Anything': 'z',
          Connection: 'keep-alive, X-Custom-Secret, x-forwarded-for',
          'X-Custom-Secret': 'hidden',
          'Keep-Alive': 'timeout=5',
          TE: 'trailers',
          'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
          'Proxy-Connection': 'keep-alive',
          Cookie: 'session=abc',
          'X-Forwarded-For': '6.6.6.6',
          'X-Request-ID': 'client-request-1',
          'X-Kept': 'kept',
        },
      })
      assert.equal(response.status, 200)
      const seen = ingest.last()
      const names = seen.rawHeaders.filter((_v, i) => i % 2 === 0).map((name) => name.toLowerCase())
      for (const name of ['x-custom-secret', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'x-gateway-trusted', 'x-company-anything', 'cookie', 'authorization']) {
        assert.ok(!names.includes(name), `${name} was forwarded`)
      }
      for (const name of ['x-user-id', 'x-company-id', 'x-user-email', 'x-user-roles', 'x-request-id', 'x-forwarded-for', 'via']) {
        assert.equal(names.filter((n) => n === name).length, 1, `${name} should appear exactly once`)
      }
      assert.equal(seen.headers['x-user-id'], user.id)
      assert.equal(seen.headers['x-company-id'], user.companyId)
      assert.equal(seen.headers['x-user-email'], user.email)
      assert.equal(seen.headers['x-user-roles'], 'user')
      assert.equal(seen.headers['x-request-id'], 'client-request-1')
      // X-Forwarded-For was nominated by Connection, so the client's value is dropped, not appended to.
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
      assert.equal(seen.headers['x-kept'], 'kept')
      assert.equal(seen.headers.via, '1.1 atenex-gateway')
      assert.match(String(seen.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      assert.equal(seen.headers['x-forwarded-proto'], 'http')
    })

    test('an incoming traceparent is continued with a new parent span', async () => {
      const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
      await raw(gateway.url, '/api/v1/ingest/trace', { headers: { ...auth, traceparent: incoming } })
      const forwarded = String(ingest.last().headers.traceparent)
      assert.match(forwarded, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/)
      assert.notEqual(forwarded, incoming)
    })

    test('paths that escape their prefix once decoded are refused with 400', async () => {
      const before = ingest.received.length
      for (const path of [
        '/api/v1/ingest/..%2f..%2fusers', '/api/v1/ingest/%2e%2e/%2e%2e/admin', '/api/v1/ingest/../../users',
        '/api/v1/ingest/a/%2E%2E/%2E%2E/x', '/api/v1/query/../ingest/x', '/api/v1/ingest/a%00b', '/api/v1/ingest/a%5c..%5c..',
        '/api/v1/ingest/%252e%252e/x', '/api/v1/ingest/a%2Fb',
      ]) {
        const response = await raw(gateway.url, path, { headers: auth })
        assert.equal(response.status, 400, path)
        assert.deepEqual(json(response), { detail: 'Invalid request path.' })
      }
      assert.equal(ingest.received.length, before, 'no refused path reached the upstream')
      const inside = await raw(gateway.url, '/api/v1/ingest/a/../b', { headers: auth })
      assert.equal(inside.status, 200, 'dot segments that stay inside the prefix are carried')
    })

    test('an absolute-form request target never changes the upstream host', async () => {
      const response = await raw(gateway.url, 'http://evil.example/api/v1/ingest/x', { headers: auth })
      assert.ok([400, 404].includes(response.status), `answered ${response.status}`)
    })

    test('X-Request-ID: a safe incoming id is kept, anything else replaced; X-Process-Time on every response', async () => {
      const kept = await raw(gateway.url, '/', { headers: { 'x-request-id': 'abc-123.def:9_z' } })
      assert.equal(kept.headers['x-request-id'], 'abc-123.def:9_z')
      assert.match(String(kept.headers['x-process-time']), /^\d+\.\d{2}ms$/)
      for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '<script>']) {
        const replaced = await raw(gateway.url, '/nowhere', { headers: { 'x-request-id': bad } })
        assert.equal(replaced.status, 404)
        assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/)
        assert.match(String(replaced.headers['x-process-time']), /ms$/)
      }
      const error = await raw(gateway.url, '/api/v1/ingest/x')
      assert.equal(error.status, 401)
      assert.ok(error.headers['x-request-id'])
      assert.ok(error.headers['x-process-time'])
    })

    test('no Authorization value, cookie or token ever reaches the log', async () => {
      const token = auth.authorization.slice('Bearer '.length)
      await raw(gateway.url, '/api/v1/ingest/logged?ticket=secret-query', { headers: { ...auth, cookie: 'session=cookie-secret' } })
      assert.ok(gateway.logs.lines.length > 0)
      assert.ok(!gateway.logs.text.includes(token), 'the bearer token was logged')
      assert.ok(!gateway.logs.text.includes('cookie-secret'), 'a cookie was logged')
      assert.ok(!gateway.logs.text.includes('secret-query'), 'the query string was logged')
      const access = gateway.logs.entries.find((entry) => entry.path === '/api/v1/ingest/logged')
      assert.ok(access, 'an access-log line for the request')
      assert.equal(access.status, 200)
      assert.equal(access.user_id, user.id)
      assert.equal(access.company_id, user.companyId)
      assert.equal(access.upstream, 'ingest')
      assert.equal(typeof access.request_id, 'string')
    })

    // Last of the suite: what a backend that trusts no network would check, for every request it was sent.
    test('every request the upstreams received carried an X-Atenex-Identity they verify against /.well-known/jwks.json', async () => {
      const jwks = createRemoteJWKSet(new URL(`${gateway.url}/.well-known/jwks.json`))
      let verified = 0
      for (const [audience, seen] of [['ingest', ingest.received], ['query', query.received]] as const) {
        for (const received of seen.filter((r) => r.headers['x-user-id'] !== undefined)) {
          const assertion = String(received.headers['x-atenex-identity'])
          const { payload } = await jwtVerify(assertion, jwks, { issuer: 'atenex-gateway', audience })
          assert.equal(payload.sub, received.headers['x-user-id'])
          assert.equal(payload.company_id, received.headers['x-company-id'])
          assert.equal(payload.auth_type, 'user')
          verified++
        }
      }
      assert.ok(verified > 10, `${verified} requests verified`)
    })
  })

  describe(`the auth prefix [${backend}]`, { skip }, () => {
    test('the auth prefix answers 404 when no auth service is configured, and proxies without auth when one is', async () => {
      const plain = await startGateway({ backend })
      try {
        const missing = await raw(plain.url, '/api/v1/auth/login', { method: 'POST' })
        assert.equal(missing.status, 404)
        assert.deepEqual(json(missing), { detail: 'Not Found' })
      } finally { await plain.close() }
      const authService = await startUpstream()
      const withAuth = await startGateway({ backend, env: { GATEWAY_AUTH_SERVICE_URL: authService.url } })
      try {
        const response = await raw(withAuth.url, '/api/v1/auth/token?x=1', { method: 'POST', headers: { authorization: 'Basic abc', 'x-user-id': 'spoof' }, body: Buffer.from('{}') })
        assert.equal(response.status, 200)
        assert.equal(authService.last().url, '/api/v1/auth/token?x=1')
        assert.equal(authService.last().headers.authorization, 'Basic abc', 'the auth service sees the client\'s own credentials')
        assert.equal(authService.last().headers['x-user-id'], undefined, 'but no identity header')
      } finally {
        await withAuth.close()
        await authService.close()
      }
    })
  })
}
