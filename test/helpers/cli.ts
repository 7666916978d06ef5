import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { eventually } from './wait.js'

/** The built CLI, run with this test's own Node.js, as `npm start` and the Dockerfile run it (absolute: tests run it from temp folders). */
export const CLI = resolve('dist/src/cli/index.js')
export const cliMissing = existsSync(CLI) ? false : 'dist/src/cli/index.js is missing: run npm run build first (npm test does)'

export interface CliRun { status: number | null, stdout: string, stderr: string }

/** A clean environment: only PATH from ours, so no developer's GATEWAY_* or .env leaks into a test. */
export const cleanEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, ...env })

/** Runs one command to its end (bounded), with `input` on its standard input. */
export async function runCli (args: string[], env: NodeJS.ProcessEnv, options: { input?: string, cwd?: string, timeoutMs?: number, node?: string } = {}): Promise<CliRun> {
  const child = spawn(options.node ?? process.execPath, [CLI, ...args], { env: cleanEnv(env), cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 60_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  child.stdin.end(options.input ?? '')
  const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return { status, stdout, stderr }
}

export interface RunningCli {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** The first match of `pattern` in stdout + stderr, waited for (bounded). */
  waitFor (pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** Sends `signal` and resolves with the exit code (bounded; SIGKILL after the bound). */
  stop (signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
}

/** Every background command still running: killed when the test process exits, even after a test timed out. */
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

/** Starts a long-running command (serve, demo) in the background. */
export function startCli (args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  child.once('exit', () => running.delete(child))
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitFor (pattern, timeoutMs = 60_000) {
      let match: RegExpExecArray | null = null
      await eventually(() => {
        match = pattern.exec(stdout + stderr)
        return match !== null || child.exitCode !== null
      }, timeoutMs, `${pattern} in the output of ${args.join(' ')}`)
      if (match === null) throw new Error(`${args.join(' ')} exited (${child.exitCode}) before printing ${pattern}\n${stdout}\n${stderr}`)
      return match
    },
    async stop (signal = 'SIGTERM', timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
