import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { LOGO_MARK_SVG, LOGO_SVG } from './brand.js'

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)

/**
 * Swagger UI percent-encodes every path parameter (swagger-client escapes reserved characters), so
 * "Try it out" on a proxied prefix would send `status%2F123`, which the gateway refuses: encoded
 * slashes are unsafe under a proxied prefix (proxy/path-safety.ts), and no route of the gateway's own
 * takes a slash in a parameter. Decoding them back in the path (never in the query) therefore changes
 * no request that could have worked. Serialised into the page as source: no closures, no helpers.
 */
const keepSlashesInPath = (request: { url: string }): { url: string } => {
  const queryAt = request.url.indexOf('?')
  const path = queryAt === -1 ? request.url : request.url.slice(0, queryAt)
  request.url = path.replace(/%2F/gi, '/') + (queryAt === -1 ? '' : request.url.slice(queryAt))
  return request
}

const SWAGGER_CSS = `
.swagger-ui .topbar { background: #14213d; }
.swagger-ui .topbar .download-url-wrapper { display: none; }
.swagger-ui .topbar-wrapper a.link img { height: 40px; }
`

async function registerSwaggerUi (app: FastifyInstance, projectName: string): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    logo: { type: 'image/svg+xml', content: LOGO_SVG },
    theme: {
      title: `${projectName} · API`,
      css: [{ filename: 'atenex.css', content: SWAGGER_CSS }],
      favicon: [{ filename: 'favicon.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: LOGO_MARK_SVG }],
    },
    uiConfig: { deepLinking: true, persistAuthorization: true, displayOperationId: false, requestInterceptor: keepSlashesInPath as never },
  })
}

/**
 * Everything from the gateway itself: Redoc's footer would load Redocly's logo from their CDN (a request
 * from every visitor's browser to a third party, failing where there is no internet). Redoc styles
 * with inline styles and searches in a blob: worker.
 */
const REDOC_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"

let redocBundle: Promise<Buffer> | undefined

/** Redoc's standalone bundle, from its npm package (served by the gateway: no CDN, no internet needed). */
const loadRedoc = async (): Promise<Buffer> =>
  (redocBundle ??= readFile(createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js')))

/** /redoc, as FastAPI serves it: the same /openapi.json as a three-panel reference. Relative URLs, so it works behind a path prefix. */
function registerRedoc (app: FastifyInstance, projectName: string): void {
  const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(projectName)} · API reference</title>
<link rel="icon" type="image/svg+xml" href="docs/static/theme/favicon.svg">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="openapi.json" expand-responses="200,201"></redoc>
<script src="redoc/redoc.standalone.js"></script>
</body>
</html>
`
  app.get('/redoc', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', REDOC_CSP).send(page))
  app.get('/redoc/redoc.standalone.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(await loadRedoc()))
}

/** The browsable documentation: Swagger UI at /docs (with "Try it out"), Redoc at /redoc. */
export async function registerDocsPages (app: FastifyInstance, projectName: string): Promise<void> {
  await registerSwaggerUi(app, projectName)
  registerRedoc(app, projectName)
}
