import cluster from 'node:cluster'
import type { AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, describeConfig, type Config } from './config.js'
import { serveClusterMetrics } from './observability/metrics.js'
import type { DemoCredentials } from './auth/demo-admin.js'

/**
 * Printed once, on the first start of an empty embedded database: the only place this password appears.
 * On stderr, so that stdout carries the JSON log lines alone.
 */
function announceDemo (credentials: DemoCredentials): void {
  process.stderr.write([
    '',
    '  Embedded database initialised with a demo company and its administrator:',
    `    email:      ${credentials.email}`,
    `    password:   ${credentials.password}`,
    `    company_id: ${credentials.companyId}`,
    `  This password is shown only now (lost it? atenex-gateway reset-password --email ${credentials.email}).`,
    '',
  ].join('\n') + '\n')
}

/**
 * SIGTERM: readiness turns 503 at once, the server stops accepting, in-flight requests and streams drain up
 * to the bound, then the process exits. A second signal exits at once.
 */
function handleSignals (app: FastifyInstance, config: Config): void {
  if (cluster.isWorker) {
    // A terminal's Ctrl-C reaches every process of the group; the primary turns it into one SIGTERM per worker.
    process.on('SIGINT', () => undefined)
  }
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
    // Connections that finish their last response while draining would otherwise idle until the keep-alive timeout.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 250)
    sweep.unref()
    app.close().then(() => {
      app.log.info('shut down cleanly')
      process.exit(0)
    }, (error: unknown) => {
      app.log.error({ err: error }, 'error while shutting down')
      process.exit(1)
    })
  }
  process.on('SIGTERM', stop)
  if (cluster.isPrimary) process.on('SIGINT', stop)
}

export async function serve (config: Config, workersOverride?: string): Promise<FastifyInstance | undefined> {
  const workers = workerCount(config, workersOverride)
  if (workers > 1 && cluster.isPrimary) {
    runPrimary(workers, config)
    return undefined
  }
  const app = await buildApp(config, { onDemoCreated: announceDemo })
  app.log.info({ config: describeConfig(config) }, 'configuration loaded')
  handleSignals(app, config)
  await app.listen({ port: config.port, host: config.host })
  return app
}

/** The number of processes `serve` runs, or a ConfigError when the configuration cannot have them. */
export function workerCount (config: Config, override?: string): number {
  const value = override ?? String(config.workers)
  const count = value === 'auto' ? availableParallelism() : Number(value)
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`--workers: expected a number of workers or auto, got '${value}'`)
  if (count > 1 && config.database.kind === 'embedded') {
    throw new ConfigError('GATEWAY_WORKERS: more than one worker needs PostgreSQL (GATEWAY_POSTGRES_SERVER); the embedded database is single-process')
  }
  return count
}

/** A worker that dies sooner than this after its start is restarted only after this delay, so a crash loop does not spin. */
const RESTART_BACKOFF_MS = 1000

/**
 * The cluster primary: forks the workers (they share the listening socket), restarts one that crashes, and
 * on SIGTERM/SIGINT asks each to drain and exits when all have. A second signal kills them at once.
 */
function runPrimary (workers: number, config: Config): void {
  let stopping = false
  const startedAt = new Map<number, number>()
  const fork = (): void => {
    const worker = cluster.fork()
    startedAt.set(worker.id, Date.now())
  }
  for (let i = 0; i < workers; i++) fork()
  const metricsServer = config.metricsPort === undefined ? undefined : serveClusterMetrics(config.metricsPort, config.host)
  metricsServer?.once('listening', () => {
    process.stderr.write(`atenex-gateway: cluster metrics on port ${(metricsServer.address() as AddressInfo).port}\n`)
  })
  process.stderr.write(`atenex-gateway: primary ${process.pid} started ${workers} workers on port ${config.port}\n`)

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0)
    startedAt.delete(worker.id)
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    process.stderr.write(`atenex-gateway: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`)
    setTimeout(fork, lived < RESTART_BACKOFF_MS ? RESTART_BACKOFF_MS : 0)
  })

  const stop = (): void => {
    if (stopping) {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
      process.exit(1)
    }
    stopping = true
    metricsServer?.close()
    const running = Object.values(cluster.workers ?? {})
    if (running.length === 0) process.exit(0)
    for (const worker of running) worker?.process.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
