import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `check` until it holds or `timeoutMs` passes; returns the milliseconds it took, or throws. */
export async function eventually (check: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'condition'): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < timeoutMs) {
    if (await check()) return performance.now() - started
    await sleep(10)
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`)
}
