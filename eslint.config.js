import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', globalThis: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name=/^(only|skip|todo)$/]", message: 'Focused, skipped or todo tests must not be committed.' },
      ],
    },
  },
  {
    // The CommonJS consumer of test/consumers: a user's script, require() and all.
    files: ['test/consumers/fixtures/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The benchmarks are plain Node.js scripts.
    files: ['bench/**/*.js'],
    languageOptions: {
      globals: { performance: 'readonly', global: 'readonly', URL: 'readonly', Buffer: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' },
    },
  },
  {
    // The engine knows nothing of networking: see docs/architecture.md, "Layers".
    files: ['src/pool/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:net', 'node:tls', 'node:http', 'node:https', 'node:http2', 'net', 'tls', 'http', 'https', 'http2', 'undici', '@nestjs/*', '../transport/*', '../http/*', '../nest/*', '../app/*'] }],
    },
  },
  {
    // A layer beside src/nest: the pool, transport and http layers below it, nothing of Nest or Prometheus.
    files: ['src/opentelemetry/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@nestjs/*', 'prom-client', '../nest/*', '../app/*'] }],
    },
  },
);
