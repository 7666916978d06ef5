import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The parts of a V8 `.cpuprofile` read here; times in microseconds of the monotonic clock. */
interface CpuProfile {
  nodes: { id: number, children?: number[], callFrame: { functionName: string, url: string, lineNumber: number } }[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** A span of the monotonic clock (µs, as process.hrtime) during which the profiled process was under load. */
export interface Window {
  readonly startUs: number
  readonly endUs: number
}

export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n)

/** Sample node ids whose timestamps fall in one of `windows` (every sample when none are given). */
function sampled (profile: CpuProfile, windows: readonly Window[]): number[] {
  const out: number[] = []
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0
    if (!windows.length || windows.some((w) => at >= w.startUs && at <= w.endUs)) out.push(id)
  })
  return out
}

/**
 * The hottest functions of the busiest profile in `dir` (node writes one per thread; tsx's loader thread is
 * one of them), counting only samples taken under load: by self time, and by inclusive time among the
 * repository's own src/ files. Percentages of busy (non-idle) samples. Line numbers are those of tsx's output.
 */
export function summarizeProfile (dir: string, repoRoot: string, windows: readonly Window[], top = 15): string {
  const candidates = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).map((name) => {
    const profile = JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile
    const byId = new Map(profile.nodes.map((node) => [node.id, node]))
    const busy = sampled(profile, windows).filter((id) => byId.get(id)?.callFrame.functionName !== '(idle)')
    return { name, profile, byId, busy }
  }).sort((x, y) => y.busy.length - x.busy.length)
  const busiest = candidates[0]
  if (!busiest) return `no .cpuprofile in ${dir}`
  const { byId, busy } = busiest
  const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`
  const parent = new Map<number, number>()
  for (const node of busiest.profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const nameOf = (id: number): string => {
    const frame = byId.get(id)?.callFrame
    if (!frame) return '?'
    const file = frame.url.replace(/^file:\/\//, '').replace(root, '')
    return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`
  }

  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const leaf of busy) {
    self.set(nameOf(leaf), (self.get(nameOf(leaf)) ?? 0) + 1)
    const seen = new Set<string>()
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      if (/\/(dist\/)?src\//.test(byId.get(id)?.callFrame.url.replace(root, '/') ?? '')) seen.add(nameOf(id))
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + 1)
  }
  const total = busy.length || 1
  const list = (map: Map<string, number>): string[] => [...map].sort((x, y) => y[1] - x[1]).slice(0, top)
    .map(([name, hits]) => `  ${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`)
  return [
    `profile ${join(dir, busiest.name)}: ${busy.length} busy samples under load`,
    'self time:', ...list(self),
    'inclusive time, src/ functions:', ...list(inclusive),
  ].join('\n')
}
