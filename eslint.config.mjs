// Lint: typescript-eslint recommended, plus the house rules that a linter can check.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'cli/dist/**',
      'out/**',
      'node_modules/**',
      'test-results/**',
      '.cache/**',
      'test/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
      },
    },
    rules: {
      // Prettier formats at 120; strings and comments it cannot break must still stay readable.
      'max-len': ['error', { code: 160, ignoreUrls: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // execa is ESM-only: a static import breaks the TypeScript test runner (tsx, CommonJS); load it on first use.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'execa',
              message: "Use `await import('execa')` (ESM-only, and loaded on first use).",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'vscode', message: 'src/core never imports vscode: keep it testable in plain Node.' },
            {
              name: 'execa',
              message: "Use `await import('execa')` (ESM-only, and loaded on first use).",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
