import assert from 'node:assert/strict'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { BatchedLines, droppedLogLines } from '../src/observability/log-destination.js'

const options = { batchChars: 100, flushIntervalMs: 50, maxQueuedBytes: 250 }

/** A stream that records each write it is handed; `stalled`, it never finishes one (a reader that stopped reading). */
function recording (stalled = false): { out: Writable, writes: string[] } {
  const writes: string[] = []
  const out = new Writable({
    write (chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString('utf8'))
      if (!stalled) done()
    },
  })
  return { out, writes }
}

const line = (n: number): string => `{"n":${n},"pad":"${'x'.repeat(20)}"}\n`

describe('the batched log destination', () => {
  test('holds lines until a batch is full, then writes them in one write, in order', () => {
    const { out, writes } = recording()
    const lines = new BatchedLines(out, -1, options)
    // Each line is 36 characters: the third fills the batch of 100.
    lines.write(line(1))
    lines.write(line(2))
    assert.equal(writes.length, 0, 'less than a batch: nothing written yet')
    lines.write(line(3))
    assert.deepEqual(writes, [line(1) + line(2) + line(3)])
    lines.write(line(4))
    lines.flush()
    assert.deepEqual(writes, [line(1) + line(2) + line(3), line(4)])
  })

  test('writes a partial batch once the interval has passed', async () => {
    const { out, writes } = recording()
    const lines = new BatchedLines(out, -1, options)
    lines.write(line(1))
    await sleep(options.flushIntervalMs * 3)
    assert.deepEqual(writes, [line(1)])
  })

  test('a reader that stopped reading costs dropped lines, counted, not memory', () => {
    const { out, writes } = recording(true)
    const lines = new BatchedLines(out, -1, options)
    const before = droppedLogLines.count
    for (let n = 0; n < 40; n++) lines.write(line(n))
    lines.flush()
    const queued = out.writableLength
    assert.ok(queued <= options.maxQueuedBytes + options.batchChars + line(0).length, `at most the bound queued (${queued} bytes)`)
    assert.equal(writes.length, 1, 'the first batch reached the reader, which then stopped')
    // Everything handed over is still queued (the reader took nothing): all lines have the same length.
    const handed = queued / line(0).length
    assert.equal(handed + (droppedLogLines.count - before), 40, 'every line is either handed over or counted as dropped')
    assert.ok(droppedLogLines.count - before > 0)
  })

  test('a closed stdout (EPIPE) neither throws nor keeps lines: they are counted as dropped', () => {
    const { out } = recording()
    const lines = new BatchedLines(out, -1, options)
    out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    out.destroy()
    const before = droppedLogLines.count
    lines.write(line(1))
    lines.flush()
    assert.equal(droppedLogLines.count - before, 1)
  })

  test('at exit, what is pending is written synchronously to the descriptor', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atenex-log-'))
    const path = join(dir, 'stdout')
    const fd = openSync(path, 'w')
    try {
      const { out, writes } = recording()
      const lines = new BatchedLines(out, fd, options)
      lines.write(line(1))
      lines.write(line(2))
      lines.flushSync()
      assert.equal(readFileSync(path, 'utf8'), line(1) + line(2))
      assert.equal(writes.length, 0, 'not through the stream: no event loop is left at exit')
      lines.flushSync()
      assert.equal(readFileSync(path, 'utf8'), line(1) + line(2), 'nothing is written twice')
    } finally {
      closeSync(fd)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
