import { defineConfig, type Options } from 'tsup';

const common: Options = {
  entry: ['src/index.ts'],
  dts: true,
  sourcemap: true,
  platform: 'node',
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  // The private shared helpers are compiled into the bundle: they are not a dependency of the published package.
  noExternal: ['@roundguard/internal'],
};

export default defineConfig([
  // ESM: chalk stays an import of the `chalk` dependency.
  { ...common, format: ['esm'], clean: ['**/*.js', '**/*.js.map', '**/*.d.ts'] },
  // CommonJS: chalk 5 is ESM-only, and `require()` of ESM is not available on every supported Node.js
  // (>= 20.18.1), so chalk is bundled into index.cjs. Each build cleans only its own files.
  {
    ...common,
    format: ['cjs'],
    noExternal: ['@roundguard/internal', 'chalk'],
    clean: ['**/*.cjs', '**/*.cjs.map', '**/*.d.cts'],
  },
]);
