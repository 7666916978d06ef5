/**
 * Login throughput with the audit trail on and off (issue 19), on PostgreSQL, in the same run: rounds alternate
 * A/B so that drift on a shared machine falls on both. Each login is a real bcrypt (cost 12) compare; half of
 * them fail (wrong password), so both login.succeeded and login.failed rows are written.
 *   npx tsx bench/login-audit.ts [--rounds 3] [--seconds 20] [--concurrency 4]
 */
import { parseArgs } from 'node:util'
import bcrypt from 'bcrypt'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { BCRYPT_COST } from '../src/auth/passwords.js'
import { createPostgresDatabase } from '../test/helpers/databases.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '20' }, concurrency: { type: 'string', default: '4' } } })
const USERS = 20

async function measure (audit: boolean, seconds: number, concurrency: number): Promise<number> {
  const postgres = await createPostgresDatabase()
  const app = await buildApp(loadConfig({
    ...postgres.env,
    GATEWAY_JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef',
    GATEWAY_LOG_LEVEL: 'ERROR',
    GATEWAY_AUDIT: String(audit),
    GATEWAY_RATE_LIMIT_IP_PER_MINUTE: '1000000',
    GATEWAY_LOGIN_MAX_FAILURES: '1000000',
    GATEWAY_LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000000',
  }))
  try {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const address = app.server.address()
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1/users/login`
    const { rows: [company] } = await app.gateway.db.query<{ id: string }>("INSERT INTO companies (name) VALUES ('Bench Co') RETURNING id")
    const hash = await bcrypt.hash('bench-password-1', BCRYPT_COST)
    const emails: string[] = []
    for (let i = 0; i < USERS; i++) {
      emails.push(`bench-${i}@example.com`)
      await app.gateway.db.query('INSERT INTO users (email, hashed_password, company_id, roles) VALUES ($1, $2, $3, $4)', [emails[i], hash, company?.id, ['user']])
    }
    let done = 0
    let n = 0
    const deadline = Date.now() + seconds * 1000
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const i = n++
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: emails[i % USERS], password: i % 2 === 0 ? 'bench-password-1' : 'wrong-password' }),
        })
        await response.arrayBuffer()
        if (response.status !== 200 && response.status !== 401) throw new Error(`login answered ${response.status}`)
        done += 1
      }
    }))
    const { rows: [count] } = await app.gateway.db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_events')
    process.stderr.write(`  audit=${audit}: ${done} logins, ${count?.n} audit rows\n`)
    return done / seconds
  } finally {
    await app.close()
    await postgres.drop()
  }
}

/** The audit write on its own: what a login adds beside its bcrypt compare (timed the same way, one after another). */
async function writeCost (): Promise<{ writeMs: number, bcryptMs: number }> {
  const postgres = await createPostgresDatabase()
  const app = await buildApp(loadConfig({ ...postgres.env, GATEWAY_JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef', GATEWAY_LOG_LEVEL: 'ERROR' }))
  try {
    const writes = 500
    let started = performance.now()
    for (let i = 0; i < writes; i++) {
      await app.gateway.audit.record({ clientIp: '203.0.113.1', userAgent: 'bench', requestId: `r-${i}` }, { type: 'login.failed', actor: { type: 'system', id: null }, companyId: null, details: { reason: 'unknown_account' } })
    }
    const writeMs = (performance.now() - started) / writes
    const hash = await bcrypt.hash('bench-password-1', BCRYPT_COST)
    started = performance.now()
    for (let i = 0; i < 10; i++) await bcrypt.compare('wrong-password', hash)
    return { writeMs, bcryptMs: (performance.now() - started) / 10 }
  } finally {
    await app.close()
    await postgres.drop()
  }
}

const rounds = Number(values.rounds)
const results: Record<'on' | 'off', number[]> = { on: [], off: [] }
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first, so that neither always gets the warmer (or busier) half of a round.
  const order = round % 2 === 0 ? [true, false] : [false, true]
  for (const audit of order) results[audit ? 'on' : 'off'].push(await measure(audit, Number(values.seconds), Number(values.concurrency)))
}
const mean = (list: number[]): number => list.reduce((sum, value) => sum + value, 0) / list.length
const fmt = (list: number[]): string => list.map((value) => value.toFixed(2)).join(', ')
process.stdout.write(`login/s with audit: ${fmt(results.on)} (mean ${mean(results.on).toFixed(2)})\n`)
process.stdout.write(`login/s without:    ${fmt(results.off)} (mean ${mean(results.off).toFixed(2)})\n`)
process.stdout.write(`ratio with/without: ${(mean(results.on) / mean(results.off)).toFixed(3)}\n`)
const cost = await writeCost()
process.stdout.write(`one audit write: ${cost.writeMs.toFixed(2)} ms; one bcrypt compare (cost ${BCRYPT_COST}): ${cost.bcryptMs.toFixed(1)} ms (${(100 * cost.writeMs / cost.bcryptMs).toFixed(2)}%)\n`)
