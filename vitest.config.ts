import { defineConfig } from "vitest/config";

/*
 * Two groups, run one after the other. The pure tests (artifacts in temporary directories, no shared
 * host resource) run in parallel across the cores. The host tests share host resources (network
 * namespaces, wireguard-go sockets, nft, dockerd, daemons on loopback ports, PostgreSQL clusters) and run
 * one file at a time, after the pure ones, so that no namespace or port is contended: slower, never
 * flaky. A new test file that makes a namespace, starts a daemon or binds a fixed port belongs in HOST.
 */
const HOST = [
  "test/lab/**/*.test.ts",
  "test/edge/firewall.test.ts",
  "test/edge/mail.test.ts",
  "test/edge/proxy.test.ts",
  "test/edge/postfix-relay-live.test.ts",
  "test/examples/nft-check.test.ts",
  "test/ops/host-install.test.ts",
  "test/policies/nft-differential.test.ts",
  "test/policies/haproxy-differential.test.ts",
  "test/policies/zone-live.test.ts",
  "test/tenancy/*.pg.test.ts",
  "test/tunnel/failover-netns.test.ts",
  "test/tunnel/render.test.ts",
];

/** Each site is planned once per run and shared across files (test/helpers/plan-cache-setup.ts). */
const shared = { testTimeout: 60_000, hookTimeout: 120_000, globalSetup: ["test/helpers/plan-cache-setup.ts"] };

export default defineConfig({
  test: {
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    projects: [
      { test: { ...shared, name: "pure", include: ["test/**/*.test.ts"], exclude: HOST, sequence: { groupOrder: 0 } } },
      // The host group also holds a machine-wide lock, so that two runs on one machine take turns.
      { test: { ...shared, name: "host", include: HOST, fileParallelism: false, sequence: { groupOrder: 1 }, globalSetup: [...shared.globalSetup, "test/helpers/host-lock-setup.ts"] } },
    ],
  },
});
