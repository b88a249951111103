/**
 * The lab's cloud host as a real Docker host: dockerd in the cloud namespace, the lab's images
 * imported, the rendered cloud stack applied from the artifacts (cdktf's, or the Pulumi capture) by
 * the applier (the stand-in for terraform apply / pulumi up), and each container's network
 * namespace given a name (`ip netns attach`) so probes and drills enter it like any other.
 *
 * Lab-only changes to what the artifacts say are listed in `rewrites` (they go to report/lab.json):
 * only what the lab's machine forces (host paths of bind mounts, the host's secret files, the
 * engine's connection, variables' values, images built from the host's binaries).
 */
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { applyPlan, applyPlanFromPulumi, applyPlanFromTerraform, type ApplyPlan } from "./apply.js";
import { DOCKERD_HOST_FILES, DockerApi, dockerdArgv, dockerdPaths, mountsUnder, waitDockerd, type DockerdPaths } from "./engine.js";
import { buildImages, imageKind, readTar, type BuiltImage, type ImageSpec } from "./images.js";
import { alive, execAsync, mustAsync, sleep, netnsInode } from "../proc.js";
import { stackArtifactPath } from "../../engines.js";
import type { LabSiteFiles } from "../site-files.js";

export type LabEngine = "cdktf" | "pulumi";

/** The host path under which the cloud's rendered host files are installed (out/hosts/cloud/X is /etc/palisade/X). */
const HOST_FILES_ROOT = "/etc/palisade";

export interface LabDocker {
  readonly engine: LabEngine;
  readonly artifact: string;
  readonly paths: DockerdPaths;
  readonly pid: number;
  /** DOCKERD_HOST_FILES that did not exist before the lab's dockerd started (down removes them). */
  readonly createdHostFiles: string[];
  /** Per container name: id, PID at start, the name its network namespace is attached as. */
  containers: Record<string, { id: string; pid: number; ns: string; service: string; image: string }>;
  /** Containers the applier did not apply, with the reason. */
  readonly notApplied: Record<string, string>;
  /** Volume name -> its directory on the lab's machine. */
  volumes: Record<string, string>;
  images: { ref: string; kind: string; cached: boolean }[];
  /** Lab-only changes to what the artifacts say, each with its reason. */
  readonly rewrites: string[];
  readonly timings: Record<string, number>;
}

/** The applier's plan for a site's stack (`cloud` on a one-site platform). */
export function readApplyPlan(outDir: string, engine: LabEngine, siteId = "cloud"): ApplyPlan {
  const rel = stackArtifactPath(siteId, engine);
  const json = JSON.parse(readFileSync(join(outDir, rel), "utf8")) as unknown;
  return engine === "cdktf" ? applyPlanFromTerraform(json, rel) : applyPlanFromPulumi(json, rel);
}

/** The image specs for a plan: stand-ins know their containers' addresses and declared ports. */
export function imageSpecs(plan: ApplyPlan): ImageSpec[] {
  return plan.images.map((img) => {
    const kind = imageKind(img.name);
    const users = plan.containers.filter((c) => c.image === img.name && c.networkMode === "bridge");
    return {
      ref: img.name,
      kind,
      ...(kind === "standin"
        ? { standins: users.map((c) => ({ service: c.labels["palisade.service"] ?? c.name, addresses: c.networks.map((n) => n.ipv4).filter(Boolean), listens: (c.labels["palisade.listens"] ?? "").split(",").filter(Boolean) })) }
        : {}),
    };
  });
}

/** Builds the images in parallel with whatever else `up` does; the cache key is their inputs. */
export function prepareImages(plan: ApplyPlan, cacheDir: string): Promise<BuiltImage[]> {
  return buildImages(imageSpecs(plan), cacheDir);
}

export interface StartEngineInput {
  readonly runDir: string;
  readonly outDir: string;
  readonly cloudNs: string;
  readonly engine: LabEngine;
  readonly plan: ApplyPlan;
  readonly images: Promise<BuiltImage[]>;
  /** Spawns a daemon in a namespace, recorded for `down`. */
  readonly spawn: (ns: string, name: string, argv: readonly string[], logFile: string) => { pid: number; exitCode: () => number | null };
  /** Saves the record (called as soon as something is created). */
  readonly save: (docker: LabDocker) => void;
}

