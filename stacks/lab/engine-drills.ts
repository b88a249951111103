/**
 * Drills on a site's real Docker engine (each site's dockerd, in its namespace; run per site):
 * - `container-restart`: one container's process killed from the host (a crash); its restart policy
 *   brings it back; then the whole matrix is probed again: its flows are back and nothing else opened.
 * - `dockerd-restart`: dockerd stopped by its PID (its containers stop with it) and started again
 *   with the same roots; the containers come back by their restart policy, the rendered cloud
 *   ruleset is still loaded, and the whole matrix probed again equals the verifier's.
 * Figures only; a drill fails on a functional miss (not back within 30 s, a probe mismatch).
 */
import { closeSync, openSync } from "node:fs";
import { spawn } from "node:child_process";
import { attachNetns } from "./docker/cloud.js";
import { DockerApi, dockerdArgv, waitDockerd } from "./docker/engine.js";
import { imageKind } from "./docker/images.js";
import { alive, execAsync, listening, sleep, waitFor } from "./proc.js";
import { labProbe } from "./probe.js";
import { saveLabRecord, type LabRecord, type Progress } from "./up.js";
import type { DrillResult } from "./drills.js";
import { labSite, siteDocker } from "./drill-sites.js";
import type { LabDocker } from "./docker/cloud.js";

const secs = (ms: number) => Math.round(ms) / 1000;

/** After containers restarted: each one's new PID, its namespace re-attached under the lab's name. */
async function reattach(rec: LabRecord, d: LabDocker, names: readonly string[]): Promise<void> {
  const api = new DockerApi(d.paths.socket);
  for (const name of names) {
    const c = d.containers[name]!;
    const info = await api.inspectContainer(c.id);
    c.pid = info.State.Pid;
    if (c.ns) rec.inodes[c.ns] = await attachNetns(c.ns, c.pid);
  }
  saveLabRecord(rec);
}

/** Waits until a container runs again (a new PID) and listens on its declared TCP ports; ms or null. */
async function untilBack(rec: LabRecord, d: LabDocker, name: string, oldPid: number, since: number, timeoutMs = 30_000): Promise<number | null> {
  const api = new DockerApi(d.paths.socket);
  const c = d.containers[name]!;
  // An idle image (the ACME client's) listens on nothing until its drill runs lego there.
  const ports = imageKind(c.image) === "idle" ? [] : (rec.layout.containers.find((x) => x.name === name)?.listens.filter((p) => p.startsWith("tcp/")).map((p) => Number(p.slice(4))) ?? []);
  try {
    await waitFor(`${name} running again`, async () => {
      const info = await api.inspectContainer(c.id).catch(() => null);
      if (!info?.State.Running || info.State.Pid === oldPid || info.State.Pid === 0) return false;
      return ports.every((p) => listening(info.State.Pid, "tcp", p));
    }, timeoutMs, 20);
    return Date.now() - since;
  } catch {
    return null;
  }
}

/** A container the drill kills: the site's first (by name) stand-in with declared ports, so its flows are observable; else its first container. */
function victim(rec: LabRecord, d: LabDocker): string | null {
  const names = Object.keys(d.containers).sort();
  return names.find((n) => imageKind(d.containers[n]!.image) === "standin" && (rec.layout.containers.find((x) => x.name === n)?.listens.length ?? 0) > 0) ?? names[0] ?? null;
}

