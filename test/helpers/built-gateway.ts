import { startCli, type RunningCli } from './cli.js'
import { createPostgresDatabase, postgresSkip } from './databases.js'
import { TEST_JWT_SECRET } from './gateway.js'

// At import, outside any test: in CI a missing PostgreSQL is a failing test of the importing file (requireService).
const noPostgres = await postgresSkip()

export interface BuiltGateway {
  readonly cli: RunningCli
  readonly url: string
  /** Kills the process and drops its database. */
  close (): Promise<void>
}

/**
 * The built binary (`serve`, or `args`) on an ephemeral port: on a fresh PostgreSQL database when one answers,
 * else on the embedded one in memory (a fresh PostgreSQL database migrates in a fraction of PGlite's seconds).
 * Resolves once it listens; `env` adds to or overrides the defaults.
 */
export async function startBuiltGateway (env: Record<string, string>, args: string[] = ['serve']): Promise<BuiltGateway> {
  const database = noPostgres ? undefined : await createPostgresDatabase()
  const cli = startCli(args, { PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_DATA_DIR: 'memory://', GATEWAY_JWT_SECRET: TEST_JWT_SECRET, ...database?.env, ...env })
  const close = async (): Promise<void> => {
    await cli.stop('SIGKILL')
    await database?.drop()
  }
  try {
    const [, url] = await cli.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 60_000)
    return { cli, url: url as string, close }
  } catch (error) {
    await close()
    throw error
  }
}
