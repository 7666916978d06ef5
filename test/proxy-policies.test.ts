import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { upstreamRequestHeaders, clientResponseHeaders, type ForwardContext } from '../src/proxy/forward-headers.js'
import { upstreamTarget } from '../src/proxy/path-safety.js'
import { upstreamFailure } from '../src/proxy/upstream-errors.js'
import { GatewayError } from '../src/errors.js'

describe('path safety (pure)', () => {
  const target = (url: string): string => upstreamTarget(url, '/api/v1/query', false, '/api/v1')

  test('the prefix is replaced and the rest kept byte for byte', () => {
    assert.equal(target('/api/v1/query/chats/7/messages?limit=5'), '/api/v1/chats/7/messages?limit=5')
    assert.equal(target('/api/v1/query'), '/api/v1')
    assert.equal(target('/api/v1/query?x=../../y'), '/api/v1?x=../../y', 'the query string is not a path')
    assert.equal(target('/api/v1/query/a%20b/%C3%A9'), '/api/v1/a%20b/%C3%A9')
  })

  test('a longer name sharing the prefix is not under it', () => {
    assert.throws(() => target('/api/v1/queryx/a'), GatewayError)
  })

  test('random dot, slash and percent mixes never resolve outside the prefix', () => {
    const pieces = ['..', '.', '%2e', '%2E', '%2e%2e', '.%2e', 'a', '%2f', '%5c', '\\', '%00', '%252e', '', '%', '%zz']
    let seed = 42
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
    for (let i = 0; i < 5000; i++) {
      const segments = Array.from({ length: 1 + random(5) }, () => pieces[random(pieces.length)])
      const path = `/api/v1/query/${segments.join('/')}`
      let forwarded: string
      try {
        forwarded = target(path)
      } catch (error) {
        assert.ok(error instanceof GatewayError && error.statusCode === 400)
        continue
      }
      const resolved = new URL(decodeURIComponent(forwarded), 'http://upstream').pathname
      assert.ok(resolved === '/api/v1' || resolved.startsWith('/api/v1/'), `${path} → ${forwarded} → ${resolved}`)
    }
  })

  test('exact routes take no sub-path, and the target must be origin-form', () => {
    assert.equal(upstreamTarget('/api/v1/documents/stats?a=1', '/api/v1/documents/stats', true, '/api/v1/ingest/stats'), '/api/v1/ingest/stats?a=1')
    assert.throws(() => upstreamTarget('/api/v1/documents/stats/x', '/api/v1/documents/stats', true, '/x'), GatewayError)
    assert.throws(() => target('http://evil.example/api/v1/query/x'), GatewayError)
  })
})

describe('forwarded headers (pure)', () => {
  const context: ForwardContext = {
    requestId: 'rid',
    clientIp: '10.0.0.1',
    protocol: 'https',
    traceparent: '00-11111111111111111111111111111111-2222222222222222-01',
    identity: { userId: 'u', companyId: 'c', email: 'e@x', roles: ['user', 'admin'] },
    forwardCredentials: false,
  }

  test('identity headers are ours alone, whatever the client sent', () => {
    const names = ['x-user-id', 'x-company-id', 'x-user-email', 'x-user-roles', 'x-gateway-anything', 'x-company-foo', 'x-user-']
    for (const name of names) {
      const out = upstreamRequestHeaders({ [name]: 'spoofed', connection: `close, ${name}` }, context)
      for (const [key, value] of Object.entries(out)) assert.notEqual(value, 'spoofed', `${key} carried the client's value`)
    }
    const out = upstreamRequestHeaders({}, context)
    assert.equal(out['x-user-id'], 'u')
    assert.equal(out['x-company-id'], 'c')
    assert.equal(out['x-user-roles'], 'user,admin')
  })

  test('X-Forwarded-For and Via are appended to; credentials dropped unless the route passes them', () => {
    const incoming = { 'x-forwarded-for': '1.1.1.1', via: '1.0 edge', authorization: 'Bearer t', cookie: 'a=b', host: 'gw.example' }
    const out = upstreamRequestHeaders(incoming, context)
    assert.equal(out['x-forwarded-for'], '1.1.1.1, 10.0.0.1')
    assert.equal(out.via, '1.0 edge, 1.1 atenex-gateway')
    assert.equal(out['x-forwarded-host'], 'gw.example')
    assert.equal(out.host, undefined)
    assert.equal(out.authorization, undefined)
    assert.equal(out.cookie, undefined)
    const passing = upstreamRequestHeaders(incoming, { ...context, identity: null, forwardCredentials: true })
    assert.equal(passing.authorization, 'Bearer t')
    assert.equal(passing['x-user-id'], undefined)
  })

  test('hop-by-hop and Connection-nominated response headers are not returned; CORS stays the gateway\'s', () => {
    const out = clientResponseHeaders({
      connection: 'close, x-internal',
      'x-internal': '1',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'access-control-allow-origin': '*',
      'content-type': 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
    })
    assert.deepEqual(out, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] })
  })
})

describe('upstream failure mapping (pure)', () => {
  const cases: [string, number, string][] = [
    ['ECONNREFUSED', 503, 'Could not connect to upstream service.'],
    ['ENOTFOUND', 503, 'Could not connect to upstream service.'],
    ['UND_ERR_CONNECT_TIMEOUT', 504, 'Upstream service timed out.'],
    ['UND_ERR_HEADERS_TIMEOUT', 504, 'Upstream service timed out.'],
    ['UND_ERR_BODY_TIMEOUT', 504, 'Upstream service timed out.'],
    ['ECONNRESET', 502, 'Error communicating with upstream service.'],
    ['UND_ERR_SOCKET', 502, 'Error communicating with upstream service.'],
    ['HPE_INVALID_CONSTANT', 502, 'Error communicating with upstream service.'],
  ]
  for (const [code, status, detail] of cases) {
    test(`${code} → ${status}`, () => {
      const error = Object.assign(new Error(`library says ${code} at 10.0.0.7:80`), { code })
      const mapped = upstreamFailure(error)
      assert.equal(mapped.statusCode, status)
      assert.equal(mapped.detail, detail)
    })
  }
})
