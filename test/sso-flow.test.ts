import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import { usersRepository } from '../src/db/users-repository.js'
import { Browserless } from './helpers/browserless.js'
import { backends } from './helpers/databases.js'
import { FRONTEND_URL, startSsoWorld, type SsoWorld } from './helpers/sso-world.js'

for (const { backend, skip } of await backends()) {
  describe(`single sign-on, the flow and its refusals [${backend}]`, { skip }, () => {
    let world: SsoWorld
    const codeRows = async (): Promise<number> =>
      Number((await world.gateway.app.gateway.db.query<{ n: string }>('SELECT count(*) AS n FROM gateway_sso_codes')).rows[0]?.n)
    const userByEmail = async (email: string) => usersRepository(world.gateway.app.gateway.db).findCredentialsByEmail(email)
    /** The landing page got an error code and no sign-in code. */
    const assertRefused = (landing: URL, error: string): void => {
      assert.equal(`${landing.origin}${landing.pathname}`, FRONTEND_URL)
      assert.deepEqual([...landing.searchParams.keys()], ['error'])
      assert.equal(landing.searchParams.get('error'), error)
    }

    before(async () => { world = await startSsoWorld(backend) })
    after(async () => { await world?.close() })

    test('a user of company A signs in through A\'s provider, exchanges the code and calls a proxied route as A', async () => {
      world.idpA.addAccount('ada@a.example', { name: 'Ada Lovelace' })
      const landing = await world.signIn('ada@a.example')
      assert.equal(`${landing.origin}${landing.pathname}`, FRONTEND_URL)
      const code = landing.searchParams.get('code') ?? ''
      assert.match(code, /^[A-Za-z0-9_-]{43}$/)
      const exchanged = await world.exchange(code)
      assert.equal(exchanged.status, 200)
      const body = await exchanged.json() as Record<string, unknown>
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'company_id', 'email', 'full_name', 'refresh_token', 'roles', 'token_type', 'user_id'])
      assert.equal(body.company_id, world.companyA.id)
      assert.equal(body.email, 'ada@a.example')
      assert.equal(body.full_name, 'Ada Lovelace')
      assert.deepEqual(body.roles, ['user'], 'just-in-time users get role user')
      assert.equal(decodeJwt(body.access_token as string).company_id, world.companyA.id)

      const proxied = await fetch(`${world.gateway.url}/api/v1/ingest/status`, {
        headers: { authorization: `Bearer ${body.access_token as string}`, 'x-company-id': world.companyB.id },
      })
      assert.equal(proxied.status, 200)
      assert.equal(world.upstream.last().headers['x-company-id'], world.companyA.id)
    })

    test('the redirect to the provider carries state, nonce and an S256 PKCE challenge, bound by an HttpOnly SameSite=Lax signed cookie', async () => {
      const start = await fetch(`${world.gateway.url}/api/v1/users/sso/start?email=ada@a.example`, { redirect: 'manual' })
      assert.equal(start.status, 302)
      const to = new URL(start.headers.get('location') ?? '')
      assert.equal(to.origin, world.idpA.issuer)
      for (const name of ['state', 'nonce', 'code_challenge']) assert.match(to.searchParams.get(name) ?? '', /^[A-Za-z0-9_-]{43}$/, name)
      assert.equal(to.searchParams.get('code_challenge_method'), 'S256')
      assert.equal(to.searchParams.get('login_hint'), 'ada@a.example')
      const cookie = start.headers.getSetCookie().join('\n')
      assert.match(cookie, /^atenex_sso_flow=[^;]+\.[^;]+; Max-Age=600; Path=\/api\/v1\/users\/sso\/callback; HttpOnly; SameSite=Lax$/)
      assert.ok(!cookie.includes(to.searchParams.get('state') ?? ''), 'the cookie value is not the state in clear')
    })

    test('a replayed one-time code is refused', async () => {
      world.idpA.addAccount('replay@a.example')
      const code = (await world.signIn('replay@a.example')).searchParams.get('code') ?? ''
      assert.equal((await world.exchange(code)).status, 200)
      const again = await world.exchange(code)
      assert.equal(again.status, 401)
      assert.deepEqual(await again.json(), { detail: 'Invalid or expired sign-in code.' })
    })

    test('an expired one-time code is refused', async () => {
      world.idpA.addAccount('late@a.example')
      const code = (await world.signIn('late@a.example')).searchParams.get('code') ?? ''
      await world.gateway.app.gateway.db.query("UPDATE gateway_sso_codes SET expires_at = now() - interval '1 second'")
      assert.equal((await world.exchange(code)).status, 401)
      assert.equal((await world.exchange('made-up')).status, 401)
      assert.equal((await world.exchange('')).status, 422)
    })

    test('a wrong state is refused (login CSRF)', async () => {
      world.idpA.addAccount('csrf@a.example')
      const { browser, callback } = await world.toCallback('email=csrf@a.example', 'csrf@a.example', 'idp-password-1')
      callback.searchParams.set('state', 'attacker-chosen-state')
      const before = await codeRows()
      assertRefused(await world.finish(browser, callback), 'invalid_state')
      assert.equal(await codeRows(), before)
    })

    test('a callback from a browser that did not start the sign-in is refused', async () => {
      world.idpA.addAccount('elsewhere@a.example')
      const { callback } = await world.toCallback('email=elsewhere@a.example', 'elsewhere@a.example', 'idp-password-1')
      assertRefused(await world.finish(new Browserless(), callback), 'invalid_state')
    })

    test('a replayed callback (same code, state and cookie) is refused', async () => {
      world.idpA.addAccount('twice@a.example')
      const { browser, callback } = await world.toCallback('email=twice@a.example', 'twice@a.example', 'idp-password-1')
      const cookie = browser.cookiesFor(callback).map((entry) => `${entry.name}=${entry.value}`).join('; ')
      assert.ok((await world.finish(browser, callback)).searchParams.has('code'))
      const replay = await fetch(callback, { headers: { cookie }, redirect: 'manual' })
      assertRefused(new URL(replay.headers.get('location') ?? ''), 'code_rejected')
    })

    test('an authorization code that expired at the provider is refused', async () => {
      world.idpA.addAccount('slow@a.example')
      world.idpA.authorizationCodeTtlSeconds = 1
      try {
        const { browser, callback } = await world.toCallback('email=slow@a.example', 'slow@a.example', 'idp-password-1')
        await new Promise((resolve) => setTimeout(resolve, 1500))
        assertRefused(await world.finish(browser, callback), 'code_rejected')
      } finally {
        world.idpA.authorizationCodeTtlSeconds = 60
      }
    })

    test('an authorization code from provider B presented for company A is refused', async () => {
      world.idpA.addAccount('alice@a.example')
      await world.gateway.user({ email: 'bob@b.example', companyId: world.companyB.id })
      world.idpB.addAccount('bob@b.example')
      const a = await world.toCallback('email=alice@a.example', 'alice@a.example', 'idp-password-1')
      const b = await world.toCallback('email=bob@b.example', 'bob@b.example', 'idp-password-1')
      a.callback.searchParams.set('code', b.callback.searchParams.get('code') ?? '')
      assertRefused(await world.finish(a.browser, a.callback), 'code_rejected')
    })

    test('the provider\'s access_denied ends on the frontend as access_denied', async () => {
      const browser = new Browserless()
      const form = await browser.follow(new URL(`${world.gateway.url}/api/v1/users/sso/start?company=${world.companyA.id}`))
      const cancel = /<a href="([^"]+)">Cancel<\/a>/.exec(await form.response?.text() ?? '')?.[1] ?? ''
      const landing = await browser.follow(new URL(cancel, form.url), { stopBefore: (next) => next.origin === new URL(FRONTEND_URL).origin })
      assertRefused(landing.url, 'access_denied')
    })

    test('an email of company B\'s domain coming from A\'s provider is refused, and no user is made', async () => {
      world.idpA.addAccount('mallory@b.example')
      const { browser, callback } = await world.toCallback(`company=${world.companyA.id}`, 'mallory@b.example', 'idp-password-1')
      assertRefused(await world.finish(browser, callback), 'email_domain_not_allowed')
      assert.equal(await userByEmail('mallory@b.example'), null)
    })

    test('a user of another company is never logged in to A, even with an email of A\'s domain', async () => {
      await world.gateway.user({ email: 'eve@a.example', companyId: world.companyB.id })
      world.idpA.addAccount('eve@a.example')
      assertRefused(await world.signIn('eve@a.example'), 'account_unavailable')
    })

    test('with just-in-time provisioning off, an unknown user is refused and not created', async () => {
      world.idpB.addAccount('newcomer@b.example')
      assertRefused(await world.signIn('newcomer@b.example'), 'user_not_provisioned')
      assert.equal(await userByEmail('newcomer@b.example'), null)
    })

    test('with just-in-time provisioning off, a pre-created user signs in to their company', async () => {
      const user = await world.gateway.user({ email: 'Carol@B.example', companyId: world.companyB.id, roles: ['user', 'admin'] })
      world.idpB.addAccount('carol@b.example')
      const body = await (await world.exchange((await world.signIn('carol@b.example')).searchParams.get('code') ?? '')).json() as Record<string, unknown>
      assert.equal(body.user_id, user.id)
      assert.equal(body.company_id, world.companyB.id)
      assert.deepEqual(body.roles, ['user', 'admin'])
    })

    test('a user deactivated in the gateway cannot sign in through SSO', async () => {
      await world.gateway.user({ email: 'gone@a.example', companyId: world.companyA.id, active: false })
      world.idpA.addAccount('gone@a.example')
      assertRefused(await world.signIn('gone@a.example'), 'account_inactive')
    })

    test('discover answers from the email\'s domain alone (no user enumeration)', async () => {
      const discover = async (email: string): Promise<unknown> =>
        (await fetch(`${world.gateway.url}/api/v1/users/sso/discover?email=${encodeURIComponent(email)}`)).json()
      assert.deepEqual(await discover('ada@a.example'), { sso: true, password_login: true })
      assert.deepEqual(await discover('nobody-at-all@a.example'), await discover('ada@a.example'))
      assert.deepEqual(await discover('carol@B.EXAMPLE'), { sso: true, password_login: false })
      assert.deepEqual(await discover('someone@elsewhere.example'), { sso: false, password_login: true })
      assert.equal((await fetch(`${world.gateway.url}/api/v1/users/sso/discover?email=not-an-email`)).status, 422)
    })

    test('start for a domain without single sign-on ends on the frontend as sso_not_configured; a bad query is a 422', async () => {
      const start = await fetch(`${world.gateway.url}/api/v1/users/sso/start?email=someone@elsewhere.example`, { redirect: 'manual' })
      assert.equal(start.status, 302)
      assertRefused(new URL(start.headers.get('location') ?? ''), 'sso_not_configured')
      for (const query of ['', 'company=not-a-uuid', `email=a@a.example&company=${world.companyA.id}`]) {
        const bad = await fetch(`${world.gateway.url}/api/v1/users/sso/start?${query}`, { redirect: 'manual' })
        assert.equal(bad.status, 422, query)
      }
    })
  })
}
