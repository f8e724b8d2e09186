// ESLint: typescript-eslint's recommended rules over the library, relay, CLI, benchmarks and tests.
import eslint from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'interop-tests/artifacts/**', 'scratch-tmp/**', 'docs/api/**', '**/*.d.ts'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: {
        console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', queueMicrotask: 'readonly', performance: 'readonly', fetch: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', crypto: 'readonly',
        window: 'readonly', document: 'readonly', navigator: 'readonly', self: 'readonly', globalThis: 'readonly', location: 'readonly',
        Response: 'readonly', Request: 'readonly', Headers: 'readonly', ReadableStream: 'readonly', WritableStream: 'readonly', TransformStream: 'readonly',
        DOMException: 'readonly', Event: 'readonly', EventTarget: 'readonly', CustomEvent: 'readonly', structuredClone: 'readonly', indexedDB: 'readonly',
        localStorage: 'readonly', caches: 'readonly', RTCPeerConnection: 'readonly', MessageChannel: 'readonly', BroadcastChannel: 'readonly', Blob: 'readonly', atob: 'readonly', btoa: 'readonly'
      }
    }
  },
  {
    rules: {
      // errors are caught as `any` on purpose (the code reads .code / .message / .name of
      // whatever a dependency threw); everything else is typed, which tsc --strict checks
      '@typescript-eslint/no-explicit-any': 'off',
      // a leading underscore names what a destructuring leaves out, or an argument an interface requires
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      // `catch {}` where a failure is expected and harmless (each says why beside it)
      'no-empty': ['error', { allowEmptyCatch: true }]
    }
  }
)
