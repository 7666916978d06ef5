import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, test } from 'node:test'
import { MIGRATION_NAMES } from '../src/db/migrate.js'
import { backends, createPostgresDatabase } from './helpers/databases.js'

const run = promisify(execFile)

/** One process migrating the database of `env`, as `serve` does at startup. */
async function migrateInAProcess (env: Record<string, string>): Promise<{ applied: string[], umzugLoaded: boolean }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/helpers/migrate-once.ts'], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 })
  return JSON.parse(stdout) as { applied: string[], umzugLoaded: boolean }
}

for (const { backend, skip } of await backends()) {
  describe(`migrations [${backend}]`, { skip }, () => {
    // umzug requires its CLI (@rushstack, z-schema): ~4 MB of live heap that a serving process would carry for nothing.
    test('umzug is loaded only when a migration is pending, not by a gateway starting on an up-to-date database', async (t) => {
      const folder = backend === 'pglite' ? mkdtempSync(join(tmpdir(), 'migrations-')) : undefined
      const postgres = backend === 'postgres' ? await createPostgresDatabase() : undefined
      t.after(async () => {
        await postgres?.drop()
        if (folder) rmSync(folder, { recursive: true, force: true })
      })
      const env = folder ? { GATEWAY_DATA_DIR: folder } : postgres?.env ?? {}

      const first = await migrateInAProcess(env)
      assert.deepEqual(first.applied, MIGRATION_NAMES)
      assert.equal(first.umzugLoaded, true)

      const second = await migrateInAProcess(env)
      assert.deepEqual(second.applied, [])
      assert.equal(second.umzugLoaded, false)
    })
  })
}
