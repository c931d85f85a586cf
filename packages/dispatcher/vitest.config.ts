import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@roundguard/source'] },
  ssr: { resolve: { conditions: ['@roundguard/source'] } },
  test: { include: ['test/**/*.test.ts'], testTimeout: 20_000 },
});
