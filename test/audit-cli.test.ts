import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pino from 'pino'
import { AuditLog } from '../src/audit/audit-log.js'
import { NO_REQUEST } from '../src/audit/events.js'
import { loadDatabaseConfig } from '../src/config.js'
import type { Database } from '../src/db/database.js'
import { migrate } from '../src/db/migrate.js'
import { openDatabase } from '../src/db/open.js'
import { cliMissing, runCli } from './helpers/cli.js'
import { createPostgresDatabase, postgresUnavailableReason } from './helpers/databases.js'

const COMPANY = '11111111-2222-4333-8444-555555555555'
const silent = pino({ level: 'silent' })

async function withDb<T> (env: Record<string, string>, work: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(loadDatabaseConfig(env), silent)
  try {
    await migrate(db, silent)
    return await work(db)
  } finally {
    await db.close()
  }
}

const cases = [
  { backend: 'postgres', skip: cliMissing || (await postgresUnavailableReason()) || false },
  { backend: 'pglite', skip: cliMissing },
] as const

/** `atenex-gateway audit` and `audit verify` (issue 19), against the database the server uses. */
for (const { backend, skip } of cases) {
  describe(`the audit command line [${backend}]`, { skip }, () => {
    test('audit lists with filters; audit verify passes, then names a row changed with SQL and exits 1', { timeout: 300_000 }, async (t) => {
      const folder = backend === 'pglite' ? mkdtempSync(join(tmpdir(), 'audit-cli-')) : undefined
      const postgres = backend === 'postgres' ? await createPostgresDatabase() : undefined
      const env = folder ? { GATEWAY_DATA_DIR: folder } : postgres?.env ?? {}
      t.after(async () => {
        await postgres?.drop()
        if (folder) rmSync(folder, { recursive: true, force: true })
      })
      const ids = await withDb(env, async (db) => {
        const audit = new AuditLog(db, true, (error) => { throw error })
        for (let n = 0; n < 5; n++) await audit.record(NO_REQUEST, { type: n % 2 === 0 ? 'login.failed' : 'login.succeeded', actor: { type: 'user', id: `user-${n}` }, companyId: COMPANY, details: { n } })
        await audit.record(NO_REQUEST, { type: 'company.created', actor: { type: 'system', id: null }, companyId: null })
        return (await db.query<{ id: string }>('SELECT id::text AS id FROM audit_events WHERE company_id = $1 ORDER BY id', [COMPANY])).rows.map((row) => row.id)
      })

      const listed = await runCli(['audit', '--company-id', COMPANY, '--type', 'login.failed', '--limit', '2'], env)
      assert.equal(listed.status, 0, listed.stderr)
      const lines = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: string, type: string, details: { n: number } })
      assert.deepEqual(lines.map((line) => line.details.n), [4, 2], 'newest first, filtered, limited')
      assert.match(listed.stderr, new RegExp(`More events: --cursor ${lines[1]?.id ?? ''}`))
      const next = await runCli(['audit', '--company-id', COMPANY, '--type', 'login.failed', '--cursor', lines[1]?.id ?? ''], env)
      assert.deepEqual(next.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { details: { n: number } }).details.n), [0])
      const refused = await runCli(['audit', '--limit', '0'], env)
      assert.equal(refused.status, 2)
      assert.match(refused.stderr, /--limit must be >= 1 \(the rule of GET \/api\/v1\/admin\/audit\)/)

      const ok = await runCli(['audit', 'verify'], env)
      assert.equal(ok.status, 0, ok.stderr)
      assert.match(ok.stderr, /2 chains verified, 6 events, no broken link/)
      const chains = ok.stdout.trim().split('\n').map((line) => JSON.parse(line) as { company_id: string | null, rows: number, broken: unknown })
      assert.deepEqual(chains.map((chain) => [chain.company_id, chain.rows, chain.broken]), [[null, 1, null], [COMPANY, 5, null]])

      await withDb(env, async (db) => db.transaction(async (tx) => {
        await tx.query('ALTER TABLE audit_events DISABLE TRIGGER gateway_audit_append_only')
        await tx.query("UPDATE audit_events SET actor_id = 'someone-else' WHERE id = $1", [ids[3]])
        await tx.query('ALTER TABLE audit_events ENABLE TRIGGER gateway_audit_append_only')
      }))
      const broken = await runCli(['audit', 'verify'], env)
      assert.equal(broken.status, 1)
      assert.match(broken.stderr, new RegExp(`chain ${COMPANY}: broken at event ${ids[3] ?? ''} \\(altered\\)`))

      // What the command line itself changes is audited, by the system's `cli` actor.
      const made = await runCli(['create-company', '--name', 'Made by the CLI'], env)
      assert.equal(made.status, 0, made.stderr)
      const [event] = (await runCli(['audit', '--type', 'company.created', '--limit', '1'], env)).stdout.trim().split('\n').map((line) => JSON.parse(line) as { actor: unknown, company_id: string })
      assert.deepEqual(event?.actor, { type: 'system', id: 'cli' })
      assert.equal(event?.company_id, made.stdout.trim())
    })
  })
}
