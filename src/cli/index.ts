#!/usr/bin/env node
import { RelayConfigError } from '../../relay/errors.ts'
import { SigningKeyError } from '../publish/errors.ts'
import { UsageError } from './options.ts'

const HELP = `Usage: swarmsite <command> [options]

Commands:
  build     chunk a folder of static files and write its manifest (swarmsite build --help)
  keygen    make a site signing key for 'build --sign' (swarmsite keygen --help)
  relay     run the swarm's relay / bootstrap node (swarmsite relay --help)
  serve     serve a site folder as its origin, with byte ranges and counters (swarmsite serve --help)

Run 'swarmsite <command> --help' for a command's options.`

// loaded on use: the relay pulls in all of libp2p, which `build` and `serve` don't need
const commands: Record<string, (argv: string[]) => Promise<number>> = {
  relay: async argv => (await import('./relay.ts')).relayCommand(argv),
  build: async argv => (await import('./build.ts')).buildCommand(argv),
  keygen: async argv => (await import('./keygen.ts')).keygenCommand(argv),
  serve: async argv => (await import('./serve.ts')).serveCommand(argv)
}

async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name == null || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP + '\n')
    return name == null ? 2 : 0
  }
  const command = commands[name]
  if (command == null) throw new UsageError(`unknown command ${JSON.stringify(name)}; try 'swarmsite --help'`)
  return command(rest)
}

main(process.argv.slice(2)).then(code => {
  process.exitCode = code
}, (err: any) => {
  // bad input and environment problems get one line, never a stack trace
  const known = err instanceof UsageError || err instanceof RelayConfigError || err instanceof SigningKeyError || err?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || err?.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
  // some messages (parseArgs' "ambiguous" one) span lines: keep the promise of one line
  const message = String(known ? err.message : err?.message ?? err).trim().replace(/\s*\n\s*/g, ' ')
  process.stderr.write(`swarmsite: error: ${message}\n`)
  if (!known && process.env.DEBUG != null) process.stderr.write(`${err?.stack}\n`)
  process.exitCode = known ? 2 : 1
})
