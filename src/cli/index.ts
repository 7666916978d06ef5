#!/usr/bin/env node
// The entry point checks the runtime before loading anything else: the gateway's own modules may use what
// only the Node.js of package.json's `engines` has, and would fail on an older one with a cryptic error.
import { EXIT_USAGE } from './command.js'
import { packageInfo } from './package-info.js'
import { runtimeRefusal } from './runtime-guard.js'

const refusal = runtimeRefusal(process.version, process.execPath, packageInfo())
if (refusal === undefined) {
  await import('./commands.js')
} else {
  process.stderr.write(refusal)
  process.exitCode = EXIT_USAGE
}
