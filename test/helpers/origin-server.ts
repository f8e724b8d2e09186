export * from '../../src/serve/origin-server.ts'
