import { describe } from "vitest";

/** True when this process may create network namespaces and run daemons. */
export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
export const inCI = process.env.CI === "true";

/**
 * `describe` for tests that need root. An ordinary user gets a clear skip; under CI=true a
 * missing root is a failure, because CI must run these.
 */
export function describeRoot(name: string, body: () => void): void {
  if (isRoot) {
    describe(name, body);
    return;
  }
  if (inCI) {
    describe(name, () => {
      throw new Error(`${name}: needs root (network namespaces, real daemons) and CI=true: run CI as root`);
    });
    return;
  }
  console.warn(`skipped: "${name}" needs root (network namespaces, real daemons); run the suite as root, as CI does`);
  describe.skip(`${name} [skipped: needs root for network namespaces and daemons; run as root or in CI]`, body);
}
