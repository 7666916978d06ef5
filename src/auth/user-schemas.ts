/** JSON schemas of /api/v1/users/*: they validate the bodies and describe the routes in OpenAPI. */
export const emailField = { type: 'string', format: 'email', maxLength: 320 } as const

const nullableString = { type: ['string', 'null'] } as const
/** A client that refreshes may ask for access tokens shorter than the configured lifetime (never longer). */
const accessTokenMinutes = { type: 'integer', minimum: 1, maximum: 525600, description: 'Lifetime of the access token, in minutes, at most the configured one.' } as const
const uuid = { type: 'string', format: 'uuid' } as const

export const loginSchema = {
  tags: ['users'],
  summary: 'Log in with email and password',
  body: {
    type: 'object',
    required: ['email', 'password'],
    properties: {
      email: emailField,
      password: { type: 'string', minLength: 6, maxLength: 1024 },
      access_token_minutes: accessTokenMinutes,
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['access_token', 'token_type', 'user_id', 'email'],
      properties: {
        access_token: { type: 'string' },
        token_type: { type: 'string' },
        user_id: { type: 'string' },
        email: { type: 'string' },
        full_name: nullableString,
        roles: { type: ['array', 'null'], items: { type: 'string' } },
        company_id: nullableString,
        refresh_token: { type: 'string' },
      },
    },
  },
} as const

const refreshToken = { type: 'string', minLength: 1, maxLength: 512 } as const

const refreshTokenBody = {
  type: 'object',
  required: ['refresh_token'],
  properties: { refresh_token: refreshToken, access_token_minutes: accessTokenMinutes },
} as const

export const refreshSchema = {
  tags: ['users'],
  summary: 'Trade a refresh token for a new access + refresh pair (the old one is spent)',
  body: refreshTokenBody,
  response: {
    200: {
      type: 'object',
      properties: { access_token: { type: 'string' }, refresh_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' } },
    },
  },
} as const

export const logoutSchema = {
  tags: ['users'],
  summary: 'End the session of the bearer token and/or the refresh token: its access and refresh tokens are refused on every replica',
  security: [{ bearerAuth: [] }, {}],
  body: { anyOf: [{ type: 'null' }, { type: 'object', properties: { refresh_token: refreshToken } }] },
  response: { 200: { type: 'object', properties: { message: { type: 'string' } } } },
} as const

export const ensureCompanySchema = {
  tags: ['users'],
  summary: 'Associate the caller with a company and get a new token',
  security: [{ bearerAuth: [] }],
  body: {
    anyOf: [
      { type: 'null' },
      { type: 'object', properties: { company_id: { anyOf: [uuid, { type: 'null' }] } } },
    ],
  },
  response: {
    200: {
      type: 'object',
      properties: {
        user_id: { type: 'string' },
        company_id: { type: 'string' },
        message: { type: 'string' },
        new_access_token: { type: 'string' },
        token_type: { type: 'string' },
        roles: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const

export const registerSchema = {
  tags: ['users'],
  summary: 'Self-registration (only when GATEWAY_ALLOW_SELF_REGISTRATION=true): joins the default company as a user',
  body: {
    type: 'object',
    required: ['email', 'password'],
    properties: {
      email: emailField,
      password: { type: 'string', minLength: 8, maxLength: 1024 },
      name: { type: ['string', 'null'], minLength: 2, maxLength: 200 },
    },
  },
  response: { 201: { type: 'object', properties: { message: { type: 'string' }, user_id: { type: 'string' } } } },
} as const
