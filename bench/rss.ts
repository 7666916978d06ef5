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
