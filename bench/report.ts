import type { LoadResult } from './loadgen/index.js'
import type { Scenario, ScenarioId, ThroughputScenario } from './scenarios.js'
import { TARGET_LABELS, type TargetId } from './targets.js'

export interface LoadMeasurement {
  readonly scenario: ScenarioId
  readonly target: TargetId
  readonly round: number
  readonly result: LoadResult
  readonly peakRssBytes: number | undefined
  /** The proxy's CPU time (user + system, its process tree) per request served: steadier than req/s on a shared machine. */
  readonly cpuUsPerRequest: number | undefined
}

export interface SseMeasurement {
  readonly scenario: 'sse'
  readonly target: TargetId
  readonly round: number
  readonly samplesMs: number[]
  readonly errors: number
  readonly peakRssBytes: number | undefined
}

export interface LoadSummary {
  readonly scenario: ScenarioId
  readonly target: TargetId
  readonly rps: number
  readonly rpsPerRound: number[]
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  readonly non2xx: number
  readonly peakRssMiB: number | undefined
  readonly cpuUsPerRequest: number | undefined
}

export interface SseSummary {
  readonly target: TargetId
  readonly samples: number
  readonly medianMs: number
  readonly p90Ms: number
  readonly errors: number
  readonly peakRssMiB: number | undefined
}

const RATIO_BASES: readonly TargetId[] = ['b0', 'b', 'bl', 'b2', 'c0', 'a', 'd', 'e']
/** ck (the API key) over c (the JWT) and over c0, for the same gateway process or build. */
const KEY_RATIO_BASES: readonly TargetId[] = ['c', 'c0']
/**
 * The middle round (the mean of the middle two): on these shared machines a round now and then runs at
 * two thirds of the others' speed, and a mean lets that one stall move a ratio by 10%.
 */
const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y)
  const middle = sorted.length / 2
  return sorted.length % 2 ? sorted[Math.floor(middle)] as number : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2
}
const medianOf = (values: (number | undefined)[]): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined)
  return known.length ? median(known) : undefined
}
const mib = (bytes: (number | undefined)[]): number | undefined => {
  const known = bytes.filter((b): b is number => b !== undefined)
  return known.length ? Math.max(...known) / (1024 * 1024) : undefined
}

export function percentile (values: number[], p: number): number {
  if (!values.length) return NaN
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN
}

function groupBy<T> (items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}

/** Per scenario and target: throughput and latency of the median round, errors summed, the peak RSS. */
export function summarizeLoad (measurements: readonly LoadMeasurement[]): LoadSummary[] {
  return [...groupBy(measurements, (m) => `${m.scenario}/${m.target}`).values()].map((rounds) => {
    const first = rounds[0] as LoadMeasurement
    return {
      scenario: first.scenario,
      target: first.target,
      rps: median(rounds.map((m) => m.result.rps)),
      rpsPerRound: rounds.map((m) => Math.round(m.result.rps)),
      p50Ms: median(rounds.map((m) => m.result.p50Ms)),
      p99Ms: median(rounds.map((m) => m.result.p99Ms)),
      errors: rounds.reduce((sum, m) => sum + m.result.errors, 0),
      non2xx: rounds.reduce((sum, m) => sum + m.result.non2xx, 0),
      peakRssMiB: mib(rounds.map((m) => m.peakRssBytes)),
      cpuUsPerRequest: medianOf(rounds.map((m) => m.cpuUsPerRequest)),
    }
  })
}

/** Per target, over the samples of every round pooled. */
export function summarizeSse (measurements: readonly SseMeasurement[]): SseSummary[] {
  return [...groupBy(measurements, (m) => m.target).values()].map((rounds) => {
    const samples = rounds.flatMap((m) => m.samplesMs)
    return {
      target: (rounds[0] as SseMeasurement).target,
      samples: samples.length,
      medianMs: percentile(samples, 50),
      p90Ms: percentile(samples, 90),
      errors: rounds.reduce((sum, m) => sum + m.errors, 0),
      peakRssMiB: mib(rounds.map((m) => m.peakRssBytes)),
    }
  })
}

