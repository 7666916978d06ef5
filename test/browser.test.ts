import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { CHROMIUM, chromiumSkip } from './helpers/chromium.js'
import { chromium, type Browser } from 'playwright-core'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

const OUTPUT_DIR = 'test-output'

async function servePage (): Promise<{ server: Server, origin: string }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end('<!doctype html><title>frontend</title><h1>frontend</h1>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` }
}

interface PageResult { ok: boolean, control: string, status?: number, requestId?: string | null, error?: string, company?: string }

describe('a real browser against the gateway', { skip: chromiumSkip() }, () => {
  let browser: Browser
  let gateway: TestGateway
  let upstream: StandInUpstream
  let allowedPage: { server: Server, origin: string }
  let otherPage: { server: Server, origin: string }
  let user: TestUser

  before(async () => {
    allowedPage = await servePage()
    otherPage = await servePage()
    upstream = await startUpstream()
    gateway = await startGateway({ env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_CORS_ORIGINS: allowedPage.origin } })
    user = await gateway.user({ companyId: (await gateway.company()).id })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    })
  })
  after(async () => {
    await browser?.close()
    await gateway?.close()
    await upstream?.close()
    allowedPage?.server.close()
    otherPage?.server.close()
  })

  /** Runs in the page: log in, then call a proxied route with the bearer token, as the frontend does. */
  async function loginAndCall (origin: string): Promise<PageResult> {
    const page = await browser.newPage()
    try {
      await page.goto(origin)
      return await page.evaluate(async ({ base, email, password }) => {
        // Positive control: an opaque no-cors answer proves the gateway answers this page, so a failure below is the browser's block.
        const control = await fetch(`${base}/health/live`, { mode: 'no-cors' }).then((response) => response.type, (error: unknown) => `failed: ${String(error)}`)
        try {
          const login = await fetch(`${base}/api/v1/users/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) })
          const { access_token: token } = await login.json() as { access_token: string }
          const response = await fetch(`${base}/api/v1/ingest/status`, { headers: { Authorization: `Bearer ${token}`, 'X-Company-ID': 'spoofed-by-the-frontend' } })
          const body = await response.json() as { headers: Record<string, string> }
          return { ok: true, control, status: response.status, requestId: response.headers.get('X-Request-ID'), company: body.headers['x-company-id'] }
        } catch (error) {
          return { ok: false, control, error: String(error) }
        }
      }, { base: gateway.url, email: user.email, password: user.password })
    } finally {
      await page.close()
    }
  }

  test('a page from an allowed origin logs in, calls a proxied route and reads X-Request-ID', async () => {
    const result = await loginAndCall(allowedPage.origin)
    assert.equal(result.control, 'opaque')
    assert.equal(result.ok, true, result.error)
    assert.equal(result.status, 200)
    assert.match(result.requestId ?? '', /^[0-9a-f-]{36}$/)
    assert.equal(result.company, user.companyId, 'the frontend\'s own X-Company-ID was replaced')
  })

  test('a page from another origin is blocked by the browser', async () => {
    const result = await loginAndCall(otherPage.origin)
    assert.equal(result.control, 'opaque', 'the gateway was up and answered this page')
    assert.equal(result.ok, false)
    assert.match(result.error ?? '', /Failed to fetch/)
  })

  test('/docs lists the login endpoint; a screenshot is kept', async () => {
    const page = await browser.newPage()
    try {
      await page.goto(`${gateway.url}/docs`)
      await page.getByText('/api/v1/users/login').first().waitFor({ timeout: 15_000 })
      mkdirSync(OUTPUT_DIR, { recursive: true })
      await page.screenshot({ path: `${OUTPUT_DIR}/docs.png`, fullPage: true })
      assert.ok(existsSync(`${OUTPUT_DIR}/docs.png`))
      const spec = await (await fetch(`${gateway.url}/openapi.json`)).json() as { openapi: string, paths: Record<string, unknown> }
      assert.match(spec.openapi, /^3\./)
      for (const path of ['/api/v1/users/login', '/api/v1/users/me/ensure-company', '/api/v1/admin/users', '/health']) {
        assert.ok(spec.paths[path], `${path} is documented`)
      }
    } finally {
      await page.close()
    }
  })

  test('/docs "Try it out" on a nested proxied path sends /api/v1/ingest/status/123, not status%2F123', async () => {
    const page = await browser.newPage()
    try {
      await page.goto(`${gateway.url}/docs`)
      assert.equal(await page.title(), 'Atenex API Gateway · API')
      await page.locator('button.authorize').first().click()
      await page.locator('.auth-container input').first().fill(await gateway.tokenFor(user))
      await page.locator('.auth-btn-wrapper button.authorize').click()
      await page.locator('.auth-btn-wrapper button.btn-done').click()
      const operation = page.locator('#operations-proxy-proxy_ingest_get')
      await operation.locator('.opblock-summary').click()
      await operation.locator('button.try-out__btn').click()
      await operation.locator('tr[data-param-name="path"] input').fill('status/123')
      const received = upstream.received.length
      await operation.locator('button.execute').click()
      const status = operation.locator('.live-responses-table tbody .response-col_status').first()
      await status.waitFor({ timeout: 15_000 })
      assert.match(await status.innerText(), /^\s*200/)
      assert.equal(upstream.received.length, received + 1)
      assert.equal(upstream.last().url, '/api/v1/ingest/status/123')
      assert.equal(upstream.last().headers['x-user-id'], user.id, 'the Authorize dialog\'s token was used')
      mkdirSync(OUTPUT_DIR, { recursive: true })
      await page.screenshot({ path: `${OUTPUT_DIR}/docs-try-it.png`, fullPage: true })
    } finally {
      await page.close()
    }
  })

  test('/redoc renders the same document with the bundle the gateway serves, asking no other host', async () => {
    const page = await browser.newPage()
    // Requests that left the browser; one refused by the page's Content-Security-Policy never does.
    const hosts = new Set<string>()
    page.on('requestfinished', (sent) => hosts.add(new URL(sent.url()).host))
    page.on('requestfailed', (sent) => {
      if (sent.failure()?.errorText !== 'csp') hosts.add(new URL(sent.url()).host)
    })
    try {
      await page.goto(`${gateway.url}/redoc`)
      await page.locator('h1', { hasText: 'Atenex API Gateway' }).first().waitFor({ timeout: 20_000 })
      await page.getByText('Log in with email and password').first().waitFor({ state: 'attached', timeout: 5_000 })
      assert.equal(await page.title(), 'Atenex API Gateway · API reference')
      assert.deepEqual([...hosts].filter((host) => host !== '' && host !== new URL(gateway.url).host), [])
      mkdirSync(OUTPUT_DIR, { recursive: true })
      await page.screenshot({ path: `${OUTPUT_DIR}/redoc.png` })
    } finally {
      await page.close()
    }
  })
})
