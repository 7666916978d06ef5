import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runPinned } from '../processes.js'
import { LOAD_CPU } from '../targets.js'
import type { LoadGenerator, LoadResult, LoadSpec } from './index.js'

/** wrk's Lua hooks: an optional body from a file, and a JSON summary line with exact percentiles (µs). */
function script (spec: LoadSpec): string {
  const body = spec.bodyFile === undefined
    ? ''
    : `local f = assert(io.open(${JSON.stringify(spec.bodyFile)}, "rb"))\nwrk.body = f:read("*a")\nf:close()\n`
  return `wrk.method = "${spec.method}"
${body}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_JSON {\\"requests\\":%d,\\"durationUs\\":%d,\\"p50Us\\":%d,\\"p99Us\\":%d,\\"errors\\":%d,\\"non2xx\\":%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`
}

interface WrkSummary { requests: number, durationUs: number, p50Us: number, p99Us: number, errors: number, non2xx: number }

export function wrk (workDir: string): LoadGenerator {
  let runs = 0
  return {
    name: 'wrk',
    async run (spec: LoadSpec): Promise<LoadResult> {
      const scriptFile = join(workDir, `wrk-${runs++}.lua`)
      writeFileSync(scriptFile, script(spec))
      const headers = Object.entries(spec.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`])
      const args = ['-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, '--timeout', `${spec.timeoutS}s`, '-s', scriptFile, ...headers, spec.url]
      const stdout = await runPinned('wrk', LOAD_CPU, 'wrk', args)
      const line = stdout.split('\n').find((text) => text.startsWith('BENCH_JSON '))
      if (!line) throw new Error(`wrk printed no summary:\n${stdout}`)
      const s = JSON.parse(line.slice('BENCH_JSON '.length)) as WrkSummary
      const durationS = s.durationUs / 1e6
      return { requests: s.requests, durationS, rps: s.requests / durationS, p50Ms: s.p50Us / 1000, p99Ms: s.p99Us / 1000, errors: s.errors, non2xx: s.non2xx }
    },
  }
}
