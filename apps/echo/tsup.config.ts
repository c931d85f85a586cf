import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  platform: 'node',
  target: 'node20',
  // The private option engine is compiled into the bundle: dist/ needs no workspace package for it.
  noExternal: ['@roundguard/cli-options'],
});
