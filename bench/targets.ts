import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SignJWT } from 'jose'
import { findNginx, startNginx } from './nginx.js'
import type { DemoCredentials } from '../src/auth/demo-admin.js'
import { createBenchDatabase } from './postgres.js'
import { freePort, makeTempDir, onCleanup, spawnPinned, waitForHttp, type Child } from './processes.js'
import { findPython, startPythonGateway } from './python.js'

export type TargetId = 'a' | 'b0' | 'b' | 'bl' | 'b2' | 'c' | 'ck' | 'c0' | 'd' | 'e'
export const TARGET_IDS: readonly TargetId[] = ['a', 'b0', 'b', 'bl', 'b2', 'c', 'ck', 'c0', 'd', 'e']
export const TARGET_LABELS: Record<TargetId, string> = {
  a: 'direct (upstream)',
  b0: 'node:http+undici floor',
  b: 'reply-from (no auth)',
  bl: 'reply-from (no auth), access log',
  b2: 'node:http+undici+jose',
  c: 'atenex gateway',
  ck: 'atenex gateway, API key',
  c0: 'gateway, baseline checkout',
  d: 'nginx',
  e: 'FastAPI+httpx (Python seed)',
}

/** Proxies run on CPU 0; the upstream, the load generator and the harness on CPU 1. */
export const PROXY_CPU = 0
export const LOAD_CPU = 1

export interface Target {
  readonly id: TargetId
  readonly label: string
  readonly url: string
  /** The process whose RSS is reported (undefined for the direct target). */
  readonly pid: number | undefined
  /** Sent with every proxied request (the bearer token for the authenticating targets). */
  readonly headers: Record<string, string>
}

export interface GatewayTarget extends Target {
  readonly child: Child
  /** On PostgreSQL: the transactions its database has counted so far (undefined on PGlite). */
  readonly databaseTransactions: (() => Promise<number>) | undefined
  readonly credentials: { readonly email: string, readonly password: string, readonly companyId: string }
}

const TSX = import.meta.resolve('tsx')
const script = (path: string): string => fileURLToPath(new URL(path, import.meta.url))

/** The inherited environment without anything that would configure the gateway behind our back. */
function cleanEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(GATEWAY_|OTEL_|PORT$|NODE_OPTIONS$)/i.test(name)) env[name] = value
  }
  return { ...env, ...extra }
}

async function startNodeScript (name: string, cpu: number, path: string, env: Record<string, string>): Promise<{ child: Child, url: string }> {
  const child = spawnPinned(name, cpu, process.execPath, ['--import', TSX, script(path)], { env: cleanEnv(env) })
  const [, port] = await child.waitFor(/LISTENING (\d+)/, 30_000)
  return { child, url: `http://127.0.0.1:${port}` }
}

export async function startUpstream (): Promise<{ child: Child, url: string }> {
  return startNodeScript('upstream', LOAD_CPU, './upstream.ts', {})
}

/** b, or with its access log at info bl: reply-from as a Fastify service writes one (see baselines/reply-from.ts). */
export async function startFastifyBaseline (upstreamUrl: string, id: 'b' | 'bl' = 'b'): Promise<Target> {
  const env = { UPSTREAM_URL: upstreamUrl, ...(id === 'bl' ? { ACCESS_LOG: '1' } : {}) }
  const { child, url } = await startNodeScript(id === 'bl' ? 'reply-from-logged' : 'reply-from', PROXY_CPU, './baselines/reply-from.ts', env)
  return { id, label: TARGET_LABELS[id], url, pid: child.pid, headers: {} }
}

export async function startFloorBaseline (upstreamUrl: string): Promise<Target> {
  const { child, url } = await startNodeScript('node-floor', PROXY_CPU, './baselines/node-floor.ts', { UPSTREAM_URL: upstreamUrl })
  return { id: 'b0', label: TARGET_LABELS.b0, url, pid: child.pid, headers: {} }
}

export async function startJoseBaseline (upstreamUrl: string, secret: string, token: string): Promise<Target> {
  const { child, url } = await startNodeScript('node-jose', PROXY_CPU, './baselines/node-jose.ts', { UPSTREAM_URL: upstreamUrl, JWT_SECRET: secret })
  return { id: 'b2', label: TARGET_LABELS.b2, url, pid: child.pid, headers: { authorization: `Bearer ${token}` } }
}

export async function startNginxTarget (upstreamUrl: string): Promise<Target | { skip: string }> {
  const nginx = findNginx()
  if ('skip' in nginx) return nginx
  const { child, url } = await startNginx(nginx.path, Number(new URL(upstreamUrl).port))
  return { id: 'd', label: TARGET_LABELS.d, url, pid: child.pid, headers: {} }
}

/** Target e: the seeds' Python gateway shape (FastAPI + httpx + PyJWT under uvicorn), when bench/.venv or python3 has them. */
export async function startPythonTarget (upstreamUrl: string, secret: string, token: string, log: (line: string) => void): Promise<Target | { skip: string }> {
  const python = findPython()
  if ('skip' in python) return python
  log(`target e: ${python.path} (${python.versions})`)
  const { child, url } = await startPythonGateway(python.path, PROXY_CPU, upstreamUrl, secret, cleanEnv({}))
  return { id: 'e', label: TARGET_LABELS.e, url, pid: child.pid, headers: { authorization: `Bearer ${token}` } }
}

