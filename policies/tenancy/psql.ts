import { spawn } from "node:child_process";

/*
 * The PostgreSQL client: the `psql` binary, fed a script on stdin. No npm driver: psql is on every
 * host that runs PostgreSQL, speaks every auth method libpq does, and the scripts it runs are the
 * same text that is shipped as artifacts.
 */

export interface PsqlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface PsqlClient {
  /** Runs a script; `database` switches to another database of the same server first (`\connect`). */
  run(script: string, opts?: { readonly database?: string }): Promise<PsqlResult>;
}

export class PsqlError extends Error {
  constructor(
    message: string,
    readonly result: PsqlResult,
  ) {
    super(message);
    this.name = "PsqlError";
  }
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(postgres(?:ql)?:\/\/[^:/@?]*):[^@/?]*@/i, "$1:***@").replace(/([?&]password=)[^&]*/gi, "$1***");
}

/** The psql flags every call uses: no ~/.psqlrc, stop at the first error, quiet, unaligned tuples only. */
export const PSQL_FLAGS = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"] as const;

/** `\connect` target: only plain names are generated, so the meta-command cannot be misread. */
function connectLine(database: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(database)) throw new Error(`refusing to \\connect to database ${JSON.stringify(database)}: unusual name`);
  return `\\connect ${database}\n`;
}

/**
 * Moves a password out of the URL into PGPASSWORD, so that it never shows on a command line
 * (`ps`) or in a message.
 */
export function splitPassword(url: string): { url: string; password?: string } {
  let password: string | undefined;
  let out = url.replace(/^(postgres(?:ql)?:\/\/[^:/@?]*):([^@/?]*)@/i, (_, head: string, pw: string) => {
    password = decodeURIComponent(pw);
    return `${head}@`;
  });
  out = out.replace(/([?&])password=([^&]*)(&?)/i, (_, sep: string, pw: string, tail: string) => {
    password = decodeURIComponent(pw);
    return tail ? sep : "";
  });
  return password === undefined ? { url: out } : { url: out, password };
}

export function psqlClient(rawUrl: string, opts: { readonly bin?: string; readonly timeoutMs?: number } = {}): PsqlClient {
  const bin = opts.bin ?? "psql";
  const { url, password } = splitPassword(rawUrl);
  return {
    run(script, runOpts = {}) {
      const input = (runOpts.database ? connectLine(runOpts.database) : "") + script;
      return new Promise((resolve, reject) => {
        const child = spawn(bin, [...PSQL_FLAGS, "-d", url], {
          stdio: ["pipe", "pipe", "pipe"],
          env: {
            ...process.env,
            PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? "10",
            PSQLRC: "/dev/null",
            ...(password === undefined ? {} : { PGPASSWORD: password }),
          },
          timeout: opts.timeoutMs ?? 120_000,
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        child.on("error", (e: NodeJS.ErrnoException) => {
          reject(new Error(e.code === "ENOENT" ? `${bin} not found: install the PostgreSQL client (apt-get install postgresql-client)` : `${bin}: ${e.message}`));
        });
        child.on("close", (code, signal) => {
          resolve({
            code: code ?? (signal ? 128 : 1),
            stdout: Buffer.concat(out).toString("utf8"),
            stderr: Buffer.concat(err).toString("utf8").replaceAll(url, redactUrl(url)),
          });
        });
        child.stdin.on("error", () => {
          /* psql exited early (connection refused): reported through close */
        });
        child.stdin.end(input);
      });
    },
  };
}

/** The first ERROR/FATAL line of psql's stderr, without the `psql:<stdin>:12:` prefix. */
export function psqlErrorText(result: PsqlResult): string {
  const lines = result.stderr.split("\n").map((l) => l.replace(/^psql:[^:]*:\d+:\s*/, "").trim());
  const first = lines.find((l) => /^(ERROR|FATAL|error|psql: error)/.test(l)) ?? lines.find((l) => l !== "");
  return first ?? `psql exited with ${result.code}`;
}

/** Runs a script and fails with psql's own error text unless it exited 0. */
export async function runOrThrow(client: PsqlClient, script: string, opts?: { readonly database?: string }): Promise<string> {
  const r = await client.run(script, opts);
  if (r.code !== 0) throw new PsqlError(psqlErrorText(r), r);
  return r.stdout;
}

/** Runs a query that returns one JSON value (e.g. `SELECT coalesce(json_agg(x), '[]') FROM ...`). */
export async function queryJson<T>(client: PsqlClient, sql: string, opts?: { readonly database?: string }): Promise<T> {
  const out = (await runOrThrow(client, sql, opts)).trim();
  const last = out.split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`expected one JSON value from psql, got ${JSON.stringify(out.slice(0, 200))}`);
  }
}
