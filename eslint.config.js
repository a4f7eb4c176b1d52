import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.bench-tmp/**', '.tmp*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Only the binance adapter may talk to the exchange client library.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // The packages only: '../exchange/binance/index.js' (our adapter) stays importable.
              regex: '^(binance|ccxt)(/.*)?$',
              message: 'only src/exchange/binance may import the exchange client',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/exchange/binance/**', 'test/exchange/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
