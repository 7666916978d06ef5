import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { jwtVerify } from 'jose'
import { cliMissing, runCli } from './helpers/cli.js'
import { MIGRATION_NAMES } from '../src/db/migrate.js'
import { createPostgresDatabase, postgresSkip } from './helpers/databases.js'
import { TEST_JWT_SECRET } from './helpers/gateway.js'
import { closedPortUrl } from './helpers/upstream.js'

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version
const COMMANDS = ['serve', 'check-config', 'migrate', 'create-company', 'create-user', 'reset-password', 'mint-token', 'demo']
const UNKNOWN_COMPANY = '6f1c2a44-0000-4000-8000-000000000000'

describe('the atenex-gateway command, run as a user would', { skip: cliMissing }, () => {
  let home: string
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ GATEWAY_DATA_DIR: join(home, 'db'), GATEWAY_JWT_SECRET: TEST_JWT_SECRET, ...extra })
  const run = (args: string[], options: { input?: string, env?: NodeJS.ProcessEnv } = {}) => runCli(args, options.env ?? env(), { input: options.input, cwd: home })

  before(() => { home = mkdtempSync(join(tmpdir(), 'gateway-cli-')) })
  after(() => { rmSync(home, { recursive: true, force: true }) })

  test('--version prints the package version and the Node.js it runs on', async () => {
    for (const flag of ['--version', '-v']) {
      const result = await run([flag])
      assert.equal(result.status, 0)
      assert.equal(result.stdout, `atenex-gateway ${VERSION} (Node.js ${process.version})\n`)
    }
  })

  test('--help lists every command, the exit codes and where the settings are documented', async () => {
    const help = await run(['--help'])
    assert.equal(help.status, 0)
    for (const command of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'))
    assert.match(help.stdout, /-v, --version/)
    assert.match(help.stdout, /"Configuration" table of README\.md/)
    assert.match(help.stdout, /Exit codes: 0 success; 1 the command failed .*; 2 a usage or configuration error/)
  })

  test('each command\'s --help gives every option\'s meaning, its default, and the settings it reads', async () => {
    for (const command of COMMANDS) {
      const own = await run([command, '--help'])
      assert.equal(own.status, 0, command)
      assert.match(own.stdout, new RegExp(`^Usage: atenex-gateway ${command}`), command)
      assert.match(own.stdout, /^ {2}-h, --help +Show this help and exit\.$/m, command)
    }
    const createUser = (await run(['create-user', '--help'])).stdout
    assert.match(createUser, /--roles <roles> +Comma-separated roles: user, admin\. Default: user\./)
    assert.match(createUser, /--email <email> +.*Required\./)
    assert.match(createUser, /only the database ones \(GATEWAY_POSTGRES_\*, or GATEWAY_DATA_DIR/)
    assert.match(createUser, /"Configuration" table of README\.md/)
    assert.doesNotMatch(createUser, /--password/, 'the refused flag is not advertised')
    assert.match((await run(['demo', '--help'])).stdout, /--port <port> +Port to listen on \(0: any free port\)\. Default: PORT, else 8080/)
    assert.match((await run(['serve', '--help'])).stdout, /node dist\/src\/cli\/index\.js serve/)
  })

  test('usage and configuration errors exit 2; an unknown command or option shows the usage', async () => {
    const unknown = await run(['launch'])
    assert.equal(unknown.status, 2)
    assert.match(unknown.stderr, /unknown command 'launch'/)
    const badOption = await run(['create-company', '--colour', 'red'])
    assert.equal(badOption.status, 2)
    assert.match(badOption.stderr, /Usage: atenex-gateway create-company/)
    const badPort = await run(['demo', '--port', 'abc'])
    assert.equal(badPort.status, 2, 'demo --port abc is a usage error like any other')
    assert.match(badPort.stderr, /--port: expected a port number from 0 to 65535, got 'abc'/)
    const badSetting = await run(['serve'], { env: env({ GATEWAY_DEFAULT_COMPANY_ID: 'acme' }) })
    assert.equal(badSetting.status, 2)
    assert.match(badSetting.stderr, /GATEWAY_DEFAULT_COMPANY_ID: expected a UUID/)
    assert.match(badSetting.stderr, /"Configuration" table of README\.md/)
    assert.doesNotMatch(badSetting.stderr, /\n\s+at /, 'no stack trace')
  })

  test('migrate says what it applied, then that the database is up to date', async () => {
    const first = await run(['migrate'])
    assert.equal(first.status, 0, first.stderr)
    assert.equal(first.stdout, `Applied ${MIGRATION_NAMES.length} migrations: ${MIGRATION_NAMES.join(', ')}.\n`)
    const second = await run(['migrate'])
    assert.equal(second.status, 0, second.stderr)
    assert.equal(second.stdout, 'Database is up to date.\n')
    assert.match(second.stderr, /Applying migrations… done \(none pending\)/)
  })

  test('create-company, create-user (password on stdin) and mint-token; a duplicate fails with exit 1 and no usage', async () => {
    const company = await run(['create-company', '--name', 'CLI Co'])
    assert.equal(company.status, 0, company.stderr)
    const companyId = company.stdout.trim()
    assert.match(companyId, /^[0-9a-f-]{36}$/)
    assert.match(company.stderr, /Creating company 'CLI Co'… done/)
    const duplicate = await run(['create-company', '--name', 'CLI Co'])
    assert.equal(duplicate.status, 1, 'a duplicate is a failure, not a usage error')
    assert.match(duplicate.stderr, /a company named 'CLI Co' already exists/)
    assert.doesNotMatch(duplicate.stderr, /Usage:/)

    const password = 'stdin-Password-42'
    const user = await run(['create-user', '--email', 'cli@example.com', '--company-id', companyId, '--roles', 'user,admin'], { input: `${password}\n` })
    assert.equal(user.status, 0, user.stderr)
    const userId = user.stdout.trim()
    assert.match(userId, /^[0-9a-f-]{36}$/)
    assert.ok(!(user.stdout + user.stderr).includes(password), 'the password is never echoed')
    const again = await run(['create-user', '--email', 'CLI@example.com', '--company-id', companyId], { input: `${password}\n` })
    assert.equal(again.status, 1)
    assert.match(again.stderr, /a user with email CLI@example.com already exists/)
    assert.doesNotMatch(again.stderr, /Usage:/)

    const token = await run(['mint-token', '--email', 'cli@example.com', '--minutes', '5'])
    assert.equal(token.status, 0, token.stderr)
    const { payload } = await jwtVerify(token.stdout.trim(), new TextEncoder().encode(TEST_JWT_SECRET))
    assert.equal(payload.sub, userId)
    assert.equal(payload.company_id, companyId)
    assert.ok(!(token.stdout + token.stderr).includes(TEST_JWT_SECRET), 'the secret is never printed')
  })

  test('create-user: a password on argv or a short one is refused (2), none at all says so, an unknown company fails (1)', async () => {
    const argv = await run(['create-user', '--email', 'x@example.com', '--company-id', UNKNOWN_COMPANY, '--password', 'visible-secret'])
    assert.equal(argv.status, 2)
    assert.match(argv.stderr, /--password is refused/)
    assert.ok(!argv.stderr.includes('visible-secret'))
    const short = await run(['create-user', '--email', 'x@example.com', '--company-id', UNKNOWN_COMPANY], { input: 'short\n' })
    assert.equal(short.status, 2)
    assert.match(short.stderr, /the password must NOT have fewer than 8 characters \(the rule of POST \/api\/v1\/admin\/users\)/)
    const empty = await run(['create-user', '--email', 'x@example.com', '--company-id', UNKNOWN_COMPANY], { input: '' })
    assert.equal(empty.status, 2)
    assert.match(empty.stderr, /no password on standard input/)
    assert.doesNotMatch(empty.stderr, /at least 8|fewer than 8/, 'a missing password is not called a short one')
    const unknown = await run(['create-user', '--email', 'x@example.com', '--company-id', UNKNOWN_COMPANY], { input: 'long-enough-pw\n' })
    assert.equal(unknown.status, 1)
    assert.match(unknown.stderr, new RegExp(`Company with ID '${UNKNOWN_COMPANY}' not found`))
    assert.doesNotMatch(unknown.stderr, /Usage:/)
  })

  test('mint-token refuses to run against a real database without --dev', async () => {
    const result = await run(['mint-token', '--email', 'cli@example.com'], { env: env({ GATEWAY_POSTGRES_SERVER: '127.0.0.1' }) })
    assert.equal(result.status, 2)
    assert.match(result.stderr, /pass --dev/)
    assert.equal(result.stdout, '')
  })

  test('check-config: exit 0 and the effective settings as JSON with every secret masked; exit 2 naming a bad one', async () => {
    const secrets = { GATEWAY_JWT_SECRET: 'check-config-secret-0123456789abcdef0123', GATEWAY_POSTGRES_PASSWORD: 'pg-password-value' }
    const valid = await run(['check-config'], { env: { GATEWAY_POSTGRES_SERVER: 'db.internal', GATEWAY_POSTGRES_PORT: '6543', ...secrets } })
    assert.equal(valid.status, 0, valid.stderr)
    assert.match(valid.stderr, /The configuration is valid\./)
    const effective = JSON.parse(valid.stdout) as Record<string, unknown>
    assert.partialDeepStrictEqual(effective, {
      port: 8080,
      workers: 1,
      jwt: { secret: '[redacted]', algorithm: 'HS256' },
      database: { kind: 'postgres', host: 'db.internal', port: 6543, password: '[redacted]' },
      routes: [{ name: 'ingest', path: '/api/v1/ingest', upstream: 'http://ingest-api-service.nyro-develop.svc.cluster.local:80' }],
    })
    for (const secret of Object.values(secrets)) assert.ok(!(valid.stdout + valid.stderr).includes(secret), 'no secret is printed')

    const invalid = await run(['check-config'], { env: { GATEWAY_POSTGRES_SERVER: 'db.internal', GATEWAY_HTTP_CLIENT_TIMEOUT: 'soon' } })
    assert.equal(invalid.status, 2)
    assert.match(invalid.stderr, /GATEWAY_HTTP_CLIENT_TIMEOUT: expected a number/)
    assert.equal(invalid.stdout, '')
    const workers = await run(['check-config', '--workers', '2'])
    assert.equal(workers.status, 2, 'what serve would refuse, check-config refuses')
    assert.match(workers.stderr, /more than one worker needs PostgreSQL/)
  })

  test('"Opening the PostgreSQL database… failed" when it does not answer, with the reason, exit 1', async () => {
    const port = new URL(await closedPortUrl()).port
    const result = await run(['migrate'], { env: { GATEWAY_POSTGRES_SERVER: '127.0.0.1', GATEWAY_POSTGRES_PORT: port } })
    assert.equal(result.status, 1)
    assert.match(result.stderr, new RegExp(`^Opening the PostgreSQL database atenex at 127\\.0\\.0\\.1:${port} \\(user postgres\\)… failed$`, 'm'))
    assert.match(result.stderr, /cannot connect to the PostgreSQL database atenex .*ECONNREFUSED/)
    assert.doesNotMatch(result.stderr, /… done/)
  })
})

