import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import type { DemoCredentials } from '../auth/demo-admin.js'
import { CommandError, UsageError, type Command } from './command.js'
import { startEchoService } from './demo-upstream.js'

const DEMO_HOST = '127.0.0.1'
const DEFAULT_PORT = 8080

const lifetime = (minutes: number): string => (minutes % 60 === 0 ? `${minutes / 60} hours` : `${minutes} minutes`)

function walkthrough (base: string, credentials: DemoCredentials, token: string, tokenMinutes: number): string {
  const login = `curl -s -X POST ${base}/api/v1/users/login -H 'content-type: application/json' -d '{"email":"${credentials.email}","password":"${credentials.password}"}'`
  return [
    '',
    `Atenex Gateway demo on ${base} (embedded in-memory database; stand-in ingest and query services echo what they receive).`,
    '',
    '1. Log in (the answer carries access_token; a wrong password answers 401 {"detail":"Incorrect email or password"}):',
    `   ${login}`,
    '',
    `2. Keep a token in a shell variable (the demo logged in just now; this token lives ${lifetime(tokenMinutes)}, step 1 gets a new one):`,
    `   TOKEN=${token}`,
    '',
    '3. Confirm the company association (a new token comes back):',
    `   curl -s -X POST ${base}/api/v1/users/me/ensure-company -H "authorization: Bearer $TOKEN"`,
    '',
    '4. Call a proxied route; the echo shows the identity headers the gateway injected (your spoofed X-User-ID is gone):',
    `   curl -s ${base}/api/v1/ingest/status -H "authorization: Bearer $TOKEN" -H 'X-User-ID: spoofed'`,
    '',
    `5. Browse the API: ${base}/docs`,
    '',
    'Ctrl-C stops the demo.',
    '',
  ].join('\n')
}

function parsePort (value: string, source: string): number {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`${source}: expected a port number from 0 to 65535, got '${value}'`)
  return port
}

/** The requested port when it is free; else, unless it was asked for explicitly, any free one (0 lets the system choose). */
async function freePort (port: number, explicit: boolean): Promise<number> {
  const probe = createServer()
  try {
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, DEMO_HOST, resolve))
    return (probe.address() as AddressInfo).port
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    if (explicit) throw new CommandError(`port ${port} is already in use (is \`npm start\` running?): choose another with --port, or --port 0 for any free one`)
    const other = await freePort(0, true)
    process.stderr.write(`Port ${port} is in use (is \`npm start\` running?), so the demo takes port ${other}; --port chooses one.\n`)
    return other
  } finally {
    probe.close()
  }
}

/** The demo logs in through its own HTTP API, as the walkthrough's step 1 does: if that fails, the demo says so and stops. */
async function logIn (base: string, credentials: DemoCredentials): Promise<string> {
  const response = await fetch(`${base}/api/v1/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: credentials.email, password: credentials.password }),
  })
  const body = await response.json() as { access_token?: unknown }
  if (response.status !== 200 || typeof body.access_token !== 'string') {
    throw new CommandError(`the demo could not log in as ${credentials.email}: ${response.status} ${JSON.stringify(body)}`)
  }
  return body.access_token
}

export function demoCommand (): Command {
  return {
    summary: 'Run a self-contained demo: gateway + embedded in-memory database + echoing ingest/query services, with a curl walkthrough.',
    usage: 'demo [--port 8080]',
    details: 'It listens on 127.0.0.1 only and forgets everything when stopped. `npm start` also takes port 8080 by default: when that port is taken, the demo moves to a free one and says so.',
    settings: 'none',
    options: { port: { type: 'string', value: '<port>', default: `PORT, else ${DEFAULT_PORT}; a free one when that is taken`, description: 'Port to listen on (0: any free port).' } },
    run: async (values) => {
      const explicit = typeof values.port === 'string'
      const requested = explicit ? parsePort(values.port as string, '--port') : process.env.PORT === undefined ? DEFAULT_PORT : parsePort(process.env.PORT, 'PORT')
      const port = await freePort(requested, explicit)
      const ingest = await startEchoService('ingest-service')
      const query = await startEchoService('query-service')
      const config = loadConfig({
        ...process.env,
        PORT: String(port),
        GATEWAY_HOST: DEMO_HOST,
        GATEWAY_POSTGRES_SERVER: undefined,
        GATEWAY_DATA_DIR: 'memory://',
        GATEWAY_INGEST_SERVICE_URL: ingest.url,
        GATEWAY_QUERY_SERVICE_URL: query.url,
        GATEWAY_LOG_LEVEL: process.env.GATEWAY_LOG_LEVEL ?? 'WARNING',
      })
      let credentials: DemoCredentials | undefined
      const app = await buildApp(config, { onDemoCreated: (created) => { credentials = created } })
      await app.listen({ port: config.port, host: config.host })
      if (!credentials) throw new Error('the demo database was not initialised')
      const base = `http://${DEMO_HOST}:${(app.server.address() as AddressInfo).port}`
      process.stdout.write(walkthrough(base, credentials, await logIn(base, credentials), config.jwt.expirationMinutes))
      const stop = (): void => {
        void app.close().finally(() => {
          ingest.server.close()
          query.server.close()
          process.exit(0)
        })
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    },
  }
}
