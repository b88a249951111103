import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { declarationOf, loadSite, parseSite, type Artifact, type Site } from "../../core/index.js";
import { buildTopology } from "../../stacks/platform.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = join(ROOT, "test", "edge", "fixtures");

export function referenceSite(): Site {
  return loadSite(join(ROOT, "palisade.yaml"));
}

/** The reference site, changed by `edit` (a deep copy is edited, then re-validated). */
export function siteWith(edit: (s: Record<string, any>) => void): Site {
  const copy = JSON.parse(JSON.stringify(declarationOf(referenceSite()))) as Record<string, any>;
  edit(copy);
  return parseSite(JSON.stringify(copy), "test-site.yaml");
}

export function topology(site: Site = referenceSite()) {
  return buildTopology(site);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `palisade-edge-${prefix}-`));
}

export function writeFile(path: string, content: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

export function artifact(artifacts: readonly Artifact[], path: string): string {
  const a = artifacts.find((x) => x.path === path);
  if (!a) throw new Error(`no artifact ${path} (have: ${artifacts.map((x) => x.path).join(", ")})`);
  return a.content;
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], options: { cwd?: string; input?: string } = {}): Run {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: options.cwd, input: options.input, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The "Lines: N lines, M ignored, K matched" summary of fail2ban-regex (which exits 0 either way). */
export function fail2banCounts(output: string): { lines: number; ignored: number; matched: number } {
  const m = /^Lines: (\d+) lines, (\d+) ignored, (\d+) matched/m.exec(output);
  if (!m) throw new Error(`no "Lines:" summary in fail2ban-regex output:\n${output}`);
  return { lines: Number(m[1]), ignored: Number(m[2]), matched: Number(m[3]) };
}

/** Rules of one chain of an nftables file, without the hook line and comments, in order. */
export function nftChain(conf: string, chain: string): { policy: string | null; rules: string[] } {
  const start = conf.indexOf(`\tchain ${chain} {`);
  if (start < 0) throw new Error(`no chain ${chain}`);
  const body = conf.slice(start, conf.indexOf("\n\t}", start)).split("\n").slice(1).map((l) => l.trim());
  const hook = body.find((l) => l.startsWith("type filter hook"));
  const policy = hook ? (/policy (\w+);/.exec(hook)?.[1] ?? null) : null;
  return { policy, rules: body.filter((l) => l && !l.startsWith("#") && !l.startsWith("type filter hook")) };
}

/** Elements of a named nft set. */
export function nftSet(conf: string, name: string): string[] {
  const m = new RegExp(`set ${name} \\{[^}]*?elements = \\{ ([^}]*) \\}`, "s").exec(conf);
  return m ? m[1]!.split(",").map((s) => s.trim()) : [];
}

/** Ports a rule matches for a protocol: `tcp dport 22` or `tcp dport { 80, 443 }`. */
export function rulePorts(rule: string, proto: "tcp" | "udp"): number[] {
  const m = new RegExp(`\\b${proto} dport (?:\\{ ([^}]*) \\}|(\\d+))`).exec(rule);
  if (!m) return [];
  return (m[1] ?? m[2]!).split(",").map((p) => Number(p.trim()));
}