/** c's throughput over each baseline's, for one scenario: c/b0, c/b, c/bl, c/b2, c/c0, c/a, c/d, c/e. */
export function ratios (summaries: readonly LoadSummary[], scenario: ScenarioId): Record<string, number> {
  const rps = (target: TargetId): number | undefined => summaries.find((s) => s.scenario === scenario && s.target === target)?.rps
  const gateway = rps('c')
  const out: Record<string, number> = {}
  for (const base of RATIO_BASES) {
    const other = rps(base)
    if (gateway !== undefined && other) out[`c/${base}`] = gateway / other
  }
  const key = rps('ck')
  for (const base of KEY_RATIO_BASES) {
    const other = rps(base)
    if (key !== undefined && other) out[`ck/${base}`] = key / other
  }
  return out
}

const num = (value: number | undefined, digits = 2): string => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits))
const signed = (value: number | undefined): string => (value === undefined ? '-' : `${value >= 0 ? '+' : ''}${value.toFixed(2)}`)
const row = (cells: string[], widths: number[]): string =>
  cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd()

function loadSection (scenario: ThroughputScenario, summaries: readonly LoadSummary[]): string[] {
  const rows = summaries.filter((s) => s.scenario === scenario.id)
  if (!rows.length) return []
  const direct = rows.find((s) => s.target === 'a')
  const widths = [16, 32, 10, 8, 8, 8, 8, 7, 7, 9, 9]
  const lines = [row(['scenario', 'target', scenario.unit, 'p50 ms', 'p99 ms', 'Δp50', 'Δp99', 'errors', 'non2xx', 'RSS MiB', 'CPU µs/r'], widths)]
  for (const s of rows) {
    const vsDirect = direct && s.target !== 'a'
    lines.push(row([
      scenario.title, `${s.target} ${TARGET_LABELS[s.target]}`, num(s.rps, 1), num(s.p50Ms), num(s.p99Ms),
      vsDirect ? signed(s.p50Ms - direct.p50Ms) : '-', vsDirect ? signed(s.p99Ms - direct.p99Ms) : '-',
      String(s.errors), String(s.non2xx), num(s.peakRssMiB, 1), num(s.cpuUsPerRequest, 1),
    ], widths))
  }
  const r = Object.entries(ratios(summaries, scenario.id)).map(([name, value]) => `${name} ${value.toFixed(2)}`)
  if (r.length) lines.push(`  ${scenario.unit} ratios: ${r.join('  ')}`)
  const paired = pairedRatio(rows.find((s) => s.target === 'c'), rows.find((s) => s.target === 'c0'))
  if (paired) lines.push(`  c/c0 round by round (${paired.rounds} rounds, paired within each round): median ${paired.median.toFixed(2)}, middle half ${paired.lowerQuartile.toFixed(2)}–${paired.upperQuartile.toFixed(2)}`)
  return lines
}

/** Below this many rounds a spread of the per-round ratios says nothing. */
const PAIRED_MIN_ROUNDS = 4

interface PairedRatio { readonly rounds: number, readonly median: number, readonly lowerQuartile: number, readonly upperQuartile: number }

/**
 * c over c0 round by round: the two run in the same round, next to each other in its order, so the machine's slow drift,
 * which moves both, cancels in each round's ratio, and the spread of those ratios shows how far a small
 * difference (the access log's cost, one change on the request path) stands out of the noise.
 */
function pairedRatio (gateway: LoadSummary | undefined, baseline: LoadSummary | undefined): PairedRatio | undefined {
  if (!gateway || !baseline) return undefined
  const perRound = gateway.rpsPerRound.flatMap((rps, round) => {
    const base = baseline.rpsPerRound[round]
    return base ? [rps / base] : []
  })
  if (perRound.length < PAIRED_MIN_ROUNDS) return undefined
  return { rounds: perRound.length, median: median(perRound), lowerQuartile: percentile(perRound, 25), upperQuartile: percentile(perRound, 75) }
}

