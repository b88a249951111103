import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { afterAll, expect, it } from "vitest";
import { inWgDir, siteWgSocket } from "../../stacks/lab/wg-mountns.js";
import { execAsync, mustAsync, waitFor } from "../../stacks/lab/proc.js";
import { describeRoot } from "../helpers/root.js";
import { requireTool } from "../helpers/tools.js";

/*
 * Two sites' wireguard-go, both by the rendered name, each in its own network namespace with its own
 * directory over /var/run/wireguard (real wireguard-go, wg, unshare, ip). Nothing reaches the host's
 * /var/run/wireguard or its mount table.
 */
const missing = ["wireguard-go", "wg", "unshare"].map((t) => requireTool(t)).filter((t) => !t.path);
const run = mkdtempSync(join(tmpdir(), "palisade-wgns-"));
const ifname = "wg-cloud";
const sites = ["s1", "s2"].map((id) => ({ id, ns: `plabt-wgns-${id}`, dir: join(run, id, "wireguard") }));
const pids: number[] = [];

describeRoot("WireGuard of several sites under one name, one run directory each", () => {
  afterAll(async () => {
    for (const p of pids) try { process.kill(p, "SIGKILL"); } catch { /* gone */ }
    for (const s of sites) await execAsync(["ip", "netns", "del", s.ns]);
    rmSync(run, { recursive: true, force: true });
  });

  it.skipIf(missing.length > 0)("GIVEN two namespaces WHEN each runs wireguard-go wg-cloud with its own directory THEN each socket is in its directory, wg reaches each by the rendered name, and the host's /var/run/wireguard has neither", async () => {
    for (const s of sites) {
      mkdirSync(s.dir, { recursive: true });
      await mustAsync(["ip", "netns", "add", s.ns]);
      const child = spawn(inWgDir(s.dir, ["wireguard-go", "-f", ifname], s.ns)[0]!, inWgDir(s.dir, ["wireguard-go", "-f", ifname], s.ns).slice(1), { stdio: "ignore", env: { ...process.env, LOG_LEVEL: "error" } });
      pids.push(child.pid!);
      await waitFor(`${s.id} socket`, () => existsSync(siteWgSocket(s.dir, ifname)), 5000, 10);
      // The spawned PID is wireguard-go itself (every wrapper execs).
      await waitFor(`${s.id} pid is wireguard-go`, async () => (await execAsync(["cat", `/proc/${child.pid}/comm`])).stdout.trim() === "wireguard-go", 2000, 10);
    }
    for (const [i, s] of sites.entries()) await mustAsync(inWgDir(s.dir, ["wg", "set", ifname, "listen-port", String(51001 + i)]));
    for (const [i, s] of sites.entries()) expect(await mustAsync(inWgDir(s.dir, ["wg", "show", ifname, "listen-port"]))).toBe(`${51001 + i}\n`);
    expect(existsSync(siteWgSocket(undefined, ifname))).toBe(false);
    expect((await mustAsync(["cat", "/proc/self/mountinfo"])).includes(run)).toBe(false);
    // Negative: without its directory, wg does not find the site's interface.
    expect((await execAsync(["wg", "show", ifname])).code).not.toBe(0);
  }, 30_000);
});
