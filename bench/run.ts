/**
 * Atenex Gateway load benchmark (SPEC §9): the gateway's full path beside its baselines, in one run, on one
 * machine. Proxies on CPU 0; upstream, load generator and this harness on CPU 1. See bench/README.md.
 * Exit codes: 0 done, 1 the gateway answered errors (or the soak failed), 2 the harness itself broke.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadGenerator, type LoadGenerator, type LoadSpec } from './loadgen/index.js'
import { parseOptions, USAGE, type Options } from './options.js'
import { cleanupAll, cleanupSync, makeTempDir, sleep, stop } from './processes.js'
import { monotonicUs, summarizeProfile, type Window } from './profile.js'
import { renderDatabaseUse, renderReport, ratios, summarizeLoad, summarizeSse, type DatabaseUse, type LoadMeasurement, type SseMeasurement } from './report.js'
import { sampleRss, treeCpuSeconds, treeRssBytes } from './rss.js'
import { scenarios, UPLOAD_BYTES, type LoadScenario, type Scenario } from './scenarios.js'
import { soak } from './soak.js'
import { probeSse } from './sse-probe.js'
import { probeWebSocket } from './ws-probe.js'
import { DEFAULT_DATABASE_URL, postgresReachable } from './postgres.js'
import { LOAD_CPU, PROXY_CPU, randomSecret, startTargets, startUpstream, type GatewayTarget, type Target, type TargetId } from './targets.js'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results')
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

interface Context {
  readonly options: Options
  readonly loadgen: LoadGenerator
  readonly bodyFiles: { readonly upload: string, readonly login: Partial<Record<TargetId, string>> }
  /** When the gateway was under measured load, to cut its CPU profile to those spans. */
  readonly gatewayWindows: Window[]
  /** Database transactions of each gateway on PostgreSQL during each scenario's measured rounds. */
  readonly databaseUse: DatabaseUse[]
}

/** PostgreSQL reports a backend's counts within about a second of its going idle. */
const DATABASE_STATS_DELAY_MS = 1500

