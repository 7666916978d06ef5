import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { hashPassword } from '../src/auth/passwords.js'
import { usersRepository } from '../src/db/users-repository.js'
import { Browserless } from './helpers/browserless.js'
import { backends } from './helpers/databases.js'
import { postJson as post } from './helpers/http.js'
import { startSsoWorld, type SsoWorld } from './helpers/sso-world.js'

const OFFLINE_SCOPES = ['openid', 'email', 'profile', 'offline_access']
/** Headers that differ between any two answers. */
const VOLATILE = new Set(['date', 'x-request-id', 'x-process-time', 'ratelimit'])
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

for (const { backend, skip } of await backends()) {
  describe(`single sign-on, leaving the company and password logins [${backend}]`, { skip }, () => {
    let world: SsoWorld
    let counter = 0
    const db = () => world.gateway.app.gateway.db

    before(async () => {
      world = await startSsoWorld(backend)
      assert.equal((await world.configure(world.companyA, world.idpA, { provisioning: 'jit', scopes: OFFLINE_SCOPES, authorization_params: { prompt: 'consent' } })).status, 200)
    })
    after(async () => { await world?.close() })

    /** A fresh person at A's provider, signed in through SSO; returns the gateway's refresh token. */
    async function ssoSession (): Promise<{ refreshToken: string, email: string }> {
      const email = `leaver-${counter++}@a.example`
      world.idpA.addAccount(email)
      const code = (await world.signIn(email)).searchParams.get('code') ?? ''
      const body = await (await world.exchange(code)).json() as { refresh_token: string }
      return { refreshToken: body.refresh_token, email }
    }
    const refresh = async (token: string): Promise<Response> => post(`${world.gateway.url}/api/v1/users/refresh`, { refresh_token: token })

    test('password login refused for an SSO-only company\'s user: the same 401 as a wrong password, after the same bcrypt work', async () => {
      const email = 'pat@b.example'
      const password = 'the-right-password'
      // A production-cost hash, so that the bcrypt compare is what the timing is made of.
      await usersRepository(db()).create({ email, hashedPassword: await hashPassword(password), fullName: null, companyId: world.companyB.id, roles: ['user'] })
      const attempt = async (candidate: string) => {
        const started = performance.now()
        const response = await post(`${world.gateway.url}/api/v1/users/login`, { email, password: candidate })
        const headers = [...response.headers].filter(([name]) => !VOLATILE.has(name))
        return { status: response.status, body: await response.text(), headers, ms: performance.now() - started }
      }
      const right: Awaited<ReturnType<typeof attempt>>[] = []
      const wrong: Awaited<ReturnType<typeof attempt>>[] = []
      for (let round = 0; round < 3; round += 1) {
        right.push(await attempt(password))
        wrong.push(await attempt('a-wrong-password'))
      }
      for (const [refused, mistaken] of right.map((entry, index) => [entry, wrong[index]] as const)) {
        assert.equal(refused.status, 401)
        assert.deepEqual({ ...refused, ms: 0 }, { ...mistaken, ms: 0 })
      }
      assert.deepEqual(JSON.parse(right[0]?.body ?? ''), { detail: 'Incorrect email or password' })
      const ratio = median(right.map((entry) => entry.ms)) / median(wrong.map((entry) => entry.ms))
      assert.ok(ratio > 0.5 && ratio < 2, `refused ${right.map((entry) => entry.ms.toFixed(0))} ms vs wrong ${wrong.map((entry) => entry.ms.toFixed(0))} ms`)

      // The control: the same password works once the company allows passwords again.
      assert.equal((await world.configure(world.companyB, world.idpB, { password_login: true })).status, 200)
      assert.equal((await attempt(password)).status, 200)
      assert.equal((await world.configure(world.companyB, world.idpB, { password_login: false })).status, 200)
    })

    test('a company that keeps passwords: its users still log in with them beside SSO', async () => {
      const user = await world.gateway.user({ email: 'both@a.example', companyId: world.companyA.id })
      assert.equal((await post(`${world.gateway.url}/api/v1/users/login`, { email: user.email, password: user.password })).status, 200)
    })

    test('refresh tokens obtained by SSO are refused once the provider says the user is gone', async () => {
      const { refreshToken, email } = await ssoSession()
      const { rows } = await db().query<{ sealed: string | null }>('SELECT provider_refresh_token_sealed AS sealed FROM gateway_sso_sessions')
      assert.ok(rows.some((row) => row.sealed !== null), 'the provider\'s refresh token is kept (sealed)')
      const first = await refresh(refreshToken)
      assert.equal(first.status, 200, 'while the provider vouches for the user, refresh works')
      const { refresh_token: next } = await first.json() as { refresh_token: string }

      const account = world.idpA.accounts.get(email)
      if (account) account.active = false
      const refused = await refresh(next)
      assert.equal(refused.status, 401)
      assert.deepEqual(await refused.json(), { detail: 'The identity provider no longer accepts this session; sign in again.' })
      const { rows: revoked } = await db().query<{ n: string }>('SELECT count(*) AS n FROM gateway_refresh_tokens t JOIN gateway_sso_sessions s USING (family_id) WHERE t.revoked_at IS NULL AND s.user_id = (SELECT id FROM users WHERE email = $1)', [email])
      assert.equal(Number(revoked[0]?.n), 0, 'the whole family is revoked')
    })

    test('a user deactivated at the provider cannot start a new session', async () => {
      const email = `left-${counter++}@a.example`
      world.idpA.addAccount(email, { active: false })
      const browser = new Browserless()
      const form = await browser.follow(new URL(`${world.gateway.url}/api/v1/users/sso/start?email=${email}`))
      const action = /action="([^"]+)"/.exec(await form.response?.text() ?? '')?.[1] ?? ''
      const answer = await browser.follow(new URL(action, form.url), { form: { login: email, password: 'idp-password-1' } })
      assert.equal(answer.url.origin, world.idpA.issuer, 'the browser stays at the provider')
      assert.match(await answer.response?.text() ?? '', /Invalid email or password/)
      assert.equal(await usersRepository(db()).findCredentialsByEmail(email), null)
    })

    test('an SSO session past the company\'s maximum session age must sign in again', async () => {
      const { refreshToken } = await ssoSession()
      await db().query("UPDATE gateway_sso_sessions SET started_at = now() - interval '25 hours'")
      const refused = await refresh(refreshToken)
      assert.equal(refused.status, 401)
      assert.deepEqual(await refused.json(), { detail: 'The single sign-on session reached its maximum age; sign in again.' })
    })

    test('a password login\'s refresh is untouched by the SSO checks', async () => {
      const user = await world.gateway.user({ companyId: world.companyA.id })
      const login = await (await post(`${world.gateway.url}/api/v1/users/login`, { email: user.email, password: user.password })).json() as { refresh_token: string }
      assert.equal((await refresh(login.refresh_token)).status, 200)
    })

    test('in an SSO-only company, a refresh-token family not opened by SSO cannot refresh (a password login from before)', async () => {
      const fay = await world.gateway.user({ email: 'fay@b.example', companyId: world.companyA.id })
      const login = await (await post(`${world.gateway.url}/api/v1/users/login`, { email: fay.email, password: fay.password })).json() as { refresh_token: string }
      const control = await refresh(login.refresh_token)
      assert.equal(control.status, 200, 'in a company that keeps passwords, it refreshes')
      const { refresh_token: next } = await control.json() as { refresh_token: string }
      await db().query('UPDATE users SET company_id = $2 WHERE id = $1', [fay.id, world.companyB.id])
      const refused = await refresh(next)
      assert.equal(refused.status, 401)
      assert.deepEqual(await refused.json(), { detail: 'This company signs in through single sign-on only; sign in again.' })
    })

    test('disconnecting a company\'s provider ends its SSO sessions', async () => {
      const companyD = await world.gateway.company()
      assert.equal((await world.configure(companyD, world.idpB, { allowed_domains: ['d.example'] })).status, 200)
      await world.gateway.user({ email: 'dana@d.example', companyId: companyD.id })
      world.idpB.addAccount('dana@d.example')
      const code = (await world.signIn('dana@d.example')).searchParams.get('code') ?? ''
      const { refresh_token: token } = await (await world.exchange(code)).json() as { refresh_token: string }
      const removed = await fetch(`${world.gateway.url}/api/v1/admin/companies/${companyD.id}/sso`, { method: 'DELETE', headers: { authorization: `Bearer ${world.adminToken}` } })
      assert.equal(removed.status, 204)
      const refused = await refresh(token)
      assert.equal(refused.status, 401)
      assert.deepEqual(await refused.json(), { detail: 'Single sign-on is no longer configured for this company; sign in again.' })
    })

    test('an unreachable provider does not log its company out (the maximum age still bounds the session)', async () => {
      const { refreshToken } = await ssoSession()
      await world.idpA.close()
      assert.equal((await refresh(refreshToken)).status, 200)
      assert.ok(world.gateway.logs.entries.some((entry) => entry.msg === 'identity provider unreachable; SSO session refreshed without re-validation'))
    })
  })
}
