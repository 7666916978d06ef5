import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import pino from 'pino'
import { loggerOptions } from '../src/observability/logger.js'
import { accessLine, accessLog, type AccessEntry } from '../src/observability/request-log.js'

const entry: AccessEntry = {
  requestId: 'f3c1a2b4-1234-4abc-9def-0123456789ab',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  method: 'POST',
  url: '/api/v1/query/ask?ticket=secret-ticket',
  route: '/api/v1/query/ask',
  status: 200,
  elapsedMs: 12.34567,
  identity: { userId: 'aaaaaaaa-1234-4abc-9def-0123456789ab', companyId: 'bbbbbbbb-1234-4abc-9def-0123456789ab' },
  upstream: { name: 'query', latencyMs: 10.005 },
  clientIp: '203.0.113.7',
  userAgent: 'curl/8.5.0',
  requestBytes: 42,
  responseBytes: 1234,
  errorCode: undefined,
}

/** What pino itself writes for `fields` with the gateway's options: the shape every other log line has. */
function pinoLine (fields: Record<string, unknown>, message: string): Record<string, unknown> {
  const lines: string[] = []
  pino(loggerOptions({ logLevel: 'info', projectName: 'atenex' }), { write: (line: string) => { lines.push(line) } }).info(fields, message)
  return JSON.parse(lines[0] as string) as Record<string, unknown>
}

function parsedLine (value: AccessEntry, message?: string): Record<string, unknown> {
  const line = accessLine(value, message)
  assert.ok(line.endsWith('}\n'), 'one line, ended by a newline')
  assert.equal(line.indexOf('\n'), line.length - 1, 'no line break inside the line')
  return JSON.parse(line) as Record<string, unknown>
}

describe('the access line', () => {
  test('is the line pino writes for the same fields, in the same order, without the query string', () => {
    const line = parsedLine(entry)
    const expected = pinoLine({
      request_id: entry.requestId,
      trace_id: entry.traceId,
      method: 'POST',
      path: '/api/v1/query/ask',
      route: entry.route,
      status: 200,
      duration_ms: 12.35,
      client_ip: entry.clientIp,
      user_agent: 'curl/8.5.0',
      request_bytes: 42,
      response_bytes: 1234,
      user_id: entry.identity?.userId,
      company_id: entry.identity?.companyId,
      upstream: 'query',
      upstream_latency_ms: 10.01,
    }, 'request completed')
    // The timestamp is the millisecond's: both lines are written within a few of them.
    assert.ok(Math.abs(Date.parse(line.time as string) - Date.parse(expected.time as string)) < 1000)
    assert.deepEqual(Object.keys(line), Object.keys(expected))
    assert.deepEqual({ ...line, time: undefined }, { ...expected, time: undefined })
    assert.doesNotMatch(accessLine(entry), /secret-ticket/)
  })

  test('leaves out what is unknown, as pino does with undefined fields', () => {
    const line = parsedLine({ ...entry, traceId: undefined, identity: null, upstream: null, userAgent: undefined, requestBytes: undefined, responseBytes: undefined, elapsedMs: undefined, errorCode: 'CLIENT_GONE', status: 499 }, 'client closed the connection before the response completed')
    for (const absent of ['trace_id', 'user_id', 'company_id', 'upstream', 'upstream_latency_ms', 'user_agent', 'request_bytes', 'response_bytes', 'duration_ms']) {
      assert.equal(absent in line, false, `${absent} is left out`)
    }
    assert.equal(line.error_code, 'CLIENT_GONE')
    assert.equal(line.msg, 'client closed the connection before the response completed')
  })

  test('text the client chose cannot break the line or forge a field', () => {
    const hostile = '"}\n{"level":"fatal","msg":"forged\\\u2028\u0000\u00e9\u00ff\t'
    const line = parsedLine({ ...entry, url: `/api/v1/query/${hostile}?x`, userAgent: hostile, clientIp: hostile })
    assert.equal(line.user_agent, hostile)
    assert.equal(line.client_ip, hostile)
    assert.equal(line.path, `/api/v1/query/${hostile}`)
    assert.equal(line.level, 'info')
    assert.equal(line.msg, 'request completed')
  })

  test('every character, escaped or not, reads back as it was (the plain-ASCII shortcut included)', () => {
    for (let code = 0; code <= 0xffff; code += code < 0x180 ? 1 : 97) {
      const value = `a${String.fromCharCode(code)}b`
      assert.equal(parsedLine({ ...entry, userAgent: value }).user_agent, value, `U+${code.toString(16)}`)
    }
    assert.equal(parsedLine({ ...entry, userAgent: 'x\ud800y' }).user_agent, 'x\ud800y', 'a lone surrogate')
  })

  test('durations are rounded to hundredths of a millisecond', () => {
    for (const [elapsedMs, expected] of [[0, 0], [0.004, 0], [0.005, 0.01], [1.234, 1.23], [999.999, 1000], [12.34567, 12.35]] as const) {
      assert.equal(parsedLine({ ...entry, elapsedMs }).duration_ms, expected, String(elapsedMs))
    }
  })

  test('a user agent is cut at 256 characters', () => {
    assert.equal((parsedLine({ ...entry, userAgent: 'a'.repeat(5000) }).user_agent as string).length, 256)
  })

  test('is written only when the level lets INFO through, one write per line', () => {
    for (const [level, written] of [['debug', 1], ['info', 1], ['warn', 0], ['error', 0], ['fatal', 0]] as const) {
      const lines: string[] = []
      const log = accessLog(level, { write: (line: string) => { lines.push(line) } })
      log.write(entry)
      assert.equal(log.enabled, written === 1, level)
      assert.equal(lines.length, written, level)
    }
  })
})
