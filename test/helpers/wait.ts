import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `check` until it holds or `timeoutMs` passes; returns the milliseconds it took, or throws naming `what`.
 * The one way a test waits: a check that itself never returns (a request nobody answers) is cut at the bound too.
 */
export async function eventually (check: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'condition'): Promise<number> {
  const started = performance.now()
  const late = (): Error => new Error(`${what} not reached within ${timeoutMs} ms`)
  while (performance.now() - started < timeoutMs) {
    let timer: NodeJS.Timeout | undefined
    const cut = new Promise<'cut'>((resolve) => { timer = setTimeout(() => resolve('cut'), Math.max(0, timeoutMs - (performance.now() - started))) })
    try {
      const held = await Promise.race([Promise.resolve().then(check), cut])
      if (held === 'cut') throw late()
      if (held) return performance.now() - started
    } finally { clearTimeout(timer) }
    await sleep(10)
  }
  throw late()
}
