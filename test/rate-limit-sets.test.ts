import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { GatewayError } from '../src/errors.js'
import { LimitCounter, LimitSet, limitStore, type LimitStore } from '../src/traffic/rate-limits.js'

/** A store whose every answer is an error, as Redis gone mid-request would give. */
const unreachable = { incr: (_key: string, callback: (error: Error) => void) => { callback(new Error('store down')) } } as unknown as LimitStore

function countOnce (set: LimitSet, keys: string[]): { error: GatewayError | undefined, headers: Record<string, string> | undefined } {
  let outcome: { error: GatewayError | undefined, headers: Record<string, string> | undefined } | undefined
  set.count(keys, (error, headers) => { outcome = { error, headers } })
  assert.ok(outcome, 'the in-memory store answers before count returns')
  return outcome
}

describe('a set of rate limits counted together', () => {
  const ignore = (): void => undefined

  test('sends the draft-10 headers of every limit, quota and window from the policy, remaining from the count', () => {
    const store = limitStore(undefined)
    const set = new LimitSet([
      new LimitCounter({ name: 'user', max: 3, windowMs: 60_000, failOpen: true }, store, ignore),
      new LimitCounter({ name: 'company', max: 10, windowMs: 90_500, failOpen: true }, store, ignore),
    ])
    const { error, headers } = countOnce(set, ['u1', 'c1'])
    assert.equal(error, undefined)
    assert.equal(headers?.['ratelimit-policy'], '"user";q=3;w=60, "company";q=10;w=91')
    assert.match(headers?.ratelimit ?? '', /^"user";r=2;t=60, "company";r=9;t=91$/)
  })

  test('leaves out of both headers a limit whose store failed open, and keeps the one that was counted', () => {
    const set = new LimitSet([
      new LimitCounter({ name: 'user', max: 3, windowMs: 60_000, failOpen: true }, unreachable, ignore),
      new LimitCounter({ name: 'company', max: 10, windowMs: 60_000, failOpen: true }, limitStore(undefined), ignore),
    ])
    const { error, headers } = countOnce(set, ['u1', 'c1'])
    assert.equal(error, undefined)
    assert.deepEqual(headers, { 'ratelimit-policy': '"company";q=10;w=60', ratelimit: '"company";r=9;t=60' })
  })

  test('answers 429 with the headers and the longest reset of the limits exceeded', () => {
    const set = new LimitSet([new LimitCounter({ name: 'user', max: 1, windowMs: 60_000, failOpen: true }, limitStore(undefined), ignore)])
    assert.equal(countOnce(set, ['u1']).error, undefined)
    const { error, headers } = countOnce(set, ['u1'])
    assert.equal(error?.statusCode, 429)
    assert.equal(error?.headers?.['retry-after'], '60')
    assert.equal(error?.headers?.ratelimit, '"user";r=0;t=60')
    assert.equal(headers?.['ratelimit-policy'], '"user";q=1;w=60')
  })
})
