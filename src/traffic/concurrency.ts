/**
 * In-flight requests per key (a company), capped: LLM calls are expensive, and a queue without bound
 * only turns one tenant's burst into everyone's latency. Per process: each replica holds its own share.
 */
export class ConcurrencyLimiter {
  readonly #inFlight = new Map<string, number>()
  readonly #max: number

  constructor (max: number) {
    this.#max = max
  }

  tryAcquire (key: string): boolean {
    const current = this.#inFlight.get(key) ?? 0
    if (current >= this.#max) return false
    this.#inFlight.set(key, current + 1)
    return true
  }

  release (key: string): void {
    const current = this.#inFlight.get(key) ?? 0
    if (current <= 1) this.#inFlight.delete(key)
    else this.#inFlight.set(key, current - 1)
  }
}