/** The harness (and everything it does in-process: SSE probe, RSS sampling) runs on the load CPU. */
function pinSelf (): void {
  execFileSync('taskset', ['-a', '-cp', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' })
}

function loadSpec (context: Context, scenario: LoadScenario, target: Target, durationS: number): LoadSpec {
  const headers: Record<string, string> = scenario.auth ? { ...target.headers } : {}
  if (scenario.contentType) headers['content-type'] = scenario.contentType
  return {
    url: `${target.url}${scenario.path}`,
    connections: scenario.connections,
    durationS,
    method: scenario.method,
    headers,
    bodyFile: scenario.body === 'upload' ? context.bodyFiles.upload : scenario.body === 'login' ? context.bodyFiles.login[target.id] : undefined,
    timeoutS: scenario.timeoutS,
  }
}

async function measure (context: Context, scenario: Scenario, target: Target, round: number): Promise<LoadMeasurement | SseMeasurement> {
  const rss = sampleRss(target.pid)
  const startUs = monotonicUs()
  try {
    if (scenario.kind === 'sse') {
      const { samplesMs, errors } = await probeSse(`${target.url}${scenario.path}`, target.headers, scenario.samples)
      return { scenario: 'sse', target: target.id, round, samplesMs, errors, peakRssBytes: rss.stop() }
    }
    const durationS = Math.max(context.options.durationS, scenario.kind === 'load' ? scenario.minDurationS ?? 0 : 0)
    const cpuBefore = target.pid === undefined ? undefined : treeCpuSeconds(target.pid)
    const result = scenario.kind === 'ws'
      ? await probeWebSocket(`${target.url}${scenario.path}`, target.headers, scenario.connections, durationS)
      : await context.loadgen.run(loadSpec(context, scenario, target, durationS))
    const cpuUs = cpuBefore === undefined || target.pid === undefined ? undefined : (treeCpuSeconds(target.pid) - cpuBefore) * 1e6
    const cpuUsPerRequest = cpuUs === undefined || result.requests === 0 ? undefined : cpuUs / result.requests
    return { scenario: scenario.id, target: target.id, round, result, peakRssBytes: rss.stop(), cpuUsPerRequest }
  } finally {
    rss.stop()
    if (target.id === 'c' || target.id === 'ck') context.gatewayWindows.push({ startUs, endUs: monotonicUs() })
  }
}

async function warmUp (context: Context, scenario: Scenario, targets: readonly Target[]): Promise<void> {
  const { warmupS } = context.options
  if (warmupS <= 0 || (scenario.kind === 'load' && scenario.id === 'login')) return
  for (const target of targets) {
    if (scenario.kind === 'sse') await probeSse(`${target.url}${scenario.path}`, target.headers, 5)
    else if (scenario.kind === 'ws') await probeWebSocket(`${target.url}${scenario.path}`, target.headers, scenario.connections, Math.max(1, Math.round(warmupS)))
    else await context.loadgen.run(loadSpec(context, scenario, target, Math.max(1, Math.round(warmupS))))
  }
}

/** Rounds alternate the target order (A B C, C B A, …) so slow drift cancels out. */
async function runScenario (context: Context, scenario: Scenario, all: readonly Target[]): Promise<(LoadMeasurement | SseMeasurement)[]> {
  const only = scenario.kind === 'sse' ? undefined : scenario.only
  const targets = all.filter((t) => !only || only.includes(t.id))
  if (!targets.length) return []
  await warmUp(context, scenario, targets)
  const counted = await databaseReadings(targets)
  const out: (LoadMeasurement | SseMeasurement)[] = []
  for (let round = 1; round <= context.options.rounds; round++) {
    for (const target of round % 2 ? targets : [...targets].reverse()) {
      const m = await measure(context, scenario, target, round)
      out.push(m)
      const what = 'result' in m
        ? `${m.result.rps.toFixed(1)} ${scenario.kind === 'sse' ? '' : scenario.unit} p50 ${m.result.p50Ms.toFixed(2)} ms p99 ${m.result.p99Ms.toFixed(2)} ms errors ${m.result.errors} non2xx ${m.result.non2xx}`
        : `${m.samplesMs.length} samples, errors ${m.errors}`
      log(`[${scenario.title}] round ${round}/${context.options.rounds} ${target.id} ${target.label}: ${what}`)
      await sleep(300)
    }
  }
  await recordDatabaseUse(context, scenario, counted, out)
  return out
}

/** The gateways on PostgreSQL, with the transactions their databases counted before the measured rounds. */
async function databaseReadings (targets: readonly Target[]): Promise<{ target: GatewayTarget, before: number }[]> {
  const gateways = targets.filter((t): t is GatewayTarget => 'databaseTransactions' in t && t.databaseTransactions !== undefined)
  if (!gateways.length) return []
  await sleep(DATABASE_STATS_DELAY_MS)
  return Promise.all(gateways.map(async (target) => ({ target, before: await (target.databaseTransactions as () => Promise<number>)() })))
}

/** How many transactions each gateway's database saw during the measured rounds, against the requests served. */
async function recordDatabaseUse (context: Context, scenario: Scenario, counted: readonly { target: GatewayTarget, before: number }[], out: readonly (LoadMeasurement | SseMeasurement)[]): Promise<void> {
  if (!counted.length || scenario.kind === 'sse') return
  await sleep(DATABASE_STATS_DELAY_MS)
  for (const { target, before } of counted) {
    const transactions = await (target.databaseTransactions as () => Promise<number>)() - before
    const requests = out.filter((m): m is LoadMeasurement => m.target === target.id && 'result' in m).reduce((sum, m) => sum + m.result.requests, 0)
    context.databaseUse.push({ scenario: scenario.id, target: target.id, transactions, requests })
  }
}

function environment (loadgen: LoadGenerator) {
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim()
    } catch {
      return ''
    }
  }
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    loadgen: loadgen.name,
    loadavg: loadavg().map((x) => Number(x.toFixed(2))),
    commit: git(['rev-parse', 'HEAD']),
    dirty: git(['status', '--porcelain']) !== '',
  }
}

