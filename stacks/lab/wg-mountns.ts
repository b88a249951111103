/**
 * WireGuard names are global: wireguard-go's UAPI socket is `/var/run/wireguard/<iface>.sock`
 * whatever the network namespace, so two sites cannot both run the rendered `wg-cloud` on one
 * machine. Renaming the interface breaks what the artifacts name (the failover agent's
 * `wg set wg-cloud`, the MTU, `wg show`). Instead each site's wireguard-go, its `wg` calls and its
 * failover agent run in a private mount namespace where the site's own directory is bind-mounted
 * over /var/run/wireguard: every site keeps the rendered name.
 *
 * `unshare -m` makes the mount namespace (mounts private, so the bind never reaches the host);
 * `ip netns exec` then makes one more (it remounts /sys) that inherits the bind, and execs the
 * program, so the spawned PID's mount table has the site's directory.
 * A one-site lab passes no directory and its argv is unchanged.
 */
import { join } from "node:path";

export const WG_RUN_DIR = "/var/run/wireguard";

/** The directory a site's wireguard-go keeps its socket in, under the lab's run directory. */
export function siteWgDir(runDir: string, siteId: string): string {
  return join(runDir, "sites", siteId, "wireguard");
}

/** Where the site's UAPI socket is seen from the root mount namespace (the lab's record, `down`). */
export function siteWgSocket(wgDir: string | undefined, ifname: string): string {
  return join(wgDir ?? WG_RUN_DIR, `${ifname}.sock`);
}

/**
 * argv running `argv` with `wgDir` over /var/run/wireguard, inside network namespace `ns` when
 * one is given; `wgDir` undefined: the argv as the one-site lab runs it.
 */
export function inWgDir(wgDir: string | undefined, argv: readonly string[], ns?: string): string[] {
  const inner = ns ? ["ip", "netns", "exec", ns, ...argv] : [...argv];
  if (!wgDir) return inner;
  return ["unshare", "-m", "--propagation", "private", "sh", "-c", `mkdir -p ${WG_RUN_DIR} && mount --bind "$0" ${WG_RUN_DIR} && exec "$@"`, wgDir, ...inner];
}
