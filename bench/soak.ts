import type { LoadGenerator, LoadResult } from './loadgen/index.js'
import { treeRssBytes } from './rss.js'
import type { Target } from './targets.js'

const CHUNK_S = 30
const MIB = 1024 * 1024

export interface SoakSample {
  readonly atS: number
  readonly rssBytes: number
  readonly result: LoadResult
}

export interface SoakOutcome {
  readonly ok: boolean
  readonly verdict: string
  readonly samples: SoakSample[]
}

const average = (samples: SoakSample[]): number => samples.reduce((sum, s) => sum + s.rssBytes, 0) / samples.length

/**
 * Unbounded growth: the last third's average RSS above 1.5× the first third's and more than 50 MiB over it.
 * Errors or non-2xx answers fail the soak too.
 */
export function judgeSoak (samples: SoakSample[]): { ok: boolean, verdict: string } {
  const third = Math.max(1, Math.floor(samples.length / 3))
  const first = average(samples.slice(0, third))
  const last = average(samples.slice(-third))
  const failures = samples.reduce((sum, s) => sum + s.result.errors + s.result.non2xx, 0)
  const grew = last > first * 1.5 && last - first > 50 * MIB
  const verdict = `RSS first third ${(first / MIB).toFixed(1)} MiB, last third ${(last / MIB).toFixed(1)} MiB; errors+non2xx ${failures}`
  return { ok: !grew && failures === 0, verdict: `${grew ? 'RSS GROWS: ' : ''}${verdict}` }
}

/** Steady small-JSON load on the gateway in 30 s chunks, its RSS read after each. */
export async function soak (gateway: Target, loadgen: LoadGenerator, minutes: number, log: (line: string) => void): Promise<SoakOutcome> {
  const totalS = Math.round(minutes * 60)
  const samples: SoakSample[] = []
  for (let atS = 0; atS < totalS;) {
    const durationS = Math.max(1, Math.min(CHUNK_S, totalS - atS))
    const result = await loadgen.run({
      url: `${gateway.url}/api/v1/ingest/status`, connections: 50, durationS, method: 'GET', headers: gateway.headers, timeoutS: 10,
    })
    atS += durationS
    const rssBytes = gateway.pid === undefined ? 0 : treeRssBytes(gateway.pid)
    samples.push({ atS, rssBytes, result })
    log(`[soak] ${String(atS).padStart(5)} s  ${result.rps.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}  non2xx ${result.non2xx}  RSS ${(rssBytes / MIB).toFixed(1)} MiB`)
  }
  return { ...judgeSoak(samples), samples }
}
