import { KNOT_CONFIG_DIR, siteZones, zoneLine, zoneRecords, zoneSoa, type Site } from "../../core/index.js";
import type { Finding } from "./report-model.js";
import { parseIp } from "./addr.js";

/*
 * A zone file as knotd's zone loader reads it (RFC 1035 master files, as Knot 3 parses them):
 * `;` comments, `( … )` spanning lines, quoted character-strings with `\"` and `\DDD` escapes, a
 * record whose line starts blank owned by the previous record's owner, `@`, names relative to the
 * current `$ORIGIN`, TTL and class in either order, `TYPEnnn` and RFC 3597 generic data (`\# 4
 * c6336442` is an A record). A record whose owner lies outside the zone is ignored, as knot
 * ignores it. What the reader does not model fails: `$INCLUDE` (knot reads another file), any
 * other directive, a class other than IN, generic data of a type other than A or AAAA.
 *
 * Judged against the site: knot must serve exactly the records the site derives (zoneRecords,
 * the renderer's own derivation), the SOA but its serial. An added MX, A or NS, a wildcard, a
 * CNAME, a wider SPF, a DMARC without reject, another CA, a replaced DKIM key: each is a record
 * the site does not declare; a removed CAA or DMARC is one it declares and is not served.
 */

/** Where the rendered zone files are, in the edge's artifacts. */
export const KNOT_ZONES_DIR = "hosts/edge/knot/zones";

export interface ZoneRr {
  /** Absolute, lower case, trailing dot. */
  readonly owner: string;
  readonly type: string;
  /**
   * The data as knot stores it, in one canonical text per type: addresses as numbers, names
   * absolute and in lower case, TXT and CAA strings decoded. For unmodelled types, the tokens.
   */
  readonly data: string;
  /** TXT: the character-strings, as knot keeps them. */
  readonly strings?: readonly string[];
  readonly line: number;
}

export interface ParsedZone {
  readonly records: readonly ZoneRr[];
  readonly problems: readonly { readonly line: number; readonly message: string }[];
}

interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

/** Record types by number (TYPEnnn), for those the reader models. */
const TYPE_NAMES: Readonly<Record<number, string>> = { 1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 39: "DNAME", 257: "CAA" };
const MODELLED_TYPES = new Set(Object.values(TYPE_NAMES));
const NAME_TYPES = new Set(["NS", "CNAME", "DNAME", "PTR"]);
const TTL = /^(?:\d+|(?:\d+[smhdwSMHDW])+)$/;

/** Splits the text into logical records: tokens, the line each starts on, and whether its owner is left blank. */
function records(text: string, problem: (line: number, message: string) => void): { line: number; blank: boolean; tokens: Token[] }[] {
  const out: { line: number; blank: boolean; tokens: Token[] }[] = [];
  let line = 1;
  let depth = 0;
  let cur: { line: number; blank: boolean; tokens: Token[] } | undefined;
  let lineStart = true;
  let parenLine = 0;
  const end = () => {
    if (cur && cur.tokens.length) out.push(cur);
    cur = undefined;
  };
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      i++;
      if (depth === 0) {
        end();
        lineStart = true;
      }
      continue;
    }
    if (lineStart && depth === 0) {
      lineStart = false;
      cur = { line, blank: c === " " || c === "\t", tokens: [] };
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === ";") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === "(") {
      if (depth === 0) parenLine = line;
      depth++;
      i++;
      continue;
    }
    if (c === ")") {
      if (depth === 0) problem(line, "a closing parenthesis without an opening one");
      else depth--;
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = "";
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\n") break;
        if (text[j] === "\\") {
          s += text.slice(j, j + 2);
          j++;
        } else s += text[j];
      }
      if (j >= text.length || text[j] !== '"') {
        problem(line, "an unterminated quoted string");
        return out;
      }
      cur!.tokens.push({ text: s, quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    let s = "";
    for (; j < text.length; j++) {
      const d = text[j]!;
      if (d === " " || d === "\t" || d === "\r" || d === "\n" || d === ";" || d === "(" || d === ")" || d === '"') break;
      if (d === "\\" && j + 1 < text.length) {
        s += text.slice(j, j + 2);
        j++;
      } else s += d;
    }
    cur!.tokens.push({ text: s, quoted: false });
    i = j;
  }
  if (depth > 0) problem(parenLine, "a parenthesis left open");
  end();
  return out;
}

/**
 * A character-string's escapes decoded (`\"`, `\\`, `\DDD`), as bytes (one character per byte: a
 * character outside ASCII is its UTF-8 bytes); undefined when an escape is malformed.
 */
