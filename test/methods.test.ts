import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { request } from 'undici'
import { startGateway, type TestGateway } from './helpers/gateway.js'

describe('methods', () => {
  let gateway: TestGateway

  before(async () => { gateway = await startGateway() })
  after(async () => { await gateway?.close() })

  test('wrong methods on the gateway\'s own routes are 405 with Allow (RFC 9110 §15.5.6); unknown paths stay 404', async () => {
    const answer = async (method: string, path: string, headers: Record<string, string> = {}) => {
      const response = await request(`${gateway.url}${path}`, { method: method as 'GET', headers })
      return { status: response.statusCode, allow: response.headers.allow, body: method === 'HEAD' ? '' : await response.body.text() }
    }
    assert.deepEqual(await answer('TRACE', '/health'), { status: 405, allow: 'GET, HEAD', body: '{"detail":"Method Not Allowed"}' })
    assert.deepEqual(await answer('GET', '/api/v1/users/login'), { status: 405, allow: 'POST', body: '{"detail":"Method Not Allowed"}' })
    assert.equal((await answer('HEAD', '/api/v1/users/login')).allow, 'POST')
    // A JSON content type with no body must not turn the 405 into a 422.
    assert.equal((await answer('DELETE', '/api/v1/admin/companies', { 'content-type': 'application/json' })).status, 405)
    assert.equal((await answer('PUT', '/api/v1/admin/users/by_company/5b1c2d47-6a0b-4f7e-9a51-0d2a8c3e4f60')).allow, 'GET, HEAD')
    assert.equal((await answer('POST', '/openapi.json')).status, 405)
    for (const path of ['/nope', '/api/v1/users/nope', '/healthz']) {
      assert.deepEqual(await answer('GET', path), { status: 404, allow: undefined, body: '{"detail":"Not Found"}' })
    }
  })
})
