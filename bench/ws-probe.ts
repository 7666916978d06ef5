import WebSocket from 'ws'
import { percentile } from './report.js'
import type { LoadResult } from './loadgen/index.js'

/**
 * WebSocket echo load from the harness itself: `connections` sockets, each sending its next message as soon as
 * the previous one came back, for `durationS` seconds. Throughput is echoed messages per second; p50/p99 are
 * round-trip times. (wrk cannot speak WebSocket.)
 */
export async function probeWebSocket (url: string, headers: Record<string, string>, connections: number, durationS: number): Promise<LoadResult> {
  const wsUrl = url.replace(/^http/, 'ws')
  const payload = JSON.stringify({ type: 'bench', text: 'x'.repeat(100) })
  const roundTripsMs: number[] = []
  let errors = 0
  let measuring = false
  const sockets = await Promise.all(Array.from({ length: connections }, async () => new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(wsUrl, { headers, perMessageDeflate: false })
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
    socket.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket handshake answered ${res.statusCode}`)))
  })))
  const started = performance.now()
  const until = started + durationS * 1000
  await Promise.all(sockets.map(async (socket) => new Promise<void>((resolve) => {
    let sentAt = 0
    const send = (): void => {
      if (performance.now() >= until) {
        resolve()
        return
      }
      sentAt = performance.now()
      socket.send(payload)
    }
    socket.on('message', () => {
      if (measuring) roundTripsMs.push(performance.now() - sentAt)
      send()
    })
    socket.once('close', () => { errors += performance.now() < until ? 1 : 0; resolve() })
    socket.on('error', () => undefined)
    measuring = true
    send()
  })))
  const elapsedS = (performance.now() - started) / 1000
  for (const socket of sockets) socket.terminate()
  return { requests: roundTripsMs.length, durationS: elapsedS, rps: roundTripsMs.length / elapsedS, p50Ms: percentile(roundTripsMs, 50), p99Ms: percentile(roundTripsMs, 99), errors, non2xx: 0 }
}