function unescape(s: string): string | undefined {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "\\") {
      const cp = s.codePointAt(i)!;
      if (cp < 128) out += s[i];
      else {
        const ch = String.fromCodePoint(cp);
        out += Buffer.from(ch, "utf8").toString("latin1");
        i += ch.length - 1;
      }
      continue;
    }
    const d = /^\d{3}/.exec(s.slice(i + 1));
    if (d) {
      const n = Number(d[0]);
      if (n > 255) return undefined;
      out += String.fromCharCode(n);
      i += 3;
    } else if (i + 1 < s.length) out += s[++i];
    else return undefined;
  }
  return out;
}

/** A domain name as knot stores it: absolute, lower case (ASCII), a dot inside a label kept escaped. */
function absoluteName(text: string, origin: string): string | undefined {
  if (text === "@") return origin;
  if (text === ".") return ".";
  const labels: string[] = [];
  let label = "";
  let i = 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\") {
      const d = /^\d{3}/.exec(text.slice(i + 1));
      const ch = d ? String.fromCharCode(Number(d[0])) : text[i + 1];
      if (ch === undefined || (d && Number(d[0]) > 255)) return undefined;
      label += ch === "." ? "\\." : ch === "\\" ? "\\\\" : ch;
      i += d ? 3 : 1;
    } else if (c === ".") {
      if (!label) return undefined;
      labels.push(label);
      label = "";
    } else label += c;
  }
  const absolute = text.endsWith(".") && !text.endsWith("\\.");
  if (label) labels.push(label);
  const name = `${labels.join(".")}.`.replace(/[A-Z]/g, (x) => x.toLowerCase());
  return absolute ? name : origin === "." ? name : `${name}${origin}`;
}

function ttlSeconds(text: string): number | undefined {
  if (!TTL.test(text)) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let n = 0;
  for (const m of text.matchAll(/(\d+)([a-z])/gi)) n += Number(m[1]) * unit[m[2]!.toLowerCase()]!;
  return n;
}

const inZone = (owner: string, zone: string) => owner === zone || owner.endsWith(`.${zone}`);

/** Parses a zone file of `zone` (absolute, trailing dot) as knot's zone loader reads it. */
export function parseZoneFile(text: string, zone: string): ParsedZone {
  const problems: { line: number; message: string }[] = [];
  const problem = (line: number, message: string) => problems.push({ line, message });
  const out: ZoneRr[] = [];
  let origin = zone;
  let previous: string | undefined;
  for (const r of records(text, problem)) {
    const t = r.tokens;
    if (!r.blank && t[0]!.text.startsWith("$") && !t[0]!.quoted) {
      const directive = t[0]!.text.toUpperCase();
      if (directive === "$ORIGIN" && t.length === 2) {
        const o = absoluteName(t[1]!.text, origin);
        if (!o) problem(r.line, `$ORIGIN ${t[1]!.text} is no domain name`);
        else origin = o;
      } else if (directive === "$TTL" && t.length === 2) {
        if (ttlSeconds(t[1]!.text) === undefined) problem(r.line, `$TTL ${t[1]!.text} is no TTL`);
      } else if (directive === "$INCLUDE") problem(r.line, `$INCLUDE ${t[1]?.text ?? ""}: knot reads another file, and the verifier does not`);
      else problem(r.line, `the directive ${t[0]!.text} is not modelled`);
      continue;
    }
    let k = 0;
    let owner: string | undefined;
    if (r.blank) {
      owner = previous;
      if (!owner) {
        problem(r.line, "a record with a blank owner and no previous one");
        continue;
      }
    } else {
      owner = absoluteName(t[k++]!.text, origin);
      if (!owner) {
        problem(r.line, `owner ${t[0]!.text} is no domain name`);
        continue;
      }
    }
    previous = owner;
    let sawTtl = false;
    let sawClass = false;
    for (; k < t.length; k++) {
      const x = t[k]!.text;
      if (!sawTtl && TTL.test(x)) sawTtl = true;
      else if (!sawClass && /^(?:IN|CH|HS|NONE|ANY|CLASS\d+)$/i.test(x)) {
        sawClass = true;
        if (x.toUpperCase() !== "IN") problem(r.line, `class ${x} is not modelled (the zone is IN)`);
      } else break;
    }
    const typeText = t[k++]?.text;
    if (!typeText) {
      problem(r.line, "a record without a type");
      continue;
    }
    const num = /^TYPE(\d+)$/i.exec(typeText);
    const type = num ? (TYPE_NAMES[Number(num[1])] ?? `TYPE${Number(num[1])}`) : typeText.toUpperCase();
    if (!/^[A-Z][A-Z0-9-]*$/.test(type)) {
      problem(r.line, `${typeText} is no record type`);
      continue;
    }
    const rdata = t.slice(k);
    const rr = recordData(type, rdata, origin, (m) => problem(r.line, `${type} ${rdata.map((x) => x.text).join(" ")}: ${m}`));
    if (!rr) continue;
    // Knot ignores what lies outside the zone (a warning in its log): it serves none of it.
    if (!inZone(owner, zone)) continue;
    out.push({ owner, type, ...rr, line: r.line });
  }
  return { records: out, problems };
}

