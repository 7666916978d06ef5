import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { jwtVerify } from 'jose'
import { TEST_JWT_SECRET } from './helpers/gateway.js'

const BIN = 'dist/src/cli/index.js'
const built = existsSync(BIN)

interface Run { status: number | null, stdout: string, stderr: string }

describe('the atenex-gateway command, run as a user would', { skip: built ? false : `${BIN} is missing: run npm run build first (npm test does)` }, () => {
  let dataDir: string
  const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, GATEWAY_DATA_DIR: join(dataDir, 'db'), GATEWAY_JWT_SECRET: TEST_JWT_SECRET })
  const run = (args: string[], options: { input?: string, env?: NodeJS.ProcessEnv } = {}): Run => {
    const result = spawnSync(process.execPath, [BIN, ...args], { env: options.env ?? env(), input: options.input ?? '', encoding: 'utf8', timeout: 60_000 })
    return { status: result.status, stdout: result.stdout, stderr: result.stderr }
  }

  before(() => { dataDir = mkdtempSync(join(tmpdir(), 'gateway-cli-')) })
  after(() => { rmSync(dataDir, { recursive: true, force: true }) })

  test('--help lists every command; each command has its own help', () => {
    const help = run(['--help'])
    assert.equal(help.status, 0)
    for (const command of ['serve', 'migrate', 'create-company', 'create-user', 'mint-token', 'demo']) {
      assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'))
      const own = run([command, '--help'])
      assert.equal(own.status, 0, command)
      assert.match(own.stdout, new RegExp(`^Usage: atenex-gateway ${command}`), command)
    }
  })

  test('an unknown command or option exits 2 with the usage', () => {
    const unknown = run(['launch'])
    assert.equal(unknown.status, 2)
    assert.match(unknown.stderr, /unknown command 'launch'/)
    const badOption = run(['create-company', '--colour', 'red'])
    assert.equal(badOption.status, 2)
    assert.match(badOption.stderr, /Usage: atenex-gateway create-company/)
  })

  test('migrate, create-company, create-user (password on stdin) and mint-token', async () => {
    const migrated = run(['migrate'])
    assert.equal(migrated.status, 0, migrated.stderr)
    assert.match(migrated.stdout, /Database is up to date/)
    const company = run(['create-company', '--name', 'CLI Co'])
    assert.equal(company.status, 0, company.stderr)
    const companyId = company.stdout.trim()
    assert.match(companyId, /^[0-9a-f-]{36}$/)
    assert.match(company.stderr, /Creating company 'CLI Co'… done/)
    assert.equal(run(['create-company', '--name', 'CLI Co']).status, 2, 'a duplicate name is refused')

    const password = 'stdin-Password-42'
    const user = run(['create-user', '--email', 'cli@example.com', '--company-id', companyId, '--roles', 'user,admin'], { input: `${password}\n` })
    assert.equal(user.status, 0, user.stderr)
    const userId = user.stdout.trim()
    assert.match(userId, /^[0-9a-f-]{36}$/)
    assert.ok(!(user.stdout + user.stderr).includes(password), 'the password is never echoed')

    const token = run(['mint-token', '--email', 'cli@example.com', '--minutes', '5'])
    assert.equal(token.status, 0, token.stderr)
    const { payload } = await jwtVerify(token.stdout.trim(), new TextEncoder().encode(TEST_JWT_SECRET))
    assert.equal(payload.sub, userId)
    assert.equal(payload.company_id, companyId)
    assert.ok(!(token.stdout + token.stderr).includes(TEST_JWT_SECRET), 'the secret is never printed')
  })

  test('create-user refuses a password on the command line, a short one, and an unknown company', () => {
    const argv = run(['create-user', '--email', 'x@example.com', '--company-id', '6f1c2a44-0000-4000-8000-000000000000', '--password', 'visible-secret'])
    assert.equal(argv.status, 2)
    assert.match(argv.stderr, /--password is refused/)
    assert.ok(!argv.stderr.includes('visible-secret'))
    const short = run(['create-user', '--email', 'x@example.com', '--company-id', '6f1c2a44-0000-4000-8000-000000000000'], { input: 'short\n' })
    assert.equal(short.status, 2)
    assert.match(short.stderr, /at least 8 characters/)
    const unknown = run(['create-user', '--email', 'x@example.com', '--company-id', '6f1c2a44-0000-4000-8000-000000000000'], { input: 'long-enough-pw\n' })
    assert.equal(unknown.status, 2)
    assert.match(unknown.stderr, /Company with ID '6f1c2a44-0000-4000-8000-000000000000' not found/)
  })

  test('mint-token refuses to run against a real database without --dev', () => {
    const result = run(['mint-token', '--email', 'cli@example.com'], { env: { ...env(), GATEWAY_POSTGRES_SERVER: '127.0.0.1' } })
    assert.equal(result.status, 2)
    assert.match(result.stderr, /pass --dev/)
    assert.equal(result.stdout, '')
  })

  test('a bad setting stops serve with exit code 2, naming the variable, without a stack trace', () => {
    const result = run(['serve'], { env: { ...env(), GATEWAY_DEFAULT_COMPANY_ID: 'acme' } })
    assert.equal(result.status, 2)
    assert.match(result.stderr, /GATEWAY_DEFAULT_COMPANY_ID: expected a UUID/)
    assert.doesNotMatch(result.stderr, /\n\s+at /)
  })
})
