import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { ConfigError, DEFAULT_INGEST_SERVICE_URL, describeConfig, loadConfig } from '../src/config.js'

const SECRET = 'k9Qz-2vLr8Tw_p4Nb7Yc1Hx5Jm3Fd6Gs0Ae'

describe('configuration', () => {
  test('defaults: the seeds\' in-cluster upstreams, port 8080, embedded database', () => {
    const config = loadConfig({})
    assert.equal(config.port, 8080)
    assert.equal(config.projectName, 'Atenex API Gateway')
    assert.equal(config.upstreams.ingest, DEFAULT_INGEST_SERVICE_URL)
    assert.equal(config.upstreams.auth, undefined)
    assert.equal(config.database.kind, 'embedded')
    assert.equal(config.httpClient.timeoutMs, 60_000)
    assert.equal(config.httpClient.maxConnections, 200)
    assert.equal(config.logLevel, 'info')
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.httpClient))
  })

  test('names are case-insensitive and the seeds\' KEEPALIAS misspelling is accepted', () => {
    const config = loadConfig({ gateway_log_level: 'warning', GATEWAY_HTTP_CLIENT_MAX_KEEPALIAS_CONNECTIONS: '7' })
    assert.equal(config.logLevel, 'warn')
    assert.equal(config.httpClient.maxKeepAliveConnections, 7)
  })

  test('CORS origins: the fixed local ones, Vercel, ngrok and the extra list, and nothing hard-coded beyond', () => {
    const config = loadConfig({
      VERCEL_FRONTEND_URL: 'https://atenex.vercel.app/', NGROK_URL: 'https://abc.ngrok-free.app', GATEWAY_CORS_ORIGINS: 'https://a.example, https://b.example',
    })
    assert.deepEqual([...config.corsOrigins].sort(), [
      'http://127.0.0.1:3000', 'http://127.0.0.1:3001', 'http://localhost:3000', 'http://localhost:3001',
      'https://a.example', 'https://abc.ngrok-free.app', 'https://atenex.vercel.app', 'https://b.example',
    ])
  })

  const refuses = (env: Record<string, string>, variable: string, expected?: RegExp): void => {
    assert.throws(() => loadConfig(env), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.ok(error.message.includes(variable), `"${error.message}" names ${variable}`)
      if (expected) assert.match(error.message, expected)
      return true
    })
  }

  test('bad values name their variable and what is expected', () => {
    refuses({ PORT: 'eighty' }, 'PORT')
    refuses({ GATEWAY_LOG_LEVEL: 'VERBOSE' }, 'GATEWAY_LOG_LEVEL', /DEBUG, INFO, WARNING, ERROR, CRITICAL/)
    refuses({ GATEWAY_INGEST_SERVICE_URL: 'ftp://x' }, 'GATEWAY_INGEST_SERVICE_URL', /http/)
    refuses({ GATEWAY_DEFAULT_COMPANY_ID: 'acme' }, 'GATEWAY_DEFAULT_COMPANY_ID', /UUID/)
    refuses({ GATEWAY_HTTP_CLIENT_TIMEOUT: '-1' }, 'GATEWAY_HTTP_CLIENT_TIMEOUT')
    refuses({ NGROK_URL: 'http://abc.ngrok.io' }, 'NGROK_URL')
    refuses({ GATEWAY_JWT_ALGORITHM: 'none' }, 'GATEWAY_JWT_ALGORITHM')
    refuses({ GATEWAY_TRUST_PROXY: 'maybe' }, 'GATEWAY_TRUST_PROXY')
  })

  test('outside the embedded mode the JWT secret is required, not a placeholder, and at least 32 bytes', () => {
    refuses({ GATEWAY_POSTGRES_SERVER: 'db' }, 'GATEWAY_JWT_SECRET', /required/)
    refuses({ GATEWAY_POSTGRES_SERVER: 'db', GATEWAY_JWT_SECRET: 'changeme' }, 'GATEWAY_JWT_SECRET', /placeholder/)
    refuses({ GATEWAY_POSTGRES_SERVER: 'db', GATEWAY_JWT_SECRET: 'short-secret' }, 'GATEWAY_JWT_SECRET', /32 bytes/)
    refuses({ GATEWAY_JWT_SECRET: 'short-secret' }, 'GATEWAY_JWT_SECRET', /32 bytes/)
    assert.equal(loadConfig({ GATEWAY_POSTGRES_SERVER: 'db', GATEWAY_JWT_SECRET: SECRET }).database.kind, 'postgres')
  })

  test('a JWT secret copied from the seeds, or long but predictable, stops the start naming GATEWAY_JWT_SECRET', () => {
    for (const published of [
      'YOUR_DEFAULT_JWT_SECRET_KEY_CHANGE_ME_IN_ENV_OR_SECRET', 'YOUR_JWT_SECRET_KEY_NEEDS_TO_BE_SET_IN_ENV_OR_SECRET',
      'una-clave-secreta-muy-fuerte-para-desarrollo-local-1234567890', 'TU_CLAVE_SECRETA_JWT_DE_PRODUCCION_MUY_SEGURA', 'REPLACE_ME',
    ]) refuses({ GATEWAY_POSTGRES_SERVER: 'db', GATEWAY_JWT_SECRET: published }, 'GATEWAY_JWT_SECRET', /placeholder|published|32 bytes/)
    for (const weak of ['a'.repeat(36), 'password'.repeat(5), 'abc123'.repeat(7), '0'.repeat(64)]) {
      refuses({ GATEWAY_POSTGRES_SERVER: 'db', GATEWAY_JWT_SECRET: weak }, 'GATEWAY_JWT_SECRET', /predictable/)
    }
    refuses({ GATEWAY_EXTERNAL_ISSUERS: JSON.stringify([{ name: 'x', issuer: 'https://x', algorithms: ['HS256'], secret: 'z'.repeat(40) }]) }, 'GATEWAY_EXTERNAL_ISSUERS', /predictable/)
  })

  test('a .env file fills in below the real environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-env-'))
    const path = join(dir, '.env')
    writeFileSync(path, 'GATEWAY_PROJECT_NAME=From Dotenv\nPORT=9000\n')
    const config = loadConfig({ PORT: '9100' }, { dotenvPath: path })
    assert.equal(config.projectName, 'From Dotenv')
    assert.equal(config.port, 9100)
  })

  test('the startup description carries no secret', () => {
    const config = loadConfig({
      GATEWAY_POSTGRES_SERVER: 'db',
      GATEWAY_POSTGRES_PASSWORD: 'pg-password-value',
      GATEWAY_JWT_SECRET: SECRET,
      GATEWAY_REDIS_URL: 'redis://:redis-password-value@cache:6379',
      GATEWAY_EXTERNAL_ISSUERS: JSON.stringify([{ name: 'x', issuer: 'https://x', algorithms: ['HS256'], secret: 'external-secret-value-0123456789abcdef' }]),
    })
    const text = JSON.stringify(describeConfig(config))
    assert.ok(!text.includes('redis-password-value'))
    assert.ok(!text.includes('external-secret-value'))
    assert.ok(!text.includes(SECRET))
    assert.ok(!text.includes('pg-password-value'))
    assert.ok(text.includes('"host":"db"'))
  })

  test('the process refuses to start on a bad value, naming it, with exit code 2', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'serve'], {
      env: { PATH: process.env.PATH, GATEWAY_LOG_LEVEL: 'LOUD', GATEWAY_DATA_DIR: 'memory://' }, encoding: 'utf8', timeout: 30_000,
    })
    assert.equal(result.status, 2, result.stderr)
    assert.match(result.stderr, /GATEWAY_LOG_LEVEL/)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  })
})
