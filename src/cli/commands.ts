import { ConfigError, loadConfig, loadDatabaseConfig, type LoadConfigOptions } from '../config.js'
import { apiKeyCreateCommand, apiKeyListCommand, apiKeyRevokeCommand, apiKeyRotateCommand } from './api-key-commands.js'
import { createCompanyCommand, createUserCommand, resetPasswordCommand } from './admin-commands.js'
import { commandHelp, CONFIGURATION_POINTER, EXIT_FAILED, EXIT_USAGE, parseCommandArgs, UsageError, type Command } from './command.js'
import { demoCommand } from './demo-command.js'
import { migrateCommand } from './migrate-command.js'
import { packageInfo } from './package-info.js'
import { checkConfigCommand, serveCommand } from './server-commands.js'
import { ssoRemoveCommand, ssoSetCommand, ssoShowCommand } from './sso-commands.js'
import { mintTokenCommand } from './token-commands.js'

const DOTENV: LoadConfigOptions = { dotenvPath: '.env' }
const settings = () => loadConfig(process.env, DOTENV)
const databaseSettings = () => loadDatabaseConfig(process.env, DOTENV)

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: serveCommand(settings),
  'check-config': checkConfigCommand(settings),
  migrate: migrateCommand(databaseSettings),
  'create-company': createCompanyCommand(databaseSettings),
  'create-user': createUserCommand(databaseSettings),
  'reset-password': resetPasswordCommand(databaseSettings),
  'mint-token': mintTokenCommand(settings),
  'sso-set': ssoSetCommand(settings),
  'sso-show': ssoShowCommand(settings),
  'sso-remove': ssoRemoveCommand(settings),
  'api-key-create': apiKeyCreateCommand(settings),
  'api-key-list': apiKeyListCommand(settings),
  'api-key-rotate': apiKeyRotateCommand(settings),
  'api-key-revoke': apiKeyRevokeCommand(settings),
  demo: demoCommand(),
}

function usage (): string {
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(16)}${summary}`)
  return [
    'Usage: atenex-gateway [command] [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  -h, --help      Show this help; `atenex-gateway <command> --help` shows a command\'s options and defaults.',
    '  -v, --version   Print the version and exit.',
    '',
    'Settings come from GATEWAY_* environment variables (and PORT), or a ./.env file.',
    CONFIGURATION_POINTER,
    'Exit codes: 0 success; 1 the command failed (the message says why); 2 a usage or configuration error (nothing was done).',
    '',
  ].join('\n')
}

/** Prints a failure the way its kind deserves and returns the exit code: usage errors with the usage, the rest alone. */
function report (name: string, command: Command, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof UsageError) {
    process.stderr.write(`atenex-gateway ${name}: ${message}\nUsage: atenex-gateway ${command.usage}\n(atenex-gateway ${name} --help explains every option.)\n`)
    return EXIT_USAGE
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`atenex-gateway ${name}: ${message}\n${CONFIGURATION_POINTER}\n`)
    return EXIT_USAGE
  }
  process.stderr.write(`atenex-gateway ${name}: ${message}\n`)
  return EXIT_FAILED
}

async function main (argv: string[]): Promise<void> {
  const first = argv[0]
  if (first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(usage())
    return
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`atenex-gateway ${packageInfo().version} (Node.js ${process.version})\n`)
    return
  }
  const name = first === undefined || first.startsWith('-') ? 'serve' : first
  const command = COMMANDS[name]
  if (!command) {
    process.stderr.write(`atenex-gateway: unknown command '${name}'\n\n${usage()}`)
    process.exitCode = EXIT_USAGE
    return
  }
  try {
    const values = parseCommandArgs(command, argv.slice(name === first ? 1 : 0))
    if (values.help) {
      process.stdout.write(commandHelp(command))
      return
    }
    await command.run(values)
  } catch (error) {
    // process.exit: a failed serve may leave its database or timers open, which would keep the process alive.
    process.exit(report(name, command, error))
  }
}

await main(process.argv.slice(2))
