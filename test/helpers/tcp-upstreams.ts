import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { once } from 'node:events'

/** A TCP server below HTTP: `onSocket` decides what each accepted connection gets (garbage, a half answer...). */
export interface TcpUpstream {
  readonly url: string
  /** Connections accepted so far. */
  readonly accepted: number
  close (): Promise<void>
}

export async function startTcpUpstream (onSocket: (socket: Socket) => void): Promise<TcpUpstream> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server: Server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.once('close', () => sockets.delete(socket))
    onSocket(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get accepted () { return accepted },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Python, which (unlike Node) can listen without accepting: a listening socket whose accept queue it fills
 * itself, so the kernel drops every further SYN and a connect to it hangs until the client gives up. Offline,
 * loopback only: no unroutable address is needed (and on this network 10.255.255.1 answers).
 */
const BLACKHOLE = `
import socket, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
fillers = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    fillers.append(c)
print(port, flush=True)
sys.stdin.read()
`

export const python3Missing: string | false = spawnSync('python3', ['--version']).status === 0 ? false : 'python3 is not installed (it holds the never-accepting socket)'

export interface Blackhole {
  readonly url: string
  close (): Promise<void>
}

/** An address whose TCP connect never completes (a full accept queue), for connect timeouts. */
export async function startBlackhole (): Promise<Blackhole> {
  const child: ChildProcess = spawn('python3', ['-c', BLACKHOLE], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('python3 blackhole did not start within 10 s')), 10_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) { clearTimeout(timer); resolve(Number(out.trim())) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`python3 blackhole exited (${code})`)) })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    },
  }
}
