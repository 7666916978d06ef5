import { Pool } from 'undici'
import type { Config } from '../config.js'

export interface Upstream {
  readonly pool: Pool
  /** The path of the configured service URL, prepended to every upstream path ('' for a bare origin). */
  readonly basePath: string
}

/**
 * One connection pool per upstream origin, with explicit timeouts (undici's defaults are 300 s), no
 * redirects followed (undici's request() does not follow them) and TLS certificates verified (its default).
 */
export class UpstreamPools {
  readonly #upstreams = new Map<string, Upstream>()
  readonly #options: ConstructorParameters<typeof Pool>[1]
  #closed = false

  constructor (httpClient: Config['httpClient']) {
    this.#options = {
      connections: httpClient.maxConnections,
      pipelining: 1,
      keepAliveTimeout: httpClient.keepAliveTimeoutMs,
      keepAliveMaxTimeout: httpClient.keepAliveTimeoutMs,
      connect: { timeout: httpClient.connectTimeoutMs },
      headersTimeout: httpClient.timeoutMs,
      bodyTimeout: httpClient.timeoutMs,
    }
  }

  get closed (): boolean {
    return this.#closed
  }

  upstreamFor (serviceUrl: string): Upstream {
    let upstream = this.#upstreams.get(serviceUrl)
    if (!upstream) {
      const url = new URL(serviceUrl)
      upstream = { pool: new Pool(url.origin, this.#options), basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '') }
      this.#upstreams.set(serviceUrl, upstream)
    }
    return upstream
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.#upstreams.values()].map(({ pool }) => pool.close()))
  }

  /** For shutdown after the drain bound: cut whatever is still streaming. */
  async destroy (): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#upstreams.values()].map(({ pool }) => pool.destroy()))
  }
}
