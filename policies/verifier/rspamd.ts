import { MAIL_SECRETS, RSPAMD_ACTIONS, RSPAMD_MILTER, siteNames, type Site } from "../../core/index.js";
import { parseRange } from "./addr.js";
import type { Finding } from "./report-model.js";

/*
 * rspamd (3.4) as it reads the edge's local.d files: DKIM signing, the spam actions and the
 * milter Postfix hands every message to. UCL as rspamd parses it: `key = value;`, `key: value`,
 * `key value`, `key { … }`, `key "name" { … }` (a nested object), `[ lists ]`, quoted strings,
 * `#` and `/* … *\/` comments, booleans as yes/no, true/false, on/off. A local.d file's key
 * overrides rspamd's default of the same key; a key given twice in one file becomes a list of both
 * (UCL's implicit array) which the module then reads as a table: refused, as is every `.include`
 * or other macro, a key the renderer never writes, and any file under rspamd/ besides the rendered
 * ones (docker-mailserver copies them all into rspamd's local.d and override.d).
 *
 * Judged: DKIM signing on, for the site's domain only, with its selector and the host's key,
 * never for mail from the internet (sign_inbound), never for a From: of another domain
 * (allow_hdrfrom_mismatch), by the header's domain, from loopback networks only; the spam
 * thresholds no higher than the rendered ones; the milter on loopback, scanning itself.
 */

export const RSPAMD_DIR = "hosts/edge/mail/rspamd";
export const RSPAMD_FILES = { dkim: `${RSPAMD_DIR}/local.d/dkim_signing.conf`, actions: `${RSPAMD_DIR}/local.d/actions.conf`, proxy: `${RSPAMD_DIR}/local.d/worker-proxy.inc` } as const;

export type UclValue = { readonly kind: "scalar"; readonly text: string; readonly quoted: boolean; readonly line: number } | { readonly kind: "object"; readonly entries: Map<string, UclValue>; readonly line: number } | { readonly kind: "array"; readonly items: UclValue[]; readonly line: number };

export interface UclRead {
  readonly root: Map<string, UclValue>;
  readonly problems: readonly { readonly line: number; readonly message: string }[];
}

interface Tok {
  readonly t: "atom" | "str" | "punct";
  readonly v: string;
  readonly line: number;
}

function lex(text: string, problem: (line: number, m: string) => void): Tok[] {
  const out: Tok[] = [];
  let line = 1;
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "#") while (i < text.length && text[i] !== "\n") i++;
    else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) {
        problem(line, "a comment left open");
        return out;
      }
      line += text.slice(i, end).split("\n").length - 1;
      i = end + 2;
    } else if ("{}[]=:;,".includes(c)) {
      out.push({ t: "punct", v: c, line });
      i++;
    } else if (c === '"' || c === "'") {
      const start = line;
      let j = i + 1;
      let s = "";
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === "\n") line++;
        if (c === '"' && text[j] === "\\") {
          const e = text[++j];
          s += e === "n" ? "\n" : e === "t" ? "\t" : e === "r" ? "\r" : (e ?? "");
        } else s += text[j];
      }
      if (j >= text.length) {
        problem(start, "a quoted string left open");
        return out;
      }
      out.push({ t: "str", v: s, line: start });
      i = j + 1;
    } else if (c === "<" && text[i + 1] === "<") {
      problem(line, "a heredoc string is not modelled");
      return out;
    } else {
      let j = i;
      while (j < text.length && !" \t\r\n{}[]=:;,#\"'".includes(text[j]!)) j++;
      out.push({ t: "atom", v: text.slice(i, j), line });
      i = j;
    }
  }
  return out;
}

