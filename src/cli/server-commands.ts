import { describeConfig, type Config } from '../config.js'
import { serve, workerCount } from '../main.js'
import { loadRouteTable } from '../dataplane/route-table.js'
import { CommandError, type Command, type OptionSpec } from './command.js'

const WORKERS: OptionSpec = {
  type: 'string',
  value: '<n|auto>',
  default: 'GATEWAY_WORKERS, else 1',
  description: 'Worker processes sharing the port (node:cluster); auto: one per CPU. More than one needs PostgreSQL.',
}

const workersOf = (values: Record<string, unknown>): string | undefined => typeof values.workers === 'string' ? values.workers : undefined

export function serveCommand (loadConfig: () => Config): Command {
  return {
    summary: 'Run the gateway (the default command).',
    usage: 'serve [--workers <n|auto>]',
    details: [
      'Stdout carries one JSON log line per event. The one-time credentials of a new embedded database go to stderr.',
      'In production run `node dist/src/cli/index.js serve` directly: `npm start` adds npm\'s banner to stdout and rebuilds first.',
      'The embedded database (no GATEWAY_POSTGRES_SERVER) is held by this process alone while it runs.',
    ].join('\n'),
    settings: 'all',
    options: { workers: WORKERS },
    run: async (values) => {
      const config = loadConfig()
      try {
        await serve(config, workersOf(values))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new CommandError(`port ${config.port} on ${config.host} is already in use (another gateway, or \`npm run demo\`?): stop it, or set PORT to a free port`)
        }
        throw error
      }
    },
  }
}

/** As `nginx -t` and `kong check`: the checks `serve` makes before it opens anything, and the result. */
export function checkConfigCommand (loadConfig: () => Config): Command {
  return {
    summary: 'Check the configuration as serve would and print the effective settings, secrets masked, as JSON on stdout.',
    usage: 'check-config [--workers <n|auto>]',
    details: 'Exit code 0 when serve would accept the configuration, 2 when it would not (each bad variable is named on stderr). Nothing is contacted: neither the database nor the upstreams.',
    settings: 'all',
    options: { workers: WORKERS },
    run: async (values) => {
      const config = loadConfig()
      const workers = workerCount(config, workersOf(values))
      const routes = loadRouteTable(config).map(({ name, path, exact, methods, upstreamUrl, upstreamPath, auth }) => ({ name, path, exact, methods, upstream: upstreamUrl, upstreamPath, auth }))
      process.stdout.write(`${JSON.stringify({ ...describeConfig(config), workers, routes }, null, 2)}\n`)
      if (config.jwt.secret === undefined && config.database.kind === 'embedded') {
        const generated = config.database.dataDir.startsWith('memory://') ? 'a random one for each run' : `one, kept in ${config.database.dataDir}.jwt-secret`
        process.stderr.write(`Note: GATEWAY_JWT_SECRET is not set, so the embedded database uses ${generated} (never do this in production).\n`)
      }
      process.stderr.write('The configuration is valid.\n')
    },
  }
}
