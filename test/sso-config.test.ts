import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { ConfigError, describeConfig, loadConfig } from '../src/config.js'
import { SecretBox } from '../src/sso/secret-box.js'
import { TEST_JWT_SECRET } from './helpers/gateway.js'

const KEY = randomBytes(32).toString('base64')
const POSTGRES = { GATEWAY_POSTGRES_SERVER: 'db.internal', GATEWAY_JWT_SECRET: TEST_JWT_SECRET }
const SSO = { GATEWAY_PUBLIC_URL: 'https://api.example.com', GATEWAY_SSO_FRONTEND_URL: 'https://app.example.com/sso/done', GATEWAY_CORS_ORIGINS: 'https://app.example.com' }

describe('single sign-on configuration', () => {
  test('SSO on: the callback URL derives from GATEWAY_PUBLIC_URL; the key is never described', () => {
    const config = loadConfig({ ...POSTGRES, ...SSO, GATEWAY_SSO_ENCRYPTION_KEY: KEY })
    assert.equal(config.sso.callbackUrl, 'https://api.example.com/api/v1/users/sso/callback')
    assert.equal(config.sso.frontendUrl, 'https://app.example.com/sso/done')
    assert.equal(config.sso.allowHttpIssuers, false)
    assert.ok(!JSON.stringify(describeConfig(config)).includes(KEY))
  })

  test('a frontend whose origin is not an allowed CORS origin stops startup', () => {
    assert.throws(() => loadConfig({ ...POSTGRES, ...SSO, GATEWAY_CORS_ORIGINS: '', GATEWAY_SSO_ENCRYPTION_KEY: KEY }),
      (error: Error) => error instanceof ConfigError && /GATEWAY_SSO_FRONTEND_URL: its origin https:\/\/app.example.com must be an allowed CORS origin/.test(error.message))
  })

  test('SSO without GATEWAY_PUBLIC_URL, or on PostgreSQL without a key, stops startup', () => {
    assert.throws(() => loadConfig({ ...POSTGRES, ...SSO, GATEWAY_PUBLIC_URL: '', GATEWAY_SSO_ENCRYPTION_KEY: KEY }), /GATEWAY_PUBLIC_URL: required/)
    assert.throws(() => loadConfig({ ...POSTGRES, ...SSO }), /GATEWAY_SSO_ENCRYPTION_KEY: required/)
    assert.doesNotThrow(() => loadConfig({ ...SSO }), 'the embedded database may generate its key')
  })

  test('a key that is not 32 bytes of base64 or hex stops startup', () => {
    for (const bad of ['short', randomBytes(16).toString('base64'), randomBytes(33).toString('hex'), 'z'.repeat(64)]) {
      assert.throws(() => loadConfig({ ...POSTGRES, GATEWAY_SSO_ENCRYPTION_KEY: bad }), /GATEWAY_SSO_ENCRYPTION_KEY: expected 32 random bytes/, bad)
    }
    assert.doesNotThrow(() => loadConfig({ ...POSTGRES, GATEWAY_SSO_ENCRYPTION_KEY: randomBytes(32).toString('hex') }))
  })
})

describe('sealed secrets', () => {
  const box = new SecretBox(randomBytes(32))

  test('open what was sealed, for the same record only', async () => {
    const sealed = await box.seal('client-secret', 'company-a')
    assert.equal(await box.open(sealed, 'company-a'), 'client-secret')
    await assert.rejects(box.open(sealed, 'company-b'), /another record/)
  })

  test('another key, or an altered value, does not open', async () => {
    const sealed = await box.seal('client-secret', 'company-a')
    await assert.rejects(new SecretBox(randomBytes(32)).open(sealed, 'company-a'))
    const parts = sealed.split('.')
    const tampered = [...parts.slice(0, 3), Buffer.from('client-secreT').toString('base64url'), parts[4]].join('.')
    await assert.rejects(box.open(tampered, 'company-a'))
  })
})