/** Parses UCL as rspamd reads a local.d file (a key given twice is a problem: see above). */
export function parseUcl(text: string): UclRead {
  const problems: { line: number; message: string }[] = [];
  const problem = (line: number, message: string) => problems.push({ line, message });
  const toks = lex(text, problem);
  let i = 0;
  const peek = () => toks[i];
  const value = (): UclValue | undefined => {
    const t = toks[i++];
    if (!t) return undefined;
    if (t.t === "punct" && t.v === "{") return object(t.line, "}");
    if (t.t === "punct" && t.v === "[") {
      const items: UclValue[] = [];
      for (;;) {
        const n = peek();
        if (!n) return void problem(t.line, "a list left open");
        if (n.t === "punct" && n.v === "]") {
          i++;
          return { kind: "array", items, line: t.line };
        }
        if (n.t === "punct" && n.v === ",") {
          i++;
          continue;
        }
        const v = value();
        if (!v) return undefined;
        items.push(v);
      }
    }
    if (t.t === "punct") return void problem(t.line, `unexpected ${t.v}`);
    return { kind: "scalar", text: t.v, quoted: t.t === "str", line: t.line };
  };
  const object = (line: number, close: string | undefined): UclValue | undefined => {
    const entries = new Map<string, UclValue>();
    const put = (key: string, v: UclValue, at: number) => {
      if (entries.has(key)) problem(at, `${key} given twice: UCL keeps both (an implicit list), which rspamd's module reads as a table`);
      else entries.set(key, v);
    };
    for (;;) {
      const k = toks[i];
      if (!k) {
        if (close) problem(line, "a section left open");
        return { kind: "object", entries, line };
      }
      i++;
      if (k.t === "punct" && k.v === close) return { kind: "object", entries, line };
      if (k.t === "punct" && (k.v === ";" || k.v === ",")) continue;
      if (k.t === "punct") return void problem(k.line, `unexpected ${k.v}`);
      if (k.t === "atom" && k.v.startsWith(".")) return void problem(k.line, `the macro ${k.v} is not modelled (rspamd reads another file or changes how this one merges)`);
      // `key "name" { … }`: an object under key, then name.
      const path = [k.v];
      while (peek() && peek()!.t !== "punct" && toks[i + 1]?.t === "punct" && toks[i + 1]!.v === "{") path.push(toks[i++]!.v);
      const sep = peek();
      if (sep?.t === "punct" && (sep.v === "=" || sep.v === ":")) i++;
      const v = value();
      if (!v) return undefined;
      let wrapped = v;
      for (const p of path.slice(1).reverse()) wrapped = { kind: "object", entries: new Map([[p, wrapped]]), line: k.line };
      put(path[0]!, wrapped, k.line);
    }
  };
  const root = object(1, undefined);
  return { root: root?.kind === "object" ? root.entries : new Map(), problems };
}

const BOOL: Readonly<Record<string, boolean>> = { yes: true, true: true, on: true, no: false, false: false, off: false };
export const uclBool = (v: UclValue | undefined): boolean | undefined => (v?.kind === "scalar" ? BOOL[v.text.toLowerCase()] : undefined);
const str = (v: UclValue | undefined): string | undefined => (v?.kind === "scalar" ? v.text : undefined);
const num = (v: UclValue | undefined): number | undefined => (v?.kind === "scalar" && /^[+-]?\d+(?:\.\d+)?$/.test(v.text) ? Number(v.text) : undefined);
const list = (v: UclValue | undefined): UclValue[] => (!v ? [] : v.kind === "array" ? v.items : [v]);

/** rspamd's defaults for the judged keys the rendered files may leave out (modules.d and the module's code, rspamd 3.4). */
const DKIM_DEFAULTS = { enabled: true, sign_inbound: false, use_domain: "header", allow_hdrfrom_mismatch: false } as const;
const DKIM_KEYS = new Set(["enabled", "sign_authenticated", "sign_local", "sign_inbound", "use_domain", "use_esld", "allow_hdrfrom_mismatch", "allow_username_mismatch", "allow_envfrom_empty", "allow_hdrfrom_multiple", "sign_networks", "domain"]);
const ACTION_KEYS = new Set(Object.keys(RSPAMD_ACTIONS));
const PROXY_KEYS = new Set(["bind_socket", "milter", "timeout", "upstream"]);

/** What rspamd runs with, for the judged keys: the file's value, else rspamd's default. */
export interface RspamdEffective {
  readonly dkim?: { readonly enabled?: boolean; readonly sign_inbound?: boolean; readonly use_domain?: string; readonly allow_hdrfrom_mismatch?: boolean; readonly sign_networks: readonly string[]; readonly domains: Readonly<Record<string, { readonly selector?: string; readonly path?: string }>> };
  readonly actions?: Readonly<Record<string, number | undefined>>;
  readonly proxy?: { readonly milter?: boolean; readonly bind_socket: readonly string[]; readonly self_scan?: boolean };
}

