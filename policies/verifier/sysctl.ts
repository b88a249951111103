import { FORWARDING_SYSCTL_FILE, sysctlDir } from "../../core/index.js";

/*
 * A host's sysctl drop-ins (`hosts/<host>/sysctl.d/*.conf`) as sysctl reads them (procps
 * `sysctl -p`/`--system`, systemd-sysctl): the files in lexical order of their names, each line by
 * line, a later assignment winning over an earlier one. A line is `key = value` (both trimmed);
 * empty lines and lines starting with `#` or `;` are comments; a leading `-` only tells sysctl to
 * ignore an error writing the key. A key's separators are `.` or `/`: when the first one is a `/`
 * the key is a path as it is, else every `.` and `/` swap (`net/ipv4/ip_forward` is
 * `net.ipv4.ip_forward`). Only *.conf files are read.
 *
 * What the verifier models is forwarding, as the kernel keeps it:
 * - IPv4: `net.ipv4.ip_forward` and `net.ipv4.conf.all.forwarding` are one setting; writing it sets
 *   `conf.default` and every existing interface too. `conf.<if>.forwarding` sets one interface,
 *   `conf.default.forwarding` the value an interface gets when it is created. A packet is forwarded
 *   when its incoming interface forwards. The tunnel interface exists when deploy applies the files
 *   (its own value counts) and does not yet at boot (wg-quick creates it later: it takes the
 *   default, and a write to it fails); forwarding is on only when it is in both.
 * - IPv6: `net.ipv6.conf.all.forwarding` decides (writing it sets `conf.default` and every
 *   interface); `conf.default`/`conf.<if>.forwarding` are read and decide nothing.
 * Everything else (any other key, a glob or `!` in a key, a line that is no assignment, a value
 * other than 0 or 1, a file sysctl does not read) is not understood: a finding, and on a host
 * that must forward the verdict is "cannot tell", never assumed on.
 */

export interface SysctlAssignment {
  readonly path: string;
  readonly line: number;
  /** The key's components (`["net", "ipv4", "ip_forward"]`). */
  readonly key: readonly string[];
  readonly value: "0" | "1";
  /** The line as written (trimmed). */
  readonly text: string;
}

export interface SysctlProblem {
  readonly path: string;
  readonly line: number;
  readonly message: string;
  readonly text: string;
}

export interface SysctlFiles {
  /** `hosts/<host>/sysctl.d` */
  readonly dir: string;
  /** The *.conf files read, in the order sysctl reads them. */
  readonly read: readonly string[];
  readonly assignments: readonly SysctlAssignment[];
  readonly problems: readonly SysctlProblem[];
}

/** The components of a key as sysctl normalizes it, or undefined when it is not a plain key. */
function keyPath(raw: string): string[] | undefined {
  const first = /[./]/.exec(raw)?.[0];
  const normal = first === "/" ? raw : raw.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
  const parts = normal.split("/");
  return parts.every((p) => /^[A-Za-z0-9_.:@+-]+$/.test(p)) ? parts : undefined;
}

/** Whether a key is one the verifier models (forwarding), and for which family. */
function forwardingKey(k: readonly string[]): 4 | 6 | undefined {
  if (k.length === 3 && k[0] === "net" && k[1] === "ipv4" && k[2] === "ip_forward") return 4;
  if (k.length === 5 && k[0] === "net" && (k[1] === "ipv4" || k[1] === "ipv6") && k[2] === "conf" && k[4] === "forwarding") return k[1] === "ipv4" ? 4 : 6;
  return undefined;
}

