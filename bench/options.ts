import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SCENARIO_IDS, type ScenarioId } from './scenarios.js'
import { TARGET_IDS, type TargetId } from './targets.js'

export interface Options {
  readonly durationS: number
  readonly rounds: number
  readonly warmupS: number
  readonly quick: boolean
  readonly soakMinutes: number | undefined
  readonly targets: readonly TargetId[]
  readonly scenarios: readonly ScenarioId[]
  readonly loadgen: 'wrk' | 'autocannon' | undefined
  readonly sseSamples: number
  readonly profile: boolean
  readonly workers: number | undefined
  readonly databaseUrl: string | undefined
  readonly embedded: boolean
  readonly gatewayRoot: string | undefined
  readonly baselineRoot: string | undefined
  readonly logLevel: string
  readonly baselineLogLevel: string | undefined
  readonly baselineEnv: Readonly<Record<string, string>>
}

export const USAGE = `Usage: npm run bench -- [options]

  --duration <s>       seconds per measurement (default 5)
  --rounds <n>         rounds per target and scenario, alternating A B … B A (default 2)
  --warmup <s>         unmeasured seconds per target before each scenario (default 1)
  --quick              CI smoke run (~5 s of load): small JSON, targets a and c, one short round
  --soak <minutes>     bounded soak of the gateway only; fails if RSS grows without bound
  --targets <list>     subset of a,b0,b,bl,b2,c,ck,c0,d,e (default all; d and e are skipped, with the reason,
                       when nginx / the Python packages are missing; bl is b writing an access line per
                       request; ck is c called with an API key; c0 needs --baseline-root)
  --scenarios <list>   subset of small,big,upload,sse,ws,login (default all)
  --loadgen <name>     wrk or autocannon (default: wrk when installed)
  --sse-samples <n>    sequential SSE requests per target and round (default 50)
  --profile            run the gateway with --cpu-prof; print its hottest functions
  --database-url <url> the PostgreSQL server the gateway runs on, as deployed (a user allowed to CREATE
                       DATABASE; a fresh database is created, seeded and dropped); default
                       BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres when it answers,
                       else the embedded PGlite (said in the output)
  --embedded           run the gateway on its embedded PGlite database even when PostgreSQL answers
  --workers <n>        run the gateway as serve --workers n (n > 1), all on the proxy CPU; needs PostgreSQL
  --gateway-root <dir> benchmark the gateway of another checkout (e.g. a git worktree of main)
  --baseline-root <dir> also run the gateway of this checkout as target c0, configured as c, in the same
                       run (before/after a change side by side: git worktree add /tmp/before <commit>)
  --log-level <level>  GATEWAY_LOG_LEVEL of c and c0 (default INFO, as deployed: the access log is written)
  --baseline-log-level <level>
                       c0's own log level (with --baseline-root .: the cost of the access log, in one run)
  --baseline-env <NAME=value>
                       a setting of c0 only (repeatable), e.g. --baseline-root . --baseline-env
                       GATEWAY_IDENTITY_ASSERTION=false: the cost of the signed identity, in one run
`

function positive (name: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name}: expected a positive ${integer ? 'integer' : 'number'}, got '${value}'`)
  return n
}

function list<T extends string> (name: string, value: string | undefined, allowed: readonly T[]): readonly T[] {
  if (value === undefined) return allowed
  const items = value.split(',').map((item) => item.trim()).filter(Boolean)
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item))
  if (unknown.length || !items.length) throw new Error(`--${name}: expected a subset of ${allowed.join(',')}, got '${value}'`)
  return allowed.filter((item) => items.includes(item))
}

function setting (text: string): [string, string] {
  const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(text)
  if (!match) throw new Error(`--baseline-env: expected NAME=value, got '${text}'`)
  return [match[1] as string, match[2] as string]
}

/** Parsed flags, or undefined when --help was asked for. */
export function parseOptions (argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      quick: { type: 'boolean', default: false },
      soak: { type: 'string' },
      targets: { type: 'string' },
      scenarios: { type: 'string' },
      loadgen: { type: 'string' },
      'sse-samples': { type: 'string' },
      profile: { type: 'boolean', default: false },
      workers: { type: 'string' },
      'database-url': { type: 'string' },
      embedded: { type: 'boolean', default: false },
      'gateway-root': { type: 'string' },
      'baseline-root': { type: 'string' },
      'log-level': { type: 'string' },
      'baseline-log-level': { type: 'string' },
      'baseline-env': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return undefined
  if (values.loadgen !== undefined && values.loadgen !== 'wrk' && values.loadgen !== 'autocannon') throw new Error(`--loadgen: expected wrk or autocannon, got '${values.loadgen}'`)
  const quick = values.quick
  return {
    durationS: positive('duration', values.duration, quick ? 2 : 5),
    rounds: positive('rounds', values.rounds, quick ? 1 : 2),
    warmupS: values.warmup === '0' ? 0 : positive('warmup', values.warmup, quick ? 0 : 1),
    quick,
    soakMinutes: values.soak === undefined ? undefined : positive('soak', values.soak, 0, false),
    targets: list('targets', values.targets ?? (quick ? 'a,c' : undefined), TARGET_IDS),
    scenarios: list('scenarios', values.scenarios ?? (quick ? 'small' : undefined), SCENARIO_IDS),
    loadgen: values.loadgen,
    sseSamples: positive('sse-samples', values['sse-samples'], 50),
    profile: values.profile,
    workers: values.workers === undefined ? undefined : positive('workers', values.workers, 1),
    databaseUrl: values['database-url'] ?? process.env.BENCH_DATABASE_URL,
    embedded: values.embedded,
    gatewayRoot: values['gateway-root'] === undefined ? undefined : resolve(values['gateway-root']),
    baselineRoot: values['baseline-root'] === undefined ? undefined : resolve(values['baseline-root']),
    logLevel: (values['log-level'] ?? 'INFO').toUpperCase(),
    baselineLogLevel: values['baseline-log-level']?.toUpperCase(),
    baselineEnv: Object.fromEntries((values['baseline-env'] ?? []).map(setting)),
  }
}
