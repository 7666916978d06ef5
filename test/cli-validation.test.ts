/**
 * The CLI's create-user and the admin API's POST /api/v1/admin/users check the same values the same way:
 * the CLI compiles the route's own schema object with Fastify's Ajv setup. Stops `notanemail` being created
 * on the command line, a user who could never log in.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { cliMissing, runCli } from './helpers/cli.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { closedPortUrl } from './helpers/upstream.js'

interface Case { readonly email: string, readonly password: string, readonly companyId?: string, readonly roles?: string }

const GOOD = { email: 'someone@example.com', password: 'long-enough-1' }
const CASES: readonly Case[] = [
  GOOD,
  { ...GOOD, email: 'notanemail' },
  { ...GOOD, email: 'two@@example.com' },
  { ...GOOD, email: 'with space@example.com' },
  { ...GOOD, email: '0@com' },
  { ...GOOD, email: `${'x'.repeat(320)}@example.com` },
  { ...GOOD, password: 'short' },
  { ...GOOD, password: 'exactly8' },
  { ...GOOD, password: 'p'.repeat(1025) },
  { ...GOOD, companyId: 'not-a-uuid' },
  { ...GOOD, roles: 'user,superuser' },
]

describe('create-user refuses what POST /api/v1/admin/users refuses, and nothing else', { skip: cliMissing }, () => {
  let gateway: TestGateway
  let adminToken: string
  let companyId: string
  /** The CLI's database never answers: a value it accepts fails later, at the connection (exit 1), one it refuses fails first (exit 2). */
  let unreachable: NodeJS.ProcessEnv

  before(async () => {
    gateway = await startGateway()
    companyId = (await gateway.company()).id
    adminToken = await gateway.tokenFor(await gateway.user({ companyId, roles: ['admin', 'user'] }))
    unreachable = { GATEWAY_POSTGRES_SERVER: '127.0.0.1', GATEWAY_POSTGRES_PORT: new URL(await closedPortUrl()).port }
  })
  after(async () => { await gateway.close() })

  const apiAccepts = async ({ email, password, companyId: id, roles }: Case, index: number): Promise<boolean> => {
    const response = await fetch(`${gateway.url}/api/v1/admin/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      // A distinct address per accepted case, so that none answers 409 for an earlier one.
      body: JSON.stringify({ email: email === GOOD.email ? `case${index}@example.com` : email, password, company_id: id ?? companyId, roles: (roles ?? 'user').split(',') }),
    })
    assert.ok(response.status === 201 || response.status === 422, `POST /api/v1/admin/users answered ${response.status}`)
    return response.status === 201
  }

  const cliAccepts = async ({ email, password, companyId: id, roles }: Case): Promise<boolean> => {
    const args = ['create-user', '--email', email, '--company-id', id ?? companyId, ...(roles === undefined ? [] : ['--roles', roles])]
    const result = await runCli(args, unreachable, { input: `${password}\n` })
    assert.ok(result.status === 1 || result.status === 2, `create-user exited ${result.status}: ${result.stderr}`)
    if (result.status === 2) assert.match(result.stderr, /\(the rule of POST \/api\/v1\/admin\/users\)/, 'a refusal names the rule it applies')
    else assert.match(result.stderr, /cannot connect to the PostgreSQL database/)
    return result.status === 1
  }

  test('the same verdict for every case, notanemail refused by both', async () => {
    const verdicts = []
    for (const [index, input] of CASES.entries()) {
      verdicts.push({ input: input.email.slice(0, 40), password: input.password.slice(0, 12), api: await apiAccepts(input, index), cli: await cliAccepts(input) })
    }
    for (const verdict of verdicts) assert.equal(verdict.cli, verdict.api, `CLI and API disagree on ${JSON.stringify(verdict)}`)
    assert.equal(verdicts[0]?.api, true, 'a good user is created')
    assert.equal(verdicts[1]?.cli, false, 'notanemail is refused on the command line')
  })
})