/** A record's data in the canonical text of its type; undefined (after a problem) when knot would refuse it or the reader does not model it. */
function recordData(type: string, rdata: readonly Token[], origin: string, problem: (m: string) => void): { data: string; strings?: string[] } | undefined {
  const texts = rdata.map((x) => x.text);
  if (texts[0] === "\\#" && !rdata[0]!.quoted) {
    const len = Number(texts[1]);
    const hex = texts.slice(2).join("").toLowerCase();
    if (!/^\d+$/.test(texts[1] ?? "") || !/^[0-9a-f]*$/.test(hex) || hex.length !== len * 2) return void problem("generic data whose length is not its hex");
    if (type === "A" && len === 4) return { data: `${BigInt(`0x${hex}`)}` };
    if (type === "AAAA" && len === 16) return { data: `${BigInt(`0x${hex}`)}` };
    if (MODELLED_TYPES.has(type)) return void problem("generic data of a modelled type other than an A or AAAA address is not modelled");
    return { data: `\\# ${len} ${hex}` };
  }
  const name = (x: string | undefined) => (x === undefined ? undefined : absoluteName(x, origin));
  const u16 = (x: string | undefined) => (x !== undefined && /^\d+$/.test(x) && Number(x) <= 65535 ? Number(x) : undefined);
  switch (type) {
    case "A":
    case "AAAA": {
      const ip = texts.length === 1 ? parseIp(texts[0]!) : null;
      if (!ip || ip.v !== (type === "A" ? 4 : 6) || (type === "A" && !/^\d+\.\d+\.\d+\.\d+$/.test(texts[0]!))) return void problem(`not an IPv${type === "A" ? 4 : 6} address`);
      return { data: `${ip.n}` };
    }
    case "MX": {
      const pref = u16(texts[0]);
      const host = texts.length === 2 ? name(texts[1]) : undefined;
      if (pref === undefined || !host) return void problem("expected a preference and a host name");
      return { data: `${pref} ${host}` };
    }
    case "TXT": {
      const decoded = texts.map((x) => unescape(x));
      if (!decoded.length || decoded.some((s) => s === undefined)) return void problem("expected character-strings");
      // A string longer than 255 bytes is stored as several, of 255 bytes each but the last (knot splits it).
      const strings = (decoded as string[]).flatMap((s) => (s.length <= 255 ? [s] : Array.from({ length: Math.ceil(s.length / 255) }, (_, i) => s.slice(i * 255, i * 255 + 255))));
      return { data: JSON.stringify(strings.join("")), strings };
    }
    case "CAA": {
      const flags = texts[0] !== undefined && /^\d+$/.test(texts[0]) && Number(texts[0]) <= 255 ? Number(texts[0]) : undefined;
      const value = texts.length === 3 ? unescape(texts[2]!) : undefined;
      if (flags === undefined || !/^[A-Za-z0-9]+$/.test(texts[1] ?? "") || value === undefined) return void problem("expected a flag, a tag and a value");
      return { data: `${flags} ${texts[1]!.toLowerCase()} ${JSON.stringify(value)}` };
    }
    case "SOA": {
      const [m, r, ...times] = texts;
      const mname = name(m);
      const rname = name(r);
      const secs = times.map((x) => (/^\d+$/.test(x) ? Number(x) : ttlSeconds(x)));
      if (!mname || !rname || times.length !== 5 || secs.some((s) => s === undefined) || !/^\d+$/.test(times[0]!)) return void problem("expected a name server, a mailbox, a serial and four times");
      return { data: `${mname} ${rname} ${secs.join(" ")}` };
    }
    default: {
      if (NAME_TYPES.has(type)) {
        const n = texts.length === 1 ? name(texts[0]) : undefined;
        if (!n) return void problem("expected one domain name");
        return { data: n };
      }
      if (!texts.length) return void problem("a record without data");
      return { data: texts.join(" ") };
    }
  }
}

/** The SOA's data but its serial (the renderer derives it from the content; knot increments it). */
const withoutSerial = (rr: ZoneRr) => (rr.type === "SOA" ? rr.data.replace(/^(\S+ \S+) \d+/, "$1 *") : rr.data);
const keyOf = (rr: ZoneRr) => `${rr.owner} ${rr.type} ${withoutSerial(rr)}`;

