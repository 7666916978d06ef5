import { writeSync } from 'node:fs'
import type { Writable } from 'node:stream'

export interface BatchOptions {
  /** A batch is written once it holds this many characters... */
  readonly batchChars: number
  /** ...or this long after its first line, whichever comes first. */
  readonly flushIntervalMs: number
  /** Beyond this much written but not yet taken by the reader (a stalled stdout), batches are dropped and counted. */
  readonly maxQueuedBytes: number
}

/** Log lines dropped because stdout could not keep up (exposed as a metric). */
export const droppedLogLines = { count: 0 }

/**
 * Log lines, batched, on one of Node's own stdio streams: for a pipe or a socket (a container's stdout) that is
 * a non-blocking libuv stream, which writes each batch at once from the event loop and queues it only when the
 * reader is behind; for a file, synchronous writes, as Node does. As nginx's buffered access_log: one write per
 * batch, flushed at least every interval and at exit, and bounded: a stalled reader costs dropped lines, not
 * memory, and never stops the event loop.
 * Not SonicBoom's asynchronous mode: its fs.write goes through libuv's thread pool, which on the bench's one
 * pinned core cost the event loop 10.3 µs per request in `writeString` at INFO, 0.1 at WARNING (--cpu-prof,
 * fixed 3,000 req/s); it also re-measures its pending string on every line.
 */
export class BatchedLines {
  readonly #out: Writable
  readonly #fd: number
  readonly #options: BatchOptions
  /** Lines pending, appended (V8 keeps the appends as a rope, flattened once when the batch is written). */
  #pending = ''
  #timer: NodeJS.Timeout | undefined

  constructor (out: Writable, fd: number, options: BatchOptions) {
    this.#out = out
    this.#fd = fd
    this.#options = options
    // A closed stdout (EPIPE) must not take the gateway down with it: later batches are dropped and counted.
    out.on('error', () => undefined)
  }

  write (line: string): void {
    this.#pending += line
    if (this.#pending.length >= this.#options.batchChars) this.flush()
    else this.#timer ??= setTimeout(() => { this.flush() }, this.#options.flushIntervalMs).unref()
  }

  /** Hands what is pending to the stream, or drops it (counted) when the reader is too far behind. */
  flush (): void {
    const batch = this.#take()
    if (batch === undefined) return
    if (this.#out.destroyed || this.#out.writableLength > this.#options.maxQueuedBytes) {
      droppedLogLines.count += linesIn(batch)
      return
    }
    this.#out.write(batch)
  }

  /**
   * Writes what is pending synchronously: for the process's exit, when no event loop is left to finish a write.
   * A non-blocking pipe that is full answers EAGAIN: retried for at most a second, then the rest is counted as dropped.
   */
  flushSync (): void {
    const batch = this.#take()
    if (batch === undefined || this.#out.destroyed) return
    let rest = Buffer.from(batch)
    const deadline = Date.now() + 1000
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(this.#fd, rest))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) break
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
      }
    }
    if (rest.length > 0) droppedLogLines.count += linesIn(rest.toString('utf8'))
  }

  #take (): string | undefined {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending === '') return undefined
    const batch = this.#pending
    this.#pending = ''
    return batch
  }
}

const linesIn = (text: string): number => text.split('\n').length - 1
