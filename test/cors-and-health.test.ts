import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

for (const { backend, skip } of await backends()) {
  describe(`CORS, banner and health [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let upstream: StandInUpstream

    before(async () => {
      upstream = await startUpstream()
      gateway = await startGateway({
        backend,
        env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_CORS_ORIGINS: 'https://app.example', GATEWAY_PROJECT_NAME: 'Test Gateway' },
      })
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    const preflight = async (origin: string): Promise<Response> => fetch(`${gateway.url}/api/v1/ingest/upload`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    })

    test('a preflight from an allowed origin is answered by the gateway, without authentication', async () => {
      for (const origin of ['http://localhost:3000', 'https://app.example']) {
        const received = upstream.received.length
        const response = await preflight(origin)
        assert.equal(response.status, 204)
        assert.equal(response.headers.get('access-control-allow-origin'), origin)
        assert.equal(response.headers.get('access-control-allow-credentials'), 'true')
        assert.equal(response.headers.get('access-control-allow-methods'), 'GET, POST, PUT, DELETE, PATCH, OPTIONS')
        assert.match(response.headers.get('access-control-allow-headers') ?? '', /Authorization, Content-Type, .*X-Request-ID, X-User-ID, X-Company-ID/)
        assert.equal(response.headers.get('access-control-max-age'), '600')
        assert.ok(response.headers.get('x-request-id'))
        assert.equal(upstream.received.length, received, 'the preflight did not reach the upstream')
      }
    })

    test('a disallowed origin gets no CORS headers at all', async () => {
      const response = await preflight('https://evil.example')
      assert.equal(response.headers.get('access-control-allow-origin'), null)
      assert.equal(response.headers.get('access-control-allow-credentials'), null)
      assert.notEqual(response.status, 204)
      const simple = await fetch(`${gateway.url}/`, { headers: { origin: 'https://evil.example' } })
      assert.equal(simple.headers.get('access-control-allow-origin'), null)
    })

    test('actual responses to an allowed origin expose the request id and timing', async () => {
      const response = await fetch(`${gateway.url}/`, { headers: { origin: 'http://127.0.0.1:3001' } })
      assert.equal(response.headers.get('access-control-allow-origin'), 'http://127.0.0.1:3001')
      assert.equal(response.headers.get('access-control-expose-headers'), 'X-Request-ID, X-Process-Time')
      assert.match(response.headers.get('vary') ?? '', /Origin/)
    })

    test('GET / names the project', async () => {
      const response = await fetch(`${gateway.url}/`)
      assert.deepEqual(await response.json(), { message: 'Test Gateway is running!' })
    })

    test('health: healthy with both checks, live without dependencies, unhealthy while draining', async () => {
      const health = await fetch(`${gateway.url}/health`)
      assert.equal(health.status, 200)
      assert.deepEqual(await health.json(), { status: 'healthy', service: 'Test Gateway', checks: { database_connection: 'ok', http_client: 'ok' } })
      assert.equal((await fetch(`${gateway.url}/health/ready`)).status, 200)
      const live = await fetch(`${gateway.url}/health/live`)
      assert.equal(live.status, 200)

      const queriesBefore = gateway.app.gateway.db.queryCount
      for (let i = 0; i < 20; i++) await fetch(`${gateway.url}/health`)
      assert.ok(gateway.app.gateway.db.queryCount - queriesBefore <= 1, 'health checks are cached, not one query per probe')

      gateway.app.gateway.health.startDraining()
      const draining = await fetch(`${gateway.url}/health/ready`)
      assert.equal(draining.status, 503)
      assert.equal((await draining.json() as { status: string }).status, 'unhealthy')
      assert.equal((await fetch(`${gateway.url}/health/live`)).status, 200)
    })

    test('unknown routes: 404 in the seeds\' shape', async () => {
      const response = await fetch(`${gateway.url}/api/v2/nothing`)
      assert.equal(response.status, 404)
      assert.deepEqual(await response.json(), { detail: 'Not Found' })
    })
  })
}
