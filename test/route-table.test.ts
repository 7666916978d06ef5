import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig, ConfigError } from '../src/config.js'
import { loadRouteTable } from '../src/dataplane/route-table.js'
import { startGateway } from './helpers/gateway.js'
import { startUpstream } from './helpers/upstream.js'

const routesFile = (routes: unknown): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'gateway-routes-')), 'routes.json')
  writeFileSync(path, JSON.stringify(routes))
  return path
}

describe('the route table from GATEWAY_ROUTES_FILE', () => {
  test('a custom route with its own upstream, path, auth and body limit', async () => {
    const upstream = await startUpstream()
    const file = routesFile([
      { name: 'reports', path: '/api/v1/reports', upstream: upstream.url, upstreamPath: '/internal/reports', maxBodyBytes: 16 },
      { name: 'public-status', path: '/api/v1/status', exact: true, methods: ['GET'], upstream: upstream.url, upstreamPath: '/status', auth: 'none' },
    ])
    const gateway = await startGateway({ env: { GATEWAY_ROUTES_FILE: file } })
    try {
      const user = await gateway.user({ companyId: (await gateway.company()).id })
      const headers = { authorization: `Bearer ${await gateway.tokenFor(user)}` }
      assert.equal((await fetch(`${gateway.url}/api/v1/reports/q1?x=1`, { headers })).status, 200)
      assert.equal(upstream.last().url, '/internal/reports/q1?x=1')
      assert.equal(upstream.last().headers['x-user-id'], user.id)
      assert.equal((await fetch(`${gateway.url}/api/v1/reports/q1`)).status, 401, 'strict by default')
      assert.equal((await fetch(`${gateway.url}/api/v1/reports/q1`, { method: 'POST', headers, body: 'x'.repeat(17) })).status, 413)
      assert.equal((await fetch(`${gateway.url}/api/v1/status`)).status, 200)
      assert.equal(upstream.last().url, '/status')
      assert.equal((await fetch(`${gateway.url}/api/v1/ingest/x`, { headers })).status, 404, 'the file replaces the default table')
    } finally {
      await gateway.close()
      await upstream.close()
    }
  })

  test('a malformed table is a configuration error naming the setting', () => {
    for (const routes of [{ not: 'an array' }, [{ name: 'x', path: 'no-slash', upstream: 'ingest', upstreamPath: '' }], [{ name: 'x', path: '/x', upstream: 'ftp://y', upstreamPath: '' }]]) {
      const config = loadConfig({ GATEWAY_ROUTES_FILE: routesFile(routes) })
      assert.throws(() => loadRouteTable(config), (error: unknown) => error instanceof ConfigError && error.message.startsWith('GATEWAY_ROUTES_FILE'))
    }
  })
})