const noPostgres = await postgresSkip()

describe('the database commands on PostgreSQL', { skip: cliMissing || noPostgres }, () => {
  test('migrate and the user commands need only the database settings: no GATEWAY_JWT_SECRET, and a bad setting they never read does not stop them', async () => {
    const database = await createPostgresDatabase()
    try {
      const env = { ...database.env, GATEWAY_INGEST_SERVICE_URL: 'not a url' }
      const result = await runCli(['migrate'], env)
      assert.equal(result.status, 0, result.stderr)
      assert.ok(result.stdout.startsWith(`Applied ${MIGRATION_NAMES.length} migrations: 001-schema, `), result.stdout)
      assert.equal((await runCli(['migrate'], env)).stdout, 'Database is up to date.\n')
      const serve = await runCli(['serve'], env)
      assert.equal(serve.status, 2, 'serve still refuses both')
      assert.match(serve.stderr, /GATEWAY_INGEST_SERVICE_URL/)

      const companyId = (await runCli(['create-company', '--name', 'PG Co'], env)).stdout.trim()
      const user = await runCli(['create-user', '--email', 'pg@example.com', '--company-id', companyId], env, { input: 'first-password-1\n' })
      assert.equal(user.status, 0, user.stderr)
      const reset = await runCli(['reset-password', '--email', 'pg@example.com'], env, { input: 'second-password-2\n' })
      assert.equal(reset.status, 0, reset.stderr)
      assert.equal(reset.stdout, user.stdout, 'the same user')
    } finally {
      await database.drop()
    }
  })
})
