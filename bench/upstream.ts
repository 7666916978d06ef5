/**
 * The stand-in upstream, run as its own process (pinned to CPU 1 by the harness):
 *   GET  …/big     → 64 KiB of JSON with Content-Length
 *   GET  …/sse     → text/event-stream: one event at once, then SSE_EXTRA_EVENTS more every SSE_INTERVAL_MS
 *   POST …         → reads the whole body (e.g. a 1 MiB upload) and answers {"received": bytes}
 *   anything else  → a small JSON body
 *   WebSocket      → echoes every message
 * Prints `LISTENING <port>` once bound to an ephemeral loopback port.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { WebSocketServer } from 'ws'

const BIG_BODY_BYTES = 64 * 1024
const SSE_EXTRA_EVENTS = 3
const SSE_INTERVAL_MS = 20

const small = Buffer.from(JSON.stringify({ status: 'ok', items: [{ id: 1, name: 'alpha' }, { id: 2, name: 'beta' }] }))
const big = Buffer.from(JSON.stringify({ data: 'x'.repeat(BIG_BODY_BYTES - 11) }))

function sendJson (res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
}

function sse (req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
  res.write(`id: 0\ndata: ${JSON.stringify({ t: Date.now() })}\n\n`)
  let sent = 0
  const timer = setInterval(() => {
    sent += 1
    res.write(`id: ${sent}\ndata: ${JSON.stringify({ t: Date.now() })}\n\n`)
    if (sent === SSE_EXTRA_EVENTS) {
      clearInterval(timer)
      res.end()
    }
  }, SSE_INTERVAL_MS)
  req.socket.once('close', () => clearInterval(timer))
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/'
  if (req.method === 'POST' || req.method === 'PUT') {
    let received = 0
    req.on('data', (chunk: Buffer) => { received += chunk.length })
    req.on('end', () => sendJson(res, Buffer.from(JSON.stringify({ received }))))
    return
  }
  if (path.endsWith('/big')) return sendJson(res, big)
  if (path.endsWith('/sse')) return sse(req, res)
  sendJson(res, small)
})
const echo = new WebSocketServer({ server, perMessageDeflate: false })
echo.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })))
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`LISTENING ${typeof address === 'object' && address ? address.port : 0}\n`)
})
process.on('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
