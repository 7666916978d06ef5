import { Agent, request } from 'node:http'

export interface SseResult {
  /** Milliseconds from sending the request to receiving the first `data:` line, one per successful request. */
  readonly samplesMs: number[]
  readonly errors: number
}

/** One request: resolves with the time to the first event, then drains the rest of the stream. */
async function timeToFirstEvent (url: URL, headers: Record<string, string>, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    let first: number | undefined
    let seen = ''
    const req = request(url, { agent, headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        reject(new Error(`status ${res.statusCode}`))
        return
      }
      res.on('data', (chunk: Buffer) => {
        if (first !== undefined) return
        seen += chunk.toString('utf8')
        if (seen.includes('data:')) first = Number(process.hrtime.bigint() - started) / 1e6
      })
      res.on('end', () => (first === undefined ? reject(new Error('stream ended without an event')) : resolve(first)))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

/** `count` sequential SSE requests over one keep-alive connection, measured with a raw node:http client. */
export async function probeSse (url: string, headers: Record<string, string>, count: number): Promise<SseResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const samplesMs: number[] = []
  let errors = 0
  try {
    for (let i = 0; i < count; i++) {
      try {
        samplesMs.push(await timeToFirstEvent(new URL(url), headers, agent))
      } catch {
        errors++
      }
    }
  } finally {
    agent.destroy()
  }
  return { samplesMs, errors }
}
