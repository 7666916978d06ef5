import assert from 'node:assert/strict'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { randomUUID } from 'node:crypto'
import bcrypt from 'bcrypt'
import pino from 'pino'
import { GENESIS_HASH, rowHash, type HashedFields } from '../src/audit/hash.js'
import { loadDatabaseConfig } from '../src/config.js'
import { migrate } from '../src/db/migrate.js'
import { openDatabase } from '../src/db/open.js'
import { cliMissing, startCli } from './helpers/cli.js'
import { createPostgresDatabase, postgresUnavailableReason } from './helpers/databases.js'
import { signToken, TEST_JWT_SECRET } from './helpers/gateway.js'

const EVENTS = Number(process.env.AUDIT_EXPORT_EVENTS ?? 100_000)
const BATCH = 5000
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const LISTENING = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/
/**
 * What the export may add to the gateway's resident memory, well under what holding it would take (the export is
 * 63 MB of text, and more as objects). PGlite runs the database in the gateway's process: its WebAssembly heap grows
 * by some 60-70 MB over a full read whatever the number of rows (measured: +69 MB for 25,000 events, +61 MB for 200,000).
 */
const MAX_GROWTH_BYTES = { postgres: 40 * 1024 * 1024, pglite: 96 * 1024 * 1024 } as const

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/** 100,000 events (with a browser's user agent, as real rows have) and an administrator, before the gateway starts. */
async function seed (env: Record<string, string>): Promise<{ id: string, email: string, companyId: string }> {
  const db = await openDatabase(loadDatabaseConfig(env), pino({ level: 'silent' }))
  try {
    await migrate(db, pino({ level: 'silent' }))
    const { rows: [company] } = await db.query<{ id: string }>("INSERT INTO companies (name) VALUES ('Exported Co') RETURNING id")
    const { rows: [admin] } = await db.query<{ id: string, email: string }>(
      "INSERT INTO users (email, hashed_password, company_id, roles) VALUES ('exporter@example.com', $1, $2, ARRAY['admin','user']) RETURNING id, email",
      [await bcrypt.hash('unused-password', 4), company?.id])
    // A valid chain (hashes computed as the writer does), so that verification walks all of it.
    let prevHash = GENESIS_HASH
    const first = Date.now() - EVENTS * 1000
    for (let from = 1; from <= EVENTS; from += BATCH) {
      const batch: (HashedFields & { hash: string })[] = []
      for (let n = from; n < Math.min(from + BATCH, EVENTS + 1); n++) {
        const fields = {
          prevHash,
          occurredAt: new Date(first + n * 1000),
          type: 'login.failed',
          actorType: 'user',
          actorId: admin?.id as string,
          targetType: 'user',
          targetId: admin?.id as string,
          companyId: company?.id as string,
          clientIp: `203.0.113.${n % 250}`,
          userAgent: USER_AGENT,
          requestId: randomUUID(),
          details: { reason: 'wrong_password', n },
        }
        prevHash = rowHash(fields)
        batch.push({ ...fields, hash: prevHash })
      }
      const column = <K extends keyof typeof batch[number]>(key: K) => batch.map((row) => row[key])
      await db.query(
        `INSERT INTO audit_events (occurred_at, type, actor_type, actor_id, target_type, target_id, company_id, client_ip, user_agent, request_id, details, prev_hash, hash)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::text[], $13::text[])`,
        [column('occurredAt'), column('type'), column('actorType'), column('actorId'), column('targetType'), column('targetId'), column('companyId'), column('clientIp'),
          column('userAgent'), column('requestId'), batch.map((row) => JSON.stringify(row.details)), column('prevHash'), column('hash')])
    }
    return { id: admin?.id as string, email: admin?.email as string, companyId: company?.id as string }
  } finally {
    await db.close()
  }
}

/** Reads the export at the pace of a SIEM that stops for a second midway, sampling the gateway's RSS throughout. */
async function exportWhileSampling (base: string, token: string, pid: number): Promise<{ lines: number, bytes: number, peakRss: number }> {
  let peakRss = rssOf(pid)
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, rssOf(pid)) }, 20)
  try {
    return await new Promise((resolve, reject) => {
      get(`${base}/api/v1/admin/audit/export`, { headers: { authorization: `Bearer ${token}` } }, (response) => {
        assert.equal(response.statusCode, 200)
        let lines = 0
        let bytes = 0
        let paused = false
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length
          for (const byte of chunk) if (byte === 10) lines += 1
          if (!paused && lines > EVENTS / 2) {
            paused = true
            response.pause()
            setTimeout(() => response.resume(), 1000)
          }
        })
        response.on('end', () => resolve({ lines, bytes, peakRss }))
        response.on('error', reject)
      }).on('error', reject)
    })
  } finally {
    clearInterval(sampler)
  }
}

const cases = [
  { backend: 'postgres', skip: cliMissing || (await postgresUnavailableReason()) || false },
  { backend: 'pglite', skip: cliMissing },
] as const

for (const { backend, skip } of cases) {
  describe(`the audit export streams in bounded memory [${backend}]`, { skip }, () => {
    test(`${EVENTS} events are exported while the gateway's RSS grows by less than ${mb(MAX_GROWTH_BYTES[backend])}`, { timeout: 600_000 }, async (t) => {
      const folder = backend === 'pglite' ? mkdtempSync(join(tmpdir(), 'audit-export-')) : undefined
      const postgres = backend === 'postgres' ? await createPostgresDatabase() : undefined
      const env = folder ? { GATEWAY_DATA_DIR: folder } : postgres?.env ?? {}
      t.after(async () => {
        await postgres?.drop()
        if (folder) rmSync(folder, { recursive: true, force: true })
      })
      const admin = await seed(env)
      const server = startCli(['serve'], { ...env, PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_JWT_SECRET: TEST_JWT_SECRET })
      t.after(() => server.stop('SIGKILL'))
      const [, base = ''] = await server.waitFor(LISTENING, 180_000)
      const pid = server.child.pid as number
      const token = await signToken({ sub: admin.id, email: admin.email, company_id: admin.companyId }, { expiresIn: '1h' })
      // Warm: the admin path, the query and a small export have run once, so their code is in RSS already; and
      // verification has read every row a page at a time, so the database's own cache (PGlite's, in this process) is full.
      const headers = { authorization: `Bearer ${token}` }
      for (let i = 0; i < 3; i++) await (await fetch(`${base}/api/v1/admin/audit?limit=1000`, { headers })).text()
      await (await fetch(`${base}/api/v1/admin/audit/export?actor=nobody`, { headers })).text()
      const verifyStarted = Date.now()
      const verified = await (await fetch(`${base}/api/v1/admin/audit/verify`, { headers })).json() as { ok: boolean, chains: { rows: number }[] }
      t.diagnostic(`${backend}: verify of ${verified.chains[0]?.rows} events took ${Date.now() - verifyStarted} ms`)
      assert.equal(verified.ok, true)
      const before = rssOf(pid)
      const { lines, bytes, peakRss } = await exportWhileSampling(base, token, pid)
      t.diagnostic(`${backend}: exported ${lines} events, ${mb(bytes)}; RSS before ${mb(before)}, peak during ${mb(peakRss)} (+${mb(peakRss - before)})`)
      assert.equal(lines, EVENTS)
      assert.ok(peakRss - before < MAX_GROWTH_BYTES[backend], `RSS grew by ${mb(peakRss - before)} while exporting ${mb(bytes)}`)
    })
  })
}
