import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { CHROMIUM, chromiumSkip } from './helpers/chromium.js'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startSsoWorld, type SsoWorld } from './helpers/sso-world.js'

const OUTPUT_DIR = 'test-output'

/** The two calls a frontend makes: discover (show the button?) and, on its landing page, exchange the code. */
function frontendPages (gatewayUrl: () => string): (path: string) => string {
  return (path) => path.startsWith('/login')
    ? `<h1>Log in</h1><p id="status">checking…</p><a id="sso" hidden>Sign in with your company account</a>
      <script>
        const email = new URLSearchParams(location.search).get('email')
        fetch('${gatewayUrl()}/api/v1/users/sso/discover?email=' + encodeURIComponent(email)).then((r) => r.json()).then((answer) => {
          document.getElementById('status').textContent = JSON.stringify(answer)
          const link = document.getElementById('sso')
          link.href = '${gatewayUrl()}/api/v1/users/sso/start?email=' + encodeURIComponent(email)
          link.hidden = !answer.sso
        })
      </script>`
    : `<h1>Signing you in</h1><pre id="result"></pre>
      <script>
        const done = (value) => { const out = document.getElementById('result'); out.textContent = JSON.stringify(value); out.dataset.done = 'yes' }
        const params = new URLSearchParams(location.search)
        if (params.has('error')) done({ error: params.get('error') })
        else fetch('${gatewayUrl()}/api/v1/users/sso/exchange', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: params.get('code') }) })
          .then(async (r) => {
            const session = await r.json()
            const proxied = await fetch('${gatewayUrl()}/api/v1/ingest/status', { headers: { Authorization: 'Bearer ' + session.access_token, 'X-Company-ID': 'chosen-by-the-page' } })
            const echoed = await proxied.json()
            done({ exchange: r.status, company: session.company_id, status: proxied.status, upstreamCompany: echoed.headers['x-company-id'] })
          }).catch((error) => done({ failed: String(error) }))
      </script>`
}

describe('single sign-on in a real browser: frontend → gateway → provider login form → gateway → frontend', { skip: chromiumSkip() }, () => {
  let browser: Browser
  let world: SsoWorld
  let frontend: Server
  let frontendOrigin: string

  before(async () => {
    let gatewayUrl = ''
    const page = frontendPages(() => gatewayUrl)
    frontend = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>frontend</title>${page(req.url ?? '/')}`))
    await new Promise<void>((resolve) => frontend.listen(0, '127.0.0.1', resolve))
    frontendOrigin = `http://localhost:${(frontend.address() as AddressInfo).port}`
    world = await startSsoWorld('pglite', { GATEWAY_SSO_FRONTEND_URL: `${frontendOrigin}/sso/landing`, GATEWAY_CORS_ORIGINS: frontendOrigin })
    gatewayUrl = world.gateway.url
    world.idpA.addAccount('ada@a.example', { password: 'ada-at-her-idp' })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    })
  })
  after(async () => {
    await browser?.close()
    await world?.close()
    frontend?.close()
  })

  async function resultOf (page: Page): Promise<Record<string, unknown>> {
    await page.locator('#result[data-done="yes"]').waitFor({ timeout: 20_000 })
    return JSON.parse(await page.locator('#result').textContent() ?? '{}') as Record<string, unknown>
  }

  test('a user of company A logs in at A\'s provider and lands on the frontend with a one-time code, never a token', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const visited: string[] = []
    // Every top-level request, redirect hops included: the whole chain the browser walked.
    page.on('request', (request) => { if (request.isNavigationRequest() && request.frame() === page.mainFrame()) visited.push(request.url()) })
    try {
      await page.goto(`${frontendOrigin}/login?email=ada@a.example`)
      await page.locator('#sso:not([hidden])').click({ timeout: 15_000 })
      await page.waitForURL((url) => url.origin === world.idpA.issuer, { timeout: 15_000 })
      await page.locator('input[name="login"]').fill('ada@a.example')
      await page.locator('input[name="password"]').fill('ada-at-her-idp')
      mkdirSync(OUTPUT_DIR, { recursive: true })
      await page.screenshot({ path: `${OUTPUT_DIR}/sso-provider-login.png` })
      await page.locator('button[type="submit"]').click()
      await page.waitForURL((url) => url.origin === frontendOrigin && url.pathname === '/sso/landing', { timeout: 15_000 })
      const result = await resultOf(page)
      assert.deepEqual(result, { exchange: 200, company: world.companyA.id, status: 200, upstreamCompany: world.companyA.id })

      const landing = new URL(visited.at(-1) ?? '')
      assert.deepEqual([...landing.searchParams.keys()], ['code'])
      const hops = [`${frontendOrigin}/login`, `${world.gateway.url}/api/v1/users/sso/start`, `${world.idpA.issuer}/auth`,
        `${world.idpA.issuer}/interaction/`, `${world.gateway.url}/api/v1/users/sso/callback`, `${frontendOrigin}/sso/landing`]
      let at = 0
      for (const url of visited) if (url.startsWith(hops[at] ?? '\u0000')) at += 1
      assert.equal(at, hops.length, `the chain, in order: ${hops.join(' → ')}; walked: ${visited.map((url) => url.split('?')[0]).join(' → ')}`)
      assert.ok(visited.every((url) => !/eyJ[\w-]+\.eyJ/.test(url) && !/access_token|refresh_token|id_token/.test(url)), `no token in any URL: ${visited.join(' ')}`)
    } finally {
      await context.close()
    }
  })

  test('a user who cancels at the provider lands on the frontend with error=access_denied', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    try {
      await page.goto(`${world.gateway.url}/api/v1/users/sso/start?email=ada@a.example`)
      await page.getByText('Cancel').click({ timeout: 15_000 })
      await page.waitForURL((url) => url.origin === frontendOrigin, { timeout: 15_000 })
      assert.deepEqual(await resultOf(page), { error: 'access_denied' })
    } finally {
      await context.close()
    }
  })
})
