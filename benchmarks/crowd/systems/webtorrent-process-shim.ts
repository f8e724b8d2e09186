// Injected by esbuild into the WebTorrent page bundle (`inject`): webtorrent and its
// dependencies read a free `process` (`process.browser` picks its browser code paths,
// streamx binds `process.nextTick` at load time, debug reads `process.env.DEBUG`), and the
// browser has none. Each such reference becomes this object.
const nextTick = (fn: (...args: unknown[]) => void, ...args: unknown[]): void => { queueMicrotask(() => { fn(...args) }) }

export const process = {
  browser: true,
  title: 'browser',
  env: {} as Record<string, string | undefined>,
  argv: [] as string[],
  version: '',
  versions: {} as Record<string, string>,
  nextTick,
  cwd: (): string => '/'
}
