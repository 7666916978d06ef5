import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'

/** A stand-in upstream that speaks WebSocket: it echoes, records every handshake and counts open TCP connections. */
export interface WebSocketUpstream {
  readonly url: string
  readonly handshakes: IncomingMessage[]
  /** TCP connections to it that are open right now (upgraded or not). */
  readonly openConnections: number
  /** When set, sent to every client the moment its handshake completes. */
  greeting: string | undefined
  close (): Promise<void>
}

export async function startWebSocketUpstream (): Promise<WebSocketUpstream> {
  const server = createServer()
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  const wss = new WebSocketServer({ server })
  const state = {
    url: '',
    handshakes: [] as IncomingMessage[],
    get openConnections () { return sockets.size },
    greeting: undefined as string | undefined,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  wss.on('connection', (socket: WebSocket, req) => {
    state.handshakes.push(req)
    if (state.greeting !== undefined) socket.send(state.greeting)
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `echo:${data.toString()}`, { binary: isBinary }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}

/** A client WebSocket that records every message from its first byte on (one may arrive with the handshake). */
export type RecordingWebSocket = WebSocket & { readonly received: string[] }

/** Opens a WebSocket through `base`; rejects with the HTTP status of a refused upgrade. */
export async function openWebSocket (base: string, path: string, headers: Record<string, string> = {}): Promise<RecordingWebSocket> {
  const socket = Object.assign(new WebSocket(`${base.replace('http', 'ws')}${path}`, { headers }), { received: [] as string[] })
  socket.on('message', (data) => socket.received.push(data.toString()))
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
    socket.once('unexpected-response', (_req, res) => {
      res.resume()
      reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode }))
    })
  })
  return socket
}

export const refusedWith = (status: number) => (error: Error & { status?: number }): boolean => error.status === status
