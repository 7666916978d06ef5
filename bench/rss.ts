import { readdirSync, readFileSync } from 'node:fs'

function readOrEmpty (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return '' // the process (or thread) is gone
  }
}

function childPids (pid: number): number[] {
  let tasks: string[]
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  return tasks.flatMap((tid) => readOrEmpty(`/proc/${pid}/task/${tid}/children`).split(' ').filter(Boolean).map(Number))
}

/** VmRSS of `pid` plus its descendants (nginx's workers, a future `--workers N` gateway), in bytes. */
export function treeRssBytes (pid: number): number {
  const match = readOrEmpty(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+)\s+kB/m)
  const own = match ? Number(match[1]) * 1024 : 0
  return childPids(pid).reduce((sum, child) => sum + treeRssBytes(child), own)
}

/** Samples the RSS of a process tree every `intervalMs`; `stop()` returns the peak. */
export function sampleRss (pid: number | undefined, intervalMs = 200): { stop (): number | undefined } {
  if (pid === undefined) return { stop: () => undefined }
  let peak = treeRssBytes(pid)
  const timer = setInterval(() => { peak = Math.max(peak, treeRssBytes(pid)) }, intervalMs)
  return {
    stop () {
      clearInterval(timer)
      return Math.max(peak, treeRssBytes(pid))
    },
  }
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux everywhere). */
const TICKS_PER_SECOND = 100

/** CPU seconds (user + system) used so far by `pid` and its descendants. */
export function treeCpuSeconds (pid: number): number {
  const stat = readOrEmpty(`/proc/${pid}/stat`)
  // Fields after the command name (which may hold spaces), from field 3 on: utime is field 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const own = (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND
  return childPids(pid).reduce((sum, child) => sum + treeCpuSeconds(child), own)
}
