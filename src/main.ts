import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, describeConfig, loadConfig, type Config } from './config.js'
import type { DemoCredentials } from './db/demo-bootstrap.js'

/** Exit codes of the process edge: 2 for a configuration error the operator must fix. */
export const EXIT_CONFIG_ERROR = 2
export const EXIT_STARTUP_FAILED = 1

export function loadConfigOrExit (env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env, { dotenvPath: '.env' })
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`atenex-gateway: ${error.message}\n`)
      process.exit(EXIT_CONFIG_ERROR)
    }
    throw error
  }
}

/** Printed once, on the first start of an empty embedded database: the only place this password appears. */
function announceDemo (credentials: DemoCredentials): void {
  process.stdout.write([
    '',
    '  Embedded database initialised with a demo company and its administrator:',
    `    email:      ${credentials.email}`,
    `    password:   ${credentials.password}`,
    `    company_id: ${credentials.companyId}`,
    '  This password is shown only now.',
    '',
  ].join('\n') + '\n')
}

/**
 * SIGTERM: readiness turns 503 at once, the server stops accepting, in-flight requests and streams drain up
 * to the bound, then the process exits. A second signal exits at once.
 */
function handleSignals (app: FastifyInstance, config: Config): void {
  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    app.log.info({ signal, drain_ms: config.server.shutdownTimeoutMs }, 'shutting down: draining in-flight requests')
    app.gateway.health.startDraining()
    const deadline = setTimeout(() => {
      app.log.warn('drain bound reached: closing the remaining connections')
      void app.gateway.pools.destroy().finally(() => process.exit(0))
    }, config.server.shutdownTimeoutMs)
    deadline.unref()
    app.close().then(() => {
      app.log.info('shut down cleanly')
      process.exit(0)
    }, (error: unknown) => {
      app.log.error({ err: error }, 'error while shutting down')
      process.exit(1)
    })
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

export async function serve (config: Config): Promise<FastifyInstance> {
  const app = await buildApp(config, { onDemoCreated: announceDemo })
  app.log.info({ config: describeConfig(config) }, 'configuration loaded')
  handleSignals(app, config)
  await app.listen({ port: config.port, host: config.host })
  return app
}
