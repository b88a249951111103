import { parseIp, parseRange, contains, type AddrRange } from "./addr.js";

/*
 * HAProxy configuration as haproxy 2.6 parses it, and where a request lands in it.
 *
 * Parsing follows haproxy's own rules, not our renderer's layout: a line is words (quotes group,
 * `#` outside quotes starts a comment anywhere), a section keyword starts a section wherever it
 * is indented, `defaults` sections are inherited by the proxies after them (mode,
 * default_backend, rules do not inherit), several `acl` lines of one name are ORed.
 *
 * Only what the verifier models is accepted. A keyword that could change where a request goes
 * and is not modelled here (lua, set-path, use-server, a dynamic backend name, a Host rewrite,
 * patterns from a file...) is a problem with its line: the verifier fails rather than guess.
 *
 * `routeRequest` evaluates a request (TLS ClientHello SNI, Host, path, source address) through a
 * frontend the way haproxy does: tcp-request connection rules, tcp-request content rules,
 * http-request rules, then use_backend in order, then default_backend; then the backend's own
 * rules. The differential test (test/policies/haproxy-differential.test.ts) runs the real
 * haproxy on the same configs and checks that each request lands where this says.
 */

export interface HaproxyServer {
  readonly name: string;
  /** Host part: an IP or a name (a Docker network alias). */
  readonly host: string;
  readonly port: number;
  readonly options: string;
  readonly line: number;
}

export interface HaproxyBackend {
  readonly name: string;
  readonly line: number;
  readonly mode: "tcp" | "http";
  readonly servers: readonly HaproxyServer[];
  /** Backend-level rules that end the request before a server (`tcp-request content reject`, `http-request deny`). */
  readonly rules: readonly Rule[];
}

export interface HaproxyRoute {
  readonly frontend: string;
  readonly backend: string;
  /** `sni app.example.com`, `host app.example.com path /api`, `default`. */
  readonly condition: string;
  readonly line: number;
}

export interface HaproxyBind {
  readonly address: string;
  readonly port: number;
  readonly ssl: boolean;
  readonly line: number;
}

export interface HaproxyFrontend {
  readonly name: string;
  readonly binds: readonly HaproxyBind[];
  readonly mode: "tcp" | "http";
  readonly routes: readonly HaproxyRoute[];
  readonly line: number;
  /** Whether `tcp-request inspect-delay` lets content rules wait for the ClientHello. */
  readonly inspectDelay: boolean;
  readonly rules: readonly Rule[];
  /** `stats enable` with `stats uri` (haproxy answers that URI prefix itself). */
  readonly statsUri?: string;
}

export interface HaproxyProblem {
  readonly line: number;
  readonly message: string;
  readonly text: string;
}

export interface HaproxyConfig {
  readonly path: string;
  readonly frontends: readonly HaproxyFrontend[];
  readonly backends: readonly HaproxyBackend[];
  /** What this parser does not understand (or haproxy would refuse): each fails verification. */
  readonly problems: readonly HaproxyProblem[];
}

// ---------- conditions ----------

type Method = "str" | "beg" | "end" | "sub" | "dom" | "dir" | "found" | "ip" | "int";
type Fetch = "sni" | "fc_sni" | "host" | "path" | "src" | "hello_type" | "true" | "false";

type Converter = { readonly name: "field"; readonly n: number; readonly delims: string } | { readonly name: "lower" | "upper" };

interface Test {
  readonly fetch: Fetch;
  readonly converters: readonly Converter[];
  readonly method: Method;
  readonly icase: boolean;
  readonly patterns: readonly string[];
  readonly ranges: readonly AddrRange[];
  readonly text: string;
}

/** OR of ANDs of (possibly negated) tests. */
type Cond = readonly (readonly { readonly neg: boolean; readonly tests: readonly Test[] }[])[];

export interface Rule {
  readonly kind: "tcp-connection" | "tcp-content" | "http-request" | "use_backend" | "default_backend";
  /** accept, reject, expect-proxy, redirect, deny, use-service, return, tarpit, noop (set-var, set-header...), or the backend name. */
  readonly action: string;
  /** HTTP status haproxy answers with for deny/redirect/return. */
  readonly status?: number;
  readonly cond?: { readonly negate: boolean; readonly cond: Cond };
  readonly line: number;
  readonly text: string;
}

/** One request as a client sends it. */
export interface HaproxyRequest {
  /** Frontend port (the bind the client connects to). */
  readonly port: number;
  /** Socket source address. */
  readonly src: string;
  /** Whether the client starts with a PROXY protocol header (as the edge does toward the ingress). */
  readonly proxyHeader: boolean;
  /** SNI of the TLS ClientHello; null: a ClientHello without SNI; undefined: the client speaks no TLS first. */
  readonly sni?: string | null;
  /** HTTP Host header (undefined: none) and path; only for HTTP (or HTTPS on an ssl bind). */
  readonly host?: string;
  readonly path?: string;
}

