#!/usr/bin/env node
// The entry point checks the runtime before loading anything else: the gateway's own modules may use what
// only the Node.js of package.json's `engines` has, and would fail on an older one with a cryptic error.
import { setFlagsFromString } from 'node:v8'
import { EXIT_USAGE } from './command.js'
import { packageInfo } from './package-info.js'
import { runtimeRefusal } from './runtime-guard.js'

const refusal = runtimeRefusal(process.version, process.execPath, packageInfo())
if (refusal === undefined) {
  // V8's allocation-site pretenuring allocates a site's objects straight in the old generation once enough of
  // them survived scavenges. Such objects in the gateway mostly wait for I/O and then die, so, pretenured, they
  // pile up as old garbage until a major collection: a 100,000-event audit export (while it still held each page's
  // rows across its yield) grew the gateway's RSS by 46-54 MB with it and 13-15 MB without, and the bench's 64 KiB
  // scenario cost 15% less CPU per request without (bench/README.md). Set before the gateway's modules load, in
  // every process (cluster workers run this entry too).
  setFlagsFromString('--no-allocation-site-pretenuring')
  await import('./commands.js')
} else {
  process.stderr.write(refusal)
  process.exitCode = EXIT_USAGE
}
