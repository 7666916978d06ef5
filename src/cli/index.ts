#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { EXIT_STARTUP_FAILED, loadConfigOrExit, serve } from '../main.js'
import { runMigrate } from './migrate.js'

const COMMANDS: Record<string, { summary: string, run: (args: string[]) => Promise<void> }> = {
  serve: {
    summary: 'Run the gateway (default). Configuration comes from GATEWAY_* variables and ./.env.',
    run: async () => { await serve(loadConfigOrExit()) },
  },
  migrate: {
    summary: 'Apply pending database migrations and exit.',
    run: async () => { await runMigrate(loadConfigOrExit()) },
  },
}

function usage (): string {
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(16)}${summary}`)
  return `Usage: atenex-gateway <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'atenex-gateway <command> --help' for a command's options.\n`
}

async function main (argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false })
  const name = positionals[0] ?? 'serve'
  if (name === 'help' || (argv.includes('--help') && positionals.length === 0)) {
    process.stdout.write(usage())
    return
  }
  const command = COMMANDS[name]
  if (!command) {
    process.stderr.write(`atenex-gateway: unknown command '${name}'\n\n${usage()}`)
    process.exitCode = 2
    return
  }
  await command.run(argv.slice(positionals[0] === undefined ? 0 : 1))
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`atenex-gateway: ${(error as Error).message ?? String(error)}\n`)
  process.exit(EXIT_STARTUP_FAILED)
})
