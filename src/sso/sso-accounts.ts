import { randomBytes } from 'node:crypto'
import { hashPassword } from '../auth/passwords.js'
import type { CompaniesRepository } from '../db/companies-repository.js'
import { DuplicateEmailError, type UserCredentials, type UsersRepository } from '../db/users-repository.js'
import type { SsoProvider } from './providers-repository.js'
import { SsoFailure } from './sso-failures.js'

/** What the provider vouched for, from its verified ID token (or, lacking an email there, its userinfo). */
export interface ProvenIdentity {
  readonly email: unknown
  readonly emailVerified: unknown
  /** Entra ID's "email domain owner verified" optional claim, its stand-in for email_verified. */
  readonly emailDomainOwnerVerified: unknown
  readonly name: unknown
}

export const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase()

export interface AccountDeps {
  readonly users: UsersRepository
  readonly companies: CompaniesRepository
}

/**
 * The user a sign-in opens a session for, always in the provider's own company: the email must be verified,
 * its domain must be one of that company's, and an existing user must already belong to it. A user is
 * created (role `user`) only when the company asked for just-in-time provisioning.
 */
export async function accountFor (identity: ProvenIdentity, provider: SsoProvider, deps: AccountDeps): Promise<UserCredentials> {
  if (typeof identity.email !== 'string' || !identity.email.includes('@')) throw new SsoFailure('email_not_verified')
  if (identity.emailVerified !== true && identity.emailDomainOwnerVerified !== true) throw new SsoFailure('email_not_verified')
  const email = identity.email
  if (!provider.domains.includes(domainOf(email))) throw new SsoFailure('email_domain_not_allowed')

  const company = await deps.companies.findById(provider.companyId)
  if (!company?.isActive) throw new SsoFailure('account_inactive')
  const user = await deps.users.findCredentialsByEmail(email) ?? await provision(email, identity.name, provider, deps)
  if (user.companyId !== provider.companyId) throw new SsoFailure('account_unavailable')
  if (!user.isActive) throw new SsoFailure('account_inactive')
  return user
}

async function provision (email: string, name: unknown, provider: SsoProvider, deps: AccountDeps): Promise<UserCredentials> {
  if (provider.provisioning !== 'jit') throw new SsoFailure('user_not_provisioned')
  // The shared schema wants a bcrypt hash: one of 32 random bytes nobody knows, so the password login stays shut.
  const hashedPassword = await hashPassword(randomBytes(32).toString('base64url'))
  try {
    await deps.users.create({ email, hashedPassword, fullName: typeof name === 'string' ? name.slice(0, 200) : null, companyId: provider.companyId, roles: ['user'] })
  } catch (error) {
    // A second sign-in of the same new user won the race: use the row it wrote.
    if (!(error instanceof DuplicateEmailError)) throw error
  }
  const created = await deps.users.findCredentialsByEmail(email)
  if (!created) throw new Error('a provisioned user vanished')
  return created
}