export function rspamdEffective(files: ReadonlyMap<string, string>): RspamdEffective {
  const read = (p: string) => {
    const t = files.get(p);
    return t === undefined ? undefined : parseUcl(t).root;
  };
  const d = read(RSPAMD_FILES.dkim);
  const a = read(RSPAMD_FILES.actions);
  const x = read(RSPAMD_FILES.proxy);
  const domains = (v: UclValue | undefined) => (v?.kind === "object" ? Object.fromEntries([...v.entries].map(([k, e]) => [k, e.kind === "object" ? { selector: str(e.entries.get("selector")), path: str(e.entries.get("path")) } : {}])) : {});
  const local = x?.get("upstream");
  const localUp = local?.kind === "object" ? local.entries.get("local") : undefined;
  return {
    ...(d ? { dkim: { enabled: d.has("enabled") ? uclBool(d.get("enabled")) : DKIM_DEFAULTS.enabled, sign_inbound: d.has("sign_inbound") ? uclBool(d.get("sign_inbound")) : DKIM_DEFAULTS.sign_inbound, use_domain: d.has("use_domain") ? str(d.get("use_domain")) : DKIM_DEFAULTS.use_domain, allow_hdrfrom_mismatch: d.has("allow_hdrfrom_mismatch") ? uclBool(d.get("allow_hdrfrom_mismatch")) : DKIM_DEFAULTS.allow_hdrfrom_mismatch, sign_networks: list(d.get("sign_networks")).map((v) => str(v) ?? "?"), domains: domains(d.get("domain")) } } : {}),
    ...(a ? { actions: Object.fromEntries(Object.entries(RSPAMD_ACTIONS).map(([k, v]) => [k, a.has(k) ? num(a.get(k)) : v])) } : {}),
    ...(x ? { proxy: { milter: x.has("milter") ? uclBool(x.get("milter")) : true, bind_socket: list(x.get("bind_socket")).map((v) => str(v) ?? "?"), self_scan: localUp?.kind === "object" && localUp.entries.has("self_scan") ? uclBool(localUp.entries.get("self_scan")) : false } } : {}),
  };
}

/** A sign_networks entry or bind address on loopback only (127.0.0.0/8, ::1), or a UNIX socket path. */
function loopback(text: string): boolean {
  const r = parseRange(text);
  if (!r) return false;
  return r.v === 4 ? r.lo >= 0x7f000000n && r.hi <= 0x7fffffffn : r.lo === 1n && r.hi === 1n;
}
function loopbackSocket(text: string): boolean {
  if (text.startsWith("/")) return true;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):\d+$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  return !!host && (host === "localhost" || loopback(host));
}

