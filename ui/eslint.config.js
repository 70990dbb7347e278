import js from '@eslint/js';
import ts from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import svelteConfig from './svelte.config.js';

export default ts.config(
  { ignores: ['dist/', 'node_modules/', 'test-results/', 'src/bindings/'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { projectService: true, extraFileExtensions: ['.svelte'], parser: ts.parser, svelteConfig },
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The one seam: only src/lib/api.ts may talk to Tauri directly.
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@tauri-apps/api/*', '!@tauri-apps/api/mocks'], message: 'Go through src/lib/api.ts' }] },
      ],
    },
  },
  {
    files: ['src/lib/api.ts', 'src/**/*.test.ts', 'tests/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
