#!/usr/bin/env node
// The relay as a plain node entry: `node relay/main.ts [relay options]`.
process.argv.splice(2, 0, 'relay')
await import('../src/cli/index.ts')