function writeResults (name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `${name}.json`)
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`)
  return file
}

async function runSoak (options: Options, loadgen: LoadGenerator, gateway: GatewayTarget, stamp: string): Promise<number> {
  log(`soak: ${options.soakMinutes} min of small JSON GETs (50 connections) on the gateway, RSS every 30 s`)
  const outcome = await soak(gateway, loadgen, options.soakMinutes ?? 0, log)
  const file = writeResults(`soak-${stamp}`, { startedAt: stamp, options, environment: environment(loadgen), ...outcome })
  process.stdout.write(`soak ${outcome.ok ? 'passed' : 'FAILED'}: ${outcome.verdict}\nresults: ${file}\n`)
  return outcome.ok ? 0 : 1
}

/**
 * PostgreSQL, as the gateway is deployed, when one answers: the embedded PGlite adds ~650 MiB and a larger
 * heap, whose major collections showed as p99. The embedded database otherwise (or with --embedded).
 */
async function gatewayDatabase (options: Options): Promise<string | undefined> {
  const wantsCluster = options.workers !== undefined && options.workers > 1
  if (options.embedded) {
    if (wantsCluster) throw new Error('--workers needs PostgreSQL: the embedded database is single-process (drop --embedded)')
    log('target c: embedded PGlite database (--embedded)')
    return undefined
  }
  const url = options.databaseUrl ?? DEFAULT_DATABASE_URL
  const reachable = await postgresReachable(url)
  if (reachable === true) {
    log(`target c: PostgreSQL at ${new URL(url).host} (a fresh database, dropped after the run)`)
    return url
  }
  if (options.databaseUrl !== undefined || wantsCluster) throw new Error(`PostgreSQL at ${new URL(url).host} does not answer: ${reachable}`)
  log(`target c: embedded PGlite database (no PostgreSQL at ${new URL(url).host}: ${reachable})`)
  return undefined
}

async function main (argv: string[]): Promise<number> {
  const options = parseOptions(argv)
  if (!options) {
    process.stdout.write(USAGE)
    return 0
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  pinSelf()
  const [busy = 0] = loadavg()
  if (busy > 1) log(`warning: load average ${busy.toFixed(2)} before the run; other work on this machine makes results noisy`)
  const work = makeTempDir('atenex-bench-')
  const loadgen = loadGenerator(options.loadgen, work)
  const databaseUrl = await gatewayDatabase(options)
  if (options.workers !== undefined && options.workers > 1) log(`target c: serve --workers ${options.workers}, all workers on CPU ${PROXY_CPU}`)
  const profileDir = options.profile ? join(RESULTS_DIR, `profile-${stamp}`) : undefined

  const upstream = await startUpstream()
  const secret = randomSecret()
  const gatewayOptions = { profileDir, workers: options.workers, databaseUrl, root: options.gatewayRoot, logLevel: options.logLevel }
  const { targets, gateway, skipped } = await startTargets(options.soakMinutes === undefined ? options.targets : ['c'], upstream.url, secret, gatewayOptions, log, { root: options.baselineRoot, logLevel: options.baselineLogLevel, env: options.baselineEnv })
  log(`targets up (load generator: ${loadgen.name}): ${targets.map((t) => `${t.id}=${t.url}`).join(' ')}`)
  if (options.soakMinutes !== undefined && gateway) return runSoak(options, loadgen, gateway, stamp)

  // Each gateway (c, c0) logs in as its own demo administrator.
  const bodyFiles = { upload: join(work, 'upload.bin'), login: {} as Partial<Record<TargetId, string>> }
  writeFileSync(bodyFiles.upload, Buffer.alloc(UPLOAD_BYTES, 'x'))
  for (const target of targets) {
    if (!('credentials' in target)) continue
    const { email, password } = (target as GatewayTarget).credentials
    bodyFiles.login[target.id] = join(work, `login-${target.id}.json`)
    writeFileSync(join(work, `login-${target.id}.json`), JSON.stringify({ email, password }))
  }
  const context: Context = { options, loadgen, bodyFiles, gatewayWindows: [], databaseUse: [] }
  const idleRssMiB = Object.fromEntries(targets.filter((t) => t.pid !== undefined).map((t) => [t.id, treeRssBytes(t.pid ?? 0) / (1024 * 1024)]))
  const all = scenarios(options.sseSamples)
  const chosen = options.scenarios.map((id) => all[id])

  const measurements: (LoadMeasurement | SseMeasurement)[] = []
  for (const scenario of chosen) measurements.push(...await runScenario(context, scenario, targets))

  const load = summarizeLoad(measurements.filter((m): m is LoadMeasurement => 'result' in m))
  const sse = summarizeSse(measurements.filter((m): m is SseMeasurement => 'samplesMs' in m))
  const idle = Object.entries(idleRssMiB).map(([id, value]) => `${id} ${value.toFixed(1)}`).join(', ')
  const table = [
    renderReport(chosen, load, sse),
    '',
    `RSS MiB at idle after startup: ${idle || '-'}`,
    ...renderDatabaseUse(context.databaseUse),
    `load generator: ${loadgen.name}; ${options.rounds} round(s) × ${options.durationS} s per target and scenario; Δ = added over a (direct)`,
  ].join('\n')
  const scenarioRatios = Object.fromEntries(chosen.map((s) => [s.id, ratios(load, s.id)]))
  const file = writeResults(stamp, {
    startedAt: stamp,
    options,
    environment: environment(loadgen),
    skipped,
    idleRssMiB,
    targets: targets.map(({ id, label, url }) => ({ id, label, url })),
    summaries: { load, sse },
    databaseUse: context.databaseUse,
    ratios: scenarioRatios,
    measurements,
    table,
  })
  process.stdout.write(`\n${table}\n\nresults: ${file}\n`)

  if (gateway && profileDir) {
    await stop(gateway.child, 15_000)
    process.stdout.write(`\n${summarizeProfile(profileDir, options.gatewayRoot ?? REPO_ROOT, context.gatewayWindows)}\n`)
  }
  const failures = load.filter((s) => s.target === 'c' || s.target === 'ck').reduce((sum, s) => sum + s.errors + s.non2xx, 0) +
    sse.filter((s) => s.target === 'c').reduce((sum, s) => sum + s.errors, 0)
  if (failures) process.stdout.write(`FAIL: the gateway answered ${failures} errors or non-2xx responses\n`)
  return failures ? 1 : 0
}

let cleaning: Promise<void> | undefined
let interrupted: NodeJS.Signals | undefined
const cleanup = async (): Promise<void> => { cleaning ??= cleanupAll(); await cleaning }
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = signal
    log(`\n${signal}: stopping the processes this run started`)
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  })
}
process.on('exit', cleanupSync)

let code = 2
try {
  code = await main(process.argv.slice(2))
} catch (error) {
  if (!interrupted) log(`bench: ${(error as Error).stack ?? String(error)}`)
} finally {
  await cleanup()
}
process.exit(interrupted ? (interrupted === 'SIGINT' ? 130 : 143) : code)
