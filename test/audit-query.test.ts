import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { setImmediate } from 'node:timers/promises'
import { NO_REQUEST } from '../src/audit/events.js'
import { backends } from './helpers/databases.js'
import type { AuditEventView } from './helpers/audit.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'

const SEEDED = 10_000

/** GET /api/v1/admin/audit and its export (issue 19): filters, keyset pages, validation, NDJSON. */
for (const { backend, skip } of await backends()) {
  describe(`audit query and export [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let companyId: string
    let adminToken: string

    before(async () => {
      gateway = await startGateway({ backend })
      companyId = (await gateway.company()).id
      adminToken = await gateway.tokenFor(await gateway.user({ companyId, roles: ['admin', 'user'] }))
      // Seeded straight in SQL (10,000 logins over HTTP would test bcrypt): the query reads rows, not the chain.
      await gateway.app.gateway.db.query(
        `INSERT INTO audit_events (occurred_at, type, actor_type, actor_id, company_id, details, prev_hash, hash)
         SELECT now() - make_interval(secs => $2 - n), 'login.failed', 'system', 'seed-' || n, $1, jsonb_build_object('n', n), '', ''
           FROM generate_series(1, $2) AS n`, [companyId, SEEDED])
    })
    after(async () => { await gateway.close() })

    const get = async (path: string, token = adminToken): Promise<Response> => fetch(`${gateway.url}/api/v1/admin${path}`, { headers: { authorization: `Bearer ${token}` } })
    const page = async (query: Record<string, string>): Promise<{ events: AuditEventView[], next_cursor: string | null }> => {
      const response = await get(`/audit?${new URLSearchParams(query).toString()}`)
      assert.equal(response.status, 200, await response.clone().text())
      return await response.json() as { events: AuditEventView[], next_cursor: string | null }
    }

    test('10,000 events page newest first without a skip or a repeat while new events keep arriving', async () => {
      const filter = { company_id: companyId, type: 'login.failed', limit: '250' }
      const first = await page(filter)
      const top = BigInt(first.events[0]?.id ?? 0)
      const writing = { on: true }
      let inserted = 0
      const writer = (async () => {
        while (writing.on) {
          await gateway.app.gateway.audit.record(NO_REQUEST, { type: 'login.failed', actor: { type: 'system', id: null }, companyId, details: { concurrent: true } })
          inserted += 1
          // PGlite answers in-process: without a turn of the event loop, this writer would starve the HTTP requests.
          await setImmediate()
        }
      })()
      const seen = [...first.events]
      let cursor = first.next_cursor
      try {
        while (cursor !== null) {
          const next = await page({ ...filter, cursor })
          seen.push(...next.events)
          cursor = next.next_cursor
        }
      } finally {
        writing.on = false
        await writer
      }
      assert.ok(inserted > 0, 'events were inserted while paging')
      const ids = seen.map((event) => BigInt(event.id))
      assert.equal(ids.length, SEEDED)
      assert.equal(new Set(ids).size, SEEDED, 'no event twice')
      assert.ok(ids.every((id, i) => i === 0 || id < (ids[i - 1] as bigint)), 'strictly newest first')
      assert.equal(ids[0], top)
      assert.ok(seen.every((event) => event.details.concurrent === undefined), 'the pages hold what existed when the first was read')
      assert.deepEqual(seen.at(-1)?.details, { n: 1 })
      const fresh = await page({ ...filter, limit: '1' })
      assert.ok(BigInt(fresh.events[0]?.id ?? 0) > top, 'a new first page starts with the newer events')
    })

    test('filters: actor, since and until narrow the events', async () => {
      const byActor = await page({ actor: 'seed-42' })
      assert.deepEqual(byActor.events.map((event) => event.details), [{ n: 42 }])
      assert.equal(byActor.next_cursor, null)
      const recent = await page({ company_id: companyId, since: new Date(Date.now() - 60_000).toISOString(), limit: '1000' })
      assert.ok(recent.events.length > 0 && recent.events.length < 200, `a minute of seeds, got ${recent.events.length}`)
      const old = await page({ company_id: companyId, until: new Date(Date.now() - 9_000_000).toISOString(), limit: '1000' })
      assert.ok(old.events.length > 0 && old.events.every((event) => Date.parse(event.occurred_at) < Date.now() - 9_000_000))
      assert.equal((await page({ company_id: randomUUID() })).events.length, 0)
    })

    test('invalid filters answer 422 in FastAPI\'s shape; an API key 401; a member 403', async () => {
      for (const query of ['cursor=abc', 'cursor=-1', 'limit=0', 'limit=1001', 'type=login.maybe', 'since=yesterday', 'company_id=nope', 'sort=asc', 'actor=a%20b']) {
        const response = await get(`/audit?${query}`)
        assert.equal(response.status, 422, query)
        const body = await response.json() as { detail: { loc: unknown[], msg: string, type: string }[] }
        assert.ok(Array.isArray(body.detail) && body.detail[0]?.loc[0] === 'query', query)
      }
      assert.equal((await get('/audit/export?after=x')).status, 422)
      const key = await (await fetch(`${gateway.url}/api/v1/admin/companies/${companyId}/api-keys`, {
        method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'k', scopes: ['ingest:read'] }),
      })).json() as { key: string }
      for (const path of ['/audit', '/audit/export', '/audit/verify']) {
        assert.equal((await get(path, key.key)).status, 401, path)
        assert.equal((await get(path, await gateway.tokenFor(await gateway.user({ companyId })))).status, 403, path)
      }
    })

    test('the export streams NDJSON oldest first, with the same filters, up to the newest event when it began', async () => {
      const response = await get(`/audit/export?company_id=${companyId}&type=login.failed`)
      assert.equal(response.status, 200)
      assert.match(response.headers.get('content-type') ?? '', /^application\/x-ndjson/)
      const lines = (await response.text()).split('\n')
      assert.equal(lines.pop(), '', 'every line ends with a newline')
      const events = lines.map((line) => JSON.parse(line) as AuditEventView)
      assert.ok(events.length >= SEEDED)
      assert.deepEqual(events[0]?.details, { n: 1 })
      assert.ok(events.every((event, i) => event.type === 'login.failed' && event.company_id === companyId && (i === 0 || BigInt(event.id) > BigInt(events[i - 1]?.id ?? 0))))
      const tail = await (await get(`/audit/export?company_id=${companyId}&type=login.failed&after=${events.at(-2)?.id ?? ''}`)).text()
      assert.equal(tail, `${lines.at(-1) ?? ''}\n`, 'after= resumes an export')
    })
  })
}
