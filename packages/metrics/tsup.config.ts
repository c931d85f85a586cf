import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  platform: 'node',
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  // The private shared helpers are compiled into the bundle: they are not a dependency of the published package.
  noExternal: ['@roundguard/internal'],
});
