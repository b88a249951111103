import { KNOT_CONFIG_DIR, KNOT_RRL, KNOT_TSIG_INCLUDE, siteZones, tsigKeyId, type Site } from "../../core/index.js";
import { parseRange } from "./addr.js";
import { checkZoneFiles, KNOT_ZONES_DIR } from "./knot-zone.js";
import type { Finding } from "./report-model.js";

export { KNOT_ZONES_DIR };

/*
 * The edge's authoritative DNS as knotd reads knot.conf (knot.conf(5), Knot 3.2): a YAML subset
 * where a section starts in column 1, a list section's items start with `- id:` (a zone's with
 * `- domain:`), every key of an item sits in the column of its first key, values are scalars,
 * "quoted" strings or [ lists ]; a `#` starts a comment at a line's start or after a blank; a tab
 * anywhere is an error. A multi-valued key given twice adds its values; a single-valued one given
 * twice keeps the last (so `dnssec-signing: on` then `off` serves the zone unsigned). A section
 * given twice merges. Names are case-insensitive and absolute (`Example.NET` is `example.net.`).
 *
 * Judged against the site: every zone of the site is served, signed (a strong algorithm, NSEC3),
 * from the rendered zone file, and no other zone; only the declared secondaries, by their address
 * and TSIG key, may transfer a zone, and the zones notify only them; no one may update a zone
 * (DDNS rewrites what the report verified); the response rate limit applies. What the reader does
 * not model (a key or section the renderer never writes, an include other than the TSIG keys
 * file) is refused, never guessed. The TSIG include is the host's secret file (`palisade keys`
 * writes it, keys only): not an artifact, not read.
 */

export const KNOT_CONF = "hosts/edge/knot/knot.conf";

type ValueKind = "str" | "int" | "bool" | "name" | { readonly enum: readonly string[] };
interface KeySpec {
  readonly kind: ValueKind;
  /** Several values (a list, or the key given again): they add up. */
  readonly many?: boolean;
}
interface SectionSpec {
  /** A list of items, each named by this key (first in the item); else one block of keys. */
  readonly idKey?: string;
  readonly keys: Readonly<Record<string, KeySpec>>;
}

const STR: KeySpec = { kind: "str" };
const MANY: KeySpec = { kind: "str", many: true };
const BOOL: KeySpec = { kind: "bool" };
const INT: KeySpec = { kind: "int" };
const ALGORITHMS = ["rsasha1", "rsasha1-nsec3-sha1", "rsasha256", "rsasha512", "ecdsap256sha256", "ecdsap384sha384", "ed25519", "ed448"] as const;
/** DNSSEC algorithms strong enough to sign the platform's zones (RFC 8624: SHA-1 ones are not). */
const STRONG_ALGORITHMS: ReadonlySet<string> = new Set(["rsasha256", "rsasha512", "ecdsap256sha256", "ecdsap384sha384", "ed25519", "ed448"]);
const ZONE_KEYS: Readonly<Record<string, KeySpec>> = {
  file: STR,
  storage: STR,
  "semantic-checks": { kind: { enum: ["on", "off", "soft", "true", "false"] } },
  "zonefile-sync": INT,
  "zonefile-load": { kind: { enum: ["none", "difference", "difference-no-serial", "whole"] } },
  "journal-content": { kind: { enum: ["none", "changes", "all"] } },
  "serial-policy": { kind: { enum: ["increment", "unixtime", "dateserial"] } },
  "dnssec-signing": BOOL,
  "dnssec-policy": STR,
  notify: MANY,
  acl: MANY,
};

/** The sections and keys the renderer writes, and the ACL's and remote's keys this module judges. */
const SCHEMA: Readonly<Record<string, SectionSpec>> = {
  server: { keys: { rundir: STR, listen: MANY, identity: STR, version: STR } },
  log: { idKey: "target", keys: { target: STR, any: { kind: { enum: ["critical", "error", "warning", "notice", "info", "debug"] } } } },
  database: { keys: { storage: STR } },
  remote: { idKey: "id", keys: { id: STR, address: MANY, key: { kind: "name" } } },
  acl: { idKey: "id", keys: { id: STR, address: MANY, key: { kind: "name", many: true }, action: { kind: { enum: ["query", "notify", "transfer", "update"] }, many: true }, deny: BOOL } },
  "mod-rrl": { idKey: "id", keys: { id: STR, "rate-limit": INT, slip: INT } },
  policy: { idKey: "id", keys: { id: STR, algorithm: { kind: { enum: ALGORITHMS } }, nsec3: BOOL } },
  template: { idKey: "id", keys: { id: STR, "global-module": MANY, ...ZONE_KEYS } },
  zone: { idKey: "domain", keys: { domain: { kind: "name" }, template: STR, ...ZONE_KEYS } },
};

