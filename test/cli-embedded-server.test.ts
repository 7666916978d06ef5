/**
 * A newcomer's day with the embedded database and the demo, run as they would: the built CLI, spawned.
 * Each `serve` start here migrates a fresh PGlite folder, so these tests are few and share their folder.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { cliMissing, runCli, startCli } from './helpers/cli.js'
import { TEST_JWT_SECRET } from './helpers/gateway.js'

const LISTENING = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/
/** A first start creates the PGlite cluster, migrates it and hashes the admin's password: about 20 s here, minutes on a loaded machine. */
const START_MS = 180_000
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function login (base: string, email: string, password: string): Promise<{ status: number, token?: string, refreshToken?: string }> {
  const response = await fetch(`${base}/api/v1/users/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  const body = await response.json() as { access_token?: string, refresh_token?: string }
  return { status: response.status, token: body.access_token, refreshToken: body.refresh_token }
}

describe('the embedded data folder is held by one process at a time', { skip: cliMissing }, () => {
  let home: string
  let folder: string
  let adminPassword = ''
  let oldRefreshToken = ''
  const env = (): NodeJS.ProcessEnv => ({ GATEWAY_DATA_DIR: folder, PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_JWT_SECRET: TEST_JWT_SECRET })
  const run = (args: string[], input?: string) => runCli(args, env(), { cwd: home, input })

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'gateway-embedded-'))
    folder = join(home, 'db')
  })
  after(() => { rmSync(home, { recursive: true, force: true }) })

  test('create-company (and a second serve) against the folder of a running server are refused, naming it; nothing is lost', async (t) => {
    const server = startCli(['serve'], env(), { cwd: home })
    // A failure below must not leave the server holding the folder for the next test.
    t.after(() => server.stop('SIGKILL'))
    const [, base = ''] = await server.waitFor(LISTENING, START_MS)
    const [, password = ''] = await server.waitFor(/password:\s+(\S+)/)
    adminPassword = password
    for (const line of server.stdout().split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `stdout is JSON lines only: ${line}`)
    assert.doesNotMatch(server.stdout(), /password/, 'the one-time credentials are on stderr')

    const refused = await run(['create-company', '--name', 'Ghost Co'])
    assert.equal(refused.status, 1, refused.stderr)
    assert.equal(refused.stdout, '', 'no id is printed for a company that was never created')
    assert.match(refused.stderr, new RegExp(`the embedded database folder ${escape(folder)} is in use by atenex-gateway serve \\(pid ${server.child.pid},`))
    assert.match(refused.stderr, /use its admin API instead \(POST \/api\/v1\/admin\/companies, POST \/api\/v1\/admin\/users\), or stop the server/)
    assert.doesNotMatch(refused.stderr, /Usage:/)
    const secondServer = await run(['serve'])
    assert.equal(secondServer.status, 1)
    assert.match(secondServer.stderr, /is in use by atenex-gateway serve/)

    const { token, refreshToken } = await login(base, 'admin@atenex.local', password)
    oldRefreshToken = refreshToken ?? ''
    const companies = await (await fetch(`${base}/api/v1/admin/companies/select`, { headers: { authorization: `Bearer ${token}` } })).json() as { name: string }[]
    assert.deepEqual(companies.map(({ name }) => name), ['Atenex Demo'], 'the refused command wrote nothing beside the server')

    assert.equal(await server.stop('SIGTERM'), 0)
    assert.ok(!existsSync(`${folder}.lock`), 'the lock goes with the server')
    const afterwards = await run(['create-company', '--name', 'After Co'])
    assert.equal(afterwards.status, 0, afterwards.stderr)
  })

  test('reset-password sets a new admin password; a lock left by a killed server is taken over', async (t) => {
    const newPassword = 'a-new-Admin-password-7'
    const reset = await run(['reset-password', '--email', 'Admin@Atenex.Local'], `${newPassword}\n`)
    assert.equal(reset.status, 0, reset.stderr)
    assert.match(reset.stdout, /^[0-9a-f-]{36}\n$/)
    // The login above opened one session (when login hands out refresh tokens, as it does by default).
    const revoked = oldRefreshToken === '' ? '0 refresh tokens' : '1 refresh token'
    assert.match(reset.stderr, new RegExp(`Setting the password of admin@atenex\\.local… done \\(${revoked} revoked\\)`))
    assert.ok(!(reset.stdout + reset.stderr).includes(newPassword))
    const unknown = await run(['reset-password', '--email', 'nobody@atenex.local'], `${newPassword}\n`)
    assert.equal(unknown.status, 1)
    assert.match(unknown.stderr, /no user with email nobody@atenex\.local/)

    const server = startCli(['serve'], env(), { cwd: home })
    t.after(() => server.stop('SIGKILL'))
    const [, base = ''] = await server.waitFor(LISTENING, START_MS)
    assert.equal((await login(base, 'admin@atenex.local', newPassword)).status, 200)
    assert.equal((await login(base, 'admin@atenex.local', adminPassword)).status, 401, 'the old password is gone')
    if (oldRefreshToken !== '') {
      const refresh = await fetch(`${base}/api/v1/users/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: oldRefreshToken }) })
      assert.equal(refresh.status, 401, 'the old password\'s session ends with it')
    }

    server.child.kill('SIGKILL')
    await server.stop()
    assert.ok(existsSync(`${folder}.lock`), 'SIGKILL leaves the lock behind')
    const takenOver = await run(['create-company', '--name', 'After Crash Co'])
    assert.equal(takenOver.status, 0, `a lock whose process is gone is stale: ${takenOver.stderr}`)
  })
})

describe('npm run demo beside npm start', { skip: cliMissing }, () => {
  test('the port taken: the demo says so, moves to a free one, and its ready TOKEN line works', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as AddressInfo).port
    const demo = startCli(['demo'], { PORT: String(port) })
    try {
      const [, movedTo = ''] = await demo.waitFor(/Port (?:\d+) is in use \(is `npm start` running\?\), so the demo takes port (\d+)/)
      assert.notEqual(movedTo, String(port))
      await demo.waitFor(/Ctrl-C stops the demo/, START_MS)
      const [, token = ''] = /^ {3}TOKEN=(\S+)$/m.exec(demo.stdout()) ?? []
      assert.ok(token, 'a ready TOKEN= line')
      assert.match(demo.stdout(), new RegExp(`http://127\\.0\\.0\\.1:${movedTo}/api/v1/ingest/status`))
      const echo = await fetch(`http://127.0.0.1:${movedTo}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${token}`, 'x-user-id': 'spoofed' } })
      assert.equal(echo.status, 200)
      const { headers } = await echo.json() as { headers: Record<string, string> }
      assert.match(headers['x-user-id'] ?? '', /^[0-9a-f-]{36}$/, 'the gateway\'s identity, not the spoofed one')

      const explicit = await runCli(['demo', '--port', String(port)], {})
      assert.equal(explicit.status, 1, 'an explicit --port that is taken is an error, not a surprise port')
      assert.match(explicit.stderr, new RegExp(`port ${port} is already in use .*--port 0 for any free one`))
      assert.equal(await demo.stop('SIGINT'), 0)
    } finally {
      await demo.stop('SIGKILL')
      taken.close()
    }
  })
})
