import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Namespace and daemon tests share host resources (wireguard-go sockets, nft): one file at a time
    // is slower but never flaky; pure tests are fast anyway.
    fileParallelism: false,
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
