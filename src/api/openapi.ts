import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { LOGO_SVG } from './brand.js'
import { registerDocsPages } from './docs-pages.js'
import { errorResponses, registerErrorSchemas } from './error-responses.js'

/** What the document says of a proxied prefix: the route table's entry (the data plane serves it, not Fastify). */
export interface ProxiedPrefix {
  readonly name: string
  readonly path: string
  readonly exact: boolean
  readonly methods: readonly string[]
  readonly upstreamPath: string
  readonly auth: 'strict' | 'none'
  readonly maxBodyBytes: number
}

type Operation = Record<string, unknown>
type PathItem = Record<string, unknown>
interface OpenApiDocument { info: Record<string, unknown>, paths?: Record<string, PathItem> }

/** The rest of a proxied path: one parameter that may hold slashes (docs-pages.ts keeps Swagger UI from encoding them). */
const REST_OF_PATH = {
  name: 'path',
  in: 'path',
  required: true,
  description: 'The rest of the path, forwarded unchanged with the query string; it may contain slashes (`status/123`).',
  schema: { type: 'string' },
}

const code = (text: string): string => `\`${text}\``
const documentedPath = (route: ProxiedPrefix): string => route.exact ? route.path : `${route.path}/{path}`
const upstreamTarget = (route: ProxiedPrefix): string => route.exact ? route.upstreamPath : `${route.upstreamPath}/{path}`
const operationId = (route: ProxiedPrefix, method: string): string => `proxy_${route.name.replace(/[^A-Za-z0-9]+/g, '_')}_${method.toLowerCase()}`
const prefixOf = (route: ProxiedPrefix): string => route.exact ? route.path : `${route.path}/*`

function proxiedOperation (route: ProxiedPrefix, method: string): Operation {
  const strict = route.auth === 'strict'
  const takesBody = !['GET', 'HEAD', 'OPTIONS'].includes(method)
  const errors = errorResponses(
    { 400: 'Unsafe path: it leaves the prefix once decoded, or holds encoded slashes, backslashes or NUL' },
    ...(strict ? [401, { 403: 'No company in the token' }] : []),
    ...(takesBody ? [413] : []),
    429, 502, { 503: 'The upstream refused the connection or cannot be resolved, or the gateway is draining' }, 504)
  return {
    tags: ['proxy'],
    operationId: operationId(route, method),
    summary: `Forwarded to the ${route.name} upstream${strict ? ' (StrictAuth)' : ''}`,
    description: `Streamed to the ${code(route.name)} upstream as ${code(upstreamTarget(route))}, query string and body byte for byte` +
      (strict ? ', with the identity headers (`X-User-ID`, `X-Company-ID`, ...) set from the verified token.' : '; no identity headers are added.'),
    security: strict ? [{ bearerAuth: [] }] : [],
    ...(takesBody
      ? { requestBody: { required: false, description: `Any content, streamed unparsed (at most ${route.maxBodyBytes} bytes).`, content: { '*/*': { schema: {} } } } }
      : {}),
    responses: {
      // Each error is `{"$ref": "HTTPError#"}` in Fastify's terms: here, the component it becomes.
      ...Object.fromEntries(Object.entries(errors).map(([status, { description, $ref }]) =>
        [status, { description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${$ref.replace('#', '')}` } } } }])),
      default: { description: 'The upstream\'s own answer (any status), passed through unchanged' },
    },
  }
}

/**
 * The proxied prefixes, described from the route table itself (they are not Fastify routes: proxied
 * requests are answered by the data plane). One path per prefix with a rest-of-path parameter, one
 * operation per method the route forwards.
 */
export function addProxiedPaths (document: OpenApiDocument, routes: readonly ProxiedPrefix[]): OpenApiDocument {
  const paths = { ...document.paths }
  for (const route of routes) {
    const item: PathItem = route.exact ? {} : { parameters: [REST_OF_PATH] }
    for (const method of route.methods) item[method.toLowerCase()] = proxiedOperation(route, method)
    paths[documentedPath(route)] = item
  }
  return { ...document, paths }
}

function description (routes: readonly ProxiedPrefix[]): string {
  const proxied = routes.map((route) => `- ${code(prefixOf(route))} → ${code(route.name)}${route.auth === 'strict' ? ' (StrictAuth)' : ''}`)
  return [
    'The single entry point of the Atenex platform: log in, manage companies and users, and reach the platform\'s services.',
    'Errors are JSON `{"detail": ...}`; validation errors (422) use FastAPI\'s list of `{loc, msg, type}`.',
    '',
    'Proxied prefixes (forwarded byte for byte to the service behind them):',
    ...proxied,
  ].join('\n')
}

/**
 * OpenAPI 3.1 at /openapi.json, from the same route schemas that validate requests, plus the proxied
 * prefixes from the route table; the browsable pages (/docs, /redoc) are in docs-pages.ts. Must be
 * registered before the routes it describes.
 */
export async function registerOpenApi (app: FastifyInstance, config: Config, routes: readonly ProxiedPrefix[]): Promise<void> {
  registerErrorSchemas(app)
  const info = {
    title: config.projectName,
    version: '1.0.0',
    description: description(routes),
    // Redoc's logo (Swagger UI's is set in docs-pages.ts).
    'x-logo': { url: `data:image/svg+xml;base64,${Buffer.from(LOGO_SVG).toString('base64')}`, altText: config.projectName },
  }
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info,
      // Relative: the document is valid wherever the gateway is reached (a Host-derived URL could be spoofed).
      servers: [{ url: '/', description: 'This gateway' }],
      tags: [
        { name: 'users', description: 'Login, tokens and the caller\'s company' },
        { name: 'admin', description: 'Companies and users (administrator role)' },
        { name: 'audit', description: 'The audit trail of security events (administrator role)' },
        { name: 'proxy', description: 'Forwarded to the platform\'s services' },
        { name: 'health', description: 'Probes and metrics' },
      ],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    // Shared schemas keep their $id as their component name (HTTPError, HTTPValidationError).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => typeof json.$id === 'string' ? json.$id : `def-${index}` },
    transformObject: (document) => 'openapiObject' in document
      ? addProxiedPaths(document.openapiObject as OpenApiDocument, routes) as typeof document.openapiObject
      : document.swaggerObject,
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  await registerDocsPages(app, config.projectName)
}
