import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { newApiKey, parseApiKey } from '../src/auth/api-key-format.js'

describe('API key format (pure)', () => {
  test('a new key has the scanner-friendly shape and parses back to its id and secret', () => {
    const key = newApiKey('0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0')
    assert.match(key.text, /^atx_0f1e2d3c4b5a49688776a5b4c3d2e1f0_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$/)
    assert.deepEqual(parseApiKey(key.text), { id: key.id, secret: key.secret })
  })

  test('property: any one-character typo breaks the checksum (or the shape)', () => {
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
    fc.assert(fc.property(fc.nat(85), fc.nat(61), (position, replacement) => {
      const { text } = newApiKey()
      const at = 4 + (position % (text.length - 4))
      const swapped = alphabet[replacement] as string
      if (text[at] === swapped || text[at] === '_') return true
      return parseApiKey(text.slice(0, at) + swapped + text.slice(at + 1)) === null
    }), { numRuns: 2000 })
  })

  test('other prefixes, lengths and characters are not keys', () => {
    const { text } = newApiKey()
    for (const other of [text.replace('atx_', 'atk_'), `${text}0`, text.slice(0, -1), text.replace(/_/g, '-'), '', 'atx_']) assert.equal(parseApiKey(other), null, other)
  })
})
