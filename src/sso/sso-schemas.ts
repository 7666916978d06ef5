import { emailField, loginSchema } from '../auth/user-schemas.js'

/** JSON schemas of /api/v1/users/sso/*: they validate the queries and bodies and describe the routes in OpenAPI. */
const tags = ['sso']
const redirect = { 302: { description: 'Redirect (to the identity provider, or to the frontend with ?code= or ?error=)', type: 'null' } } as const

export const discoverSchema = {
  tags,
  summary: 'Whether the login page should offer single sign-on for this email (answered from its domain alone)',
  querystring: { type: 'object', required: ['email'], additionalProperties: false, properties: { email: emailField } },
  response: {
    200: { type: 'object', properties: { sso: { type: 'boolean' }, password_login: { type: 'boolean' } } },
  },
} as const

export const startSchema = {
  tags,
  summary: 'Start single sign-on (a browser navigation): redirects to the company\'s identity provider',
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { email: emailField, company: { type: 'string', format: 'uuid' } },
    oneOf: [{ required: ['email'] }, { required: ['company'] }],
  },
  response: redirect,
} as const

export const callbackSchema = {
  tags,
  summary: 'Where identity providers send the browser back; redirects to the frontend with a one-time code or an error code',
  querystring: { type: 'object', additionalProperties: { type: 'string' } },
  response: redirect,
} as const

export const exchangeSchema = {
  tags,
  summary: 'Trade the one-time code (single use, 60 s) for the same body as POST /api/v1/users/login',
  body: {
    type: 'object',
    required: ['code'],
    additionalProperties: false,
    properties: { code: { type: 'string', minLength: 1, maxLength: 128 } },
  },
  response: loginSchema.response,
} as const