export function checkRspamd(files: ReadonlyMap<string, string>, site: Site): Finding[] {
  const out: Finding[] = [];
  const finding = (artifact: string, subject: string, message: string, line?: number) => out.push({ id: `mail-weakened:${subject}`, kind: "mail-weakened", severity: "violation", subject, message, layer: "rspamd", artifact, ...(line ? { line } : {}) });
  const rendered = new Set<string>(Object.values(RSPAMD_FILES));
  for (const p of [...files.keys()].filter((p) => p.startsWith(`${RSPAMD_DIR}/`) && !rendered.has(p)).sort()) finding(p, p, `rspamd reads ${p.slice(RSPAMD_DIR.length + 1)} too (docker-mailserver copies every file of the directory into its configuration), and the verifier does not: refused`);
  const reads: [keyof typeof RSPAMD_FILES, ReadonlySet<string>][] = [["dkim", DKIM_KEYS], ["actions", ACTION_KEYS], ["proxy", PROXY_KEYS]];
  let understood = true;
  for (const [which, keys] of reads) {
    const path = RSPAMD_FILES[which];
    const text = files.get(path);
    if (text === undefined) {
      finding(path, path, `the edge has no ${path}: rspamd would run on the host's own ${which === "dkim" ? "DKIM signing" : which === "actions" ? "spam thresholds" : "milter"} configuration, which was not verified`);
      understood = false;
      continue;
    }
    const read = parseUcl(text);
    for (const p of read.problems) finding(path, `${path}:${p.line}`, `not understood, so not trusted: ${p.message}`, p.line);
    for (const [k, v] of read.root) if (!keys.has(k)) finding(path, `${path} ${k}`, `${k} is not modelled: refused`, v.line);
    if (read.problems.length || [...read.root.keys()].some((k) => !keys.has(k))) understood = false;
  }
  if (!understood) return out;
  const at = (file: string, key: string) => parseUcl(files.get(file)!).root.get(key)?.line;
  const e = rspamdEffective(files);
  const dkim = e.dkim!;
  const F = RSPAMD_FILES;
  if (dkim.enabled !== true) finding(F.dkim, "dkim enabled", "DKIM signing is off: the domain's mail leaves unsigned, and DMARC (adkim=s) rejects it where SPF does not align", at(F.dkim, "enabled"));
  if (dkim.sign_inbound !== false) finding(F.dkim, "dkim sign_inbound", "sign_inbound signs mail arriving from the internet: a forged message leaves the edge signed as the domain's", at(F.dkim, "sign_inbound"));
  if (dkim.allow_hdrfrom_mismatch !== false) finding(F.dkim, "dkim allow_hdrfrom_mismatch", "allow_hdrfrom_mismatch signs a message whose From: is not the sender's domain", at(F.dkim, "allow_hdrfrom_mismatch"));
  if (dkim.use_domain !== "header") finding(F.dkim, "dkim use_domain", `use_domain ${dkim.use_domain ?? "?"}: the rendered signing is by the From: header's domain`, at(F.dkim, "use_domain"));
  for (const n of dkim.sign_networks) if (!loopback(n)) finding(F.dkim, `dkim sign_networks ${n}`, `sign_networks ${n}: mail from that network is signed as the domain's without a login (only loopback may be)`, at(F.dkim, "sign_networks"));
  const apex = siteNames(site).apex.toLowerCase();
  const domainLine = at(F.dkim, "domain");
  for (const [dom, v] of Object.entries(dkim.domains)) {
    if (dom.toLowerCase() !== apex) finding(F.dkim, `dkim domain ${dom}`, `rspamd signs mail of ${dom}, which is not the site's mail domain (${apex})`, domainLine);
    else if (v.selector !== site.edge.mail.dkimSelector || v.path !== MAIL_SECRETS.dkimKey) finding(F.dkim, `dkim domain ${dom} key`, `${dom} is signed with selector ${v.selector ?? "(none)"} and key ${v.path ?? "(none)"}: the zone publishes ${site.edge.mail.dkimSelector}, the host's key is ${MAIL_SECRETS.dkimKey}`, domainLine);
  }
  if (!Object.keys(dkim.domains).some((d) => d.toLowerCase() === apex)) finding(F.dkim, `dkim domain ${apex}`, `no signing key for ${apex}: its mail leaves unsigned`, domainLine);
  for (const [k, max] of Object.entries(RSPAMD_ACTIONS)) {
    const v = e.actions![k];
    if (v === undefined || v > max) finding(F.actions, `actions ${k}`, `${k} at ${v ?? "a value that is no score"}: the rendered threshold is ${max} (a higher one lets more spam through)`, at(F.actions, k));
  }
  const proxy = e.proxy!;
  if (proxy.milter !== true) finding(F.proxy, "proxy milter", "the proxy is not a milter: Postfix's messages are not scanned or signed", at(F.proxy, "milter"));
  if (!proxy.bind_socket.length) finding(F.proxy, "proxy bind_socket", `the milter's address is not set (the rendered one is ${RSPAMD_MILTER})`);
  for (const b of proxy.bind_socket) if (!loopbackSocket(b)) finding(F.proxy, `proxy bind_socket ${b}`, `the milter listens on ${b}: beyond loopback, anyone who reaches it can have mail scanned and signed`, at(F.proxy, "bind_socket"));
  if (proxy.self_scan !== true) finding(F.proxy, "proxy self_scan", "the proxy does not scan itself: messages go to another scanner, which the verifier does not see", at(F.proxy, "upstream"));
  const up = parseUcl(files.get(F.proxy)!).root.get("upstream");
  if (up?.kind === "object") {
    for (const [name, v] of up.entries) {
      if (name !== "local") finding(F.proxy, `proxy upstream ${name}`, `upstream ${name} is not modelled: refused`, v.line);
      else if (v.kind === "object") for (const [k, w] of v.entries) if (k !== "default" && k !== "self_scan") finding(F.proxy, `proxy upstream local ${k}`, `upstream local ${k} is not modelled: refused`, w.line);
    }
  }
  return out;
}
