import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Only the binance adapter talks to the exchange: the client packages (none is used now; the
// adapter speaks node:http itself, src/exchange/binance/http-client.ts) and, inside src, node's
// HTTP client side. '../exchange/binance/index.js' (our adapter) stays importable everywhere.
const EXCHANGE_MESSAGE =
  'only src/exchange/binance may talk to the exchange (client libraries, HTTP requests)';
const clientPackages = {
  regex: '^(binance|ccxt|undici|axios)(/.*)?$',
  message: EXCHANGE_MESSAGE,
};
const httpClientSide = ['node:http', 'node:https', 'http', 'https'].map((name) => ({
  name,
  // Servers (ops endpoints, the paper exchange) import createServer and types only.
  importNames: ['default', 'request', 'get', 'Agent', 'globalAgent'],
  message: EXCHANGE_MESSAGE,
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.bench-tmp/**', '.tmp*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [clientPackages] }],
    },
  },
  {
    files: ['src/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [clientPackages], paths: httpClientSide }],
      'no-restricted-globals': ['error', { name: 'fetch', message: EXCHANGE_MESSAGE }],
    },
  },
  {
    files: ['src/exchange/binance/**', 'test/exchange/**'],
    rules: { 'no-restricted-imports': 'off', 'no-restricted-globals': 'off' },
  },
);
