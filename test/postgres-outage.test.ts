import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { postJson } from './helpers/http.js'
import { privatePostgresUnavailableReason, startPrivatePostgres, type PrivatePostgres } from './helpers/private-postgres.js'
import { requireService } from './helpers/services.js'
import { eventually } from './helpers/wait.js'

// A real PostgreSQL stopped and restarted under a running gateway: a server of this test's own, so that the
// machine's shared one (other suites use it) keeps running.
describe('PostgreSQL stopped under a running gateway, then restarted', { skip: requireService('a private PostgreSQL server (initdb, pg_ctl)', privatePostgresUnavailableReason()) }, () => {
  let postgres: PrivatePostgres
  let gateway: TestGateway
  let user: TestUser

  before(async () => {
    postgres = await startPrivatePostgres()
    gateway = await startGateway({ database: postgres.env })
    user = await gateway.user({ companyId: (await gateway.company()).id })
  })
  after(async () => {
    await gateway?.close()
    await postgres?.destroy()
  })

  const ready = async (): Promise<number> => (await fetch(`${gateway.url}/health/ready`)).status
  const login = async (): Promise<Response> => postJson(`${gateway.url}/api/v1/users/login`, { email: user.email, password: user.password })

  // The three steps run in order, on one server: up, stopped, started again.
  test('while it is down, readiness and /health answer 503 and the process stays live', async () => {
    assert.equal(await ready(), 200)
    assert.equal((await login()).status, 200)
    await postgres.stop()
    // The health checks are cached for about 1.5 s: the probe turns once the cache is renewed.
    await eventually(async () => await ready() === 503, 15_000, 'readiness 503 with PostgreSQL stopped')
    const health = await fetch(`${gateway.url}/health`)
    assert.equal(health.status, 503)
    assert.equal((await health.json() as { checks: Record<string, string> }).checks.database_connection, 'failed')
    assert.equal((await fetch(`${gateway.url}/health/live`)).status, 200, 'the process itself stays live')
  })

  test('while it is down, a login answers 503 without the driver\'s message', async () => {
    const refused = await login()
    assert.doesNotMatch(await refused.clone().text(), /ECONNREFUSED|127\.0\.0\.1|at .*\.js/, 'no driver message or stack in the answer')
    assert.equal(refused.status, 503, 'a login the database cannot serve is a 503, not a 500 nor a 401')
  })

  test('once it is back, readiness and logins recover without a restart of the gateway', async () => {
    await postgres.start()
    await eventually(async () => await ready() === 200, 30_000, 'readiness 200 once PostgreSQL is back')
    await eventually(async () => (await login()).status === 200, 30_000, 'logins served again')
  })
})