/**
 * Where a request lands: a backend's server, refused (closed, reset, TLS or protocol error, a
 * 400), or an answer haproxy gives itself (a redirect, a deny, stats, 503 without a server).
 */
export type HaproxyOutcome = { readonly kind: "server"; readonly backend: string; readonly servers: readonly string[]; /** The use_backend/default_backend line that chose it. */ readonly line: number } | { readonly kind: "refused"; readonly why: string } | { readonly kind: "answer"; readonly status: number; readonly why: string };

export function outcomeText(o: HaproxyOutcome): string {
  return o.kind === "server" ? `server ${o.backend}/${[...o.servers].sort().join("|")}` : o.kind === "refused" ? "refused" : `answer ${o.status}`;
}

// ---------- tokenizer ----------

/** haproxy's word splitting: quotes group and are removed, `\` escapes, `#` outside quotes ends the line. */
function words(raw: string): { words: string[]; error?: string } {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | "" = "";
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (quote) {
      if (ch === quote) quote = "";
      else if (ch === "\\" && quote === '"' && i + 1 < raw.length) cur += raw[++i];
      else cur += ch;
      continue;
    }
    if (ch === "#") break;
    if (ch === " " || ch === "\t" || ch === "\r") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "\\" && i + 1 < raw.length) cur += raw[++i];
    else cur += ch;
  }
  if (quote) return { words: out, error: "unterminated quote" };
  if (inWord) out.push(cur);
  return { words: out };
}

const SECTIONS = new Set(["global", "defaults", "frontend", "backend", "listen", "resolvers", "userlist", "peers", "program", "mailers", "http-errors", "ring", "cache", "log-forward", "crt-store", "traces", "fcgi-app"]);
/** Sections whose contents cannot route a request; `program` runs a command and is refused. */
const INERT_SECTIONS = new Set(["resolvers", "userlist", "peers", "mailers", "http-errors", "ring", "cache"]);
/** global keywords that load code or run commands: not modelled. */
const GLOBAL_REFUSED = /^(lua-|external-check|insecure-fork-wanted|insecure-setuid-wanted|setenv|presetenv|resetenv|unsetenv|51degrees|wurfl|deviceatlas)/;

/** Proxy keywords with no effect on where a request goes (or on who may connect). */
const INERT_PROXY = new Set([
  "log", "log-format", "log-tag", "option", "no", "timeout", "maxconn", "fullconn", "balance", "retries", "errorfile", "errorfiles", "compression",
  "capture", "unique-id-format", "unique-id-header", "hash-type", "description", "id", "http-check", "default-server", "http-reuse", "rate-limit",
  "backlog", "retry-on", "email-alert", "monitor-uri", "errorloc", "errorloc302", "errorloc303", "http-error", "max-keep-alive-queue", "hash-balance-factor", "http-send-name-header",
]);
const NOOP_ACTIONS = new Set(["set-var", "unset-var", "set-log-level", "set-tos", "set-mark", "capture", "track-sc0", "track-sc1", "track-sc2", "sc-inc-gpc0", "sc-inc-gpc1", "set-priority-class", "set-priority-offset"]);
const HEADER_ACTIONS = new Set(["set-header", "add-header", "del-header", "replace-header", "replace-value"]);

const FETCHES: Record<string, { fetch: Fetch; method: Method }> = {
  "req.ssl_sni": { fetch: "sni", method: "str" },
  req_ssl_sni: { fetch: "sni", method: "str" },
  ssl_fc_sni: { fetch: "fc_sni", method: "str" },
  "hdr(host)": { fetch: "host", method: "str" },
  "req.hdr(host)": { fetch: "host", method: "str" },
  "hdr_beg(host)": { fetch: "host", method: "beg" },
  "hdr_end(host)": { fetch: "host", method: "end" },
  "hdr_dom(host)": { fetch: "host", method: "dom" },
  "hdr_sub(host)": { fetch: "host", method: "sub" },
  path: { fetch: "path", method: "str" },
  path_beg: { fetch: "path", method: "beg" },
  path_end: { fetch: "path", method: "end" },
  path_sub: { fetch: "path", method: "sub" },
  path_dir: { fetch: "path", method: "dir" },
  src: { fetch: "src", method: "ip" },
  "req.ssl_hello_type": { fetch: "hello_type", method: "int" },
  req_ssl_hello_type: { fetch: "hello_type", method: "int" },
};
const METHODS = new Set<Method>(["str", "beg", "end", "sub", "dom", "dir", "found"]);

class CondError extends Error {}

