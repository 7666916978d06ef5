import { randomUUID } from 'node:crypto'
import bcrypt from 'bcrypt'
import type { FastifyInstance } from 'fastify'
import { SignJWT, type JWTPayload } from 'jose'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { companiesRepository, type Company } from '../../src/db/companies-repository.js'
import { usersRepository, type UserRecord } from '../../src/db/users-repository.js'
import type { RequestTracing } from '../../src/observability/tracing.js'
import { createPostgresDatabase, type Backend } from './databases.js'

export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef0123456789abcdef'
const secretKey = new TextEncoder().encode(TEST_JWT_SECRET)

/** Every log line the gateway wrote, parsed, plus the raw text (for "never appears anywhere" checks). */
export class LogSink {
  readonly lines: string[] = []
  write (line: string): void {
    this.lines.push(line)
  }

  get entries (): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  get text (): string {
    return this.lines.join('')
  }
}

export interface TestUser extends UserRecord {
  readonly password: string
}

export interface TestGateway {
  readonly app: FastifyInstance
  readonly url: string
  readonly logs: LogSink
  readonly backend: Backend
  company (name?: string, active?: boolean): Promise<Company>
  user (options?: { companyId?: string | null, roles?: string[], active?: boolean, email?: string, password?: string }): Promise<TestUser>
  /** A token for `user` as the gateway would issue it, with `claims` added or overriding. */
  tokenFor (user: { id: string, email: string, companyId: string | null }, claims?: JWTPayload): Promise<string>
  close (): Promise<void>
}

export interface GatewayOptions {
  readonly backend?: Backend
  /** Connection settings (GATEWAY_POSTGRES_*) of a PostgreSQL made elsewhere, e.g. a private cluster; implies postgres. */
  readonly database?: Record<string, string>
  readonly env?: Record<string, string>
  readonly tracing?: RequestTracing
  /** Listen on this port instead of an ephemeral one (for a URL other servers must know beforehand). */
  readonly port?: number
}

/** Signs arbitrary claims with the test secret (HS256), for token-policy tests. */
export async function signToken (claims: JWTPayload, options: { expiresIn?: string | number, alg?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' }).setIssuedAt()
  if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn)
  return jwt.sign(secretKey)
}

/** The real gateway on an ephemeral loopback port, on a fresh database of the chosen backend. */
export async function startGateway (options: GatewayOptions = {}): Promise<TestGateway> {
  const backend = options.database ? 'postgres' : options.backend ?? 'pglite'
  const postgres = backend === 'postgres' ? options.database ? { env: options.database, drop: async () => undefined } : await createPostgresDatabase() : undefined
  const config = loadConfig({
    GATEWAY_DATA_DIR: 'memory://',
    GATEWAY_JWT_SECRET: TEST_JWT_SECRET,
    GATEWAY_LOG_LEVEL: 'INFO',
    ...postgres?.env,
    ...options.env,
  })
  const logs = new LogSink()
  const app = await buildApp(config, { logStream: logs, ...(options.tracing ? { tracing: options.tracing } : {}) })
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const users = usersRepository(app.gateway.db)
  const companies = companiesRepository(app.gateway.db)

  return {
    app,
    url: `http://127.0.0.1:${port}`,
    logs,
    backend,
    company: async (name = `Company ${randomUUID()}`, active = true) => {
      const company = await companies.create(name)
      if (!active) await companies.setActive(company.id, false)
      return { ...company, isActive: active }
    },
    user: async ({ companyId = null, roles = ['user'], active = true, email = `user-${randomUUID()}@example.com`, password = 'correct-horse-battery' } = {}) => {
      // Cost 4 keeps fixtures fast; verification reads the cost from the hash.
      const created = await users.create({ email, hashedPassword: await bcrypt.hash(password, 4), fullName: 'Test User', companyId, roles })
      if (!active) await users.setActive(created.id, false)
      return { ...created, isActive: active, password }
    },
    tokenFor: async (user, claims = {}) => signToken({ sub: user.id, email: user.email, company_id: user.companyId, ...claims }, { expiresIn: '1h' }),
    close: async () => {
      // Test clients may leave keep-alive or never-used sockets behind; graceful draining is tested on its own.
      const closing = app.close()
      app.server.closeAllConnections()
      await closing
      await postgres?.drop()
    },
  }
}
