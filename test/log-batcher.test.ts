import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, test } from 'node:test'
import { eventually } from './helpers/wait.js'

// The log destination (src/observability/log-batcher.ts), on a real stdout pipe: a child process writes through
// the built module while this test reads (or does not read) the other end.

const BATCHER = resolve('dist/src/observability/log-batcher.js')
const missing = existsSync(BATCHER) ? false : 'dist/ is missing: run npm run build first (npm test does)'

interface Writer { readonly child: ReturnType<typeof spawn>, readonly stdout: () => string, readonly stderr: () => string, readonly exited: Promise<number | null> }

/** A child that writes `lines` numbered lines through a LogBatcher on fd 1, then runs `then` (JavaScript). */
function startWriter (lines: number, options: { maxPendingChars?: number, then: string }): Writer {
  const script = `
    import { LogBatcher } from ${JSON.stringify(BATCHER)}
    let dropped = 0
    const out = new LogBatcher(1, { batchChars: 16384, maxPendingChars: ${options.maxPendingChars ?? 1 << 24}, flushIntervalMs: 1000, onDrop: (n) => { dropped += n } })
    for (let i = 0; i < ${lines}; i++) out.write('{"line":' + i + ',"pad":"' + 'x'.repeat(200) + '"}\\n')
    const report = () => process.stderr.write('dropped=' + dropped + '\\n')
    ${options.then}
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  void exited.then(() => clearTimeout(timer))
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

const numbers = (stdout: string): number[] => stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { line: number }).line)

describe('log destination: batched, asynchronous, bounded', { skip: missing }, () => {
  test('lines still pending when the process exits are all written, in order', async () => {
    // 100 lines are about 21 KB: one batch goes out asynchronously, the rest is only pending when exit() runs.
    const writer = startWriter(100, { then: 'report(); process.exit(0)' })
    assert.equal(await writer.exited, 0)
    assert.deepEqual(numbers(writer.stdout()), Array.from({ length: 100 }, (_, i) => i))
    assert.match(writer.stderr(), /dropped=0/)
  })

  test('a batch smaller than the batch size is written within the flush interval, while the process keeps running', async () => {
    const writer = startWriter(3, { then: 'setTimeout(() => { report(); process.exit(0) }, 30_000)' })
    try {
      await eventually(() => numbers(writer.stdout()).length === 3, 5000, 'the three lines on stdout')
    } finally { writer.child.kill('SIGKILL') }
    await writer.exited
  })

  test('a reader that stops reading costs dropped, counted lines, never memory without bound or a stalled event loop', async () => {
    // 20,000 lines (4 MB) against a pipe nobody reads and a 256 KiB bound: the writes stall, the rest is dropped.
    const writer = startWriter(20_000, {
      maxPendingChars: 256 * 1024,
      then: 'let ticks = 0; const tick = setInterval(() => { ticks++ }, 10); setTimeout(() => { clearInterval(tick); process.stderr.write("ticks=" + ticks + "\\n"); report() }, 500)',
    })
    writer.child.stdout?.pause()
    await eventually(() => /dropped=\d+/.test(writer.stderr()), 10_000, 'the child reporting while its stdout is stalled')
    const ticks = Number(/ticks=(\d+)/.exec(writer.stderr())?.[1])
    const dropped = Number(/dropped=(\d+)/.exec(writer.stderr())?.[1])
    assert.ok(ticks >= 10, `the event loop kept turning while stdout was stalled (${ticks} ticks of 10 ms in 500 ms)`)
    assert.ok(dropped > 0, 'lines beyond the bound were dropped')
    writer.child.stdout?.resume()
    assert.equal(await writer.exited, 0)
    const written = numbers(writer.stdout())
    assert.equal(written.length + dropped, 20_000, 'every line was either written or counted as dropped')
    assert.deepEqual(written, [...written].sort((a, b) => a - b), 'the lines that were written are in order')
  })

  test('a reader that goes away (EPIPE) stops the writing, not the process', async () => {
    const writer = startWriter(0, {
      then: 'setTimeout(() => { for (let i = 0; i < 2000; i++) out.write("x".repeat(100) + "\\n") }, 200); setTimeout(() => { report(); process.exit(0) }, 1500)',
    })
    writer.child.stdout?.destroy()
    assert.equal(await writer.exited, 0)
    assert.match(writer.stderr(), /dropped=[1-9]\d*/)
  })
})
