import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SWC compiles the tests so that decorator metadata (NestJS) survives.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    // The examples import the package by name, as users do; it resolves to the sources.
    alias: [
      { find: /^reactive-connection-pool\/opentelemetry$/, replacement: fileURLToPath(new URL('./src/opentelemetry/index.ts', import.meta.url)) },
      { find: /^reactive-connection-pool\/nest$/, replacement: fileURLToPath(new URL('./src/nest/index.ts', import.meta.url)) },
      { find: /^reactive-connection-pool$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Leak tests force garbage collection.
    execArgv: ['--expose-gc'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
