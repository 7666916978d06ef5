import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { startGateway } from './helpers/gateway.js'
import { closedPortUrl } from './helpers/upstream.js'
import { startSsoWorld, type SsoWorld } from './helpers/sso-world.js'

for (const { backend, skip } of await backends()) {
  describe(`single sign-on, the admin API and secrecy [${backend}]`, { skip }, () => {
    let world: SsoWorld
    const admin = (path: string, init: { method?: string, body?: unknown, token?: string } = {}): Promise<Response> =>
      fetch(`${world.gateway.url}/api/v1/admin${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${init.token ?? world.adminToken}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      })

    before(async () => { world = await startSsoWorld(backend, { GATEWAY_LOG_LEVEL: 'DEBUG' }) })
    after(async () => { await world?.close() })

    test('a provider is shown with its settings and redirect URI, never its secret', async () => {
      const shown = await admin(`/companies/${world.companyA.id}/sso`)
      assert.equal(shown.status, 200)
      const body = await shown.json() as Record<string, unknown>
      assert.equal(body.issuer, world.idpA.issuer)
      assert.equal(body.client_id, world.idpA.clientId)
      assert.equal(body.client_secret_set, true)
      assert.equal('client_secret' in body, false)
      assert.deepEqual(body.allowed_domains, ['a.example'])
      assert.deepEqual(body.scopes, ['openid', 'email', 'profile'])
      assert.equal(body.provisioning, 'jit')
      assert.equal(body.password_login, true)
      assert.equal(body.max_session_hours, 24)
      assert.equal(body.redirect_uri, `${world.gateway.url}/api/v1/users/sso/callback`)
      const list = await (await admin('/sso')).json() as { company_id: string }[]
      assert.deepEqual(list.map((entry) => entry.company_id).sort(), [world.companyA.id, world.companyB.id].sort())
    })

    test('the client secret is stored sealed (AES-256-GCM JWE), not in clear', async () => {
      const { rows } = await world.gateway.app.gateway.db.query<{ sealed: string }>('SELECT client_secret_sealed AS sealed FROM gateway_sso_providers')
      for (const { sealed } of rows) {
        assert.equal(sealed.split('.').length, 5)
        assert.deepEqual(JSON.parse(Buffer.from(sealed.split('.')[0] ?? '', 'base64url').toString()).enc, 'A256GCM')
        assert.ok(!sealed.includes(world.idpA.clientSecret) && !sealed.includes(world.idpB.clientSecret))
      }
    })

    test('replacing a provider without client_secret keeps the stored one; a new provider needs one', async () => {
      const { client_secret: _secret, ...withoutSecret } = { issuer: world.idpA.issuer, client_id: world.idpA.clientId, client_secret: '', allowed_domains: ['a.example'], provisioning: 'jit' }
      const kept = await admin(`/companies/${world.companyA.id}/sso`, { method: 'PUT', body: withoutSecret })
      assert.equal(kept.status, 200, await kept.clone().text())
      world.idpA.addAccount('still@a.example')
      assert.ok((await world.signIn('still@a.example')).searchParams.has('code'), 'the kept secret still authenticates the gateway')
      const fresh = await world.gateway.company()
      const refused = await admin(`/companies/${fresh.id}/sso`, { method: 'PUT', body: { ...withoutSecret, allowed_domains: ['fresh.example'] } })
      assert.equal(refused.status, 400)
      assert.deepEqual(await refused.json(), { detail: 'client_secret is required for a new provider.' })
    })

    test('bad settings are refused with clear answers: 422 for shapes, 400 for meaning, 404, 409', async () => {
      const fresh = await world.gateway.company()
      const base = { issuer: world.idpB.issuer, client_id: world.idpB.clientId, client_secret: world.idpB.clientSecret, allowed_domains: ['fresh.example'] }
      const put = async (body: unknown, companyId = fresh.id): Promise<{ status: number, detail: unknown }> => {
        const response = await admin(`/companies/${companyId}/sso`, { method: 'PUT', body })
        return { status: response.status, detail: ((await response.json()) as { detail: unknown }).detail }
      }
      const missing = await put({ client_id: 'x', allowed_domains: ['x.example'] })
      assert.equal(missing.status, 422)
      assert.deepEqual(missing.detail, [{ loc: ['body', 'issuer'], msg: 'Field required', type: 'missing' }])
      assert.equal((await put({ ...base, allowed_domains: ['not a domain'] })).status, 422)
      assert.equal((await put({ ...base, provisioning: 'everyone' })).status, 422)
      assert.deepEqual(await put({ ...base, scopes: ['email'] }), { status: 400, detail: "scopes must include 'openid'." })
      assert.deepEqual(await put({ ...base, issuer: 'ftp://idp.example' }), { status: 400, detail: 'issuer must be an https:// URL.' })
      const unreachable = await closedPortUrl()
      assert.deepEqual(await put({ ...base, issuer: unreachable }), {
        status: 400, detail: `Could not read the OpenID configuration of '${unreachable}' (unreachable, not OpenID Connect, or its issuer differs).`,
      })
      assert.deepEqual(await put({ ...base, allowed_domains: ['a.example'] }), { status: 409, detail: "Domain 'a.example' already belongs to another company's single sign-on." })
      const nobody = '00000000-0000-4000-8000-000000000000'
      assert.deepEqual(await put(base, nobody), { status: 404, detail: `Company with ID '${nobody}' not found.` })
      assert.equal((await admin(`/companies/${fresh.id}/sso`)).status, 404)
      assert.equal((await admin('/companies/not-a-uuid/sso')).status, 422)
    })

    test('authorization parameters that carry the flow\'s security cannot be set (unknown keys are refused, as everywhere in the API)', async () => {
      const fresh = await world.gateway.company()
      const body = {
        issuer: world.idpB.issuer,
        client_id: world.idpB.clientId,
        client_secret: world.idpB.clientSecret,
        allowed_domains: ['params.example'],
        authorization_params: { prompt: 'consent', redirect_uri: 'https://evil.example/steal', state: 'fixed' },
      }
      const refused = await admin(`/companies/${fresh.id}/sso`, { method: 'PUT', body })
      assert.equal(refused.status, 422, 'redirect_uri and state are not parameters a company may set')
      const saved = await admin(`/companies/${fresh.id}/sso`, { method: 'PUT', body: { ...body, authorization_params: { prompt: 'consent' } } })
      assert.equal(saved.status, 200)
      assert.deepEqual((await saved.json() as { authorization_params: unknown }).authorization_params, { prompt: 'consent' })
      const start = await fetch(`${world.gateway.url}/api/v1/users/sso/start?company=${fresh.id}`, { redirect: 'manual' })
      const to = new URL(start.headers.get('location') ?? '')
      assert.equal(to.searchParams.get('redirect_uri'), `${world.gateway.url}/api/v1/users/sso/callback`)
      assert.equal(to.searchParams.get('prompt'), 'consent')
      assert.notEqual(to.searchParams.get('state'), 'fixed')
    })

    test('disconnecting: 204, then 404; the domain is free again', async () => {
      const fresh = await world.gateway.company()
      const body = { issuer: world.idpB.issuer, client_id: world.idpB.clientId, client_secret: world.idpB.clientSecret, allowed_domains: ['gone.example'] }
      assert.equal((await admin(`/companies/${fresh.id}/sso`, { method: 'PUT', body })).status, 200)
      assert.equal((await admin(`/companies/${fresh.id}/sso`, { method: 'DELETE' })).status, 204)
      assert.equal((await admin(`/companies/${fresh.id}/sso`, { method: 'DELETE' })).status, 404)
      const other = await world.gateway.company()
      assert.equal((await admin(`/companies/${other.id}/sso`, { method: 'PUT', body })).status, 200)
    })

    test('only admins: 401 without a token, 403 for a user', async () => {
      const user = await world.gateway.user({ companyId: world.companyA.id })
      assert.equal((await fetch(`${world.gateway.url}/api/v1/admin/sso`)).status, 401)
      const forbidden = await admin(`/companies/${world.companyA.id}/sso`, { token: await world.gateway.tokenFor(user) })
      assert.equal(forbidden.status, 403)
      assert.deepEqual(await forbidden.json(), { detail: 'Insufficient permissions. Administrator role required.' })
    })

    test('the client secret, the codes and the provider\'s tokens never appear in a response, a log line or /metrics', async () => {
      world.idpA.addAccount('quiet@a.example')
      const landing = await world.signIn('quiet@a.example')
      const code = landing.searchParams.get('code') ?? ''
      const exchanged = await (await world.exchange(code)).json() as { access_token: string, refresh_token: string }
      const responses = [
        await (await admin('/sso')).text(),
        await (await admin(`/companies/${world.companyA.id}/sso`)).text(),
        await (await fetch(`${world.gateway.url}/openapi.json`)).text(),
      ].join('\n')
      const metrics = await (await fetch(`${world.gateway.url}/metrics`)).text()
      const logs = world.gateway.logs.text
      assert.ok(world.gateway.logs.entries.some((entry) => entry.msg === 'single sign-on succeeded'), 'the sign-in was logged')
      for (const secret of [world.idpA.clientSecret, world.idpB.clientSecret, code, exchanged.access_token, exchanged.refresh_token]) {
        assert.ok(!responses.includes(secret) && !metrics.includes(secret) && !logs.includes(secret), `a secret leaked: ${secret.slice(0, 6)}…`)
      }
      assert.doesNotMatch(logs, /eyJ[\w-]+\.eyJ/, 'no JWT (ID token) in the log')
      assert.doesNotMatch(logs, /[?&](code|state)=/, 'no callback query string in the log')
    })
  })
}

describe('single sign-on with the default, https-only issuers', () => {
  test('http:// issuers are refused unless GATEWAY_SSO_ALLOW_HTTP_ISSUERS=true', async () => {
    const gateway = await startGateway({ env: { GATEWAY_PUBLIC_URL: 'https://api.example.com', GATEWAY_SSO_FRONTEND_URL: 'http://localhost:3000/sso' } })
    try {
      const company = await gateway.company()
      const token = await gateway.tokenFor(await gateway.user({ companyId: company.id, roles: ['admin'] }))
      const response = await fetch(`${gateway.url}/api/v1/admin/companies/${company.id}/sso`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ issuer: 'http://idp.example', client_id: 'x', client_secret: 'y', allowed_domains: ['x.example'] }),
      })
      assert.equal(response.status, 400)
      assert.deepEqual(await response.json(), { detail: 'issuer must be an https:// URL.' })
    } finally {
      await gateway.close()
    }
  })
})