export interface GatewayOptions {
  /** Write a V8 CPU profile of the gateway into this folder when it exits. */
  readonly profileDir?: string | undefined
  /** `serve --workers N` (N > 1; needs PostgreSQL); RSS sampling sums the workers. */
  readonly workers?: number | undefined
  /** The PostgreSQL server (a user allowed to CREATE DATABASE); undefined runs the embedded PGlite. */
  readonly databaseUrl?: string | undefined
  /** Checkout whose gateway is built and run (default: this repository). */
  readonly root?: string | undefined
  /** GATEWAY_LOG_LEVEL, INFO as deployed (its access log written) unless asked otherwise. */
  readonly logLevel?: string | undefined
  /** Settings on top of the benchmark's own (e.g. GATEWAY_IDENTITY_ASSERTION=false for c0). */
  readonly env?: Readonly<Record<string, string>> | undefined
}

const UNLIMITED = String(1_000_000_000)

/**
 * The gateway as it ships (`npm start`: TypeScript compiled by tsc, run by plain node). Under tsx, esbuild's
 * keep-names wraps every closure created per request in a defineProperty call, a cost production never pays.
 */
function buildGateway (root: string): string {
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' })
  return join(root, 'dist', 'src', 'cli', 'index.js')
}

/**
 * The real gateway, full path: `node dist/src/cli/index.js serve` (built first), run from a temp folder so no
 * ./.env applies. With `databaseUrl`, on a fresh PostgreSQL database seeded with the demo admin the embedded
 * mode creates (as deployed); else on a fresh embedded database, logged in as the demo admin it prints. With
 * `workers`, `serve --workers N`, all pinned to the proxy CPU (the cluster's cost on the same single core).
 */
export async function startGateway (upstreamUrl: string, secret: string, options: GatewayOptions = {}, id: 'c' | 'c0' = 'c'): Promise<GatewayTarget> {
  const home = makeTempDir('atenex-bench-gateway-')
  const port = await freePort()
  const cli = buildGateway(options.root ?? fileURLToPath(new URL('..', import.meta.url)))
  const nodeArgs: string[] = []
  if (options.profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`)
  const cliArgs = ['serve']
  let database: Record<string, string> = { GATEWAY_DATA_DIR: join(home, 'pglite') }
  let seeded: DemoCredentials | undefined
  let databaseTransactions: (() => Promise<number>) | undefined
  if (options.workers !== undefined && options.workers > 1) cliArgs.push('--workers', String(options.workers))
  if (options.databaseUrl !== undefined) {
    const postgres = await createBenchDatabase(options.databaseUrl, secret)
    onCleanup(postgres.drop)
    database = postgres.env
    seeded = postgres.credentials
    databaseTransactions = postgres.transactions
  }
  const env = cleanEnv({
    PORT: String(port),
    GATEWAY_HOST: '127.0.0.1',
    ...database,
    GATEWAY_JWT_SECRET: secret,
    GATEWAY_INGEST_SERVICE_URL: upstreamUrl,
    GATEWAY_QUERY_SERVICE_URL: upstreamUrl,
    GATEWAY_LOG_LEVEL: options.logLevel ?? 'INFO',
    // Long enough for a 10-minute soak on one token.
    GATEWAY_JWT_EXPIRATION_MINUTES: '120',
    // One user, one company, one IP: lift the limits so the limiter is measured (its bookkeeping runs) but never answers 429.
    GATEWAY_RATE_LIMIT_USER_PER_MINUTE: UNLIMITED,
    GATEWAY_RATE_LIMIT_COMPANY_PER_MINUTE: UNLIMITED,
    GATEWAY_RATE_LIMIT_IP_PER_MINUTE: UNLIMITED,
    // The WebSocket scenario's 50 sockets are one user's (the caps' bookkeeping runs; a build without them ignores these).
    GATEWAY_WEBSOCKET_MAX_PER_USER: '10000',
    GATEWAY_WEBSOCKET_MAX_PER_COMPANY: '10000',
    ...options.env,
  })
  // taskset execs node, so child.pid is the gateway itself.
  const child = spawnPinned('gateway', PROXY_CPU, process.execPath, [...nodeArgs, cli, ...cliArgs], { env, cwd: home })
  const { email, password, companyId } = seeded ?? await printedDemoAdmin(child)
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/health`, 30_000, child)
  const token = await login(url, email, password)
  return { id, label: `${TARGET_LABELS[id]}${options.workers ? ` --workers ${options.workers}` : ''} (${seeded ? 'PostgreSQL' : 'embedded PGlite'})`, url, pid: child.pid, child, headers: { authorization: `Bearer ${token}` }, credentials: { email, password, companyId }, databaseTransactions }
}

/**
 * Target ck: the same gateway process as c, called with an API key of the demo company (every scope, the
 * highest per-key budget the admin API allows), created through the admin API as an operator would.
 */
