#!/usr/bin/env node
import { ConfigError } from '../config.js'
import { EXIT_STARTUP_FAILED, loadConfigOrExit, serve } from '../main.js'
import { createCompanyCommand, createUserCommand } from './admin-commands.js'
import { parseCommandArgs, UsageError, type Command } from './command.js'
import { withDatabase } from './database.js'
import { demoCommand } from './demo-command.js'
import { ssoRemoveCommand, ssoSetCommand, ssoShowCommand } from './sso-commands.js'
import { mintTokenCommand } from './token-commands.js'

const EXIT_USAGE = 2

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'Run the gateway (the default). Settings come from GATEWAY_* variables and ./.env.',
    usage: 'serve [--workers N|auto]',
    options: { workers: { type: 'string' } },
    run: async (values) => {
      try {
        await serve(loadConfigOrExit(), typeof values.workers === 'string' ? values.workers : undefined)
      } catch (error) {
        if (error instanceof ConfigError) throw new UsageError(error.message)
        throw error
      }
    },
  },
  migrate: {
    summary: 'Apply pending database migrations and exit.',
    usage: 'migrate',
    options: {},
    run: async () => {
      await withDatabase(loadConfigOrExit(), async () => undefined)
      process.stdout.write('Database is up to date.\n')
    },
  },
  'create-company': createCompanyCommand(loadConfigOrExit),
  'create-user': createUserCommand(loadConfigOrExit),
  'mint-token': mintTokenCommand(loadConfigOrExit),
  'sso-set': ssoSetCommand(loadConfigOrExit),
  'sso-show': ssoShowCommand(loadConfigOrExit),
  'sso-remove': ssoRemoveCommand(loadConfigOrExit),
  demo: demoCommand(),
}

function usage (): string {
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(16)}${summary}`)
  return `Usage: atenex-gateway [command] [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'atenex-gateway <command> --help' for a command's options.\n`
}

async function main (argv: string[]): Promise<void> {
  const first = argv[0]
  if (first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(usage())
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
      process.stdout.write(`Usage: atenex-gateway ${command.usage}\n\n${command.summary}\n`)
      return
    }
    await command.run(values)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`atenex-gateway ${name}: ${error.message}\nUsage: atenex-gateway ${command.usage}\n`)
    process.exitCode = EXIT_USAGE
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`atenex-gateway: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(EXIT_STARTUP_FAILED)
})
