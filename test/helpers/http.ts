import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http'

/** A JSON POST, as the frontend sends it. */
export async function postJson (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
}

export interface RawResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export interface RawRequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string | string[]>
  /** A whole body (sent with its Content-Length), or chunks streamed as the client produces them. */
  readonly body?: Buffer | AsyncIterable<Buffer>
  /** Fails the request when no whole answer came within this bound (default 60 s): no test waits forever on a socket. */
  readonly timeoutMs?: number
}

/**
 * node:http as an application uses it, not fetch (which normalises paths and refuses some headers): the target
 * and headers go out as given, and a streamed body is written with backpressure while the answer may already
 * be arriving (once it has, the rest of the body is not sent). Rejects with the client's own error (EPIPE, ECONNRESET, ...) when the answer was lost.
 */
export async function rawRequest (base: string, path: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers }
    if (Buffer.isBuffer(options.body)) headers['content-length'] = String(options.body.length)
    let answered = false
    const method = options.method ?? 'GET'
    const timeoutMs = options.timeoutMs ?? 60_000
    const bound = setTimeout(() => req.destroy(new Error(`no whole answer to ${method} ${path} within ${timeoutMs} ms`)), timeoutMs)
    let responded = false
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers, agent: false }, (res) => {
      responded = true
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        answered = true
        clearTimeout(bound)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })
        if (!req.writableEnded) req.destroy()
      })
      res.on('error', (error) => { clearTimeout(bound); reject(error) })
    })
    // Once the answer is in, the server may close while the rest of the body is unsent: that is not a failure.
    req.on('error', (error) => {
      if (answered) return
      clearTimeout(bound)
      reject(error)
    })
    const body = options.body
    if (body === undefined) req.end()
    else if (Buffer.isBuffer(body)) req.end(body)
    else {
      void (async () => {
        try {
          for await (const chunk of body) {
            // An answer that came before the whole body (401, 413, ...) ends the upload, as a browser's does.
            if (req.destroyed || responded) return
            if (!req.write(chunk)) await drainedOrClosed(req)
          }
          req.end()
        } catch (error) { req.destroy(error as Error) }
      })()
    }
  })
}

/** Resolves when a paused writer may go on, or will never have to. */
async function drainedOrClosed (req: ClientRequest): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      req.removeListener('drain', done)
      req.removeListener('close', done)
      resolve()
    }
    req.once('drain', done)
    req.once('close', done)
  })
}

/** `count` chunks of `size` bytes, produced as the client sends them (nothing buffered ahead). */
export async function * chunksOf (count: number, size: number): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(size, 'u')
  for (let i = 0; i < count; i++) yield chunk
}

export const jsonOf = (response: RawResponse): Record<string, unknown> => JSON.parse(response.body.toString()) as Record<string, unknown>
