import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A stand-in backend that answers every request with what it received, so the injected headers can be seen. */
export async function startEchoService (name: string): Promise<{ url: string, server: Server }> {
  const server = createServer((req, res) => {
    let bytes = 0
    req.on('data', (chunk: Buffer) => { bytes += chunk.length })
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ service: name, method: req.method, path: req.url, body_bytes: bytes, headers: req.headers }, null, 2) + '\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}
