import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { AuditEvent } from '../src/audit/events.js'
import { NO_REQUEST } from '../src/audit/events.js'
import { verifyAll } from '../src/audit/verify.js'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'

interface Report { company_id: string | null, rows: number, head_id: string | null, head_hash: string | null, broken: { id: string, reason: string } | null }

/** Tamper evidence (issue 19): append-only, hash-chained per company, and verification finds the first broken link. */
for (const { backend, skip } of await backends()) {
  describe(`audit hash chains and append-only rows [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let adminToken: string

    before(async () => {
      gateway = await startGateway({ backend })
      adminToken = await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id, roles: ['admin', 'user'] }))
    })
    after(async () => { await gateway.close() })

    const db = () => gateway.app.gateway.db
    const event = (companyId: string | null, n: number): AuditEvent => ({ type: 'login.failed', actor: { type: 'system', id: null }, companyId, details: { n } })
    /** A fresh company with `count` events in its chain; their ids, oldest first. */
    const chainOf = async (count: number): Promise<{ companyId: string, ids: string[] }> => {
      const companyId = randomUUID()
      for (let n = 0; n < count; n++) await gateway.app.gateway.audit.record(NO_REQUEST, event(companyId, n))
      const { rows } = await db().query<{ id: string }>('SELECT id::text AS id FROM audit_events WHERE company_id = $1 ORDER BY id', [companyId])
      return { companyId, ids: rows.map((row) => row.id) }
    }
    const verify = async (companyId: string): Promise<Report> => {
      const response = await fetch(`${gateway.url}/api/v1/admin/audit/verify?company_id=${companyId}`, { headers: { authorization: `Bearer ${adminToken}` } })
      assert.equal(response.status, 200)
      const body = await response.json() as { ok: boolean, chains: Report[] }
      assert.equal(body.ok, body.chains.every((chain) => chain.broken === null))
      return body.chains[0] as Report
    }
    /** What a superuser could do: the trigger switched off for one statement. */
    const bypass = async (sql: string, params: unknown[]): Promise<void> => {
      await db().transaction(async (tx) => {
        await tx.query('ALTER TABLE audit_events DISABLE TRIGGER gateway_audit_append_only')
        await tx.query(sql, params)
        await tx.query('ALTER TABLE audit_events ENABLE TRIGGER gateway_audit_append_only')
      })
    }

    test('the application cannot update, delete or truncate a row', async () => {
      const { ids } = await chainOf(1)
      await assert.rejects(db().query("UPDATE audit_events SET type = 'login.succeeded' WHERE id = $1", [ids[0]]), /append-only/)
      await assert.rejects(db().query('DELETE FROM audit_events WHERE id = $1', [ids[0]]), /append-only/)
      await assert.rejects(db().query('TRUNCATE audit_events'), /append-only/)
      assert.equal((await db().query('SELECT 1 FROM audit_events WHERE id = $1', [ids[0]])).rows.length, 1)
    })

    test('concurrent writers to one chain never share a predecessor: the chain verifies', async () => {
      const companyId = randomUUID()
      await Promise.all(Array.from({ length: 40 }, async (_, n) => gateway.app.gateway.audit.record(NO_REQUEST, event(companyId, n))))
      const { rows } = await db().query<{ prev_hash: string }>('SELECT prev_hash FROM audit_events WHERE company_id = $1', [companyId])
      assert.equal(new Set(rows.map((row) => row.prev_hash)).size, 40)
      const report = await verify(companyId)
      assert.equal(report.rows, 40)
      assert.equal(report.broken, null)
      assert.match(report.head_hash ?? '', /^[0-9a-f]{64}$/)
    })

    test('a row changed with SQL is the first broken link: altered', async () => {
      const { companyId, ids } = await chainOf(5)
      assert.equal((await verify(companyId)).broken, null)
      await bypass('UPDATE audit_events SET details = \'{"n": 99}\'::jsonb WHERE id = $1', [ids[2]])
      assert.deepEqual((await verify(companyId)).broken, { id: ids[2], reason: 'altered' })
    })

    test('a row rewritten with its hash recomputed breaks the next link', async () => {
      const { companyId, ids } = await chainOf(4)
      await bypass("UPDATE audit_events SET client_ip = '10.9.9.9', hash = repeat('a', 64) WHERE id = $1", [ids[1]])
      const broken = (await verify(companyId)).broken
      assert.ok(broken !== null && (broken.id === ids[1] || broken.id === ids[2]), JSON.stringify(broken))
    })

    test('a row deleted with SQL breaks the link of the row after it', async () => {
      const { companyId, ids } = await chainOf(5)
      await bypass('DELETE FROM audit_events WHERE id = $1', [ids[1]])
      assert.deepEqual((await verify(companyId)).broken, { id: ids[2], reason: 'broken_link' })
    })

    test('retention prunes the oldest rows through its function only, and the rest still verifies', async () => {
      const { companyId, ids } = await chainOf(4)
      // The two oldest rows of this chain made old, as if a year had passed (through the bypass: rows never change otherwise).
      await bypass("UPDATE audit_events SET occurred_at = occurred_at - interval '400 days' WHERE id = ANY($1::bigint[])", [ids.slice(0, 2)])
      const before = await verifyAll(db(), companyId)
      assert.equal(before[0]?.broken?.id, ids[0], 'the time is covered by the hash')
      const { rows } = await db().query<{ removed: string | number }>("SELECT gateway_audit_prune(now() - interval '365 days') AS removed")
      assert.ok(Number(rows[0]?.removed) >= 2)
      const remaining = await db().query<{ id: string }>('SELECT id::text AS id FROM audit_events WHERE company_id = $1 ORDER BY id', [companyId])
      assert.deepEqual(remaining.rows.map((row) => row.id), ids.slice(2))
      const report = await verify(companyId)
      assert.equal(report.broken, null, 'verification starts at the oldest remaining row')
      assert.equal(report.rows, 2)
    })
  })
}
