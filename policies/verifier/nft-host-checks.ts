import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ipSpec, specText, type AddrSpec } from "./addr.js";
import { banSetsOf } from "./fail2ban.js";
import { evaluateHook, evaluateHooks, type Hook, type Iface, type Packet, type Ruleset } from "./nftables.js";
import type { PortSpec } from "./layers.js";
import type { Finding } from "./report-model.js";
import type { HostInfo, SiteModel } from "./site-model.js";

/*
 * Checks on each host's ruleset as a whole, beside reachability:
 * - `nft -c` must accept the file (when nft can run here: root and the binary present): a file
 *   the kernel's own parser refuses is never loaded, whatever the evaluator makes of it;
 * - the IPS ban sets (named in the host's fail2ban action) are consulted before every accept: a
 *   source in a ban set is accepted on no port, at input or forward;
 * - destination NAT in the file (dnat, redirect) that a packet from outside triggers sends it
 *   somewhere the reachability paths do not go: each such translation is an exposure.
 */

const ANY = (v: 4 | 6): AddrSpec => ({ kind: "any", v });

function traverse(rs: Ruleset, hooks: Hook[], p: Packet): { verdict: "accept" | "drop"; construct: string; line: number } {
  const r = evaluateHooks(rs, hooks, p);
  const last = r.steps[r.steps.length - 1]!;
  const decided = r.verdict === "accept" ? (r.steps.find((x) => x.hook === hooks[1]) ?? last) : last;
  return { verdict: r.verdict, construct: `${decided.hook}: ${decided.result.construct}${r.witness ? ` [${r.witness}]` : ""}`, line: decided.result.line || rs.lastRemoval || 0 };
}

function destinations(h: HostInfo, v: 4 | 6): AddrSpec[] {
  const own = [...h.external, ...h.tunnel].filter((a) => (v === 4 ? !a.includes(":") : a.includes(":")));
  return own.length ? own.map(ipSpec) : [ANY(v)];
}

function banFindings(files: ReadonlyMap<string, string>, h: HostInfo, probes: readonly PortSpec[]): Finding[] {
  if (!h.nft) return [];
  const out: Finding[] = [];
  for (const action of banSetsOf(files, h.id)) {
    const defined = new Set(h.nft.sets.map((s) => s.name));
    for (const set of action.sets) {
      if (!defined.has(set)) {
        out.push({ id: `ips-ban-bypass:${h.nftPath}:${set}`, kind: "ips-ban-bypass", severity: "violation", subject: `${h.nftPath} set ${set}`, message: `${action.path} bans into set ${set}, which ${h.nftPath} does not define: a ban blocks nothing`, layer: `nftables:${h.id}`, artifact: h.nftPath });
      }
    }
    const seen = new Set<number>();
    for (const v of [4, 6] as const) {
      const iif: Iface = { role: "external" };
      const cases: { hooks: Hook[]; daddr: AddrSpec; oif?: Iface }[] = [
        ...destinations(h, v).map((daddr) => ({ hooks: ["prerouting", "input"] as Hook[], daddr })),
        ...(["bridge", "tunnel"] as const).map((role) => ({ hooks: ["prerouting", "forward"] as Hook[], daddr: ANY(v), oif: { role } as Iface })),
      ];
      for (const c of cases) {
        for (const port of probes) {
          const p: Packet = { family: v, saddr: ANY(v), daddr: c.daddr, proto: port.protocol, dport: port.port, iif, oif: c.oif, inSets: action.sets };
          const r = traverse(h.nft, c.hooks, p);
          if (r.verdict !== "accept" || seen.has(r.line)) continue;
          seen.add(r.line);
          out.push({
            id: `ips-ban-bypass:${h.nftPath}:${r.line}`,
            kind: "ips-ban-bypass",
            severity: "violation",
            subject: `${h.nftPath}:${r.line}`,
            message: `a source in the IPS ban sets (${action.sets.join(", ")}, from ${action.path}) is still accepted, IPv${v} ${port.protocol}/${port.port} to ${specText(c.daddr)} (${c.hooks.join(" + ")}): ${r.construct}; every accept must come after the ban drop`,
            layer: `nftables:${h.id}`,
            artifact: h.nftPath,
            line: r.line || undefined,
            construct: r.construct,
          });
        }
      }
    }
  }
  return out;
}

function natFindings(m: SiteModel, h: HostInfo, probes: readonly PortSpec[]): Finding[] {
  if (!h.nft || !h.nft.chains.some((c) => c.type === "nat" && (c.hook === "prerouting" || c.hook === "output") && c.rules.some((r) => r.nat))) return [];
  const out: Finding[] = [];
  const seen = new Set<number>();
  for (const v of [4, 6] as const) {
    for (const daddr of [...destinations(h, v), ANY(v)]) {
      for (const iif of [{ role: "external" } as Iface, { role: "tunnel" } as Iface, { role: "bridge" } as Iface]) {
        for (const port of probes) {
          const p: Packet = { family: v, saddr: ANY(v), daddr, proto: port.protocol, dport: port.port, iif, iifAddr: destinations(h, v)[0] };
          const r = evaluateHook(h.nft, "prerouting", p);
          if (!r.nat || r.verdict !== "accept" || seen.has(r.nat.line)) continue;
          seen.add(r.nat.line);
          const to = specText(r.packet.daddr);
          const owner = m.ipOwner.get(to) ?? [...m.hosts.values()].find((x) => x.external.includes(to) || x.tunnel.includes(to))?.id ?? (r.packet.redirected ? h.id : to);
          const line = `${specText(p.saddr)} => ${owner} : ${port.protocol}/${r.packet.dport}`;
          out.push({
            id: `unexpected-exposure:${h.nftPath}:${r.nat.line}`,
            kind: "unexpected-exposure",
            severity: "violation",
            subject: line,
            message: `${h.nftPath} translates ${port.protocol}/${port.port} arriving on the ${iif.role} interface to ${to}:${r.packet.dport} (${r.nat.construct}): destination NAT in a host's ruleset is not part of any declared flow (Docker publishes ports in its own tables)`,
            layer: `nftables:${h.id}`,
            artifact: h.nftPath,
            line: r.nat.line,
            construct: r.nat.construct,
          });
        }
      }
    }
  }
  return out;
}

