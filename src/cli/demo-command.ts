import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import type { DemoCredentials } from '../db/demo-bootstrap.js'
import type { Command } from './command.js'
import { startEchoService } from './demo-upstream.js'

function walkthrough (base: string, credentials: DemoCredentials): string {
  const login = `curl -s -X POST ${base}/api/v1/users/login -H 'content-type: application/json' -d '{"email":"${credentials.email}","password":"${credentials.password}"}'`
  return [
    '',
    `Atenex Gateway demo on ${base} (embedded in-memory database; stand-in ingest and query services echo what they receive).`,
    '',
    '1. Log in (the answer carries access_token):',
    `   ${login}`,
    '',
    '2. Keep the token in a shell variable:',
    `   TOKEN=$(${login} | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
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

export function demoCommand (): Command {
  return {
    summary: 'Run a self-contained demo: gateway + embedded database + echoing ingest/query services, with a curl walkthrough.',
    usage: 'demo [--port 8080]',
    options: { port: { type: 'string' } },
    run: async (values) => {
      const ingest = await startEchoService('ingest-service')
      const query = await startEchoService('query-service')
      const config = loadConfig({
        ...process.env,
        PORT: typeof values.port === 'string' ? values.port : (process.env.PORT ?? '8080'),
        GATEWAY_HOST: '127.0.0.1',
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
      process.stdout.write(walkthrough(`http://127.0.0.1:${config.port}`, credentials))
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
