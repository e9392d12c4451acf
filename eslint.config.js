import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        // Type information from the nearest tsconfig.json; the few JS files outside one get a default project.
        // typescript-eslint's default of 8 files for the default project: scripts/ has 9 and more to come.
        projectService: {
          allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bench/contestants/*.cjs'],
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 32,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  { files: ['src/server/dashboard/client/**'], languageOptions: { globals: globals.browser } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
      // node:test's test() returns a promise the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
    },
  },
  {
    // The benchmark's contestants are plain JS driving an untyped third-party client (installed
    // only by the benchmark): there are no types to check them against.
    files: ['bench/contestants/*.mjs', 'bench/contestants/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  // The bare-request floor is CommonJS on purpose, like the CLI bundle it is compared with.
  { files: ['bench/contestants/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
