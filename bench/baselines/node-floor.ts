/**
 * Baseline (f) "node:http+undici dispatch (floor)": the least any Node proxy does — no authentication, no
 * logging, no framework, no header policy beyond dropping hop-by-hop fields: node:http in, one undici
 * dispatch handler out (the gateway's own forwarding mechanism), the answer written straight back with
 * backpressure. What is left between this and the gateway is the cost of the gateway's policies.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Pool, type Dispatcher } from 'undici'
import { HOP_BY_HOP, forwardable, hasBody, serveBaseline, upstreamUrl } from './headers.js'

const pool = new Pool(upstreamUrl(), { connections: 200, pipelining: 1 })

class Relay implements Dispatcher.DispatchHandler {
  #resume: (() => void) | undefined
  constructor (private readonly res: ServerResponse) {}

  onConnect (): void {}

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true
    this.#resume = resume
    const headers: string[] = []
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as Buffer).toString('latin1')
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'))
    }
    this.res.writeHead(statusCode, headers)
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true
    this.res.once('drain', this.#resume as () => void)
    return false
  }

  onComplete (): void {
    this.res.end()
  }

  onError (): void {
    if (this.res.headersSent) this.res.destroy()
    else this.res.writeHead(502, { 'content-length': '0' }).end()
  }
}

function handle (req: IncomingMessage, res: ServerResponse): void {
  pool.dispatch({
    method: req.method as Dispatcher.HttpMethod,
    path: req.url ?? '/',
    headers: forwardable(req.headers),
    body: hasBody(req.headers) ? req : null,
  }, new Relay(res))
}

const server = createServer(handle)
serveBaseline(server, pool)
