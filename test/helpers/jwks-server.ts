import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export interface SigningKey {
  readonly kid: string
  readonly alg: 'ES256' | 'RS256'
  readonly privateKey: CryptoKey
  readonly jwk: JWK
}

export async function signingKey (kid: string, alg: 'ES256' | 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, jwk: { ...await exportJWK(publicKey), kid, alg, use: 'sig' } }
}

export async function signWith (key: SigningKey, claims: JWTPayload, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresIn).sign(key.privateKey)
}

/** A JWKS endpoint on loopback whose keys can be rotated and which can be made to fail; it counts fetches. */
export interface JwksServer {
  readonly url: string
  keys: SigningKey[]
  failing: boolean
  fetches: number
  close (): Promise<void>
}

export async function startJwksServer (keys: SigningKey[]): Promise<JwksServer> {
  const state: JwksServer = {
    url: '',
    keys,
    failing: false,
    fetches: 0,
    close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) },
  }
  const server: Server = createServer((_req, res) => {
    state.fetches += 1
    if (state.failing) {
      res.writeHead(503).end()
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: state.keys.map((key) => key.jwk) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/v1/.well-known/jwks.json` })
  return state
}