export async function apiKeyTarget (gateway: GatewayTarget): Promise<Target> {
  const response = await fetch(`${gateway.url}/api/v1/admin/companies/${gateway.credentials.companyId}/api-keys`, {
    method: 'POST',
    headers: { ...gateway.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', scopes: ['ingest:read', 'ingest:write', 'query:read', 'query:ask'], rate_limit_per_minute: 1_000_000 }),
  })
  const body = await response.json() as { key?: string }
  if (response.status !== 201 || !body.key) throw new Error(`creating the API key failed: ${response.status} ${JSON.stringify(body)}`)
  return { id: 'ck', label: TARGET_LABELS.ck, url: gateway.url, pid: gateway.pid, headers: { authorization: `Bearer ${body.key}` } }
}

async function printedDemoAdmin (child: Child): Promise<DemoCredentials> {
  const [, companyId = ''] = await child.waitFor(/company_id:\s+(\S+)/, 60_000)
  const email = child.output().match(/email:\s+(\S+)/)?.[1] ?? ''
  const password = child.output().match(/password:\s+(\S+)/)?.[1] ?? ''
  return { email, password, companyId }
}

export async function login (url: string, email: string, password: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  const body = await response.json() as { access_token?: string }
  if (response.status !== 200 || !body.access_token) throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`)
  return body.access_token
}

/** 48 random URL-safe characters, shared by the gateway and the jose baseline so one token works for both. */
export const randomSecret = (): string => randomBytes(36).toString('base64url')

/** A token the jose and Python baselines accept when the gateway (whose login token is used otherwise) is not started. */
async function mintToken (secret: string): Promise<string> {
  return new SignJWT({ company_id: randomUUID(), email: 'bench@atenex.local' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(randomUUID()).setIssuedAt().setExpirationTime('2h').sign(new TextEncoder().encode(secret))
}

/** Target c0: another checkout's gateway (or this one's, otherwise configured), beside c in the same run. */
export interface BaselineOptions {
  readonly root?: string | undefined
  readonly logLevel?: string | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
}

export interface StartedTargets {
  readonly targets: Target[]
  readonly gateway: GatewayTarget | undefined
  /** Targets that could not run here, with the reason. */
  readonly skipped: Partial<Record<TargetId, string>>
}

/** Starts the chosen targets (the gateway first: its login token is reused by b2 and e), in TARGET_IDS order. */
export async function startTargets (
  ids: readonly TargetId[], upstreamUrl: string, secret: string, gatewayOptions: GatewayOptions, log: (line: string) => void, baseline: BaselineOptions = {}
): Promise<StartedTargets> {
  const want = new Set(ids)
  const targets: Target[] = []
  const skipped: Partial<Record<TargetId, string>> = {}
  const gateway = want.has('c') || want.has('ck') ? await startGateway(upstreamUrl, secret, gatewayOptions) : undefined
  if (gateway && want.has('c')) targets.push(gateway)
  if (gateway && want.has('ck')) targets.push(await apiKeyTarget(gateway))
  if (want.has('c0') && baseline.root !== undefined) {
    const logLevel = baseline.logLevel ?? gatewayOptions.logLevel
    const env = Object.entries(baseline.env ?? {}).map(([name, value]) => ` ${name}=${value}`).join('')
    log(`target c0: the gateway of ${baseline.root}, configured as c${logLevel === gatewayOptions.logLevel ? '' : ` but at ${logLevel ?? 'INFO'}`}${env ? `, with${env}` : ''}`)
    targets.push(await startGateway(upstreamUrl, secret, { ...gatewayOptions, root: baseline.root, profileDir: undefined, logLevel, env: baseline.env }, 'c0'))
  }
  if (want.has('a')) targets.push({ id: 'a', label: TARGET_LABELS.a, url: upstreamUrl, pid: undefined, headers: {} })
  if (want.has('b0')) targets.push(await startFloorBaseline(upstreamUrl))
  if (want.has('b')) targets.push(await startFastifyBaseline(upstreamUrl))
  if (want.has('bl')) targets.push(await startFastifyBaseline(upstreamUrl, 'bl'))
  const gatewayToken = gateway?.headers.authorization?.slice('Bearer '.length)
  if (want.has('b2')) targets.push(await startJoseBaseline(upstreamUrl, secret, gatewayToken ?? await mintToken(secret)))
  if (want.has('d')) {
    const nginx = await startNginxTarget(upstreamUrl)
    if ('skip' in nginx) {
      skipped.d = nginx.skip
      log(`skipping target d (nginx): ${nginx.skip}`)
    } else {
      targets.push(nginx)
    }
  }
  if (want.has('e')) {
    const python = await startPythonTarget(upstreamUrl, secret, gatewayToken ?? await mintToken(secret), log)
    if ('skip' in python) {
      skipped.e = python.skip
      log(`skipping target e (Python seed gateway): ${python.skip}`)
    } else {
      targets.push(python)
    }
  }
  targets.sort((x, y) => TARGET_IDS.indexOf(x.id) - TARGET_IDS.indexOf(y.id))
  return { targets, gateway, skipped }
}