/** Starts dockerd in the cloud namespace and imports the images (does not apply the stack). */
export async function startEngine(input: StartEngineInput): Promise<{ api: DockerApi; docker: LabDocker }> {
  const t0 = Date.now();
  const paths = dockerdPaths(input.runDir);
  // The engine's roots on a tmpfs of their own: images import into memory, and `down` removes
  // them with one unmount (deleting an image store's files from disk took ~10 s on a loaded machine).
  mkdirSync(dirname(paths.socket), { recursive: true });
  await mustAsync(["mount", "-t", "tmpfs", "-o", "size=4g,mode=0711", "palisade-lab-docker", dirname(paths.socket)]);
  for (const d of [paths.dataRoot, paths.execRoot, dirname(paths.log)]) mkdirSync(d, { recursive: true });
  const createdHostFiles = DOCKERD_HOST_FILES.filter((f) => !existsSync(f));
  const child = input.spawn(input.cloudNs, "dockerd", dockerdArgv(paths), paths.log);
  const docker: LabDocker = {
    engine: input.engine,
    artifact: input.plan.source,
    paths,
    pid: child.pid,
    createdHostFiles: [...createdHostFiles],
    containers: {},
    notApplied: {},
    volumes: {},
    images: [],
    rewrites: [],
    timings: {},
  };
  input.save(docker);
  const api = new DockerApi(paths.socket);
  await waitDockerd(api, child.exitCode, paths.log);
  docker.timings.dockerd = (Date.now() - t0) / 1000;
  const built = await input.images;
  docker.timings.images_built = (Date.now() - t0) / 1000;
  await Promise.all(built.map((b) => api.importImage(b.ref, readTar(b.tar), b.changes)));
  docker.images = built.map((b) => ({ ref: b.ref, kind: b.kind, cached: b.cached }));
  docker.timings.images_imported = (Date.now() - t0) / 1000;
  for (const b of built) {
    const what = { haproxy: "the host's HAProxy 2.6 and its libraries", postgres: "the host's PostgreSQL 15 with an entrypoint doing the official image's first-start work", idle: "busybox, idle (lego runs in its namespace during the acme drill)", standin: "a busybox-static stand-in listening on its containers' declared ports" }[b.kind];
    docker.rewrites.push(`image ${b.ref}: built by the lab from ${what} (no registry is reachable)`);
  }
  input.save(docker);
  return { api, docker };
}

export interface ApplyInput {
  readonly api: DockerApi;
  readonly docker: LabDocker;
  readonly plan: ApplyPlan;
  readonly outDir: string;
  readonly runDir: string;
  /** The site's files (its host directory, `hosts/<site>`, is what /etc/palisade holds on the site host). */
  readonly siteFiles: LabSiteFiles;
  /** Containers the lab runs itself (host-network agents), with the reason. */
  readonly notApplied: ReadonlyMap<string, string>;
  /** Seeds volumes (certificates) after they exist, before any container starts. */
  readonly seed: (volumes: Record<string, string>) => Promise<void>;
  /** Resolves when the addresses published ports bind to exist (the tunnel address). */
  readonly publishedReady: Promise<unknown>;
  readonly save: () => void;
}

/** Applies the plan and names each container's network namespace. */
export async function applyStack(input: ApplyInput): Promise<void> {
  const { api, docker, plan } = input;
  const t0 = Date.now();
  const sf = input.siteFiles;
  const hostFiles = join(input.runDir, "host-files", sf.siteId);
  cpSync(sf.hostDir, hostFiles, { recursive: true });
  await mustAsync(["chmod", "-R", "a+rX", hostFiles]);
  const rel = sf.hostDir.slice(input.outDir.length + 1);
  docker.rewrites.push(`bind mounts: ${HOST_FILES_ROOT}/X is the lab's copy of out/${rel}/X (the one host-file rule), under the run directory`);
  const secretValues = new Map<string, string>();
  docker.rewrites.push(`variables (${plan.variables.join(", ") || "none"}): a random value per lab run, never the site's secrets`);
  docker.rewrites.push("provider: the lab's dockerd socket instead of the artifact's ssh:// host");
  for (const [name, why] of input.notApplied) {
    docker.notApplied[name] = why;
    docker.rewrites.push(`container ${name}: not applied: ${why}`);
  }
  const missingBinds = new Set<string>();
  await applyPlan(api, plan, {
    variables: (name) => {
      if (!secretValues.has(name)) secretValues.set(name, randomBytes(18).toString("base64url"));
      return secretValues.get(name)!;
    },
    bindSource: (hostPath, container) => {
      if (hostPath !== HOST_FILES_ROOT && !hostPath.startsWith(`${HOST_FILES_ROOT}/`)) throw new Error(`${plan.source}: container ${container} bind-mounts ${hostPath}, outside ${HOST_FILES_ROOT} (where the cloud's host files are installed): the lab has nothing to mount there`);
      const local = join(hostFiles, hostPath.slice(HOST_FILES_ROOT.length));
      if (!existsSync(local)) {
        // The host's secret files (keys, TLS) never exist in out/: an empty directory stands in.
        mkdirSync(local, { recursive: true });
        missingBinds.add(hostPath);
      }
      return local;
    },
    skip: input.notApplied,
    beforeContainers: async () => {
      const vols = await Promise.all(plan.volumes.map(async (v) => [v.name, (await api.call<{ Mountpoint: string }>("GET", `/volumes/${encodeURIComponent(v.name)}`)).Mountpoint] as const));
      docker.volumes = Object.fromEntries(vols);
      input.save();
      await input.seed(docker.volumes);
    },
    beforeStart: async (c) => {
      if (c.create.HostConfig && Object.keys((c.create.HostConfig as { PortBindings: object }).PortBindings).length > 0) await input.publishedReady;
    },
  }).then(async (applied) => {
    for (const [name, a] of Object.entries(applied.containers)) {
      const c = plan.containers.find((x) => x.name === name)!;
      const service = c.labels["palisade.service"] ?? name;
      docker.containers[name] = { id: a.id, pid: a.pid, ns: "", service, image: c.image };
    }
  });
  for (const p of missingBinds) docker.rewrites.push(`bind mount ${p}: not rendered into out/ (a host secret): an empty directory stands in`);
  docker.timings.applied = (Date.now() - t0) / 1000;
  input.save();
}