/** `a,b(c,d),e` -> [a, b(c,d), e]: commas inside parentheses belong to the argument. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** One test: `fetch[,conv...] [-i] [-m M] [--] patterns...` (a named acl's body or an anonymous one). */
function parseTest(ws: readonly string[]): Test {
  const text = ws.join(" ");
  const [head, ...rest] = ws;
  if (!head) throw new CondError("empty ACL");
  const [fetchName, ...convs] = splitTopLevel(head);
  const f = FETCHES[fetchName!.toLowerCase()];
  if (!f) throw new CondError(`fetch ${fetchName} is not modelled`);
  const converters = convs.map((c): Converter => {
    const field = /^field\((\d+),(.+)\)$/.exec(c);
    if (field) return { name: "field", n: Number(field[1]), delims: field[2]! };
    if (c === "lower" || c === "upper") return { name: c };
    throw new CondError(`converter ${c} is not modelled`);
  });
  let method = f.method;
  let icase = false;
  let i = 0;
  for (; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === "-i") icase = true;
    else if (w === "-n") continue;
    else if (w === "-m") {
      const m = rest[++i] as Method | undefined;
      if (!m || !METHODS.has(m)) throw new CondError(`match method -m ${m ?? ""} is not modelled`);
      method = m;
    } else if (w === "--") {
      i++;
      break;
    } else if (w.startsWith("-") && !/^-\d/.test(w)) throw new CondError(`ACL flag ${w} is not modelled (patterns from a file, a regex... are refused)`);
    else break;
  }
  const patterns = rest.slice(i);
  if (method !== "found" && patterns.length === 0) throw new CondError(`ACL ${head} has no pattern`);
  let ranges: AddrRange[] = [];
  if (f.fetch === "src") {
    if (convs.length || method !== "ip") throw new CondError("src with converters or a match method is not modelled");
    ranges = patterns.map((p) => {
      const r = parseRange(p);
      if (!r || p.includes("-")) throw new CondError(`src pattern ${p} is not an address or CIDR`);
      return r;
    });
  }
  if (f.fetch === "hello_type" && (method !== "int" || patterns.some((p) => !/^\d+$/.test(p)))) throw new CondError("req.ssl_hello_type takes integer patterns");
  return { fetch: f.fetch, converters, method, icase, patterns, ranges, text };
}

/** A condition after `if`/`unless`: `a b || !c { fetch pat }`; named ACLs from `acls`. */
function parseCond(ws: readonly string[], acls: ReadonlyMap<string, Test[]>): Cond {
  const groups: { neg: boolean; tests: Test[] }[][] = [[]];
  for (let i = 0; i < ws.length; i++) {
    let w = ws[i]!;
    if (w === "||" || w.toLowerCase() === "or") {
      if (groups[groups.length - 1]!.length === 0) throw new CondError("`||` without a term before it");
      groups.push([]);
      continue;
    }
    let neg = false;
    while (w.startsWith("!")) {
      neg = !neg;
      w = w.slice(1);
      if (w === "") {
        w = ws[++i] ?? "";
        if (w === "") throw new CondError("`!` without a term");
      }
    }
    if (w === "{") {
      const end = ws.indexOf("}", i + 1);
      if (end < 0) throw new CondError("unbalanced `{` in the condition");
      groups[groups.length - 1]!.push({ neg, tests: [parseTest(ws.slice(i + 1, end))] });
      i = end;
      continue;
    }
    if (w === "}" || w.includes("{") || w.includes("}")) throw new CondError(`unbalanced or unspaced brace in ${w}`);
    if (w === "TRUE" || w === "FALSE") {
      groups[groups.length - 1]!.push({ neg, tests: [{ fetch: w === "TRUE" ? "true" : "false", converters: [], method: "found", icase: false, patterns: [], ranges: [], text: w }] });
      continue;
    }
    const named = acls.get(w);
    if (!named) throw new CondError(`ACL ${w} is not declared before this line (or is a predefined ACL this verifier does not model)`);
    groups[groups.length - 1]!.push({ neg, tests: named });
  }
  if (groups[groups.length - 1]!.length === 0) throw new CondError(groups.length > 1 ? "`||` without a term after it" : "empty condition");
  return groups;
}

// ---------- parser ----------

interface ProxyDraft {
  kind: "frontend" | "backend" | "listen" | "defaults";
  name: string;
  line: number;
  mode: "tcp" | "http";
  binds: HaproxyBind[];
  servers: HaproxyServer[];
  acls: Map<string, Test[]>;
  rules: Rule[];
  inspectDelay: boolean;
  statsEnabled: boolean;
  statsUri?: string;
  defaultBackend?: { name: string; line: number; text: string };
}

function parseBindAddress(text: string): { address: string; ports: number[] } | string {
  const m = /^(?:ipv4@|ipv6@)?(\[[^\]]*\]|[^\]:]*|[0-9a-fA-F:]*::?[0-9a-fA-F.]*):(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return `bind address ${text} is not an address:port this verifier models (unix sockets, abns@, fd@ are refused)`;
  const address = m[1]!.replace(/^\[|\]$/g, "");
  if (address && address !== "*" && !parseIp(address)) return `bind address ${address} is not an IP address`;
  const lo = Number(m[2]);
  const hi = m[3] ? Number(m[3]) : lo;
  if (lo < 1 || hi > 65535 || hi < lo) return `bind port ${m[2]}${m[3] ? `-${m[3]}` : ""} is out of range`;
  if (hi - lo > 1024) return `bind port range ${lo}-${hi} is wider than this verifier enumerates`;
  const ports: number[] = [];
  for (let p = lo; p <= hi; p++) ports.push(p);
  return { address: address === "" || address === "*" || address === "0.0.0.0" || address === "::" ? "*" : address, ports };
}