interface KnotValue {
  readonly values: readonly string[];
  /** The line of the key (its last one, for a key given again). */
  readonly line: number;
  /** The line each value was given on (a multi-valued key may be given on several). */
  readonly lines: readonly number[];
}
export interface KnotItem {
  readonly id: string;
  readonly line: number;
  readonly keys: Map<string, KnotValue>;
}
export interface KnotConf {
  /** By section: its items (a single block is one item with the id ""). */
  readonly sections: Map<string, KnotItem[]>;
  readonly includes: readonly { readonly path: string; readonly line: number }[];
  readonly problems: readonly { readonly line: number; readonly message: string }[];
}

/** Strips a comment (`#` at the start or after a blank, outside quotes); undefined when a `#` follows a non-blank (knot's parser fails). */
function withoutComment(t: string): string | undefined {
  let quoted = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '"') quoted = !quoted;
    else if (c === "#" && !quoted) return i === 0 || t[i - 1] === " " ? t.slice(0, i) : undefined;
  }
  return t;
}

/** A value as knot's parser reads it: a bare word, a "quoted" string, or a [ list ] of those. */
function parseValue(raw: string): string[] | string {
  const one = (v: string): string | undefined => {
    if (/^"[^"\\]*"$/.test(v)) return v.slice(1, -1);
    if (/^[^\s"[\],\\]+$/.test(v)) return v;
    return undefined;
  };
  if (raw.startsWith("[")) {
    if (!raw.endsWith("]")) return "a list that does not end with ] on its line";
    const inner = raw.slice(1, -1).trim();
    if (!inner) return "an empty list";
    const parts = inner.split(",").map((x) => x.trim());
    const out: string[] = [];
    for (const p of parts) {
      const v = one(p);
      if (v === undefined) return `list element ${JSON.stringify(p)} is not a word or a "quoted" string`;
      out.push(v);
    }
    return out;
  }
  const v = one(raw);
  return v === undefined ? `${JSON.stringify(raw)} is not a word, a "quoted" string or a [ list ]` : [v];
}

function normalize(kind: ValueKind, v: string): string | undefined {
  if (kind === "str") return v;
  if (kind === "int") return /^[+-]?\d+$/.test(v) ? String(Number(v)) : undefined;
  if (kind === "bool") {
    const l = v.toLowerCase();
    return l === "on" || l === "true" ? "on" : l === "off" || l === "false" ? "off" : undefined;
  }
  if (kind === "name") return /^[A-Za-z0-9_.-]+$/.test(v) ? (v.endsWith(".") ? v : `${v}.`).toLowerCase() : undefined;
  const l = v.toLowerCase();
  return kind.enum.includes(l) ? l : undefined;
}

/** knot.conf as knotd reads it, the subset the renderer writes (and the ACL keys judged); anything else is a problem. */
export function parseKnotConf(text: string): KnotConf {
  const sections = new Map<string, KnotItem[]>();
  const includes: { path: string; line: number }[] = [];
  const problems: { line: number; message: string }[] = [];
  let section: { name: string; spec: SectionSpec } | undefined;
  let item: KnotItem | undefined;
  /** The column of the current item's (or block's) keys, and of its section's dashes. */
  let keyCol: number | undefined;
  let dashCol: number | undefined;
  const ids = new Map<string, Set<string>>();
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const problem = (message: string) => problems.push({ line, message });
    const full = raw.replace(/\r$/, "");
    if (full.includes("\t")) return problem("a tab character (knot refuses the file)");
    const stripped = withoutComment(full);
    if (stripped === undefined) return problem("a # right after a value (knot's parser fails)");
    const t = stripped.trimEnd();
    if (!t.trim()) return;
    const indent = t.length - t.trimStart().length;
    if (indent === 0) {
      const m = /^([a-z0-9-]+):(?: +(.*))?$/.exec(t);
      if (!m) return problem(`${JSON.stringify(t)} is not a section or include`);
      const [, name, value] = m;
      item = undefined;
      keyCol = undefined;
      if (value !== undefined) {
        section = undefined;
        const v = parseValue(value);
        if (name !== "include") return problem(`${name} at the top level takes no value (knot: invalid item)`);
        if (typeof v === "string" || v.length !== 1) return problem(`include ${value}: ${typeof v === "string" ? v : "one path expected"}`);
        includes.push({ path: v[0]!, line });
        return;
      }
      const spec = SCHEMA[name!];
      section = spec ? { name: name!, spec } : undefined;
      if (!spec) return problem(`section ${name} is not modelled (it can change what knot serves or to whom): refused`);
      if (!sections.has(name!)) sections.set(name!, spec.idKey ? [] : [{ id: "", line, keys: new Map() }]);
      dashCol = undefined;
      if (!spec.idKey) item = sections.get(name!)![0]!;
      return;
    }
    if (!section) return problem("an indented line outside a section (or under a refused one)");
    const dash = /^( *)- +([a-z0-9-]+):(?: +(.*))?$/.exec(t);
    const plain = /^( *)([a-z0-9-]+):(?: +(.*))?$/.exec(t);
    let key: string;
    let value: string | undefined;
    if (dash) {
      if (!section.spec.idKey) return problem(`section ${section.name} is a block of keys, not a list`);
      const col = t.indexOf(dash[2]!);
      if (dashCol !== undefined && dash[1]!.length !== dashCol) return problem("invalid indentation (knot refuses the file)");
      dashCol = dash[1]!.length;
      key = dash[2]!;
      value = dash[3];
      if (key !== section.spec.idKey) return problem(`an item of ${section.name} must start with ${section.spec.idKey} (knot: missing identifier)`);
      keyCol = col;
      item = { id: "", line, keys: new Map() };
    } else if (plain) {
      if (!item || (keyCol !== undefined && plain[1]!.length !== keyCol)) return problem("invalid indentation (knot refuses the file)");
      keyCol = plain[1]!.length;
      key = plain[2]!;
      value = plain[3];
    } else return problem(`${JSON.stringify(t.trim())} is not a key: value line`);
    const spec = section.spec.keys[key];
    if (!spec) return problem(`${section.name} ${key} is not modelled (it can change what knot serves or to whom): refused`);
    if (value === undefined) return problem(`${key} has no value (knot: invalid parameter)`);
    const parsed = parseValue(value);
    if (typeof parsed === "string") return problem(`${key}: ${parsed}`);
    if (parsed.length > 1 && !spec.many) return problem(`${key} takes one value, not a list`);
    const values: string[] = [];
    for (const v of parsed) {
      const n = normalize(spec.kind, v);
      if (n === undefined) return problem(`${key}: ${JSON.stringify(v)} is not a valid value (knot: invalid parameter)`);
      values.push(n);
    }
    if (dash) {
      const seen = ids.get(section.name) ?? new Set<string>();
      ids.set(section.name, seen);
      if (seen.has(values[0]!)) return problem(`${section.name} ${values[0]} is defined twice (knot: duplicate identifier)`);
      seen.add(values[0]!);
      item = { ...item!, id: values[0]! };
      sections.get(section.name)!.push(item);
    }
    const before = item!.keys.get(key);
    const lines = values.map(() => line);
    item!.keys.set(key, spec.many && before ? { values: [...before.values, ...values], line, lines: [...before.lines, ...lines] } : { values, line, lines });
  });
  return { sections, includes, problems };
}

