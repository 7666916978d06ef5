import assert from 'node:assert/strict'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import bcrypt from 'bcrypt'
import pino from 'pino'
import { loadDatabaseConfig } from '../src/config.js'
import { migrate } from '../src/db/migrate.js'
import { openDatabase } from '../src/db/open.js'
import { cliMissing, startCli } from './helpers/cli.js'
import { createPostgresDatabase, postgresUnavailableReason } from './helpers/databases.js'
import { signToken, TEST_JWT_SECRET } from './helpers/gateway.js'

const EVENTS = 100_000
const LISTENING = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/
/** What the export may add to the gateway's resident memory: well under the export's own size (about 60 MB). */
const MAX_GROWTH_BYTES = 40 * 1024 * 1024

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
    await db.query(
      `INSERT INTO audit_events (occurred_at, type, actor_type, actor_id, target_type, target_id, company_id, client_ip, user_agent, request_id, details, prev_hash, hash)
       SELECT now() - make_interval(secs => $2 - n), 'login.failed', 'user', $3, 'user', $3, $1, '203.0.113.' || (n % 250),
              'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', gen_random_uuid()::text,
              jsonb_build_object('reason', 'wrong_password', 'n', n), repeat('0', 64), md5(n::text) || md5((n + 1)::text)
         FROM generate_series(1, $2) AS n`, [company?.id, EVENTS, admin?.id])
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
    test(`${EVENTS} events are exported while the gateway's RSS grows by less than ${mb(MAX_GROWTH_BYTES)}`, { timeout: 600_000 }, async (t) => {
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
      // Warm: the admin path, the query and a small export have run once, so their code and caches are in RSS already.
      for (let i = 0; i < 3; i++) await (await fetch(`${base}/api/v1/admin/audit?limit=1000`, { headers: { authorization: `Bearer ${token}` } })).text()
      await (await fetch(`${base}/api/v1/admin/audit/export?actor=nobody`, { headers: { authorization: `Bearer ${token}` } })).text()
      const before = rssOf(pid)
      const { lines, bytes, peakRss } = await exportWhileSampling(base, token, pid)
      t.diagnostic(`${backend}: exported ${lines} events, ${mb(bytes)}; RSS before ${mb(before)}, peak during ${mb(peakRss)} (+${mb(peakRss - before)})`)
      assert.equal(lines, EVENTS)
      assert.ok(peakRss - before < MAX_GROWTH_BYTES, `RSS grew by ${mb(peakRss - before)} while exporting ${mb(bytes)}`)
    })
  })
}
