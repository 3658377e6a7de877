import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', '.data/', 'coverage/', 'src/provision/ferretdb/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/ban-ts-comment': [
        'error',
        { 'ts-ignore': 'allow-with-description', minimumDescriptionLength: 10 },
      ],
      eqeqeq: ['error', 'always'],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
    settings: {
      'import-x/resolver': { typescript: true, node: true },
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({
            name,
            message: 'Workflow code runs in a deterministic sandbox: no Node built-ins. Move this to an activity.',
          })),
          patterns: [
            { group: ['node:*'], message: 'Workflow code runs in a deterministic sandbox: no Node built-ins.' },
            {
              group: ['mongoose', 'express', '**/src/**'],
              message: 'Workflows may not reach I/O or src/; call an activity.',
            },
            {
              group: ['**/activities/**'],
              allowTypeImports: true,
              message: 'Workflows import activities as types only (proxyActivities<...>); the worker runs them.',
            },
          ],
        },
      ],
    },
  },
  {
    // The lower layers: the shared vocabulary, the read model, the channel adapters and the crypto
    // know nothing of the HTTP API, the platform client, Temporal clients or the workflows.
    files: ['domain/**/*.ts', 'src/db/**/*.ts', 'src/channels/**/*.ts', 'src/crypto/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/api/**', '**/client/**', '**/workflows/**', '**/activities/**', '@temporalio/client'],
              message:
                'domain/, src/db, src/channels and src/crypto sit below the API, the client and the workflows: move the shared part down instead.',
            },
          ],
        },
      ],
    },
  },
  {
    // The vocabulary is pure: no I/O, no framework, so every side (workflows included) can use it.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', '@temporalio/*', 'mongoose', 'express', 'zod'],
              message: 'domain/ is pure TypeScript.',
            },
            {
              group: ['**/api/**', '**/client/**', '**/workflows/**', '**/activities/**', '**/src/**'],
              message: 'domain/ imports nothing of the product but itself.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read arbitrary JSON answers; asserting on them is the point.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
  prettier,
);
