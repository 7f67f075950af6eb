// Test projects: unit (fast, no Docker), im (real server processes), integration (real Docker builds and qemu boots).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: process.env.CI ? ['verbose'] : ['default'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/verify-parsing.test.ts'], testTimeout: 30_000 } },
      { test: { name: 'im', include: ['im/test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000, fileParallelism: false } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/verify*.test.ts'],
          exclude: ['test/verify-parsing.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 1_800_000,
          hookTimeout: 3_600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
