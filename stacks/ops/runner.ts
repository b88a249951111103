import { $ } from "zx";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/*
 * How deploy runs external programs: one injectable function, so tests can record calls and the
 * CLI can stream the engines' output. Secrets reach a child only through `env` or `stdin`.
 */

export interface RunRequest {
  /** Absolute path or a name looked up on `env.PATH`. */
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Written to the child's stdin, then closed. @default - stdin is /dev/null */
  readonly stdin?: string;
  /** Stream the child's output to the operator. @default true */
  readonly stream?: boolean;
}

export interface RunResult {
  /** Exit code; 128+N for a signal; 127 when the program cannot be started. */
  readonly code: number;
  /** stdout and stderr, interleaved as received. */
  readonly output: string;
}

export type Runner = (req: RunRequest) => Promise<RunResult>;

export interface OutputSink {
  out(text: string): void;
  err(text: string): void;
}

/** Absolute path of `tool` on `PATH` (from `env`), or null. */
export function which(tool: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, tool);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/**
 * The real runner: runs through zx, streams output to `sink`, never echoes stdin. `cmd` and every
 * argument are interpolated values that zx quotes into one word each, so no value is parsed by the
 * shell; zx's own echo is off (`quiet`, `verbose: false`). Secrets still travel only in `env`/`stdin`.
 */
export function spawnRunner(sink: OutputSink): Runner {
  return async (req) => {
    let output = "";
    if (which(req.cmd, req.env) === null && !req.cmd.includes("/")) return { code: 127, output: `${req.cmd}: spawn ${req.cmd} ENOENT\n` };
    const p = $({ cwd: req.cwd, env: req.env, nothrow: true, quiet: true, verbose: false, stdio: [req.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"], ...(req.stdin !== undefined ? { input: req.stdin } : {}) })`${[req.cmd, ...req.args]}`;
    p.stdout.setEncoding("utf8").on("data", (d: string) => {
      output += d;
      if (req.stream !== false) sink.out(d);
    });
    p.stderr.setEncoding("utf8").on("data", (d: string) => {
      output += d;
      if (req.stream !== false) sink.err(d);
    });
    try {
      const r = await p;
      return { code: r.exitCode ?? 128 + (SIGNALS[r.signal ?? ""] ?? 0), output };
    } catch (e) {
      return { code: 127, output: `${output}${req.cmd}: ${(e as Error).message}\n` };
    }
  };
}