/**
 * The configuration as plain data: sections by name, a list section's items sorted by id, each
 * key's values. What the differential test compares with `knotc conf-export` (read back).
 */
export function knotCanonical(conf: KnotConf): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of [...conf.sections.keys()].sort()) {
    const items = conf.sections.get(name)!;
    if (!items.length) continue; // a list section with no item is no section (knot exports none)
    const keys = (it: KnotItem) => Object.fromEntries([...it.keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v.values]));
    out[name] = SCHEMA[name]?.idKey ? [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(keys) : keys(items[0]!);
  }
  return out;
}

/** Knot's built-in defaults for what the judgement reads (knot.conf(5)). */
const DEFAULT_ZONE_STORAGE = "/var/lib/knot";
const DEFAULT_ZONE_FILE = "%s.zone";

/** The edge's DNS as knot serves it: knot.conf, and each zone's rendered file. */
export function checkDns(files: ReadonlyMap<string, string>, site: Site): Finding[] {
  return [...checkKnotConf(files, site), ...checkZoneFiles(files, site)];
}

function checkKnotConf(files: ReadonlyMap<string, string>, site: Site): Finding[] {
  const out: Finding[] = [];
  const finding = (subject: string, message: string, line?: number, artifact = KNOT_CONF) =>
    out.push({ id: `dns-weakened:${subject}`, kind: "dns-weakened", severity: "violation", subject, message, layer: "knot", artifact, ...(line ? { line } : {}) });
  const text = files.get(KNOT_CONF);
  if (text === undefined) {
    finding(KNOT_CONF, `the edge has no ${KNOT_CONF}: the site's zones are not served as verified`);
    return out;
  }
  const conf = parseKnotConf(text);
  for (const p of conf.problems) finding(`${KNOT_CONF}:${p.line}`, `not understood, so not trusted: ${p.message}`, p.line);
  if (conf.problems.length) return out;
  const secondaries = site.edge.dns.secondaries;
  for (const inc of conf.includes) {
    if (inc.path === KNOT_TSIG_INCLUDE && secondaries.length) continue;
    finding(`${KNOT_CONF} include ${inc.path}`, `knot reads ${inc.path} too, and the verifier does not${inc.path === KNOT_TSIG_INCLUDE ? " (the site declares no secondary, so no TSIG key is needed)" : ""}: refused`, inc.line);
  }
  const items = (s: string) => conf.sections.get(s) ?? [];
  const byId = (s: string) => new Map(items(s).map((x) => [x.id, x]));
  const acls = byId("acl");
  const remotes = byId("remote");
  const policies = byId("policy");
  const templates = byId("template");
  const rrl = byId("mod-rrl");
  const one = (it: KnotItem | undefined, k: string) => it?.keys.get(k);

  // The response rate limit: the default template's global module (the only place knot takes one).
  const dflt = templates.get("default");
  const modules = one(dflt, "global-module");
  const rrlIds = (modules?.values ?? []).filter((m) => m.startsWith("mod-rrl/")).map((m) => m.slice("mod-rrl/".length));
  for (const m of modules?.values ?? []) {
    if (!m.startsWith("mod-rrl/")) finding(`template default global-module ${m}`, `global module ${m} is not modelled (a module can answer or forward queries): refused`, modules!.line);
  }
  const limit = rrlIds.map((id) => rrl.get(id)).find((x) => x);
  const rate = Number(one(limit, "rate-limit")?.values[0] ?? "0");
  const slip = one(limit, "slip");
  if (!limit) finding("response rate limit", "no mod-rrl module applies to every zone (the default template's global-module): the edge answers any flood, an amplifier", modules?.line ?? dflt?.line);
  else if (!(rate > 0 && rate <= KNOT_RRL.rateLimit)) finding("response rate limit", `rate-limit ${one(limit, "rate-limit")?.values[0] ?? "(unset: no limit)"}: at most ${KNOT_RRL.rateLimit} answers per second per source is the rendered limit`, one(limit, "rate-limit")?.line ?? limit.line);
  else if (slip && Number(slip.values[0]) !== KNOT_RRL.slip) finding("response rate limit slip", `slip ${slip.values[0]}: ${KNOT_RRL.slip} is the rendered value (0 truncates nothing, 1 answers every limited query)`, slip.line);

  // Zones: exactly the site's, each signed and read from its rendered file.
  const wanted = new Set(siteZones(site).map((z) => `${z.toLowerCase()}.`));
  const zones = items("zone");
  for (const z of zones) if (!wanted.has(z.id)) finding(`zone ${z.id}`, `zone ${z.id} is served, but the site declares no such zone`, z.line);
  for (const name of [...wanted].sort()) {
    const z = zones.find((x) => x.id === name);
    if (!z) {
      finding(`zone ${name}`, `zone ${name} of the site is not served (its names do not resolve, its mail has no MX)`);
      continue;
    }
    const tplRef = one(z, "template");
    const tpl = templates.get(tplRef?.values[0] ?? "default");
    if (tplRef && !tpl) {
      finding(`zone ${name} template`, `template ${tplRef.values[0]} is defined nowhere (knot refuses the file)`, tplRef.line);
      continue;
    }
    // A zone's own key, else its template's (knot's inheritance), else knot's default.
    const get = (k: string) => one(z, k) ?? one(tpl, k);
    const signing = get("dnssec-signing");
    if (signing?.values[0] !== "on") finding(`zone ${name} dnssec`, `zone ${name} is served unsigned (dnssec-signing ${signing?.values[0] ?? "unset, off by default"}): resolvers cannot tell its answers from forged ones`, signing?.line ?? z.line);
    else {
      const polRef = get("dnssec-policy");
      const pol = polRef ? policies.get(polRef.values[0]!) : undefined;
      if (polRef && !pol) finding(`zone ${name} dnssec-policy`, `policy ${polRef.values[0]} is defined nowhere (knot refuses the file)`, polRef.line);
      else {
        const alg = one(pol, "algorithm")?.values[0] ?? "ecdsap256sha256";
        if (!STRONG_ALGORITHMS.has(alg)) finding(`zone ${name} dnssec algorithm`, `zone ${name} is signed with ${alg}, a SHA-1 algorithm resolvers treat as insecure (RFC 8624)`, one(pol, "algorithm")?.line ?? polRef?.line);
        const nsec3 = one(pol, "nsec3");
        if (nsec3?.values[0] !== "on") finding(`zone ${name} nsec3`, `zone ${name} denies existence with NSEC (${pol ? `policy ${pol.id}: nsec3 ${nsec3?.values[0] ?? "unset"}` : "knot's default policy"}): anyone can walk every name of the zone`, nsec3?.line ?? polRef?.line ?? signing.line);
      }
    }
    const storage = get("storage")?.values[0] ?? DEFAULT_ZONE_STORAGE;
    const file = (get("file")?.values[0] ?? DEFAULT_ZONE_FILE).replaceAll("%s", name.slice(0, -1));
    const path = file.startsWith("/") ? file : `${storage.replace(/\/$/, "")}/${file}`;
    const rendered = `${KNOT_CONFIG_DIR}/zones/${name.slice(0, -1)}.zone`;
    if (path !== rendered) finding(`zone ${name} file`, `zone ${name} is read from ${path}, not from the rendered ${KNOT_ZONES_DIR}/${name.slice(0, -1)}.zone (mounted at ${rendered}): what it serves is not what was verified`, // The line that decides: the file's when it is absolute or the storage is the rendered one, else the storage's.
      (file.startsWith("/") || storage.replace(/\/$/, "") === `${KNOT_CONFIG_DIR}/zones` ? get("file")?.line : get("storage")?.line) ?? get("file")?.line ?? z.line);

    // Who may transfer or update it: the zone's ACLs (else its template's), each in turn.
    const aclRef = get("acl");
    for (const [i, id] of (aclRef?.values ?? []).entries()) {
      const a = acls.get(id);
      if (!a) {
        finding(`zone ${name} acl ${id}`, `acl ${id} is defined nowhere (knot refuses the file)`, aclRef!.lines[i]);
        continue;
      }
      if (one(a, "deny")?.values[0] === "on") continue; // a deny rule only takes away
      const actions = one(a, "action")?.values ?? ["query"];
      const where = one(a, "action")?.line ?? a.line;
      if (actions.includes("update")) finding(`zone ${name} acl ${id} update`, `acl ${id} lets ${describe(a)} update zone ${name} (DDNS): its records can be rewritten after verification`, where);
      if (actions.includes("notify")) finding(`zone ${name} acl ${id} notify`, `acl ${id} accepts NOTIFY for zone ${name} from ${describe(a)}: the edge is the zone's primary, no one notifies it`, where);
      if (!actions.includes("transfer")) continue;
      const sec = secondaries.find((s) => sameAddress(one(a, "address")?.values, s.address) && sameList(one(a, "key")?.values, [keyName(s.id)]));
      if (!sec) finding(`zone ${name} acl ${id} transfer`, `acl ${id} lets ${describe(a)} transfer zone ${name}: only the declared secondaries (${secondaries.map((s) => `${s.address} with key ${tsigKeyId(s.id)}`).join(", ") || "none"}) may`, where);
    }
    const notify = get("notify");
    for (const [i, id] of (notify?.values ?? []).entries()) {
      const r = remotes.get(id);
      const addrs = one(r, "address")?.values.map((v) => v.replace(/@53$/, ""));
      const sec = secondaries.find((s) => sameAddress(addrs, s.address) && one(r, "key")?.values[0] === keyName(s.id));
      if (!sec) finding(`zone ${name} notify ${id}`, `zone ${name} notifies ${r ? `remote ${id} (${one(r, "address")?.values.join(", ") ?? "no address"})` : `${id}, a remote defined nowhere`}, which is no declared secondary`, notify!.lines[i]);
    }
  }
  return out;
}

/** A secondary's TSIG key as knot names it (a key id is a domain name). */
const keyName = (secondaryId: string) => `${tsigKeyId(secondaryId)}.`;
const describe = (a: KnotItem) => {
  const addr = a.keys.get("address")?.values;
  const key = a.keys.get("key")?.values;
  return `${addr ? addr.join(", ") : "any address"}${key ? ` with key ${key.join(", ")}` : " without TSIG"}`;
};
const sameList = (a: readonly string[] | undefined, b: readonly string[]) => !!a && a.length === b.length && a.every((x, i) => x === b[i]);
/** The ACL's addresses are exactly this one host (an address, or it as a /32 or /128). */
function sameAddress(values: readonly string[] | undefined, address: string): boolean {
  if (!values || values.length !== 1) return false;
  const a = parseRange(values[0]!.includes("-") ? "" : values[0]!);
  const b = parseRange(address);
  return !!a && !!b && a.v === b.v && a.lo === b.lo && a.hi === b.hi && b.lo === b.hi;
}