/** Gives a running container's network namespace a name (`ip netns attach NAME PID`). */
export async function attachNetns(name: string, pid: number): Promise<number> {
  if (netnsInode(name) !== null) await execAsync(["ip", "netns", "del", name]);
  await mustAsync(["ip", "netns", "attach", name, String(pid)]);
  return netnsInode(name)!;
}

/** The ingress certificates directory on the lab's machine: the volume mounted at the ingress's cert dir, owned by its user. */
export function seedDir(volumeDir: string, uid: number, gid: number): string {
  mkdirSync(volumeDir, { recursive: true });
  chownSync(volumeDir, uid, gid);
  chmodSync(volumeDir, 0o750);
  return volumeDir;
}

/**
 * Stops the lab's Docker engine: every container killed through the API (SIGKILL: the stand-ins'
 * PID 1 would make `docker stop` wait its 10 s), then dockerd by its PID (SIGTERM, SIGKILL after
 * 2 s); then whatever a crashed dockerd left mounted under its roots is unmounted, and the host
 * files it created are removed. Safe when nothing runs.
 */
export async function stopEngine(docker: LabDocker | undefined): Promise<string[]> {
  if (!docker) return [];
  const done: string[] = [];
  const api = new DockerApi(docker.paths.socket);
  if (alive(docker.pid) && existsSync(docker.paths.socket) && (await api.ping())) {
    const list = await api.listContainers().catch(() => []);
    const running = list.filter((c) => c.State === "running" || c.State === "restarting");
    // No restart first, then SIGKILL to each container's init by its recorded PID (checked against
    // its cgroup): the API's kill waits for dockerd to process each exit, which made most of `down`.
    await Promise.all(running.map((c) => api.call("POST", `/containers/${c.Id}/update`, { RestartPolicy: { Name: "no" } }).catch(() => {})));
    const byPid = new Set<string>();
    for (const c of Object.values(docker.containers)) {
      if (c.pid > 0 && alive(c.pid) && isContainerInit(c.pid, c.id)) {
        try {
          process.kill(c.pid, "SIGKILL");
          byPid.add(c.id);
        } catch {
          /* gone */
        }
      }
    }
    // A container the record does not know (or whose init was restarted) goes through the API.
    const rest = running.filter((c) => ![...byPid].some((id) => c.Id.startsWith(id) || id.startsWith(c.Id)));
    await Promise.all(rest.map((c) => api.call("POST", `/containers/${c.Id}/kill`).catch(() => {})));
    if (list.length) done.push(`${list.length} container(s) killed`);
  }
  for (const c of Object.values(docker.containers)) {
    if (c.pid > 0 && alive(c.pid) && isContainerInit(c.pid, c.id)) {
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
  if (alive(docker.pid)) {
    try {
      process.kill(docker.pid, "SIGTERM");
    } catch {
      /* gone */
    }
    // 1 s of grace, then SIGKILL by its PID: its containers are dead already, what it would still
    // tidy (its netns's iptables, the overlay mounts, containerd) goes with the namespace, the
    // lazy unmount of its tmpfs below and the sweep of the namespace's PIDs that follows.
    const deadline = Date.now() + 1000;
    while (alive(docker.pid) && Date.now() < deadline) await sleep(20);
    if (alive(docker.pid)) {
      try {
        process.kill(docker.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    done.push("dockerd stopped");
  }
  const root = dirname(docker.paths.socket);
  for (const m of mountsUnder(root)) await execAsync(["umount", "-l", m]);
  rmSync(root, { recursive: true, force: true });
  for (const f of docker.createdHostFiles) {
    if (existsSync(f)) {
      rmSync(f, { force: true });
      done.push(`${f} removed`);
    }
  }
  return done;
}

/** True when `pid`'s cgroup names the container id (a recycled PID is left alone). */
function isContainerInit(pid: number, id: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(id);
  } catch {
    return false;
  }
}