export async function containerRestart(rec: LabRecord, site: string, progress: Progress): Promise<DrillResult> {
  const d = siteDocker(rec, site);
  if (!d) return { name: "container-restart", pass: false, figures: {}, targets: {}, notes: [`site ${site} has no Docker engine in the lab`] };
  const name = victim(rec, d);
  if (!name) return { name: "container-restart", pass: false, figures: {}, targets: {}, notes: ["no container applied"] };
  const oldPid = d.containers[name]!.pid;
  const t0 = Date.now();
  // A crash, not `docker kill`: the engine counts a kill through its API as a manual stop, which
  // the restart policy (unless-stopped) then respects; a process that dies on its own is restarted.
  process.kill(oldPid, "SIGKILL");
  progress(`container-restart: ${name}'s PID ${oldPid} killed (SIGKILL, from the host); waiting for its restart policy`);
  const back = await untilBack(rec, d, name, oldPid, t0);
  if (back !== null) await reattach(rec, d, [name]);
  progress(`container-restart: ${name} ${back === null ? "not back within 30 s" : `back in ${secs(back)} s`}; probing the whole matrix`);
  const probe = await labProbe(rec);
  const notes = probe.mismatches.map((m) => `${m.expected ? "expected, not observed" : "observed, not expected"}: ${m.line}`);
  return {
    name: "container-restart",
    pass: back !== null && probe.incorrect === 0,
    figures: { container: name, back_s: back === null ? null : secs(back), probe_correct: probe.correct, probe_incorrect: probe.incorrect },
    targets: { back_s: "the restart policy's first retry (well under 5 s)", probe_incorrect: "0" },
    notes,
  };
}

export async function dockerdRestart(rec: LabRecord, site: string, progress: Progress): Promise<DrillResult> {
  const d = siteDocker(rec, site);
  if (!d) return { name: "dockerd-restart", pass: false, figures: {}, targets: {}, notes: [`site ${site} has no Docker engine in the lab`] };
  const cloud = labSite(rec, site).ns;
  const t0 = Date.now();
  const oldPid = d.pid;
  process.kill(oldPid, "SIGTERM");
  await waitFor("dockerd to exit", () => !alive(oldPid), 30_000, 20);
  const stopS = (Date.now() - t0) / 1000;
  progress(`dockerd-restart: dockerd ${oldPid} stopped in ${stopS.toFixed(2)} s (its containers with it); starting it again`);
  const fd = openSync(d.paths.log, "a");
  const child = spawn("nsenter", [`--net=/run/netns/${cloud}`, "--", ...dockerdArgv(d.paths)], { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  child.unref();
  const pid = child.pid!;
  (d as { pid: number }).pid = pid;
  const entry = rec.daemons.find((x) => x.pid === oldPid);
  if (entry) (entry as { pid: number }).pid = pid;
  else rec.daemons.push({ name: rec.layout.sites.length > 1 ? `dockerd ${site}` : "dockerd", ns: cloud, pid, log: d.paths.log });
  saveLabRecord(rec);
  const api = new DockerApi(d.paths.socket);
  const t1 = Date.now();
  await waitDockerd(api, () => (alive(pid) ? null : 1), d.paths.log, 30_000);
  const names = Object.keys(d.containers).sort();
  const backs = await Promise.all(names.map((n) => untilBack(rec, d, n, d.containers[n]!.pid, t1)));
  const missing = names.filter((_n, i) => backs[i] === null);
  await reattach(rec, d, names.filter((_n, i) => backs[i] !== null));
  const allBackS = missing.length ? null : secs(Math.max(0, ...backs.map((b) => b ?? 0)));
  // The site's rendered ruleset is untouched by dockerd's restart (it programs its own iptables tables).
  const table = await execAsync(["ip", "netns", "exec", cloud, "nft", "list", "table", "inet", "palisade_cloud"]);
  const firewall = table.code === 0 && /policy drop/.test(table.stdout);
  progress(`dockerd-restart: ${names.length - missing.length}/${names.length} containers back${allBackS === null ? "" : ` in ${allBackS} s`}; rendered ruleset ${firewall ? "still loaded" : "GONE"}; probing the whole matrix`);
  await sleep(100);
  const probe = await labProbe(rec);
  const notes = [...missing.map((m) => `${m} not back within 30 s`), ...probe.mismatches.map((m) => `${m.expected ? "expected, not observed" : "observed, not expected"}: ${m.line}`)];
  if (!firewall) notes.push("the rendered table inet palisade_cloud is not loaded after dockerd's restart");
  return {
    name: "dockerd-restart",
    pass: missing.length === 0 && firewall && probe.incorrect === 0,
    figures: { stop_s: stopS, containers_back_s: allBackS, containers: names.length, missing, firewall_holds: firewall, probe_correct: probe.correct, probe_incorrect: probe.incorrect },
    targets: { containers_back_s: "a few seconds", probe_incorrect: "0" },
    notes,
  };
}
