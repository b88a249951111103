/**
 * Small process and namespace helpers of the lab (`netns.ts` uses them too): async commands,
 * `ip -batch` per namespace, liveness and readiness from /proc, the inode of a namespace (to find
 * every process still inside it at `down`).
 */
import { $ } from "zx";
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the command ran past its timeout and was killed. */
  readonly timedOut?: boolean;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Runs a command through zx; never throws; `code` is the exit status (127 when it could not start
 * or was killed by a signal). zx runs bash, but every element of `argv` is one interpolated value,
 * which zx quotes into one word: no value is ever parsed by the shell. Output is never echoed.
 */
export async function execAsync(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const p = $({ nothrow: true, quiet: true, verbose: false, timeout: timeoutMs, timeoutSignal: "SIGKILL", ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.input !== undefined ? { input: opts.input } : {}) })`${[...argv]}`;
  let killedByTimeout = false;
  const timer = setTimeout(() => (killedByTimeout = true), timeoutMs);
  try {
    const out = await p;
    const timedOut = killedByTimeout && out.exitCode === null;
    return { code: out.exitCode ?? 127, stdout: out.stdout, stderr: out.stderr, ...(timedOut ? { timedOut } : {}) };
  } catch (e) {
    return { code: 127, stdout: "", stderr: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command and throws with its stderr when it fails; a timeout names the command and the limit. */
export async function mustAsync(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execAsync(argv, opts);
  if (r.timedOut) throw new Error(`${argv.join(" ")} timed out after ${opts.timeoutMs ?? 30_000} ms and was killed${(r.stderr || r.stdout).trim() ? `: ${(r.stderr || r.stdout).trim()}` : ""}`);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** `ip -n NS -batch -`: many link/addr/route commands in one process. */
export async function ipBatch(ns: string | null, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await mustAsync(["ip", ...(ns ? ["-n", ns] : []), "-batch", "-"], { input: `${lines.join("\n")}\n` });
}

/** Inode of a named namespace (`/run/netns/NAME`), or null. */
export function netnsInode(ns: string): number | null {
  try {
    return statSync(`/run/netns/${ns}`).ino;
  } catch {
    return null;
  }
}

/** PIDs whose network namespace is one of `inodes` (this process excluded). */
export function pidsInNetns(inodes: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const link = readlinkSync(`/proc/${name}/ns/net`);
      const m = /net:\[(\d+)\]/.exec(link);
      if (m && inodes.has(Number(m[1]))) out.push(Number(name));
    } catch {
      /* gone or not ours to read */
    }
  }
  return out;
}

/** True while `pid` runs (not a zombie, not dead). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // state is the field after the parenthesised command name; Z = zombie, X = dead
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** True when a process's namespace has a socket listening on `port` (TCP LISTEN, or a bound UDP socket). */
export function listening(pid: number, proto: "tcp" | "udp", port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const f of proto === "tcp" ? ["tcp", "tcp6"] : ["udp", "udp6"]) {
    try {
      const lines = readFileSync(`/proc/${pid}/net/${f}`, "utf8").split("\n").slice(1);
      for (const l of lines) {
        const cols = l.trim().split(/\s+/);
        if (cols.length < 4) continue;
        const local = cols[1]!;
        if (local.endsWith(`:${hex}`) && (proto === "udp" || cols[3] === "0A")) return true;
      }
    } catch {
      /* process gone */
    }
  }
  return false;
}

/** Polls `check` every `everyMs` until it is true; throws `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 10): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