let nftUsable: boolean | undefined;
/** nft's answer per (host file, text): a process verifying many plans asks about the same files again and again. */
const nftAnswers = new Map<string, Finding[]>();
const answerKey = (nftPath: string, text: string) => `${nftPath}\0${text}`;

function remember(key: string, answer: Finding[]): void {
  if (nftAnswers.size >= 256) nftAnswers.clear();
  nftAnswers.set(key, answer);
}

/** `nft -c -f` on the file, when nft can check here (root, nft installed): its refusal as findings with the line it names. */
function nftCheckFindings(h: HostInfo, text: string | undefined): Finding[] {
  if (text === undefined) return [];
  if (nftUsable === undefined) {
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    nftUsable = isRoot && spawnSync("nft", ["--version"], { encoding: "utf8" }).status === 0;
  }
  if (!nftUsable) return [];
  const key = answerKey(h.nftPath, text);
  const known = nftAnswers.get(key);
  if (known) return known;
  const dir = mkdtempSync(join(tmpdir(), "palisade-nftc-"));
  try {
    const file = join(dir, "nftables.conf");
    writeFileSync(file, text, { mode: 0o600 });
    const r = spawnSync("nft", ["-c", "-f", file], { encoding: "utf8", timeout: 20000 });
    const answer = nftAnswer(h.nftPath, h.id, file, r.status, r.stderr ?? "");
    remember(key, answer);
    return answer;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** nft's exit status and error output as findings: none when it accepts the file. */
function nftAnswer(nftPath: string, host: string, file: string, status: number | null, stderr: string): Finding[] {
  if (status === 0) return [];
  const err = stderr.split("\n").filter((l) => /Error:/.test(l));
  const first = err[0] ?? stderr.trim();
  const line = Number(/:(\d+):\d+(?:-\d+)?: Error/.exec(first)?.[1]) || undefined;
  return [
    {
      id: `nft-rejected:${nftPath}`,
      kind: "nft-rejected",
      severity: "violation",
      subject: `${nftPath}${line ? `:${line}` : ""}`,
      message: `nft -c refuses the file, so the host would keep its previous ruleset: ${first.replace(file, nftPath).replace(/^.*?Error: /, "")}${err.length > 1 ? ` (and ${err.length - 1} more)` : ""}`,
      layer: `nftables:${host}`,
      artifact: nftPath,
      line,
    },
  ];
}

const HOST_RULESET = /^hosts\/([^/]+)\/nftables\.conf$/;

/**
 * Starts `nft -c` on every host ruleset among the artifacts, all at once and without blocking the
 * thread (plan runs it while the engines render, verify while it reads the site): the verifier's
 * nft check then reads the answers instead of running nft itself. The processes are started
 * before this returns (the files are written and nft spawned synchronously), so they run while
 * the caller keeps the thread busy. Resolves when every answer is in; never rejects (a check that
 * could not run here is run again, synchronously, by the verifier).
 */
export async function prefetchNftChecks(artifacts: Iterable<{ readonly path: string; readonly content: string }>): Promise<void> {
  const rulesets = [...artifacts].flatMap((a) => {
    const host = HOST_RULESET.exec(a.path)?.[1];
    return host && !nftAnswers.has(answerKey(a.path, a.content)) ? [{ path: a.path, host, text: a.content }] : [];
  });
  if (rulesets.length === 0) return;
  try {
    if (nftUsable === undefined) {
      const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
      nftUsable = isRoot && spawnSync("nft", ["--version"], { encoding: "utf8" }).status === 0;
    }
    if (!nftUsable) return;
    const started = rulesets.map((r) => {
      const dir = mkdtempSync(join(tmpdir(), "palisade-nftc-"));
      const file = join(dir, "nftables.conf");
      try {
        writeFileSync(file, r.text, { mode: 0o600 });
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      return run("nft", ["-c", "-f", file])
        .then((res) => {
          if (res.status !== null) remember(answerKey(r.path, r.text), nftAnswer(r.path, r.host, file, res.status, res.stderr));
        })
        .finally(() => rm(dir, { recursive: true, force: true }))
        .catch(() => undefined); // not answered: the verifier runs it
    });
    await Promise.all(started);
  } catch {
    // The verifier runs what is not answered.
  }
}

/** A command's exit status (null: it did not finish) and error output. */
function run(command: string, args: readonly string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: "utf8", timeout: 20000 }, (e, _stdout, stderr) => {
      const code = (e as { code?: unknown } | null)?.code;
      resolve({ status: e ? (typeof code === "number" ? code : null) : 0, stderr: stderr ?? "" });
    });
  });
}

export function nftHostFindings(files: ReadonlyMap<string, string>, m: SiteModel, probes: readonly PortSpec[]): Finding[] {
  const out: Finding[] = [];
  for (const h of m.hosts.values()) {
    out.push(...nftCheckFindings(h, files.get(h.nftPath)), ...banFindings(files, h, probes), ...natFindings(m, h, probes));
  }
  return out;
}