/** Every sysctl drop-in rendered for a host, read as sysctl reads them. */
export function readSysctl(files: ReadonlyMap<string, string>, hostId: string): SysctlFiles {
  const dir = sysctlDir(hostId);
  const all = [...files.keys()].filter((p) => p.startsWith(`${dir}/`)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const read = all.filter((p) => /^[^/]+\.conf$/.test(p.slice(dir.length + 1)));
  const problems: SysctlProblem[] = all
    .filter((p) => !read.includes(p))
    .map((p) => ({ path: p, line: 1, message: "sysctl reads only the *.conf files directly in sysctl.d: this file would be installed and never applied", text: p.slice(dir.length + 1) }));
  const assignments: SysctlAssignment[] = [];
  for (const path of read) {
    files.get(path)!.split("\n").forEach((raw, i) => {
      const text = raw.trim();
      const line = i + 1;
      if (text === "" || text.startsWith("#") || text.startsWith(";")) return;
      const bad = (message: string) => problems.push({ path, line, message, text });
      const eq = text.indexOf("=");
      if (eq < 0) return bad("not an assignment (key = value)");
      const rawKey = text.slice(0, eq).trim().replace(/^-/, "").trim();
      const value = text.slice(eq + 1).trim();
      if (/[*?[\]!]/.test(rawKey)) return bad(`the key ${rawKey} is a pattern (glob or !): the keys it matches depend on the host`);
      const key = keyPath(rawKey);
      if (!key) return bad(`${JSON.stringify(rawKey)} is not a key`);
      if (!forwardingKey(key)) return bad(`${key.join(".")} is not modelled (the verifier reads forwarding only: net.ipv4.ip_forward, net.ipv4.conf.*.forwarding, net.ipv6.conf.*.forwarding)`);
      if (value !== "0" && value !== "1") return bad(`${key.join(".")} = ${JSON.stringify(value)}: expected 0 or 1 (anything after the value, a comment too, is part of it)`);
      assignments.push({ path, line, key, value, text });
    });
  }
  return { dir, read, assignments, problems };
}

export interface ForwardingVerdict {
  readonly on: boolean;
  /** The file and line that decide (the expected file when none is rendered). */
  readonly artifact: string;
  readonly line?: number;
  readonly construct: string;
}

const show = (a: SysctlAssignment) => `${a.key.join(".")} = ${a.value}`;

/**
 * Whether the host forwards packets of `family` that arrive on `iface` (its tunnel interface), at
 * boot and once deploy has applied the files: on only in both. `host` names the host in the text.
 */
export function forwarding(s: SysctlFiles, host: string, family: 4 | 6, iface: string): ForwardingVerdict {
  const expected = `${s.dir}/${FORWARDING_SYSCTL_FILE}`;
  const name = family === 4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding";
  const problem = s.problems.find((p) => s.read.includes(p.path));
  if (problem) return { on: false, artifact: problem.path, line: problem.line, construct: `${host}: cannot tell whether the kernel forwards IPv${family}: ${problem.text} is not understood (${problem.message})` };
  const fam = family === 4 ? "ipv4" : "ipv6";
  let all: SysctlAssignment | undefined;
  let dflt: SysctlAssignment | undefined;
  let own: SysctlAssignment | undefined;
  for (const a of s.assignments) {
    if (a.key[1] !== fam) continue;
    const scope = a.key.length === 3 ? "all" : a.key[3];
    if (scope === "all") [all, dflt, own] = [a, a, undefined];
    else if (scope === "default") dflt = a;
    else if (scope === iface) own = a;
  }
  const none = `no file of ${s.dir}/ sets ${name}${s.read.includes(expected) ? "" : ` (${expected} is not rendered)`}: the kernel's default is 0, it does not forward IPv${family}`;
  const cite = (a: SysctlAssignment | undefined) => (a ? { artifact: a.path, line: a.line } : { artifact: s.read.at(-1) ?? expected });
  // IPv6 forwards on the `all` switch alone.
  const live = family === 4 ? (own ?? all) : all;
  const boot = family === 4 ? dflt : all;
  if (!live || live.value === "0") {
    return { on: false, ...cite(live), construct: live ? `${host}: ${show(live)}: the kernel does not forward IPv${family} arriving on ${iface}` : `${host}: ${none}` };
  }
  if (!boot || boot.value === "0") {
    const why = boot ? show(boot) : `net.${fam}.conf.default.forwarding is the kernel's default, 0`;
    return { on: false, ...cite(boot ?? live), construct: `${host}: ${show(live)} holds only while ${iface} exists; at boot ${iface} is created after sysctl runs and takes ${why}: it does not forward IPv${family}` };
  }
  return { on: true, artifact: live.path, line: live.line, construct: `${host}: ${show(live)}: the kernel forwards IPv${family} arriving on ${iface}` };
}
