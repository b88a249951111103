import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { vi } from "vitest";
import { main } from "../../scripts/main.js";
import { REFERENCE_SITE, ROOT } from "./paths.js";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export { REFERENCE_SITE, ROOT };

/**
 * Runs the real CLI (`main` of scripts/main.ts, what scripts/palisade.ts runs) in this process, capturing what it
 * prints. An exception that escapes `main` is what the process would report as an internal error
 * (exit 1, with a stack trace), so it is returned that way rather than thrown.
 */
export async function runCli(argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.map(String).join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.map(String).join(" ")));
  const warn = vi.spyOn(console, "warn").mockImplementation((...a: unknown[]) => void err.push(a.map(String).join(" ")));
  try {
    const code = await main(argv);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } catch (e) {
    err.push(`palisade: internal error: ${(e as Error).stack ?? String(e)}`);
    return { code: 1, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
    warn.mockRestore();
  }
}

/** Runs `npx tsx scripts/palisade.ts …` as a child process: the real program, exit code included (~1-2 s). */
export function runCliProcess(argv: string[], cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "scripts/palisade.ts"), ...argv], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every entry under `dir` (files by sha256 and mode, directories and links by kind), sorted: equal maps mean identical trees. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      if (st.isDirectory()) {
        out[`${rel}/`] = "dir";
        walk(p);
      } else if (st.isFile()) {
        out[rel] = `${createHash("sha256").update(readFileSync(p)).digest("hex")} ${(st.mode & 0o777).toString(8)}`;
      } else out[rel] = "other";
    }
  };
  walk(dir);
  return out;
}

/** Copies a previous output into `dir` and adds a sentinel file that no plan writes. */
export function seedOut(dir: string, previousPlan: string): void {
  cpSync(previousPlan, dir, { recursive: true });
  cpSync(REFERENCE_SITE, join(dir, "SENTINEL-not-written-by-palisade.yaml"));
}

/** Lines that look like a JavaScript stack trace frame. */
export function stackTraceLines(text: string): string[] {
  return text.split("\n").filter((l) => /^\s+at /.test(l));
}
