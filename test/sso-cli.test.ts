import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { cliMissing, runCli, type CliRun } from './helpers/cli.js'
import { backends, createPostgresDatabase } from './helpers/databases.js'
import { TEST_JWT_SECRET } from './helpers/gateway.js'
import { startIdp, type TestIdp } from './helpers/oidc-provider.js'

/** The built CLI, spawned (it must not block this process's event loop: the provider it checks runs here). */
const run = async (args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliRun> => runCli(args, env, { input })

for (const { backend, skip } of await backends()) {
  describe(`the sso-set, sso-show and sso-remove commands [${backend}]`, { skip: skip || cliMissing }, () => {
    let dataDir: string
    let idp: TestIdp
    let env: NodeJS.ProcessEnv
    let drop: (() => Promise<void>) | undefined

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'gateway-sso-cli-'))
      idp = await startIdp('https://api.example.com/api/v1/users/sso/callback')
      const postgres = backend === 'postgres' ? await createPostgresDatabase() : undefined
      drop = postgres?.drop
      env = {
        PATH: process.env.PATH,
        GATEWAY_DATA_DIR: join(dataDir, 'db'),
        GATEWAY_JWT_SECRET: TEST_JWT_SECRET,
        GATEWAY_SSO_ALLOW_HTTP_ISSUERS: 'true',
        ...(postgres ? { ...postgres.env, GATEWAY_SSO_ENCRYPTION_KEY: randomBytes(32).toString('base64') } : {}),
      }
    })
    after(async () => {
      await idp?.close()
      await drop?.()
      rmSync(dataDir, { recursive: true, force: true })
    })

    test('connect a company (secret on stdin), show it, keep the secret on a change, remove it', async () => {
      const companyId = (await run(['create-company', '--name', 'SSO CLI Co'], env)).stdout.trim()
      const base = ['--company-id', companyId, '--issuer', idp.issuer, '--client-id', idp.clientId, '--domains', 'Cli.Example,cli2.example']
      const set = await run(['sso-set', ...base, '--provisioning', 'jit', '--authorization-params', 'prompt=consent'], env, `${idp.clientSecret}\n`)
      assert.equal(set.status, 0, set.stderr)
      const shown = JSON.parse(set.stdout) as Record<string, unknown>
      assert.deepEqual(shown.allowed_domains, ['cli.example', 'cli2.example'])
      assert.equal(shown.provisioning, 'jit')
      assert.deepEqual(shown.authorization_params, { prompt: 'consent' })
      assert.ok(!set.stdout.includes(idp.clientSecret) && !set.stderr.includes(idp.clientSecret))
      if (backend === 'pglite') assert.equal(statSync(join(dataDir, 'db.sso-key')).mode & 0o777, 0o600, 'the generated key is private')

      const show = await run(['sso-show', '--company-id', companyId], env)
      assert.equal(show.status, 0, show.stderr)
      assert.deepEqual(JSON.parse(show.stdout), shown)

      const kept = await run(['sso-set', ...base, '--password-login', 'false'], env, '\n')
      assert.equal(kept.status, 0, kept.stderr)
      assert.equal((JSON.parse(kept.stdout) as { password_login: boolean }).password_login, false, 'an empty secret keeps the stored one (discovery passed)')
      assert.equal((JSON.parse(kept.stdout) as { provisioning: string }).provisioning, 'jit', 'left-out settings keep their value')

      assert.equal((await run(['sso-remove', '--company-id', companyId], env)).status, 0)
      const gone = await run(['sso-show', '--company-id', companyId], env)
      assert.equal(gone.status, 1, 'a failure of the command, not of its usage')
      assert.match(gone.stderr, /has no single sign-on configured/)
    })

    test('the secret is never taken from the command line; bad values exit 2 with a clear message, before any database is opened', async () => {
      const onArgv = await run(['sso-set', '--company-id', '00000000-0000-4000-8000-000000000001', '--issuer', idp.issuer, '--client-id', 'x', '--domains', 'x.example', '--client-secret', 'visible'], env)
      assert.equal(onArgv.status, 2)
      assert.match(onArgv.stderr, /--client-secret is refused/)
      const badDomain = await run(['sso-set', '--company-id', '00000000-0000-4000-8000-000000000001', '--issuer', idp.issuer, '--client-id', 'x', '--domains', 'not a domain'], env, 'secret\n')
      assert.equal(badDomain.status, 2)
      assert.match(badDomain.stderr, /'not a domain' is not an email domain/)
      assert.doesNotMatch(badDomain.stderr, /Opening the/)
    })
  })
}