/** The zone file the site's records make, as the renderer writes it (the serial left out of the comparison). */
function expectedZone(site: Site, zone: string): ZoneRr[] {
  const text = [`$ORIGIN ${zone}.`, "$TTL 3600", zoneLine(zoneSoa(site, "1")), ...zoneRecords(site, zone).map(zoneLine), ""].join("\n");
  return [...parseZoneFile(text, `${zone.toLowerCase()}.`).records];
}

/** Why a record that is not the site's matters, by its type. */
function extraWhy(rr: ZoneRr, shown: string): string {
  switch (rr.type) {
    case "MX":
      return `mail for ${rr.owner} can be delivered to ${rr.data.split(" ")[1]}`;
    case "A":
    case "AAAA":
      return `${rr.owner} resolves to ${shown}, so its traffic (and a certificate authority's HTTP-01 challenge) can go there`;
    case "NS":
      return `${rr.owner} is delegated to, or served by, ${rr.data}`;
    case "CNAME":
    case "DNAME":
      return `${rr.owner} becomes an alias of ${rr.data}`;
    case "CAA":
      return /^\d+ issue(?:wild)? /.test(rr.data) ? `a certificate authority the site does not name may issue for ${rr.owner}` : "a certificate authority policy the site does not set";
    case "TXT":
      return /^"v=spf1/i.test(rr.data) ? `a sender policy the site does not set: mail from ${rr.owner} is judged by it` : /^"v=DMARC1/i.test(rr.data) ? "a DMARC policy the site does not set" : /^"v=DKIM1/i.test(rr.data) ? "a DKIM key the site does not hold: mail signed with its private half passes as the domain's" : "a text record the site does not set";
    default:
      return `a ${rr.type} record the site does not set`;
  }
}

/** A record's data as written for a person: addresses back in their notation. */
function shownData(rr: ZoneRr): string {
  if (rr.type !== "A" && rr.type !== "AAAA") return withoutSerial(rr);
  const n = BigInt(rr.data);
  if (rr.type === "A") return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join(".");
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(":").replace(/(?:^|:)0(?::0)+(?::|$)/, "::");
}

/**
 * Each zone of the site as knot serves it from its rendered file (the knot.conf check makes sure
 * knot reads that file): records the site does not declare, records it declares that are not
 * served, and what the reader does not understand.
 */
export function checkZoneFiles(files: ReadonlyMap<string, string>, site: Site): Finding[] {
  const out: Finding[] = [];
  for (const zone of siteZones(site)) {
    const path = `${KNOT_ZONES_DIR}/${zone}.zone`;
    const name = `${zone.toLowerCase()}.`;
    const finding = (subject: string, message: string, line?: number) => out.push({ id: `dns-weakened:${subject}`, kind: "dns-weakened", severity: "violation", subject, message, layer: "knot", artifact: path, ...(line ? { line } : {}) });
    const text = files.get(path);
    if (text === undefined) {
      finding(path, `zone ${name} has no rendered zone file (${path}, mounted at ${KNOT_CONFIG_DIR}/zones/${zone}.zone): knot serves nothing, or what the host has, not what was verified`);
      continue;
    }
    const parsed = parseZoneFile(text, name);
    for (const p of parsed.problems) finding(`${path}:${p.line}`, `not understood, so not trusted: ${p.message}`, p.line);
    if (parsed.problems.length) continue;
    const wanted = expectedZone(site, zone);
    const wantedKeys = new Set(wanted.map(keyOf));
    const servedKeys = new Set(parsed.records.map(keyOf));
    for (const rr of parsed.records) {
      if (wantedKeys.has(keyOf(rr))) continue;
      const shown = shownData(rr);
      finding(`zone ${name} ${keyOf(rr)}`, `zone ${name} serves ${rr.owner} ${rr.type} ${shown}, which the site does not declare: ${extraWhy(rr, shown)}`, rr.line);
    }
    for (const rr of wanted) {
      if (servedKeys.has(keyOf(rr))) continue;
      const shown = shownData(rr);
      const why = rr.type === "CAA" ? "any certificate authority may then issue for the name" : rr.type === "TXT" && /^"v=(?:spf1|DMARC1)/i.test(rr.data) ? "mail forged in the domain's name is no longer refused" : rr.type === "SOA" ? "the zone's authority is not the site's" : "the site's names do not resolve as declared";
      finding(`zone ${name} missing ${keyOf(rr)}`, `zone ${name} does not serve ${rr.owner} ${rr.type} ${shown}, which the site declares: ${why}`);
    }
  }
  return out;
}
