import { createRequire } from 'node:module'
import { runPinned } from '../processes.js'
import { LOAD_CPU } from '../targets.js'
import type { LoadGenerator, LoadResult, LoadSpec } from './index.js'

const CLI = createRequire(import.meta.url).resolve('autocannon')

/** The part of autocannon's `--json` result we read. */
interface AutocannonJson {
  duration: number
  errors: number
  non2xx: number
  requests: { total: number }
  latency: { p50: number, p99: number }
}

/** autocannon's CLI in its own process (so it can be pinned like wrk), one connection per socket, no pipelining. */
export function autocannon (): LoadGenerator {
  return {
    name: 'autocannon',
    async run (spec: LoadSpec): Promise<LoadResult> {
      const headers = Object.entries(spec.headers).flatMap(([name, value]) => ['-H', `${name}=${value}`])
      const body = spec.bodyFile === undefined ? [] : ['-i', spec.bodyFile]
      const args = [CLI, '-j', '-n', '-c', String(spec.connections), '-d', String(spec.durationS), '-t', String(spec.timeoutS), '-m', spec.method, ...headers, ...body, spec.url]
      const stdout = await runPinned('autocannon', LOAD_CPU, process.execPath, args)
      const r = JSON.parse(stdout) as AutocannonJson
      return {
        requests: r.requests.total,
        durationS: r.duration,
        rps: r.requests.total / r.duration,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        errors: r.errors, // autocannon already counts timeouts among errors
        non2xx: r.non2xx,
      }
    },
  }
}
