import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A child process started by the harness, always through `taskset -c <cpu>` (which execs, so pid is the real process). */
export interface Child {
  readonly name: string
  readonly pid: number
  readonly process: ChildProcess
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** The last 64 KiB of stdout and stderr, for diagnostics. */
  output (): string
  /** Resolves with the first match of `pattern` in the output (stdout and stderr), or rejects on exit or timeout. */
  waitFor (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>
}

const OUTPUT_KEPT = 64 * 1024
const live: Child[] = []
const tempDirs: string[] = []

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
}

export function spawnPinned (name: string, cpu: number, command: string, args: readonly string[], options: SpawnOptions = {}): Child {
  const proc = spawn('taskset', ['-c', String(cpu), command, ...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${command})`)
  // The last chunks only, joined when read: at INFO the gateway writes megabytes per second, and the harness
  // shares its core with the load generator.
  const chunks: Buffer[] = []
  let kept = 0
  const text = (): string => Buffer.concat(chunks).toString('utf8').slice(-OUTPUT_KEPT)
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk)
    kept += chunk.length
    while (kept - (chunks[0]?.length ?? 0) >= OUTPUT_KEPT) kept -= (chunks.shift() as Buffer).length
    for (const check of waiters) check()
  }
  proc.stdout.on('data', onData)
  proc.stderr.on('data', onData)
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      const index = live.indexOf(child)
      if (index >= 0) live.splice(index, 1)
      resolve(code ?? signal ?? 'unknown')
    })
  })
  const child: Child = {
    name,
    pid: proc.pid,
    process: proc,
    exited,
    output: text,
    waitFor: (pattern, timeoutMs) => new Promise((resolve, reject) => {
      const done = (): void => { waiters.delete(check); clearTimeout(timer) }
      const check = (): void => {
        const match = text().match(pattern)
        if (match) { done(); resolve(match) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms\n${text()}`)) }, timeoutMs)
      void exited.then((code) => { done(); reject(new Error(`${name} exited (${code}) before printing ${pattern}\n${text()}`)) })
      waiters.add(check)
      check()
    }),
  }
  live.push(child)
  return child
}

/** Runs a pinned command to completion and returns its stdout; rejects on a non-zero exit. */
export async function runPinned (name: string, cpu: number, command: string, args: readonly string[]): Promise<string> {
  const child = spawnPinned(name, cpu, command, args)
  let stdout = ''
  child.process.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
  const code = await child.exited
  if (code !== 0) throw new Error(`${name} exited with ${code}\n${child.output()}`)
  return stdout
}

/** SIGTERM, then SIGKILL after `graceMs`; only ever the pid the harness itself started. */
export async function stop (child: Child, graceMs = 5000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs)
  await child.exited
  clearTimeout(timer)
}

export function makeTempDir (prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

const cleanupTasks: (() => Promise<void>)[] = []

/** Work for the end of the run, after every child has stopped (e.g. dropping a database they used). */
export function onCleanup (task: () => Promise<void>): void {
  cleanupTasks.push(task)
}

/** Stops every live child (last started first), runs the cleanup tasks and removes every temp dir. Safe to call twice. */
export async function cleanupAll (): Promise<void> {
  for (const child of [...live].reverse()) await stop(child)
  for (const task of cleanupTasks.splice(0)) await task().catch((error: unknown) => process.stderr.write(`cleanup: ${String(error)}\n`))
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** Last resort on a synchronous exit: SIGKILL whatever is left (by pid) and remove temp dirs. */
export function cleanupSync (): void {
  for (const child of live) child.process.kill('SIGKILL')
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `url` until it answers 200, failing early if `child` exits. */
export async function waitForHttp (url: string, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited: number | string | undefined
  void child?.exited.then((code) => { exited = code })
  for (;;) {
    if (exited !== undefined) throw new Error(`${child?.name} exited (${exited}) before ${url} answered\n${child?.output()}`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms\n${child?.output() ?? ''}`)
    await sleep(100)
  }
}
