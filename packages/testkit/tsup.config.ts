import { defineConfig } from 'tsup';

// Built, so that plain `node` scripts (the soak script, the bench) and vitest import JavaScript; tsc reads
// the types from the source (the `types` condition of `exports` in package.json).
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  platform: 'node',
  target: 'node20',
});
