import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { cliMissing, runCli } from './helpers/cli.js'
import { createPostgresDatabase, postgresUnavailableReason } from './helpers/databases.js'
import { startGateway, TEST_JWT_SECRET, type TestGateway } from './helpers/gateway.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

interface PrintedKey { id: string, key?: string, company_id: string, scopes: string[], revoked_at: string | null }

const noPostgres = await postgresUnavailableReason()

describe('the api-key-* commands beside a running gateway [postgres]', { skip: cliMissing || (noPostgres ?? false) }, () => {
  let upstream: StandInUpstream
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>
  let gateway: TestGateway
  let env: Record<string, string>
  let companyId: string

  before(async () => {
    upstream = await startUpstream()
    database = await createPostgresDatabase()
    env = { ...database.env, GATEWAY_JWT_SECRET: TEST_JWT_SECRET, GATEWAY_INGEST_SERVICE_URL: upstream.url }
    gateway = await startGateway({ env })
    companyId = (await gateway.company()).id
  })
  after(async () => {
    await gateway.close()
    await database.drop()
    await upstream.close()
  })

  const status = async (key: string, path = '/api/v1/ingest/status', method = 'GET'): Promise<number> =>
    (await fetch(`${gateway.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } })).status

  test('a key created on the command line works at once on its scopes only; its secret is printed once, never listed', async () => {
    const created = await runCli(['api-key-create', '--company-id', companyId, '--name', 'nightly sync', '--scopes', 'ingest:read'], env)
    assert.equal(created.status, 0, created.stderr)
    const key = JSON.parse(created.stdout) as PrintedKey
    assert.match(key.key ?? '', /^atx_[0-9a-f]{32}_[0-9A-Za-z]{49}$/)
    assert.equal(await status(key.key as string), 200)
    assert.equal(await status(key.key as string, '/api/v1/ingest/upload', 'POST'), 403)
    const listed = await runCli(['api-key-list', '--company-id', companyId], env)
    assert.equal(listed.status, 0, listed.stderr)
    assert.deepEqual((JSON.parse(listed.stdout) as PrintedKey[]).map((k) => k.id), [key.id])
    assert.ok(!listed.stdout.includes(key.key as string) && !listed.stdout.includes('"key"'), 'the listing never shows a secret')
    assert.ok(!created.stderr.includes(key.key as string), 'the secret is on stdout only')
  })

  test('rotated on the command line: both secrets work in the grace period; revoked: refused by the running gateway within 1 s', async () => {
    const key = JSON.parse((await runCli(['api-key-create', '--company-id', companyId, '--name', 'bot', '--scopes', 'ingest:read,query:read'], env)).stdout) as PrintedKey
    const rotated = await runCli(['api-key-rotate', '--key-id', key.id, '--grace-seconds', '60'], env)
    assert.equal(rotated.status, 0, rotated.stderr)
    const fresh = (JSON.parse(rotated.stdout) as PrintedKey).key as string
    assert.notEqual(fresh, key.key)
    assert.equal(await status(fresh), 200)
    assert.equal(await status(key.key as string), 200)
    const revoked = await runCli(['api-key-revoke', '--key-id', key.id], env)
    assert.equal(revoked.status, 0, revoked.stderr)
    assert.notEqual((JSON.parse(revoked.stdout) as PrintedKey).revoked_at, null)
    await eventually(async () => await status(fresh) === 401 && await status(key.key as string) === 401, 1000, 'both secrets refused after the revocation')
  })

  test('what the admin API refuses, the command refuses: unknown scope, past expiry, a missing company (exit 2 or 1, nothing created)', async () => {
    const unknownScope = await runCli(['api-key-create', '--company-id', companyId, '--name', 'x', '--scopes', 'admin:all'], env)
    assert.equal(unknownScope.status, 2)
    assert.match(unknownScope.stderr, /--scopes/)
    const past = await runCli(['api-key-create', '--company-id', companyId, '--name', 'x', '--scopes', 'ingest:read', '--expires-at', '2020-01-01T00:00:00Z'], env)
    assert.equal(past.status, 2)
    assert.match(past.stderr, /--expires-at must be in the future/)
    const missing = await runCli(['api-key-create', '--company-id', '00000000-0000-4000-8000-000000000000', '--name', 'x', '--scopes', 'ingest:read'], env)
    assert.equal(missing.status, 1)
    assert.match(missing.stderr, /no company with id/)
    const unknownKey = await runCli(['api-key-revoke', '--key-id', '00000000-0000-4000-8000-000000000000'], env)
    assert.equal(unknownKey.status, 1)
    const names = (JSON.parse((await runCli(['api-key-list', '--company-id', companyId], env)).stdout) as { name: string }[]).map((k) => k.name)
    assert.ok(!names.includes('x'), names.join(','))
  })
})

describe('the api-key-create command on the embedded database', { skip: cliMissing }, () => {
  let dataDir: string
  before(() => { dataDir = mkdtempSync(join(tmpdir(), 'gateway-api-key-cli-')) })
  after(() => rmSync(dataDir, { recursive: true, force: true }))

  test('creates a key that the gateway started afterwards on the same folder accepts', async () => {
    const env = { GATEWAY_DATA_DIR: join(dataDir, 'db'), GATEWAY_JWT_SECRET: TEST_JWT_SECRET }
    const companyId = (await runCli(['create-company', '--name', 'Embedded Keys'], env)).stdout.trim()
    const created = await runCli(['api-key-create', '--company-id', companyId, '--name', 'sync', '--scopes', 'ingest:read'], env)
    assert.equal(created.status, 0, created.stderr)
    const { key } = JSON.parse(created.stdout) as PrintedKey
    const upstream = await startUpstream()
    const gateway = await startGateway({ env: { ...env, GATEWAY_INGEST_SERVICE_URL: upstream.url } })
    try {
      const response = await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${key as string}` } })
      assert.equal(response.status, 200)
      assert.equal(upstream.last().headers['x-auth-type'], 'api_key')
    } finally {
      await gateway.close()
      await upstream.close()
    }
  })
})
