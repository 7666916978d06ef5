import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { upstreamRequestHeaders, clientResponseHeaders, type ForwardContext } from '../src/dataplane/forward-headers.js'
import { upstreamTarget } from '../src/dataplane/path-safety.js'
import { upstreamFailure } from '../src/upstream/upstream-errors.js'
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

  test('property: random dot, slash and percent mixes never resolve outside the prefix', () => {
    const piece = fc.constantFrom('..', '.', '%2e', '%2E', '%2e%2e', '.%2e', '%2E.', 'a', 'b%20c', '%2f', '%2F', '%5c', '\\', '%00', '%252e', '%252f', '', '%', '%zz', '..;', '%c0%ae')
    fc.assert(fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), fc.constantFrom('', '?q=../../x'), (segments, query) => {
      const path = `/api/v1/query/${segments.join('/')}${query}`
      let forwarded: string
      try {
        forwarded = target(path)
      } catch (error) {
        return error instanceof GatewayError && error.statusCode === 400
      }
      const pathname = forwarded.split('?')[0] as string
      // What an upstream that decodes once and then resolves dot segments would serve.
      const resolved = new URL(decodeURIComponent(pathname).replace(/\\/g, '/'), 'http://upstream').pathname
      return resolved === '/api/v1' || resolved.startsWith('/api/v1/')
    }), { numRuns: 3000 })
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
    peerIp: '10.0.0.1',
    protocol: 'https',
    host: 'gw.example',
    behindProxy: true,
    traceparent: '00-11111111111111111111111111111111-2222222222222222-01',
    identity: { userId: 'u', companyId: 'c', email: 'e@x', roles: ['user', 'admin'], authType: 'user', localUser: true, scopes: null, rateLimitPerMinute: null, sessionId: null, expiresAt: 0 },
    forwardCredentials: false,
  }

  test('property: no client-chosen identity header survives, whatever the names, cases and Connection list', () => {
    const identityName = fc.tuple(fc.constantFrom('x-user-', 'x-company-', 'x-gateway-'), fc.stringMatching(/^[a-z0-9-]{0,12}$/))
      .map(([prefix, rest]) => prefix + rest)
    const otherName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/)
    const headers = fc.dictionary(fc.oneof(identityName, otherName), fc.constant('client-value'), { maxKeys: 12 })
    fc.assert(fc.property(headers, fc.subarray(['keep-alive', 'x-forwarded-for', 'via', 'x-user-id', 'x-custom']), (incoming, nominated) => {
      const out = upstreamRequestHeaders({ ...incoming, connection: nominated.join(', ') }, context)
      for (const [name, value] of Object.entries(out)) {
        const lower = name.toLowerCase()
        const identity = lower.startsWith('x-user-') || lower.startsWith('x-company-') || lower.startsWith('x-gateway-')
        if (identity && value === 'client-value') return false
        if (nominated.includes(lower) && value === 'client-value') return false
      }
      return out['x-user-id'] === 'u' && out['x-company-id'] === 'c'
    }), { numRuns: 2000 })
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
    const raw = [
      'Connection', 'close, x-internal',
      'X-Internal', '1',
      'Keep-Alive', 'timeout=5',
      'Transfer-Encoding', 'chunked',
      'Access-Control-Allow-Origin', '*',
      'Content-Type', 'text/plain',
      'Set-Cookie', 'a=1',
      'Set-Cookie', 'b=2',
    ].map((field) => Buffer.from(field, 'latin1'))
    assert.deepEqual(clientResponseHeaders(raw), ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'])
  })

  test('the gateway\'s headers replace the upstream\'s of the same name; Vary fields are merged into one, each name once', () => {
    const raw = ['vary', 'Accept-Encoding', 'X-Request-ID', 'upstream-id', 'RateLimit', 'upstream', 'Vary', 'origin, Accept'].map((field) => Buffer.from(field))
    assert.deepEqual(clientResponseHeaders(raw, { vary: 'Origin', 'x-request-id': 'ours', ratelimit: '"user";r=5;t=60', 'x-count': 3, skipped: undefined }),
      ['vary', 'Accept-Encoding, origin, Accept', 'x-request-id', 'ours', 'ratelimit', '"user";r=5;t=60', 'x-count', '3'])
    assert.deepEqual(clientResponseHeaders([], { vary: 'Origin' }), ['vary', 'Origin'])
  })

  test('header bytes are relayed as they came (latin1 in, latin1 out)', () => {
    const value = Buffer.from('attachment; filename="caf\u00e9.txt"', 'utf8')
    const [, relayed] = clientResponseHeaders([Buffer.from('content-disposition'), value])
    assert.deepEqual(Buffer.from(relayed ?? '', 'latin1'), value)
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