export function parseHaproxy(path: string, text: string): HaproxyConfig {
  const problems: HaproxyProblem[] = [];
  const proxies: ProxyDraft[] = [];
  const defaults = new Map<string, ProxyDraft>();
  let lastDefaults: ProxyDraft | undefined;
  let section: { kind: string; proxy?: ProxyDraft } | undefined;

  text.split("\n").forEach((raw, idx) => {
    const n = idx + 1;
    const problem = (message: string) => problems.push({ line: n, message, text: raw.trim() });
    const tok = words(raw);
    if (tok.error) return problem(tok.error);
    const ws = tok.words;
    if (ws.length === 0) return;
    const kw = ws[0]!;
    if (ws.some((w) => w.includes("${"))) return problem("environment variable expansion is not modelled");

    if (SECTIONS.has(kw)) {
      if (kw === "program" || kw === "log-forward" || kw === "crt-store" || kw === "traces" || kw === "fcgi-app") {
        problem(`section ${kw} is not modelled`);
        section = { kind: "refused" };
        return;
      }
      if (kw === "global" || INERT_SECTIONS.has(kw)) {
        section = { kind: kw };
        return;
      }
      const kind = kw as ProxyDraft["kind"];
      const name = ws[1] ?? "";
      if (kind !== "defaults" && !name) return problem(`${kind} without a name`);
      let from = lastDefaults;
      const fromAt = ws.indexOf("from");
      if (fromAt > 0) {
        from = defaults.get(ws[fromAt + 1] ?? "");
        if (!from) return problem(`${kind} ${name} inherits from defaults ${ws[fromAt + 1] ?? ""}, which is not declared before it`);
      } else if (ws.length > 2 || (kind === "defaults" && ws.length > 2)) return problem(`unexpected words after the ${kind} name`);
      if (kind !== "defaults" && proxies.some((p) => p.name === name && (p.kind === kind || p.kind === "listen" || kind === "listen"))) problem(`${kind} ${name} is declared twice (haproxy refuses this)`);
      const draft: ProxyDraft = {
        kind,
        name: name || "(defaults)",
        line: n,
        mode: from?.mode ?? "tcp",
        binds: [],
        servers: [],
        acls: new Map(),
        rules: [],
        inspectDelay: from?.inspectDelay ?? false,
        statsEnabled: false,
        defaultBackend: kind === "backend" ? undefined : from?.defaultBackend,
      };
      if (kind === "defaults") {
        lastDefaults = draft;
        if (name) defaults.set(name, draft);
      } else proxies.push(draft);
      section = { kind, proxy: draft };
      return;
    }

    if (!section) return problem(`${kw} outside any section`);
    if (section.kind === "refused" || INERT_SECTIONS.has(section.kind)) return;
    if (section.kind === "global") {
      if (GLOBAL_REFUSED.test(kw)) problem(`global ${kw} is not modelled (it loads code or runs commands)`);
      // The runtime API reconfigures the proxy after verification (servers, maps, ACLs): a local socket only.
      if (kw === "stats" && ws[1] === "socket" && (ws[2] === undefined || /^(ipv4|ipv6|tcp4?6?|udp4?6?|quic4?6?|sockpair|fd)@|:/i.test(ws[2]))) problem(`global stats socket ${ws[2] ?? ""} listens on a network address, not a local UNIX socket: its runtime API changes servers, maps and ACLs after verification`);
      return;
    }
    const p = section.proxy!;
    const isFront = p.kind === "frontend" || p.kind === "listen" || p.kind === "defaults";
    const isBack = p.kind === "backend" || p.kind === "listen" || p.kind === "defaults";
    const line = raw.trim();

    const condOf = (rest: readonly string[]): Rule["cond"] | "error" | undefined => {
      const at = rest.findIndex((w) => w === "if" || w === "unless");
      if (at < 0) return undefined;
      try {
        return { negate: rest[at] === "unless", cond: parseCond(rest.slice(at + 1), p.acls) };
      } catch (e) {
        if (e instanceof CondError) {
          problem(e.message);
          return "error";
        }
        throw e;
      }
    };
    const beforeCond = (rest: readonly string[]) => {
      const at = rest.findIndex((w) => w === "if" || w === "unless");
      return at < 0 ? rest : rest.slice(0, at);
    };
    const addRule = (kind: Rule["kind"], action: string, rest: readonly string[], status?: number) => {
      const cond = condOf(rest);
      if (cond === "error") return;
      p.rules.push({ kind, action, ...(status ? { status } : {}), ...(cond ? { cond } : {}), line: n, text: line });
    };

    switch (kw) {
      case "mode": {
        const m = ws[1];
        if (m !== "tcp" && m !== "http") return problem(`mode ${m ?? ""} is not modelled`);
        p.mode = m;
        return;
      }
      case "bind": {
        if (!isFront || p.kind === "defaults") return problem("bind outside a frontend or listen section");
        const opts = ws.slice(2);
        const refused = opts.find((o) => ["transparent", "accept-proxy", "namespace", "interface", "v4v6", "v6only", "quic-cc-algo"].includes(o));
        if (refused) return problem(`bind option ${refused} is not modelled`);
        for (const a of (ws[1] ?? "").split(",")) {
          const b = parseBindAddress(a);
          if (typeof b === "string") return problem(b);
          for (const port of b.ports) p.binds.push({ address: b.address, port, ssl: opts.includes("ssl"), line: n });
        }
        return;
      }
      case "acl": {
        if (!isFront || p.kind === "defaults") return problem("acl outside a frontend or listen section is not modelled");
        const name = ws[1];
        if (!name || !/^[A-Za-z0-9_.:-]+$/.test(name)) return problem(`acl name ${name ?? ""} is not valid`);
        try {
          const t = parseTest(ws.slice(2));
          p.acls.set(name, [...(p.acls.get(name) ?? []), t]);
        } catch (e) {
          if (e instanceof CondError) return problem(e.message);
          throw e;
        }
        return;
      }
      case "use_backend": {
        if (!isFront || p.kind === "defaults") return problem("use_backend outside a frontend or listen section");
        const be = ws[1] ?? "";
        if (!be || be.includes("%[") || be === "if" || be === "unless") return problem(`use_backend ${be}: a dynamic or missing backend name is not modelled`);
        if (ws.length > 2 && ws[2] !== "if" && ws[2] !== "unless") return problem("use_backend takes a backend name and an optional if/unless condition");
        addRule("use_backend", be, ws.slice(2));
        return;
      }
      case "default_backend": {
        if (p.kind === "backend") return problem("default_backend in a backend section");
        const be = ws[1] ?? "";
        if (!be || be.includes("%[") || ws.length !== 2) return problem("default_backend takes exactly one static backend name");
        p.defaultBackend = { name: be, line: n, text: line };
        return;
      }
      case "server": {
        if (!isBack || p.kind === "defaults") return problem("server outside a backend or listen section");
        const name = ws[1];
        const addr = ws[2] ?? "";
        const m = /^(?:ipv4@|ipv6@)?(\[[^\]]+\]|[^:\s[\]]+):(\d+)$/.exec(addr);
        if (!name || !m) return problem(`server address ${addr} is not host:port (a server without a port, a port offset or a unix socket is not modelled)`);
        const host = m[1]!.replace(/^\[|\]$/g, "");
        if (host === "0.0.0.0" || host === "::" || host === "*") return problem("a transparent server (0.0.0.0) sends each request wherever the client asked: not modelled");
        const opts = ws.slice(3);
        const refused = opts.find((o) => ["redir", "source", "usesrc", "namespace", "socks4", "resolvers", "init-addr"].includes(o));
        if (refused) return problem(`server option ${refused} is not modelled`);
        p.servers.push({ name, host, port: Number(m[2]), options: opts.join(" "), line: n });
        return;
      }
      case "tcp-request": {
        const where = ws[1];
        const action = ws[2] ?? "";
        if (where === "inspect-delay") {
          p.inspectDelay = !/^0+(ms|s)?$/.test(ws[2] ?? "0");
          return;
        }
        if (where === "connection" || where === "session") {
          if (action === "expect-proxy" && ws[3] === "layer4" && where === "connection") return addRule("tcp-connection", "expect-proxy", ws.slice(4));
          if (action === "accept" || action === "reject") return addRule("tcp-connection", action, ws.slice(3));
          if (NOOP_ACTIONS.has(action.replace(/\(.*$/, ""))) return addRule("tcp-connection", "noop", ws.slice(3));
          return problem(`tcp-request ${where} ${action} is not modelled`);
        }
        if (where === "content") {
          if (action === "accept" || action === "reject") return addRule("tcp-content", action, ws.slice(3));
          if (NOOP_ACTIONS.has(action.replace(/\(.*$/, ""))) {
            // `set-var(x) <expr> [if cond]`: the expression is not a condition.
            const rest = ws.slice(3);
            return addRule("tcp-content", "noop", rest.slice(rest.findIndex((w) => w === "if" || w === "unless") >= 0 ? rest.findIndex((w) => w === "if" || w === "unless") : rest.length));
          }
          return problem(`tcp-request content ${action} is not modelled`);
        }
        return problem(`tcp-request ${where ?? ""} is not modelled`);
      }
      case "http-request": {
        const action = ws[1] ?? "";
        const base = action.replace(/\(.*$/, "");
        const rest = ws.slice(2);
        if (base === "redirect") {
          const code = rest[rest.indexOf("code") + 1];
          return addRule("http-request", "redirect", rest, rest.includes("code") ? Number(code) : 302);
        }
        if (base === "deny" || base === "tarpit") {
          const s = rest.includes("deny_status") ? Number(rest[rest.indexOf("deny_status") + 1]) : base === "tarpit" ? 500 : 403;
          return addRule("http-request", "deny", rest, s);
        }
        if (base === "return") return addRule("http-request", "return", rest, rest.includes("status") ? Number(rest[rest.indexOf("status") + 1]) : 200);
        if (base === "reject" || base === "silent-drop") return addRule("http-request", "reject", rest);
        if (base === "allow") return addRule("http-request", "allow", rest);
        if (base === "use-service") {
          if (rest[0] !== "prometheus-exporter") return problem(`http-request use-service ${rest[0] ?? ""} is not modelled`);
          return addRule("http-request", "use-service", rest.slice(1), 200);
        }
        if (HEADER_ACTIONS.has(base)) {
          if ((rest[0] ?? "").toLowerCase() === "host") return problem(`http-request ${base} Host rewrites the Host the routing rules read: not modelled`);
          return addRule("http-request", "noop", rest.slice(1));
        }
        if (NOOP_ACTIONS.has(base)) {
          const at = rest.findIndex((w) => w === "if" || w === "unless");
          return addRule("http-request", "noop", at >= 0 ? rest.slice(at) : []);
        }
        return problem(`http-request ${action} is not modelled (it could change what the routing rules read)`);
      }
      case "http-response":
      case "tcp-response": {
        const action = (ws[1] ?? "").replace(/\(.*$/, "");
        if (kw === "http-response" && (HEADER_ACTIONS.has(action) || NOOP_ACTIONS.has(action) || action === "allow" || action === "deny")) return;
        if (kw === "tcp-response" && ws[1] === "inspect-delay") return;
        return problem(`${kw} ${ws[1] ?? ""} is not modelled`);
      }
      case "stats": {
        if (ws[1] === "enable") p.statsEnabled = true;
        else if (ws[1] === "uri") p.statsUri = ws[2];
        else if (!["refresh", "realm", "auth", "hide-version", "show-legends", "show-node", "show-desc", "admin", "scope", "socket", "timeout", "maxconn", "bind-process"].includes(ws[1] ?? "")) return problem(`stats ${ws[1] ?? ""} is not modelled`);
        if (ws[1] === "admin" || ws[1] === "auth") return problem(`stats ${ws[1]} is not modelled`);
        return;
      }
      default:
        if (INERT_PROXY.has(kw)) {
          if (kw === "option" && ["transparent", "http_proxy", "http-use-proxy-header", "external-check"].includes(ws[1] ?? "")) return problem(`option ${ws[1]} is not modelled (it routes by what the client asks)`);
          return;
        }
        if (kw === "enabled" || kw === "disabled") {
          if (kw === "disabled") problem("a disabled proxy is not modelled");
          return;
        }
        return problem(`keyword ${kw} is not modelled in a ${p.kind} section`);
    }
  });

  const backendNames = new Set(proxies.filter((p) => p.kind === "backend" || p.kind === "listen").map((p) => p.name));
  const frontends: HaproxyFrontend[] = [];
  const backends: HaproxyBackend[] = [];
  for (const p of proxies) {
    if (p.kind === "backend" || p.kind === "listen") {
      backends.push({ name: p.name, line: p.line, mode: p.mode, servers: p.servers, rules: p.rules.filter((r) => r.kind === "tcp-content" || r.kind === "http-request") });
    }
    if (p.kind === "frontend" || p.kind === "listen") {
      const rules = [...p.rules];
      if (p.defaultBackend) rules.push({ kind: "default_backend", action: p.defaultBackend.name, line: p.defaultBackend.line, text: p.defaultBackend.text });
      for (const r of rules) {
        if ((r.kind === "use_backend" || r.kind === "default_backend") && !backendNames.has(r.action)) problems.push({ line: r.line, message: `backend ${r.action} is not declared (haproxy refuses this)`, text: r.text });
        if (r.cond) {
          for (const g of r.cond.cond) {
            for (const t of g.flatMap((x) => x.tests)) {
              if (t.fetch === "sni" && (p.mode !== "tcp" || !p.inspectDelay)) problems.push({ line: r.line, message: `${t.text}: req.ssl_sni is only read reliably in a tcp frontend with tcp-request inspect-delay`, text: r.text });
              if (t.fetch === "host" && p.mode !== "http") problems.push({ line: r.line, message: `${t.text}: the Host header is not parsed in a tcp frontend`, text: r.text });
              if (t.fetch === "path" && p.mode !== "http") problems.push({ line: r.line, message: `${t.text}: the path is not parsed in a tcp frontend`, text: r.text });
              if (t.fetch === "src" && r.kind !== "tcp-connection") problems.push({ line: r.line, message: `${t.text}: src outside tcp-request connection rules (after a PROXY header it is the client's address) is not modelled`, text: r.text });
            }
          }
        }
      }
      for (const r of rules) {
        const be = proxies.find((x) => (x.kind === "backend" || x.kind === "listen") && x.name === r.action);
        if ((r.kind === "use_backend" || r.kind === "default_backend") && be && be.mode !== p.mode && p.mode === "http") problems.push({ line: r.line, message: `backend ${be.name} is mode ${be.mode} and frontend ${p.name} mode http (haproxy refuses this)`, text: r.text });
      }
      if (p.mode === "tcp" && rules.some((r) => r.kind === "http-request")) problems.push({ line: p.line, message: `frontend ${p.name} is mode tcp: its http-request rules never run; not modelled`, text: `frontend ${p.name}` });
      const routes: HaproxyRoute[] = rules
        .filter((r) => r.kind === "use_backend" || r.kind === "default_backend")
        .map((r) => ({ frontend: p.name, backend: r.action, condition: r.kind === "default_backend" ? "default" : r.cond ? `${r.cond.negate ? "unless " : ""}${describeCond(r.cond.cond)}` : "always", line: r.line }));
      // A listen section with servers and no route sends everything to its own servers.
      if (p.kind === "listen" && routes.length === 0 && p.servers.length) {
        routes.push({ frontend: p.name, backend: p.name, condition: "always", line: p.line });
        rules.push({ kind: "default_backend", action: p.name, line: p.line, text: `listen ${p.name}` });
      }
      if (p.binds.length === 0) problems.push({ line: p.line, message: `${p.kind} ${p.name} has no bind line (haproxy refuses this)`, text: `${p.kind} ${p.name}` });
      frontends.push({ name: p.name, binds: p.binds, mode: p.mode, routes, line: p.line, inspectDelay: p.inspectDelay, rules, ...(p.statsEnabled && p.statsUri ? { statsUri: p.statsUri } : {}) });
    }
  }
  return { path, frontends, backends, problems };
}

/** Route conditions in the report's words: `sni a.example.com`, `host a.example.com path /api`. */
function describeCond(cond: Cond): string {
  const term = (t: Test): string => {
    const what = t.fetch === "sni" || t.fetch === "fc_sni" ? "sni" : t.fetch === "host" ? "host" : t.fetch === "path" ? (t.method === "beg" ? "path_beg" : "path") : t.fetch;
    return `${what} ${t.patterns.join(" ")}`.trim();
  };
  return cond.map((g) => g.map((x) => `${x.neg ? "not " : ""}${x.tests.map(term).join(" or ")}`).join(" ")).join(" || ");
}

// ---------- evaluation ----------

function convert(t: Test, input: string): string {
  let v = input;
  for (const c of t.converters) {
    if (c.name === "lower") v = v.toLowerCase();
    else if (c.name === "upper") v = v.toUpperCase();
    else if (c.name === "field") {
      const parts = v.split(new RegExp(`[${c.delims.replace(/[\\\]^-]/g, "\\$&")}]`));
      v = parts[c.n - 1] ?? "";
    }
  }
  return v;
}

/**
 * haproxy's match_word (`-m dom`: delimiters `/ ? . :`; `-m dir`: `/ ?`): the pattern, without its
 * leading and trailing delimiters, is found starting at the input's start or after a delimiter,
 * and ending at its end or before a delimiter.
 */
function delimited(input: string, pat0: string, delims: string): boolean {
  let pat = pat0;
  while (pat && delims.includes(pat[0]!)) pat = pat.slice(1);
  while (pat && delims.includes(pat[pat.length - 1]!)) pat = pat.slice(0, -1);
  if (pat.length > input.length) return false;
  let mayMatch = true;
  for (let c = 0; c <= input.length - pat.length; c++) {
    if (delims.includes(input[c]!)) {
      mayMatch = true;
      continue;
    }
    if (!mayMatch) continue;
    if (input.startsWith(pat, c) && (c + pat.length === input.length || delims.includes(input[c + pat.length]!))) return true;
    mayMatch = false;
  }
  return false;
}

function matchTest(t: Test, req: HaproxyRequest, stage: Rule["kind"]): boolean {
  if (t.fetch === "true") return true;
  if (t.fetch === "false") return false;
  if (t.fetch === "src") {
    const ip = parseIp(req.src);
    return !!ip && t.ranges.some((r) => contains(r, ip.v, ip.n));
  }
  if (t.fetch === "hello_type") return req.sni !== undefined && stage !== "tcp-connection" && t.patterns.includes("1");
  let raw: string | undefined;
  if (t.fetch === "sni") raw = stage === "tcp-connection" ? undefined : (req.sni ?? undefined);
  else if (t.fetch === "fc_sni") raw = req.sni ?? undefined;
  else if (t.fetch === "host") raw = req.host;
  else raw = req.path?.split("?")[0]; // `path` stops before the query string
  if (raw === undefined) return false;
  const v = convert(t, raw);
  if (t.method === "found") return true;
  const norm = (s: string) => (t.icase ? s.toLowerCase() : s);
  const input = norm(v);
  return t.patterns.some((p0) => {
    const p = norm(p0);
    switch (t.method) {
      case "str":
        return input === p;
      case "beg":
        return input.startsWith(p);
      case "end":
        return input.endsWith(p);
      case "sub":
        return input.includes(p);
      case "dom":
        return delimited(input, p, "/?.:");
      case "dir":
        return delimited(input, p, "/?");
      default:
        return false;
    }
  });
}

function holds(rule: Rule, req: HaproxyRequest): boolean {
  if (!rule.cond) return true;
  const v = rule.cond.cond.some((g) => g.every((x) => x.tests.some((t) => matchTest(t, req, rule.kind)) !== x.neg));
  return rule.cond.negate ? !v : v;
}

/** The frontend a request to `port` reaches (the first one binding it, as the kernel picks one listener per address and port). */
export function frontendFor(cfg: HaproxyConfig, port: number): HaproxyFrontend | undefined {
  return cfg.frontends.find((f) => f.binds.some((b) => b.port === port));
}

/** Where one request lands in one frontend (see the file comment for the order haproxy applies). */
export function routeRequest(cfg: HaproxyConfig, fe: HaproxyFrontend, req: HaproxyRequest): HaproxyOutcome {
  const refused = (why: string): HaproxyOutcome => ({ kind: "refused", why });
  const bind = fe.binds.find((b) => b.port === req.port);
  let expectProxy = false;
  for (const r of fe.rules.filter((x) => x.kind === "tcp-connection")) {
    if (!holds(r, req)) continue;
    if (r.action === "reject") return refused(`line ${r.line}: tcp-request connection reject`);
    if (r.action === "accept") break;
    if (r.action === "expect-proxy") expectProxy = true;
  }
  if (expectProxy && !req.proxyHeader) return refused("a PROXY header is expected and the client sent none");
  if (!expectProxy && req.proxyHeader) {
    // The header's bytes are the start of the stream: HTTP answers 400, TLS fails, and a tcp
    // frontend sees data that is no ClientHello (no SNI) once its inspect-delay expires.
    if (fe.mode === "http" || fe.binds.find((b) => b.port === req.port)?.ssl) return refused("the client's PROXY header is not expected: a protocol error");
    return routeRequest(cfg, fe, { ...req, proxyHeader: false, sni: undefined, host: undefined, path: undefined });
  }
  const tls = req.sni !== undefined;
  if (bind?.ssl && !tls) return refused("a TLS bind and a client that speaks no TLS");
  const http = fe.mode === "http";
  if (http && tls && !bind?.ssl) return refused("a ClientHello sent to an HTTP frontend: 400");
  if (http && (req.path === undefined || req.host === undefined)) return refused("no HTTP request");
  for (const r of fe.rules.filter((x) => x.kind === "tcp-content")) {
    if (!holds(r, req)) continue;
    if (r.action === "reject") return refused(`line ${r.line}: tcp-request content reject`);
    if (r.action === "accept") break;
  }
  if (http) {
    for (const r of fe.rules.filter((x) => x.kind === "http-request")) {
      if (!holds(r, req)) continue;
      if (r.action === "noop") continue;
      if (r.action === "allow") break;
      if (r.action === "reject") return refused(`line ${r.line}: http-request reject`);
      return { kind: "answer", status: r.status ?? 200, why: `line ${r.line}: http-request ${r.action}` };
    }
    if (fe.statsUri && req.path!.startsWith(fe.statsUri)) return { kind: "answer", status: 200, why: "stats page" };
  }
  const chosen = fe.rules.find((r) => (r.kind === "use_backend" && holds(r, req)) || r.kind === "default_backend");
  if (!chosen) return http ? { kind: "answer", status: 503, why: "no backend: 503" } : refused("no backend");
  const be = cfg.backends.find((b) => b.name === chosen.action);
  if (!be) return refused(`backend ${chosen.action} is not declared`);
  if (be.mode !== fe.mode) return refused(`backend ${be.name} is mode ${be.mode}, the frontend mode ${fe.mode}`);
  for (const r of be.rules) {
    if (!holds(r, req)) continue;
    if (r.kind === "tcp-content") {
      if (r.action === "reject") return refused(`backend ${be.name} line ${r.line}: tcp-request content reject`);
      if (r.action === "accept") break;
      continue;
    }
    if (!http || r.action === "noop") continue;
    if (r.action === "allow") break;
    if (r.action === "reject") return refused(`backend ${be.name} line ${r.line}: http-request reject`);
    return { kind: "answer", status: r.status ?? 200, why: `backend ${be.name} line ${r.line}: http-request ${r.action}` };
  }
  if (be.servers.length === 0) return http ? { kind: "answer", status: 503, why: `backend ${be.name} has no server` } : refused(`backend ${be.name} has no server`);
  return { kind: "server", backend: be.name, servers: be.servers.map((s) => s.name), line: chosen.line };
}