function sseSection (summaries: readonly SseSummary[]): string[] {
  if (!summaries.length) return []
  const direct = summaries.find((s) => s.target === 'a')
  const widths = [16, 32, 10, 8, 12, 7, 9]
  const lines = [row(['scenario', 'target', 'median ms', 'p90 ms', 'Δmedian ms', 'errors', 'RSS MiB'], widths)]
  for (const s of summaries) {
    lines.push(row([
      'SSE first event', `${s.target} ${TARGET_LABELS[s.target]}`, num(s.medianMs), num(s.p90Ms),
      direct && s.target !== 'a' ? signed(s.medianMs - direct.medianMs) : '-', String(s.errors), num(s.peakRssMiB, 1),
    ], widths))
  }
  return lines
}

/** SPEC §9, as far as this run measures it (informative: the harness does not fail on these). */
function specChecks (load: readonly LoadSummary[], sse: readonly SseSummary[]): string[] {
  const find = (scenario: ScenarioId, target: TargetId): LoadSummary | undefined => load.find((s) => s.scenario === scenario && s.target === target)
  const lines: string[] = []
  const c = find('small', 'c')
  const b = find('small', 'b')
  const a = find('small', 'a')
  if (c && b) lines.push(`throughput c ≥ b (small JSON): ${c.rps >= b.rps ? 'yes' : 'NO'} (c/b ${(c.rps / b.rps).toFixed(2)})`)
  const nodeProxies = (['b', 'b2'] as const).map((t) => find('small', t)).filter((s): s is LoadSummary => s !== undefined)
  if (c && a && nodeProxies.length) {
    const best = (pick: (s: LoadSummary) => number): number => Math.min(...nodeProxies.map(pick)) - pick(a)
    lines.push(`added latency over direct (small JSON): c p50 ${signed(c.p50Ms - a.p50Ms)} ms, p99 ${signed(c.p99Ms - a.p99Ms)} ms; best Node proxy p50 ${signed(best((s) => s.p50Ms))} ms, p99 ${signed(best((s) => s.p99Ms))} ms`)
  }
  const sc = sse.find((s) => s.target === 'c')
  const sa = sse.find((s) => s.target === 'a')
  if (sc && sa) lines.push(`SSE time to first event: c ${signed(sc.medianMs - sa.medianMs)} ms over direct (median)`)
  const e = find('small', 'e')
  if (c && e) lines.push(`10× the Python seed gateway (small JSON): ${c.rps >= 10 * e.rps ? 'YES' : 'NO'} (c/e ${(c.rps / e.rps).toFixed(2)})`)
  else lines.push('10× the Python seed gateway: not measured in this run (needs targets c and e on small JSON; see bench/README.md to enable e)')
  return lines
}

export function renderReport (scenarioList: readonly Scenario[], load: readonly LoadSummary[], sse: readonly SseSummary[]): string {
  const sections: string[][] = scenarioList.map((s) => (s.kind === 'sse' ? sseSection(sse) : loadSection(s, load)))
  sections.push(['SPEC §9 (informative):', ...specChecks(load, sse).map((line) => `  ${line}`)])
  return sections.filter((lines) => lines.length).map((lines) => lines.join('\n')).join('\n\n')
}

/** Database transactions a gateway's PostgreSQL database counted during one scenario's measured rounds. */
export interface DatabaseUse {
  readonly scenario: string
  readonly target: string
  readonly transactions: number
  readonly requests: number
}

/** One line per scenario: transactions per 1,000 requests (0 in steady state, SPEC §2.3; login does write). */
export function renderDatabaseUse (use: readonly DatabaseUse[]): string[] {
  if (!use.length) return []
  const scenarios = [...new Set(use.map((u) => u.scenario))]
  return [
    'database transactions per 1,000 requests under measured load (pg_stat_database, PostgreSQL only):',
    ...scenarios.map((scenario) => `  ${scenario}: ${use.filter((u) => u.scenario === scenario).map((u) =>
      `${u.target} ${u.requests ? (1000 * u.transactions / u.requests).toFixed(2) : '-'} (${u.transactions} in ${u.requests} requests)`).join(', ')}`),
  ]
}
