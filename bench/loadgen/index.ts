import { execFileSync } from 'node:child_process'
import { autocannon } from './autocannon.js'
import { wrk } from './wrk.js'

export interface LoadSpec {
  readonly url: string
  readonly connections: number
  /** Whole seconds (wrk's resolution). */
  readonly durationS: number
  readonly method: 'GET' | 'POST'
  readonly headers: Readonly<Record<string, string>>
  /** POST body, read from this file. */
  readonly bodyFile?: string | undefined
  /** Per-request timeout: a response slower than this counts as an error. */
  readonly timeoutS: number
}

export interface LoadResult {
  readonly requests: number
  readonly durationS: number
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Connect/read/write errors and timeouts. */
  readonly errors: number
  /** Responses outside 2xx (wrk: outside 2xx/3xx). */
  readonly non2xx: number
}

export interface LoadGenerator {
  readonly name: 'wrk' | 'autocannon'
  /** Runs one bounded measurement, pinned to the load CPU. */
  run (spec: LoadSpec): Promise<LoadResult>
}

function hasWrk (): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' })
    return true
  } catch (error) {
    // wrk --version exits 1 after printing its usage; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

/** wrk when installed (C, far lighter on the shared load CPU), else autocannon from devDependencies. */
export function loadGenerator (preferred: 'wrk' | 'autocannon' | undefined, workDir: string): LoadGenerator {
  if (preferred === 'autocannon') return autocannon()
  if (preferred === 'wrk' || hasWrk()) return wrk(workDir)
  return autocannon()
}
