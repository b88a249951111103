/**
 * The lab's Docker engine: Debian's dockerd (docker.io 20.10, with its own containerd and runc)
 * started inside the lab's cloud namespace, and a small client of the Docker Engine API over its
 * unix socket (plain HTTP, API 1.41, no client library: every call the lab makes is visible here).
 *
 * dockerd runs with its data root, exec root, pid file and socket under the lab's run directory, so
 * nothing of it outlives `lab down` except what is listed in `DOCKERD_HOST_FILES`. Its iptables
 * rules live in the cloud namespace only (they go with the namespace).
 */
import { request } from "node:http";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "../proc.js";

/** The API version the lab speaks: dockerd 20.10's (the newer installed CLI falls back to it too). */
export const DOCKER_API = "v1.41";

/**
 * Files dockerd 20.10 writes outside its data and exec roots: its trust key. `down` removes it when
 * the lab's dockerd created it (the lab records whether it existed before).
 */
export const DOCKERD_HOST_FILES = ["/etc/docker/key.json"] as const;

export interface DockerdPaths {
  readonly socket: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly pidFile: string;
  readonly log: string;
}

export function dockerdPaths(runDir: string): DockerdPaths {
  const d = join(runDir, "docker");
  return { socket: join(d, "docker.sock"), dataRoot: join(d, "data"), execRoot: join(d, "exec"), pidFile: join(d, "docker.pid"), log: join(runDir, "logs", "dockerd.log") };
}

/** dockerd's argv (run under `ip netns exec NS`, which execs, so the spawned PID is dockerd's). */
export function dockerdArgv(p: DockerdPaths): string[] {
  return ["dockerd", "-H", `unix://${p.socket}`, "--data-root", p.dataRoot, "--exec-root", p.execRoot, "--pidfile", p.pidFile, "--log-level", "warn"];
}

export class DockerApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`Docker Engine API ${method} ${path.split("?")[0]}: ${status} ${(() => {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body.trim();
      } catch {
        return body.trim();
      }
    })()}`);
  }
}

/** A Docker Engine API client over a unix socket. */
export class DockerApi {
  constructor(readonly socket: string) {}

  /** One request; resolves with the parsed JSON body (or the text), throws DockerApiError on status >= 400. */
  call<T = unknown>(method: string, path: string, body?: unknown, opts: { raw?: Buffer; timeoutMs?: number; contentType?: string } = {}): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = opts.raw ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
      const req = request(
        {
          socketPath: this.socket,
          method,
          path: `/${DOCKER_API}${path}`,
          headers: payload ? { "Content-Type": opts.contentType ?? "application/json", "Content-Length": payload.length } : {},
          timeout: opts.timeoutMs ?? 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if ((res.statusCode ?? 500) >= 400) return reject(new DockerApiError(method, path, res.statusCode ?? 500, text));
            if (!text) return resolve(undefined as T);
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              resolve(text as T);
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`Docker Engine API ${method} ${path.split("?")[0]}: no answer within ${opts.timeoutMs ?? 60_000} ms`)));
      req.on("error", reject);
      if (payload) req.end(payload);
      else req.end();
    });
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.call<string>("GET", "/_ping", undefined, { timeoutMs: 1000 })) === "OK";
    } catch {
      return false;
    }
  }

  /** `docker import`: a root filesystem tarball as image `ref`, with Dockerfile-style `changes` (CMD, ENV, USER…). */
  async importImage(ref: string, tar: Buffer, changes: readonly string[]): Promise<string> {
    const [repo, tag] = splitRef(ref);
    const q = new URLSearchParams({ fromSrc: "-", repo, tag });
    for (const c of changes) q.append("changes", c);
    await this.call("POST", `/images/create?${q}`, undefined, { raw: tar, contentType: "application/x-tar", timeoutMs: 120_000 });
    return (await this.inspectImage(ref))!.Id;
  }

  async inspectImage(ref: string): Promise<{ Id: string; Config?: { Labels?: Record<string, string> | null } } | null> {
    try {
      return await this.call("GET", `/images/${encodeURIComponent(ref)}/json`);
    } catch (e) {
      if (e instanceof DockerApiError && e.status === 404) return null;
      throw e;
    }
  }

  async tagImage(id: string, ref: string): Promise<void> {
    const [repo, tag] = splitRef(ref);
    await this.call("POST", `/images/${encodeURIComponent(id)}/tag?${new URLSearchParams({ repo, tag })}`);
  }

  inspectContainer(name: string): Promise<ContainerInspect> {
    return this.call<ContainerInspect>("GET", `/containers/${encodeURIComponent(name)}/json`);
  }

  async listContainers(): Promise<{ Id: string; Names: string[]; State: string }[]> {
    return this.call("GET", "/containers/json?all=1");
  }

  /** `docker exec` without a tty: exit code and the combined output (the multiplexed stream demuxed). */
  async exec(container: string, cmd: readonly string[], opts: { user?: string; timeoutMs?: number } = {}): Promise<{ code: number; output: string }> {
    const created = await this.call<{ Id: string }>("POST", `/containers/${encodeURIComponent(container)}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(opts.user ? { User: opts.user } : {}) });
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify({ Detach: false, Tty: false }));
      const req = request({ socketPath: this.socket, method: "POST", path: `/${DOCKER_API}/exec/${created.Id}/start`, headers: { "Content-Type": "application/json", "Content-Length": payload.length }, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      });
      req.on("timeout", () => req.destroy(new Error(`docker exec ${cmd.join(" ")} in ${container}: no answer within ${opts.timeoutMs ?? 30_000} ms`)));
      req.on("error", reject);
      req.end(payload);
    });
    let output = "";
    for (let i = 0; i + 8 <= raw.length; ) {
      const size = raw.readUInt32BE(i + 4);
      output += raw.subarray(i + 8, i + 8 + size).toString("utf8");
      i += 8 + size;
    }
    const info = await this.call<{ ExitCode: number | null }>("GET", `/exec/${created.Id}/json`);
    return { code: info.ExitCode ?? -1, output };
  }
}

export interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly State: { readonly Status: string; readonly Running: boolean; readonly Pid: number; readonly ExitCode: number; readonly Health?: { readonly Status: string } };
  readonly NetworkSettings: { readonly Networks: Record<string, { readonly IPAddress: string; readonly Gateway: string; readonly Aliases: string[] | null }> };
}

/** `repo[:tag]` (a registry port is part of the repo: `host:5000/x` has no tag). */
export function splitRef(ref: string): [string, string] {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
}

/** Waits until dockerd answers `_ping` (it is ready in ~0.7 s); throws with its log's tail when it exits or times out. */
export async function waitDockerd(api: DockerApi, exited: () => number | null, log: string, timeoutMs = 15_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (existsSync(api.socket) && (await api.ping())) return Date.now() - t0;
    const code = exited();
    const tail = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").slice(-3).join(" | ") : "no log");
    if (code !== null) throw new Error(`dockerd exited with ${code} before answering on ${api.socket}: ${tail()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`dockerd did not answer on ${api.socket} within ${timeoutMs} ms: ${tail()}`);
    await sleep(25);
  }
}

/** Mount points under `dir` (deepest first), from /proc/self/mountinfo: what a crashed dockerd leaves mounted. */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync("/proc/self/mountinfo", "utf8");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const path = mp.replace(/\\040/g, " ");
    if (path === dir || path.startsWith(`${dir}/`)) out.push(path);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Names of the entries of a directory, or none. */
export function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
