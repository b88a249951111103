import { execFile, execFileSync, spawn } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where Debian's postgresql-15 puts its server binaries. */
export const PG_BIN = "/usr/lib/postgresql/15/bin";

export interface PgCluster {
  readonly port: number;
  readonly socketDir: string;
  readonly dataDir: string;
  /** libpq URL over the unix socket (trust auth): `postgresql:///DB?host=SOCK&port=P&user=U`. */
  url(database?: string, user?: string): string;
  /** Runs SQL through psql (ON_ERROR_STOP) and returns stdout (unaligned, tuples only). Throws with stderr. */
  sql(script: string, opts?: { database?: string; user?: string }): Promise<string>;
  /** Like `sql`, but resolves to the exit code and output instead of throwing. */
  trySql(script: string, opts?: { database?: string; user?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

function pgUid(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

function psqlRun(url: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", url], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(script);
  });
}

/**
 * Starts a throw-away PostgreSQL 15 as the `postgres` user (the binaries refuse root): initdb into
 * a temp dir (trust on the unix socket), pg_ctl start on a random high port on 127.0.0.1 and a
 * socket in the same temp dir. `stop()` stops it and removes everything. Needs root.
 */
export async function startPostgres(opts: { settings?: Record<string, string> } = {}): Promise<PgCluster> {
  const { uid, gid } = pgUid();
  const base = mkdtempSync(join(tmpdir(), "palisade-pg-"));
  chownSync(base, uid, gid);
  const dataDir = join(base, "data");
  const socketDir = join(base, "sock");
  mkdirSync(socketDir);
  chownSync(socketDir, uid, gid);
  const asPostgres = (cmd: string, args: string[]) => run("runuser", ["-u", "postgres", "--", cmd, ...args], { cwd: base });
  try {
    await asPostgres(`${PG_BIN}/initdb`, ["-D", dataDir, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-locale", "-E", "UTF8"]);
  } catch (e) {
    rmSync(base, { recursive: true, force: true });
    throw e;
  }
  const settings = {
    fsync: "off",
    full_page_writes: "off",
    synchronous_commit: "off",
    max_connections: "60",
    listen_addresses: "127.0.0.1",
    ...opts.settings,
  };
  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < 6 && port === 0; attempt++) {
    const candidate = 20000 + Math.floor(Math.random() * 40000);
    const o = [`-k ${socketDir}`, `-p ${candidate}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
    try {
      await asPostgres(`${PG_BIN}/pg_ctl`, ["-D", dataDir, "-w", "-t", "30", "-l", join(base, "server.log"), "-o", o, "start"]);
      port = candidate;
    } catch (e) {
      lastError = e; // most likely the port was taken: try another
    }
  }
  if (port === 0) {
    rmSync(base, { recursive: true, force: true });
    throw new Error(`could not start PostgreSQL: ${String(lastError)}`);
  }
  const url = (database = "postgres", user = "postgres") =>
    `postgresql:///${encodeURIComponent(database)}?host=${encodeURIComponent(socketDir)}&port=${port}&user=${encodeURIComponent(user)}`;
  const trySql: PgCluster["trySql"] = (script, o = {}) => psqlRun(url(o.database, o.user), script);
  return {
    port,
    socketDir,
    dataDir,
    url,
    trySql,
    async sql(script, o = {}) {
      const r = await trySql(script, o);
      if (r.code !== 0) throw new Error(`psql (${o.user ?? "postgres"}@${o.database ?? "postgres"}) exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    async stop() {
      try {
        await asPostgres(`${PG_BIN}/pg_ctl`, ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
}
