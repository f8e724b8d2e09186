// The fault suite's protocol-scale scenarios, fuzz, want-flood and gossip-spam, on Node nodes
// (`npm run bench -- faults` runs the Chromium ones):
//   npm run bench -- faults-protocol [fuzz|want-flood|gossip-spam …] [--seed 11] [--messages 100000] [--manifests 10000] [--builds 10000]
// Writes benchmarks/results/faults-<scenario>-<date>.json and .md.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'
import { busiestOtherProcesses, otherProcessesMark } from './lib/cpu.ts'

const HERE = new URL('.', import.meta.url).pathname
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string' },
    messages: { type: 'string' },
    manifests: { type: 'string' },
    builds: { type: 'string' },
    out: { type: 'string' }
  }
})
const num = (v: string | undefined): number | undefined => v == null ? undefined : Number(v)
const scenarios: Record<string, () => Promise<{ run: (o: any) => Promise<any> }>> = {
  fuzz: async () => import('./faults/fuzz.ts'),
  'gossip-spam': async () => import('./faults/gossip-spam.ts'),
  'want-flood': async () => import('./faults/want-flood.ts')
}
const names = positionals.length > 0 ? positionals : Object.keys(scenarios)
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).trim()
const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: HERE, encoding: 'utf8' }).trim() !== ''
const date = new Date().toISOString().slice(0, 10)
for (const name of names) {
  const load = scenarios[name]
  if (load == null) { process.stderr.write(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}\n`); process.exit(2) }
  const { run } = await load()
  // the machine's other work while the scenario ran (this process and its children, the relay, excluded):
  // figures are kept only from runs where it stayed under 0.10
  const before = otherProcessesMark()
  const result = await run({ seed: num(values.seed), messages: num(values.messages), manifests: num(values.manifests), builds: num(values.builds), verbose: true })
  const after = otherProcessesMark()
  const wallS = (after.at - before.at) / 1000
  let otherS = 0
  for (const [pid, { s }] of after.seconds) otherS += Math.max(0, s - (before.seconds.get(pid)?.s ?? 0))
  const otherProcessesShare = Math.round(100 * otherS / (wallS * cpus().length)) / 100
  result.figures.otherProcessesShare = otherProcessesShare
  result.figures.busiestOtherProcesses = busiestOtherProcesses(before, after, 3)
  const record = { ...result, commit: commit + (dirty ? '-dirty' : ''), date, node: process.version, cpus: cpus().length }
  const base = join(HERE, 'results', `faults-${name}-${date}`)
  const file = values.out ?? `${base}.json`
  await writeFile(file, JSON.stringify(record, null, 2) + '\n')
  const md = [`# fault scenario: ${name} (${date}, commit ${record.commit})`, '', '| must hold | held |', '|---|---|',
    ...Object.entries(result.holds).map(([k, v]) => `| ${k} | ${v ? 'yes' : '**NO**'} |`), '',
    `visitors ok ${result.visitors.ok}/${result.visitors.total}`, '', '```json', JSON.stringify(result.figures, null, 2), '```', '',
    ...(result.notes.length > 0 ? ['Notes:', ...result.notes.map((n: string) => `- ${n}`)] : [])].join('\n')
  if (values.out == null) await writeFile(`${base}.md`, md + '\n')
  process.stdout.write(md + '\n')
}
