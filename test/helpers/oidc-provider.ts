import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import Provider, { type KoaContextWithOIDC } from 'oidc-provider'

/** A person known to the provider: the login form checks the password, and a deactivated one is refused. */
export interface IdpAccount {
  readonly id: string
  email: string
  password: string
  emailVerified: boolean
  active: boolean
  name: string
}

/** A real OpenID provider (panva's oidc-provider) on loopback, with its own login form, for one gateway client. */
export interface TestIdp {
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  readonly accounts: Map<string, IdpAccount>
  /** Lifetime of the authorization codes issued from now on, in seconds (oidc-provider's default is 60). */
  authorizationCodeTtlSeconds: number
  addAccount (email: string, options?: Partial<Omit<IdpAccount, 'id' | 'email'>>): IdpAccount
  /** Rewrites the claims of the next ID token the token endpoint returns, re-signed with the provider's own key. */
  tamperNextIdToken (rewrite: (claims: JWTPayload) => JWTPayload, options?: { foreignKey?: boolean }): Promise<void>
  close (): Promise<void>
}

const html = (res: ServerResponse, status: number, body: string): void => {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><meta charset="utf-8"><title>Test IdP</title>${body}`)
}

const loginForm = (uid: string, error = ''): string => `<h1>Sign in</h1>${error ? `<p role="alert">${error}</p>` : ''}
  <form method="post" action="/interaction/${uid}/login">
    <label>Email <input name="login" type="email" autocomplete="username"></label>
    <label>Password <input name="password" type="password" autocomplete="current-password"></label>
    <button type="submit">Sign in</button>
  </form>
  <a href="/interaction/${uid}/abort">Cancel</a>`

async function formOf (req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

export async function startIdp (redirectUri: string): Promise<TestIdp> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const kid = randomUUID()
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const clientId = `gateway-${randomBytes(4).toString('hex')}`
  const clientSecret = `idp-client-secret-${randomBytes(16).toString('hex')}`
  const accounts = new Map<string, IdpAccount>()
  let tamper: { rewrite: (claims: JWTPayload) => JWTPayload, key: CryptoKey } | undefined

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    jwks: { keys: [{ ...await exportJWK(privateKey), kid, alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    // Put the email in the ID token, as Entra ID and Google do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: {
      AuthorizationCode: () => idp.authorizationCodeTtlSeconds,
      AccessToken: 3600,
      IdToken: 3600,
      RefreshToken: 86_400,
      Grant: 86_400,
      Session: 86_400,
      Interaction: 600,
    },
    features: { devInteractions: { enabled: false } },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => {
      const account = [...accounts.values()].find((candidate) => candidate.id === id)
      // A deactivated person is unknown to the provider: its refresh tokens stop working (invalid_grant).
      if (!account?.active) return undefined
      return { accountId: id, claims: () => ({ sub: id, email: account.email, email_verified: account.emailVerified, name: account.name }) }
    },
  })
  provider.use(async (ctx, next) => {
    await next()
    const body = ctx.body as { id_token?: string } | undefined
    if (ctx.path === '/token' && tamper && typeof body?.id_token === 'string') {
      const { rewrite, key } = tamper
      tamper = undefined
      body.id_token = await new SignJWT(rewrite(decodeJwt(body.id_token))).setProtectedHeader({ alg: 'RS256', kid }).sign(key)
    }
  })
  const oidcCallback = provider.callback()

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([\w-]+)(\/login|\/abort)?$/.exec(new URL(req.url ?? '/', issuer).pathname)
    if (!match) {
      oidcCallback(req, res)
      return
    }
    void (async () => {
      const details = await provider.interactionDetails(req, res)
      if (match[2] === '/abort') {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false })
      } else if (details.prompt.name === 'consent') {
        // Consent is implied (a company's own application): grant what the client asked for.
        const grant = new provider.Grant({ accountId: details.session?.accountId as string, clientId })
        const missing = details.prompt.details.missingOIDCScope as string[] | undefined
        if (missing) grant.addOIDCScope(missing.join(' '))
        await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true })
      } else if (match[2] === '/login' && req.method === 'POST') {
        const form = await formOf(req)
        const account = accounts.get((form.get('login') ?? '').toLowerCase())
        if (!account || !account.active || account.password !== form.get('password')) {
          html(res, 200, loginForm(details.uid, 'Invalid email or password.'))
          return
        }
        await provider.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false })
      } else {
        html(res, 200, loginForm(details.uid))
      }
    })().catch((error: unknown) => html(res, 400, `<p>${String(error)}</p>`))
  })

  const idp: TestIdp = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    authorizationCodeTtlSeconds: 60,
    addAccount: (email, options = {}) => {
      const account: IdpAccount = { id: randomUUID(), email, password: 'idp-password-1', emailVerified: true, active: true, name: 'SSO User', ...options }
      accounts.set(email.toLowerCase(), account)
      return account
    },
    tamperNextIdToken: async (rewrite, options = {}) => {
      tamper = { rewrite, key: options.foreignKey ? (await generateKeyPair('RS256')).privateKey : privateKey }
    },
    close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) },
  }
  return idp
}
