import type { Healthcheck } from "../core/index.js";

/**
 * Hardening every container gets, whatever it is. These are not options: a service cannot turn
 * them off, only add back a capability or a writable path with a reason.
 * Sources: CIS Docker Benchmark 5.3 (capabilities), 5.4 (privileged), 5.10-5.11 (memory, pids),
 * 5.12 (read-only root), 5.25 (no-new-privileges), 4.1 (non-root user), 4.6 (health check).
 */
export const HARDENING = {
  capDrop: ["ALL"] as const,
  securityOpt: ["no-new-privileges:true"] as const,
  readOnlyRootfs: true,
  privileged: false,
  restart: "unless-stopped" as const,
  defaultUser: "65534:65534",
  defaultPidsLimit: 256,
  /** Logs stay on the host, bounded, so a noisy service cannot fill the disk. */
  logOpts: { "max-size": "10m", "max-file": "3" } as const,
} as const;

export function httpHealthcheck(url: string): Healthcheck {
  return { test: ["CMD", "wget", "-q", "--spider", url], intervalS: 30, timeoutS: 5, retries: 3 };
}

export function commandHealthcheck(...cmd: string[]): Healthcheck {
  return { test: ["CMD", ...cmd], intervalS: 30, timeoutS: 5, retries: 3 };
}
