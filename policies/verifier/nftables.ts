import { formatIp, fullRange, ipSpec, parseRange, specMatches, specText, type AddrRange, type AddrSpec } from "./addr.js";

/*
 * An nftables ruleset parser and evaluator, for the subset real host firewalls use: tables of
 * family inet/ip/ip6, base chains with hook/priority/policy, regular chains (jump/goto/return),
 * named and anonymous sets, `define`s, iif/oif(name), saddr/daddr, l4proto, dport/sport, ct
 * state/status, fib daddr type local, inline vmaps on one field (port, protocol, interface, ct
 * state; not on addresses or named maps: those are problems), limit/meter, log/counter/comment.
 *
 * Semantics chosen where a static evaluator must choose, stated once:
 * - the packet is the first packet of a new connection: `ct state new` matches (`invalid` in a
 *   prerouting or output chain below priority -200, before conntrack attaches an entry), established,
 *   related and invalid do not; `ct status dnat` matches only after a Docker port publication;
 * - `limit rate N` and meters match (the attacker stays under the rate), `limit rate over N` does not;
 * - source ports are the sender's to choose: `sport` matches (a `sport 53 accept` opens everything);
 * - dynamic sets without elements (ban sets filled at run time) are empty, unless the packet says
 *   its source is in them (`inSets`: the IPS ban check);
 * - the file is applied as nft applies it, command by command: `flush ruleset`, `delete`/`destroy`
 *   and `flush` of tables and chains, `add`/`insert rule`, `add element`; `include` is not
 *   followed (a finding); base chains run per hook by priority, then creation order;
 * - anything else is not guessed: the rule is reported as unsupported (a finding) and skipped.
 */

/**
 * What the nftables differential test (scripts/nft-fuzz, `npm run fuzz:nft`; a few thousand cases
 * in the suite) checks against the kernel: generated rulesets loaded with nft -f in a network
 * namespace, packets sent through them, the evaluator's verdict equal to the kernel's on each.
 */
export const NFT_PROVEN_SEMANTICS: readonly string[] = [
  "several tables (ip, ip6, inet) and base chains on one hook: a drop in any drops, an accept passes on to the next base chain",
  "base chain priorities (numbers and raw/mangle/filter/security names with offsets), equal priorities in creation order",
  "chain policies accept and drop; regular chains with jump, goto, return and continue",
  "top-level commands in order: flush ruleset, table re-declaration, delete table, add rule, insert rule, flush chain, add element",
  "named and anonymous sets of addresses, ranges (a-b), CIDRs and ports, including sets filled after the rules that use them",
  "negated matches (!=) on addresses, ports, protocols, interfaces and ct state",
  "ip/ip6 saddr and daddr, tcp/udp/th dport, meta l4proto, meta nfproto, meta protocol (the ethertype), ip protocol",
  "verdict maps on tcp/udp/th dport (ports and ranges), meta l4proto, ip protocol, ip6 nexthdr, iifname, oifname and ct state: the entry the field selects is the rule's verdict, no entry and the rule does not apply",
  "ct state of a connection's first packet (new; invalid before conntrack, below priority -200 in prerouting)",
  "iifname and oifname, exact and wildcard",
  "dnat (to an address and port, to this host), redirect and masquerade in nat chains at their priorities, and the route the translated packet then takes (input or forward)",
  "several nat chains on one hook: the first that translates a connection binds it, the later ones are not run for it",
];

export type Hook = "prerouting" | "input" | "forward" | "output" | "postrouting";

export interface Iface {
  /** Known interface name (`wg0`, `br-data`, `lo`), or absent when only the role is known. */
  readonly name?: string;
  /** `external`: the public/uplink interface whose name the verifier does not assume. */
  readonly role: "loopback" | "tunnel" | "bridge" | "external";
}

export interface Packet {
  readonly family: 4 | 6;
  readonly saddr: AddrSpec;
  readonly daddr: AddrSpec;
  readonly proto: "tcp" | "udp";
  readonly dport: number;
  readonly iif?: Iface;
  readonly oif?: Iface;
  /** True after Docker's DNAT of a published port (`ct status dnat`). */
  readonly dnat?: boolean;
  /** The address a `redirect` sends the packet to (the incoming interface's), and a `masquerade` takes (the outgoing's). */
  readonly iifAddr?: AddrSpec;
  readonly oifAddr?: AddrSpec;
  /** True after a `redirect`: the packet is for this host. */
  readonly redirected?: boolean;
  /** Names of the dynamic sets the source address is in (an IPS ban set, for the ban check). */
  readonly inSets?: readonly string[];
}

export interface NftVerdict {
  readonly verdict: "accept" | "drop";
  /** What decided it: `table inet palisade_cloud chain forward rule (line 42): tcp dport 5432 accept` or `… policy drop`. */
  readonly construct: string;
  readonly line: number;
}

export interface NftProblem {
  readonly line: number;
  readonly text: string;
  readonly message: string;
}

type Verdict = { kind: "accept" | "drop" | "return" | "continue" | "jump" | "goto"; target?: string };
/** `prio`: the base chain's priority (conntrack attaches state at -200 in prerouting and output). */
type Matcher = ((p: Packet, hook: Hook, prio: number) => boolean) & {
  /** The address a match compares (its outcome depends on it, and on nothing else but the family and the sets the source is in). */
  readonly reads?: "saddr" | "daddr" | "dport";
};

/** A match on an address, marked as such (prunedCuts skips it on a symbolic address). */
function readsAddr(which: "saddr" | "daddr", m: (p: Packet, hook: Hook, prio: number) => boolean): Matcher {
  return Object.assign(m, { reads: which });
}

/**
 * The ct state of the first packet: `new` once conntrack has seen it; before that (a chain at
 * priority below -200 in prerouting or output, `raw`), no entry is attached and nft reads `invalid`.
 */
function ctState(hook: Hook, prio: number): string {
  return (hook === "prerouting" || hook === "output") && prio < -200 ? "invalid" : "new";
}

interface Rule {
  readonly line: number;
  readonly text: string;
  readonly matchers: Matcher[];
  readonly verdict?: Verdict;
  /** `reads`: the packet's field the selection depends on (besides the hook and priority, for ct state). */
  readonly vmap?: { select: (p: Packet, hook: Hook, prio: number) => string[]; entries: Map<string, Verdict>; reads?: "dport" | "proto" | "iif" | "oif" };
  /** `limit rate over`: never matches a well-behaved sender. */
  readonly never?: boolean;
  /** Source NAT in a nat chain: `masquerade` or the address of `snat [ip] to A`. */
  readonly snat?: string;
  /** Address translation in a nat chain. */
  readonly nat?: { readonly kind: "dnat" | "redirect" | "snat" | "masquerade"; readonly addr?: string; readonly port?: number };
  /** The address and port values the rule compares with: the boundaries of the packet classes it tells apart. */
  readonly addrRefs: readonly { readonly which: "saddr" | "daddr"; readonly get: () => readonly AddrRange[] }[];
  readonly portRefs: readonly (() => readonly (readonly [number, number])[])[];
  /** Exact destination addresses the rule requires (`ip daddr A` / `{ A, B }`), for the chain's index. */
  readonly daddrKeys?: readonly string[];
  /** Interface names the rule requires (`iifname "br-x"` / `{ "a", "b" }`, no wildcard, not negated): it matches no packet on another named interface, nor one without that interface. */
  readonly ifaceKeys?: { readonly iif?: readonly string[]; readonly oif?: readonly string[] };
}

interface Chain {
  /** Rule indices by exact destination address, built on first use; `rest` holds the others. */
  index?: { byDaddr: Map<string, number[]>; rest: number[] };
  readonly name: string;
  readonly table: string;
  readonly family: string;
  readonly line: number;
  /** Creation order: base chains of equal priority run in the order the kernel registered them. */
  readonly seq: number;
  hook?: Hook;
  type?: string;
  priority: number;
  policy: "accept" | "drop";
  /** Line of the `policy` statement, cited for a verdict the policy decides. @default the chain's line */
  policyLine?: number;
  readonly rules: Rule[];
}

interface NamedSet {
  readonly name: string;
  /** `family/table/name`. */
  readonly key: string;
  readonly elements: string[];
  readonly flags: string[];
}

const FAMILIES = ["ip", "ip6", "inet", "arp", "bridge", "netdev"];
const HOOKS: readonly Hook[] = ["prerouting", "input", "forward", "output", "postrouting"];

export interface Ruleset {
  readonly path: string;
  readonly tables: readonly { readonly family: string; readonly name: string }[];
  readonly chains: readonly Chain[];
  readonly problems: readonly NftProblem[];
  readonly sets: readonly NamedSet[];
  /** Line of the last command that removed rules or chains (flush, delete, destroy): what a verdict of "no chain" owes to. */
  readonly lastRemoval?: number;
}

// ---------- tokenizer ----------

interface Tok {
  readonly t: string;
  readonly line: number;
}

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\\" && text[i + 1] === "\n") {
      i += 2;
      line++;
      continue;
    }
    if (c === "\n") {
      out.push({ t: "\n", line });
      line++;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j++;
      out.push({ t: text.slice(i, j + 1), line });
      i = j + 1;
      continue;
    }
    if ("{};,".includes(c)) {
      out.push({ t: c, line });
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && !" \t\r\n{};,#\"".includes(text[j]!)) j++;
    out.push({ t: text.slice(i, j), line });
    i = j;
  }
  return out;
}

/** A value: a word, or a brace group of elements (each element a list of words: `22 : accept`). */
type Val = { word: string } | { group: string[][] };

const PRIORITIES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

const SERVICES: Record<string, number> = {
  ssh: 22, smtp: 25, domain: 53, http: 80, https: 443, submissions: 465, smtps: 465, submission: 587, imaps: 993, imap: 143,
  pop3: 110, pop3s: 995, postgresql: 5432, "http-alt": 8080, ntp: 123, bootps: 67, bootpc: 68, ftp: 21, telnet: 23, ldap: 389, ldaps: 636, mysql: 3306,
};

export function parsePortValue(text: string): [number, number] | null {
  const t = text.trim();
  const m = /^(\d+)(?:-(\d+))?$/.exec(t);
  if (m) return [Number(m[1]), Number(m[2] ?? m[1])];
  const s = SERVICES[t];
  return s ? [s, s] : null;
}

const unquote = (s: string) => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

function globMatch(pattern: string, name: string): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

/** Names the verifier gives a role to; any other name is taken to be the external interface. */
function roleOfName(name: string): Iface["role"] {
  if (name === "lo") return "loopback";
  if (/^wg/.test(name)) return "tunnel";
  // Calico's host side of each pod's veth is cali<hash>: a pod network, like a Docker bridge.
  if (/^(br-|docker|veth|cali)/.test(name)) return "bridge";
  return "external";
}

function ifaceMatches(pattern: string, iface: Iface | undefined): boolean {
  if (!iface) return false;
  if (iface.name !== undefined) return globMatch(pattern, iface.name);
  // Unknown name: a pattern naming an external interface (eth0, ens3, fiber0) matches; `*` matches.
  if (pattern === "*") return true;
  return roleOfName(pattern.replace(/\*$/, "x")) === iface.role;
}

// ---------- parser ----------

export function parseNftables(path: string, text: string): Ruleset {
  const toks = tokenize(text);
  const problems: NftProblem[] = [];
  const defines = new Map<string, Tok[]>();
  const sets = new Map<string, NamedSet>(); // key: family/table/name
  let i = 0;
  const peek = () => toks[i]?.t;
  const skipNl = () => {
    while (peek() === "\n" || peek() === ";") i++;
  };
  const lines = text.split("\n");
  const lineText = (line: number) => (lines[line - 1] ?? "").trim();

  // Expand `$name` defines in place (a define may be a brace group).
  const expanded: Tok[] = [];
  for (let k = 0; k < toks.length; k++) {
    const tk = toks[k]!;
    if (tk.t === "define" && (k === 0 || toks[k - 1]!.t === "\n" || toks[k - 1]!.t === ";")) {
      const name = toks[k + 1]?.t ?? "";
      let j = k + 3; // skip name and '='
      const body: Tok[] = [];
      let depth = 0;
      while (j < toks.length && !(depth === 0 && (toks[j]!.t === "\n" || toks[j]!.t === ";"))) {
        if (toks[j]!.t === "{") depth++;
        if (toks[j]!.t === "}") depth--;
        if (toks[j]!.t !== "\n") body.push(toks[j]!);
        j++;
      }
      defines.set(name, body);
      k = j;
      continue;
    }
    if (tk.t.startsWith("$")) {
      const body = defines.get(tk.t.slice(1));
      if (!body) problems.push({ line: tk.line, text: lineText(tk.line), message: `undefined variable ${tk.t}` });
      else expanded.push(...body.map((b) => ({ t: b.t, line: tk.line })));
      continue;
    }
    expanded.push(tk);
  }
  toks.length = 0;
  toks.push(...expanded);

  /** Reads a `{ ... }` group at i (i at "{"), flattening nested groups (define'd sets in sets). */
  const readGroup = (): string[][] => {
    const elements: string[][] = [];
    let cur: string[] = [];
    let depth = 0;
    for (; i < toks.length; i++) {
      const t = toks[i]!.t;
      if (t === "{") {
        depth++;
        continue;
      }
      if (t === "}") {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
        continue;
      }
      if (t === "," || t === "\n" || t === ";") {
        if (cur.length) elements.push(cur);
        cur = [];
        continue;
      }
      cur.push(t);
    }
    if (cur.length) elements.push(cur);
    return elements;
  };

  /** Reads one statement's tokens up to newline/';' at brace depth 0. Groups become Val groups. */
  const readStatement = (): { vals: Val[]; line: number } => {
    const vals: Val[] = [];
    const line = toks[i]?.line ?? 0;
    while (i < toks.length) {
      const t = toks[i]!.t;
      if (t === "\n" || t === ";") break;
      if (t === "}") break;
      if (t === "{") {
        vals.push({ group: readGroup() });
        continue;
      }
      vals.push({ word: t });
      i++;
    }
    return { vals, line };
  };

  /** Tables as the kernel holds them after each command of the file, in order. */
  const tableState = new Map<string, { family: string; name: string; chains: Map<string, Chain> }>();
  let chainSeq = 0;
  let lastRemoval: number | undefined;
  const tableKey = (family: string, name: string) => `${family} ${name}`;
  const ensureTable = (family: string, name: string) => {
    const key = tableKey(family, name);
    let t = tableState.get(key);
    if (!t) {
      t = { family, name, chains: new Map() };
      tableState.set(key, t);
    }
    return t;
  };
  const dropTable = (family: string, name: string) => {
    tableState.delete(tableKey(family, name));
    for (const k of [...sets.keys()]) if (k.startsWith(`${family}/${name}/`)) sets.delete(k);
  };
  const ensureChain = (family: string, table: string, name: string, line: number): Chain => {
    const t = ensureTable(family, table);
    let c = t.chains.get(name);
    if (!c) {
      c = { name, table, family, line, seq: chainSeq++, priority: 0, policy: "accept", rules: [] };
      t.chains.set(name, c);
    }
    return c;
  };
  const problem = (line: number, message: string) => problems.push({ line, text: lineText(line), message });
  const words = (vals: Val[]) => vals.map((v) => ("word" in v ? v.word : "{…}"));
  /** `[family] table [chain|set]` after a command keyword: the family defaults to ip, as nft's. */
  const readObjectRef = (n: number): { family: string; parts: string[] } | null => {
    const ws: string[] = [];
    for (let j = 0; j < n + 1 && i < toks.length; j++) {
      const t = peek()!;
      if (t === "\n" || t === ";" || t === "{" || t === "}") break;
      ws.push(t);
      i++;
    }
    let family = "ip";
    if (FAMILIES.includes(ws[0] ?? "")) family = ws.shift()!;
    else if (ws.length > n) {
      i--; // the extra word belongs to what follows
      ws.pop();
    }
    return ws.length === n ? { family, parts: ws } : null;
  };

  const parseSetBody = (family: string, table: string, name: string) => {
    // at "{"
    i++;
    const set: NamedSet = sets.get(`${family}/${table}/${name}`) ?? { name, key: `${family}/${table}/${name}`, elements: [], flags: [] };
    let depth = 1;
    while (i < toks.length && depth > 0) {
      const t = toks[i]!.t;
      if (t === "}") {
        depth--;
        i++;
        continue;
      }
      if (t === "elements") {
        i++;
        if (peek() === "=") i++;
        if (peek() === "{") for (const el of readGroup()) set.elements.push(el.join(" "));
        continue;
      }
      if (t === "flags") {
        i++;
        while (peek() && peek() !== "\n" && peek() !== ";" && peek() !== "}") {
          if (peek() !== ",") set.flags.push(peek()!);
          i++;
        }
        continue;
      }
      i++;
    }
    sets.set(set.key, set);
  };

  const chainProperty = (chain: Chain, st: { vals: Val[]; line: number }): boolean => {
    const ws = words(st.vals);
    if (ws[0] === "type") {
      chain.type = ws[1];
      const h = ws.indexOf("hook");
      if (h >= 0) chain.hook = ws[h + 1] as Hook;
      const p = ws.indexOf("priority");
      if (p >= 0) {
        const rest = ws.slice(p + 1).join(" ").replace(/;.*$/, "");
        const m = /^(-?\d+)$|^([a-z]+)\s*(?:([+-])\s*(\d+))?$/.exec(rest.trim());
        if (m?.[1]) chain.priority = Number(m[1]);
        else if (m?.[2] && PRIORITIES[m[2]] !== undefined) chain.priority = PRIORITIES[m[2]]! + (m[3] === "-" ? -Number(m[4]) : m[3] === "+" ? Number(m[4]) : 0);
        else problem(st.line, `cannot read the chain's priority ${JSON.stringify(rest)}`);
      }
      if (!chain.hook || !HOOKS.includes(chain.hook)) problem(st.line, `base chain on hook ${JSON.stringify(chain.hook ?? "")} is not modelled (only ${HOOKS.join(", ")})`);
      else if (!["ip", "ip6", "inet"].includes(chain.family)) problem(st.line, `base chain of family ${chain.family} is not modelled (only ip, ip6, inet)`);
      else if (!["filter", "nat", "route"].includes(chain.type ?? "")) problem(st.line, `chain type ${JSON.stringify(chain.type)} is not modelled`);
      return true;
    }
    if (ws[0] === "policy") {
      if (ws[1] !== "drop" && ws[1] !== "accept") problem(st.line, `chain policy ${JSON.stringify(ws[1])} is not accept or drop`);
      chain.policy = ws[1] === "drop" ? "drop" : "accept";
      chain.policyLine = st.line;
      return true;
    }
    if (ws[0] === "comment" && ws.length === 2) return true;
    if (ws[0] === "devices") return true;
    return false;
  };

  const addRule = (chain: Chain, st: { vals: Val[]; line: number }, where: "append" | "prepend" = "append") => {
    if (st.vals.length === 0) return;
    const rule = parseRule(st.vals, st.line, lineText(st.line), chain.family, chain.table, sets, problems, chain.type === "nat");
    if (!rule) return;
    if (where === "prepend") chain.rules.unshift(rule);
    else chain.rules.push(rule);
    chain.index = undefined;
  };

  const parseChainBody = (family: string, table: string, name: string, line: number) => {
    const chain = ensureChain(family, table, name, line);
    i++; // "{"
    for (;;) {
      skipNl();
      if (i >= toks.length) break;
      if (peek() === "}") {
        i++;
        break;
      }
      const st = readStatement();
      if (chainProperty(chain, st)) continue;
      addRule(chain, st);
    }
  };

  const parseTableBody = (family: string, table: string) => {
    i++; // "{"
    for (;;) {
      skipNl();
      if (i >= toks.length) break;
      const t = peek();
      if (t === "}") {
        i++;
        break;
      }
      const line = toks[i]!.line;
      if (t === "chain") {
        const name = toks[i + 1]!.t;
        i += 2;
        if (peek() === "{") parseChainBody(family, table, name, line);
        else ensureChain(family, table, name, line);
        continue;
      }
      if (t === "set" || t === "map") {
        const name = toks[i + 1]!.t;
        i += 2;
        if (peek() === "{") parseSetBody(family, table, name);
        continue;
      }
      if (t === "flags" || t === "comment") {
        readStatement();
        continue;
      }
      if (t === "counter" || t === "quota" || t === "ct" || t === "limit") {
        // named stateful objects: no verdict of their own; skip their body
        readStatement();
        if (peek() === "{") readGroup();
        continue;
      }
      const st = readStatement();
      problem(line, `unsupported table statement ${JSON.stringify(words(st.vals).join(" "))}`);
      if (peek() === "{") readGroup();
    }
  };

  /** One top-level command (`table …`, `add rule …`, `delete table …`, `flush ruleset`, …), applied in order. */
  const topLevel = (line: number) => {
    let verb = peek()!;
    if (verb === "flush" || verb === "delete" || verb === "destroy") lastRemoval = line;
    if (verb === "table" || verb === "chain" || verb === "set" || verb === "map" || verb === "rule" || verb === "element") verb = "add";
    else i++;
    if (verb === "create") verb = "add";
    const what = peek() ?? "";
    if (verb === "include") {
      readStatement();
      problem(line, "include is not followed: the verifier reads this file alone, and an included file could change any verdict");
      return;
    }
    if (verb === "flush" && what === "ruleset") {
      i++;
      readStatement();
      tableState.clear();
      sets.clear();
      return;
    }
    if (verb === "add" || verb === "insert") {
      i++;
      if (what === "table") {
        const ref = readObjectRef(1);
        if (!ref) return void problem(line, "cannot read the table name");
        ensureTable(ref.family, ref.parts[0]!);
        if (peek() === "{") parseTableBody(ref.family, ref.parts[0]!);
        return;
      }
      if (what === "chain") {
        const ref = readObjectRef(2);
        if (!ref || !tableState.has(tableKey(ref.family, ref.parts[0]!))) return void (problem(line, "add chain: no such table declared before it"), readStatement());
        const chain = ensureChain(ref.family, ref.parts[0]!, ref.parts[1]!, line);
        if (peek() === "{") {
          i++;
          for (;;) {
            skipNl();
            if (i >= toks.length || peek() === "}") break;
            const st = readStatement();
            if (!chainProperty(chain, st)) problem(st.line, `unexpected statement in a chain declaration: ${words(st.vals).join(" ")}`);
          }
          i++;
        }
        return;
      }
      if (what === "rule") {
        const ref = readObjectRef(2);
        const chain = ref ? tableState.get(tableKey(ref.family, ref.parts[0]!))?.chains.get(ref.parts[1]!) : undefined;
        const st = readStatement();
        if (!chain) return void problem(line, `${verb} rule: no such chain declared before it`);
        const ws = words(st.vals);
        if (ws[0] === "position" || ws[0] === "handle" || ws[0] === "index") return void problem(line, `${verb} rule at a ${ws[0]} is not modelled (handles are the kernel's)`);
        addRule(chain, st, verb === "insert" ? "prepend" : "append");
        return;
      }
      if (what === "set" || what === "map") {
        const ref = readObjectRef(2);
        if (!ref) return void (problem(line, `cannot read the ${what} name`), readStatement());
        if (peek() === "{") parseSetBody(ref.family, ref.parts[0]!, ref.parts[1]!);
        return;
      }
      if (what === "element") {
        const ref = readObjectRef(2);
        const set = ref ? sets.get(`${ref.family}/${ref.parts[0]}/${ref.parts[1]}`) : undefined;
        if (!set) return void (problem(line, "add element: no such set declared before it"), readStatement());
        if (peek() === "{") for (const el of readGroup()) set.elements.push(el.join(" "));
        readStatement();
        return;
      }
    }
    if (verb === "delete" || verb === "destroy" || verb === "flush") {
      i++;
      if (what === "table") {
        const ref = readObjectRef(1);
        readStatement();
        if (!ref) return void problem(line, `${verb} table: cannot read the table name`);
        if (verb === "flush") {
          for (const c of tableState.get(tableKey(ref.family, ref.parts[0]!))?.chains.values() ?? []) {
            c.rules.length = 0;
            c.index = undefined;
          }
        } else dropTable(ref.family, ref.parts[0]!);
        return;
      }
      if (what === "chain") {
        const ref = readObjectRef(2);
        readStatement();
        const t = ref ? tableState.get(tableKey(ref.family, ref.parts[0]!)) : undefined;
        if (!ref) return void problem(line, `${verb} chain: cannot read the chain name`);
        const c = t?.chains.get(ref.parts[1]!);
        if (verb === "flush" && c) {
          c.rules.length = 0;
          c.index = undefined;
        } else if (c) t!.chains.delete(ref.parts[1]!);
        return;
      }
      if (what === "set" || what === "map") {
        const ref = readObjectRef(2);
        readStatement();
        if (!ref) return void problem(line, `${verb} ${what}: cannot read the name`);
        const key = `${ref.family}/${ref.parts[0]}/${ref.parts[1]}`;
        if (verb === "flush") sets.get(key)?.elements.splice(0);
        else if (sets.has(key)) problem(line, `${verb} ${what} of a set rules may reference is not modelled`);
        return;
      }
      if (what === "element") {
        const ref = readObjectRef(2);
        const set = ref ? sets.get(`${ref.family}/${ref.parts[0]}/${ref.parts[1]}`) : undefined;
        const gone = peek() === "{" ? readGroup().map((el) => el.join(" ")) : [];
        readStatement();
        if (set) for (const g of gone) if (set.elements.includes(g)) set.elements.splice(set.elements.indexOf(g), 1);
        return;
      }
    }
    const st = readStatement();
    problem(line, `unsupported top-level statement ${JSON.stringify([verb, ...words(st.vals)].join(" "))}`);
    if (peek() === "{") readGroup();
  };

  for (;;) {
    skipNl();
    if (i >= toks.length) break;
    topLevel(toks[i]!.line);
  }
  const chains = [...tableState.values()].flatMap((t) => [...t.chains.values()]).sort((a, b) => a.seq - b.seq);
  return { path, tables: [...tableState.values()].map((t) => ({ family: t.family, name: t.name })), chains, problems, sets: [...sets.values()], lastRemoval };
}


function parseVerdictWords(words: string[]): Verdict | null {
  const w = words[0];
  if (w === "accept" || w === "drop" || w === "return" || w === "continue") return { kind: w };
  if (w === "reject") return { kind: "drop" };
  if ((w === "jump" || w === "goto") && words[1]) return { kind: w, target: words[1] };
  return null;
}

function parseRule(vals: Val[], line: number, text: string, family: string, table: string, sets: Map<string, NamedSet>, problems: NftProblem[], natChain = false): Rule | null {
  const matchers: Matcher[] = [];
  let daddrKeys: string[] | undefined;
  const ifaceKeys: { iif?: string[]; oif?: string[] } = {};
  let snat: string | undefined;
  let verdict: Verdict | undefined;
  let vmap: Rule["vmap"];
  let never = false;
  let nat: Rule["nat"];
  const addrRefs: { which: "saddr" | "daddr"; get: () => readonly AddrRange[] }[] = [];
  const portRefs: (() => readonly [number, number][])[] = [];
  let k = 0;
  const fail = (message: string): null => {
    problems.push({ line, text, message });
    return null;
  };
  const word = (j: number): string | undefined => {
    const v = vals[j];
    return v && "word" in v ? v.word : undefined;
  };
  /** Reads `[op] value` at k: returns negation and the value's element strings (resolving @sets). */
  const readValue = (): { neg: boolean; elements: string[]; set?: NamedSet } | null => {
    let neg = false;
    const op = word(k);
    if (op === "!=" || op === "ne") {
      neg = true;
      k++;
    } else if (op === "==" || op === "eq") k++;
    const v = vals[k];
    if (!v) return null;
    k++;
    if ("group" in v) return { neg, elements: v.group.map((e) => e.join(" ")) };
    if (v.word.startsWith("@")) {
      const s = sets.get(`${family}/${table}/${v.word.slice(1)}`);
      if (!s) return null;
      return { neg, elements: s.elements, set: s };
    }
    if (/^[<>]=?$/.test(v.word)) return null;
    // comma lists without braces: `ct state established,related`
    const words = [v.word];
    while (word(k) === "," && word(k + 1) !== undefined) {
      words.push(word(k + 1)!);
      k += 2;
    }
    return { neg, elements: words.flatMap((w) => w.split(",")).filter(Boolean) };
  };
  const addrMatcher = (fam: 4 | 6, which: "saddr" | "daddr"): boolean => {
    const val = readValue();
    if (!val) return false;
    const parseAll = (elements: readonly string[]): AddrRange[] | null => {
      const out: AddrRange[] = [];
      for (const e of elements) {
        const r = parseRange(e);
        if (!r) return null;
        out.push(r);
      }
      return out;
    };
    const set = val.set;
    if (set) {
      // A named set is read when the packet is matched, after the whole file: `add element` at the end counts.
      let seen = -1;
      let ranges: AddrRange[] = [];
      const get = () => {
        if (seen !== set.elements.length) {
          ranges = parseAll(set.elements) ?? [];
          seen = set.elements.length;
        }
        return ranges;
      };
      addrRefs.push({ which, get });
      matchers.push(readsAddr(which, (p) => p.family === fam && (which === "saddr" && p.inSets?.includes(set.name) ? !val.neg : specMatches(p[which], get(), val.neg))));
      return true;
    }
    const ranges = parseAll(val.elements);
    if (!ranges) return false;
    addrRefs.push({ which, get: () => ranges });
    matchers.push(readsAddr(which, (p) => p.family === fam && specMatches(p[which], ranges, val.neg)));
    if (which === "daddr" && !val.neg && !daddrKeys && ranges.every((r) => r.lo === r.hi)) daddrKeys = ranges.map((r) => `${r.v}:${r.lo}`);
    return true;
  };
  const portMatcher = (proto: "tcp" | "udp" | "th", which: "dport" | "sport"): boolean => {
    const val = readValue();
    if (!val) return false;
    const parseAll = (elements: readonly string[]): [number, number][] | null => {
      const out: [number, number][] = [];
      for (const e of elements) {
        const r = parsePortValue(e);
        if (!r) return null;
        out.push(r);
      }
      return out;
    };
    const set = val.set;
    let get: () => [number, number][];
    if (set) {
      let seen = -1;
      let ranges: [number, number][] = [];
      get = () => {
        if (seen !== set.elements.length) {
          ranges = parseAll(set.elements) ?? [];
          seen = set.elements.length;
        }
        return ranges;
      };
    } else {
      const ranges = parseAll(val.elements);
      if (!ranges) return false;
      get = () => ranges;
    }
    if (proto !== "th") matchers.push((p) => p.proto === proto);
    if (which === "sport") return true; // the sender picks its source port: always matchable
    portRefs.push(get);
    // Tagged: portSpan asks which rules may match whatever the port; the ranges it compares are in portRefs.
    matchers.push(Object.assign((p: Packet) => get().some(([a, b]) => p.dport >= a && p.dport <= b) !== val.neg, { reads: "dport" as const }));
    return true;
  };
  const protoMatcher = (): boolean => {
    const val = readValue();
    if (!val) return false;
    const names = val.elements.map((e) => (e === "6" ? "tcp" : e === "17" ? "udp" : e));
    matchers.push((p) => names.includes(p.proto) !== val.neg);
    return true;
  };
  const ifaceMatcher = (which: "iif" | "oif"): boolean => {
    const val = readValue();
    if (!val) return false;
    const pats = val.elements.map(unquote);
    matchers.push((p) => pats.some((pat) => ifaceMatches(pat, p[which])) !== val.neg);
    if (!val.neg && pats.length && !pats.some((pat) => pat.includes("*")) && !ifaceKeys[which]) ifaceKeys[which] = pats;
    return true;
  };

  while (k < vals.length) {
    const w = word(k);
    if (w === undefined) return fail(`unexpected set at this position`);
    const next = word(k + 1);
    // A verdict map selects on one field: `tcp dport vmap { 22 : jump ssh, 80 : accept }`. Read before the
    // matches, whose branches would take `vmap` for the value. Selectors the evaluator does not model
    // (addresses, marks, concatenations, named maps) fail: a skipped vmap would hide its verdicts.
    const selectorWords = w === "iifname" || w === "oifname" || w === "iif" || w === "oif" ? 1 : 2;
    if (w !== "ct" && word(k + selectorWords) === "vmap") {
      const sel = selectorWords === 1 ? `meta ${w}` : `${w} ${next}`;
      k += selectorWords + 1;
      const g = vals[k];
      if (!g || !("group" in g)) return fail(`cannot read the verdict map of ${JSON.stringify(text)}: only an inline map { key : verdict, ... } is understood`);
      k++;
      const entries = new Map<string, Verdict>();
      for (const el of g.group) {
        const colon = el.indexOf(":");
        if (colon < 0) return fail(`cannot read vmap entry ${el.join(" ")}`);
        const v = parseVerdictWords(el.slice(colon + 1));
        if (!v) return fail(`cannot read vmap entry ${el.join(" ")}`);
        entries.set(el.slice(0, colon).join(""), v);
      }
      if (sel === "tcp dport" || sel === "udp dport" || sel === "th dport") {
        // `tcp dport` carries an implicit `meta l4proto tcp`; `th dport` any protocol with ports.
        if (w !== "th") matchers.push((p) => p.proto === w);
        const keys: (readonly [string, [number, number]])[] = [];
        for (const key of entries.keys()) {
          const r = parsePortValue(key);
          if (!r) return fail(`cannot read the port ${JSON.stringify(key)} in the verdict map of ${JSON.stringify(text)}`);
          keys.push([key, r]);
        }
        portRefs.push(() => keys.map(([, r]) => r));
        vmap = { select: (p) => keys.filter(([, r]) => p.dport >= r[0] && p.dport <= r[1]).map(([key]) => key), entries, reads: "dport" };
      } else if (sel === "meta l4proto" || sel === "ip protocol" || sel === "ip6 nexthdr") {
        // `ip protocol` reads the IPv4 header: an IPv6 packet never selects (and `ip6 nexthdr` the other way).
        if (w === "ip") matchers.push((p) => p.family === 4);
        if (w === "ip6") matchers.push((p) => p.family === 6);
        const byProto = new Map<string, string>();
        for (const key of entries.keys()) byProto.set(key === "6" ? "tcp" : key === "17" ? "udp" : key, key);
        vmap = { select: (p) => (byProto.has(p.proto) ? [byProto.get(p.proto)!] : []), entries, reads: "proto" };
      } else if (sel === "meta iifname" || sel === "meta oifname" || sel === "meta iif" || sel === "meta oif") {
        const which = sel.startsWith("meta i") ? "iif" : "oif";
        const keys = [...entries.keys()];
        vmap = { select: (p) => keys.filter((key) => ifaceMatches(unquote(key), p[which])), entries, reads: which };
      } else return fail(`unsupported verdict map on ${sel} in ${JSON.stringify(text)}: the verifier reads vmaps on tcp/udp/th dport, meta l4proto, ip protocol, ip6 nexthdr, iifname/oifname and ct state`);
      continue;
    }
    if ((w === "ip" || w === "ip6") && (next === "saddr" || next === "daddr")) {
      k += 2;
      if (!addrMatcher(w === "ip" ? 4 : 6, next)) return fail(`cannot read the address in ${JSON.stringify(text)}`);
      continue;
    }
    if ((w === "ip" && next === "protocol") || (w === "ip6" && next === "nexthdr")) {
      k += 2;
      const fam = w === "ip" ? 4 : 6;
      matchers.push((p) => p.family === fam);
      if (!protoMatcher()) return fail(`cannot read the protocol`);
      continue;
    }
    if ((w === "tcp" || w === "udp" || w === "th") && (next === "dport" || next === "sport")) {
      k += 2;
      if (!portMatcher(w, next)) return fail(`cannot read the port in ${JSON.stringify(text)}`);
      continue;
    }
    if (w === "meta" && next === "l4proto") {
      k += 2;
      if (!protoMatcher()) return fail(`cannot read meta l4proto`);
      continue;
    }
    if (w === "meta" && (next === "nfproto" || next === "protocol")) {
      // `meta protocol` is the ethertype (ip, ip6), not the layer-4 protocol: at the inet hooks it
      // tells the families apart as nfproto does (ipv4, ipv6).
      k += 2;
      const val = readValue();
      if (!val) return fail(`cannot read meta ${next}`);
      const fams = val.elements.map((e) => (e === "ipv4" || e === "ip" || e === "0x0800" ? 4 : e === "ipv6" || e === "ip6" || e === "0x86dd" ? 6 : 0));
      if (fams.includes(0)) return fail(`cannot read meta ${next} ${val.elements.join(",")}: expected ${next === "protocol" ? "ip or ip6" : "ipv4 or ipv6"}`);
      matchers.push((p) => fams.includes(p.family) !== val.neg);
      continue;
    }
    if (w === "meta" && (next === "iifname" || next === "oifname" || next === "iif" || next === "oif")) {
      k += 2;
      if (!ifaceMatcher(next.startsWith("i") ? "iif" : "oif")) return fail("cannot read the interface");
      continue;
    }
    if (w === "iifname" || w === "oifname" || w === "iif" || w === "oif") {
      k += 1;
      if (!ifaceMatcher(w.startsWith("i") ? "iif" : "oif")) return fail("cannot read the interface");
      continue;
    }
    if (w === "ct" && next === "state") {
      k += 2;
      if (word(k) === "vmap") {
        k++;
        const g = vals[k];
        if (!g || !("group" in g)) return fail("cannot read ct state vmap");
        k++;
        const entries = new Map<string, Verdict>();
        for (const el of g.group) {
          const colon = el.indexOf(":");
          const key = colon >= 0 ? el.slice(0, colon) : [el[0]!];
          const v = parseVerdictWords(colon >= 0 ? el.slice(colon + 1) : el.slice(2));
          if (!v) return fail(`cannot read vmap entry ${el.join(" ")}`);
          for (const kk of key.join("").split(",")) entries.set(kk, v);
        }
        vmap = { select: (_p, hook, prio) => [ctState(hook, prio)], entries };
        continue;
      }
      const val = readValue();
      if (!val) return fail("cannot read ct state");
      const states = val.elements;
      matchers.push((_p, hook, prio) => states.includes(ctState(hook, prio)) !== val.neg);
      continue;
    }
    if (w === "ct" && next === "status") {
      k += 2;
      const val = readValue();
      if (!val) return fail("cannot read ct status");
      const dnat = val.elements.includes("dnat");
      matchers.push((p) => (dnat ? !!p.dnat : false) !== val.neg);
      continue;
    }
    if (w === "fib" && next === "daddr" && word(k + 2) === "type") {
      k += 3;
      const val = readValue();
      if (!val) return fail("cannot read fib daddr type");
      const local = val.elements.includes("local");
      matchers.push((_p, hook) => (local ? hook === "input" || hook === "prerouting" : false) !== val.neg);
      continue;
    }
    if (w === "icmp" || w === "icmpv6" || (w === "meta" && next === "icmp")) {
      // ICMP matches never apply to a TCP/UDP connection; skip the match's words.
      matchers.push(() => false);
      k += 1;
      while (k < vals.length && !["accept", "drop", "reject", "counter", "limit", "log", "comment", "jump", "goto", "return"].includes(word(k) ?? "")) k++;
      continue;
    }
    if (w === "counter") {
      k++;
      while (word(k) === "packets" || word(k) === "bytes" || word(k) === "name") k += 2;
      continue;
    }
    if (w === "log") {
      k++;
      while (["prefix", "level", "flags", "group", "snaplen", "queue-threshold"].includes(word(k) ?? "")) k += 2;
      continue;
    }
    if (w === "comment") {
      k += 2;
      continue;
    }
    if (w === "limit" && next === "rate") {
      k += 2;
      if (word(k) === "over") {
        never = true;
        k++;
      }
      k++; // N/unit
      if (word(k) === "bytes" || /^(k|m)?bytes$/.test(word(k) ?? "")) k++;
      if (word(k) === "burst") k += 2;
      if (word(k) === "packets" || /bytes$/.test(word(k) ?? "")) k++;
      continue;
    }
    if (w === "meter" || w === "add" || w === "update") {
      // `meter NAME [size N] { key limit rate [over] N/unit }` / `add @set { … }`: rate state only.
      k++;
      if (w === "meter") k++;
      if (word(k) === "size") k += 2;
      const g = vals[k];
      if (g && "group" in g) {
        if (g.group.flat().join(" ").includes("over")) never = true;
        k++;
      } else if (word(k)?.startsWith("@")) {
        k++;
        const g2 = vals[k];
        if (g2 && "group" in g2) {
          if (g2.group.flat().join(" ").includes("over")) never = true;
          k++;
        }
      }
      continue;
    }
    const v = parseVerdictWords(vals.slice(k).map((x) => ("word" in x ? x.word : "")));
    if (v) {
      verdict = v;
      k += v.target ? 2 : 1;
      if (w === "reject") {
        while (k < vals.length) k++;
      }
      continue;
    }
    if ((w === "masquerade" || w === "snat" || w === "dnat" || w === "redirect") && natChain) {
      // Address translation in a nat chain: terminal for the chain (the binding is made, as accept).
      let j = k + 1;
      if (word(j) === "ip" || word(j) === "ip6") j++;
      if (word(j) === "to") j++;
      const target = word(j);
      if (w === "masquerade" || w === "redirect") {
        const port = target && /^:?\d+$/.test(target) ? Number(target.replace(":", "")) : undefined;
        if (target && port === undefined) return fail(`cannot read ${w} to ${target}`);
        nat = { kind: w, port };
        if (w === "masquerade") snat = "masquerade";
      } else {
        const m = target ? /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]+)(?::(\d+))?$/.exec(target) : null;
        const addr = m?.[1]?.replace(/^\[|\]$/g, "");
        if (!m || !addr || !parseRange(addr)) return fail(`cannot read ${w} to ${target ?? "(nothing)"} (an address, optionally :port)`);
        nat = { kind: w, addr, port: m[2] ? Number(m[2]) : undefined };
        if (w === "snat") snat = addr;
      }
      if (vals.length > j + 1 && word(j + 1) !== "comment") return fail(`unsupported ${w} options ${JSON.stringify(vals.slice(j + 1).map((x) => ("word" in x ? x.word : "{…}")).join(" "))}`);
      verdict = { kind: "accept" };
      k = vals.length;
      continue;
    }
    if (["masquerade", "snat", "dnat", "redirect", "notrack", "queue", "tproxy", "mark", "fwd", "dup"].includes(w)) {
      return fail(`unsupported statement ${w} (the verifier does not model address translation or marks here)`);
    }
    return fail(`unsupported expression ${JSON.stringify(w)}`);
  }
  return { line, text, matchers, verdict, vmap, never, daddrKeys, ...(ifaceKeys.iif || ifaceKeys.oif ? { ifaceKeys } : {}), snat, nat, addrRefs, portRefs };
}

// ---------- evaluator ----------

export interface EvalResult extends NftVerdict {
  readonly chain: string;
  /** The packet as it leaves the hook: a dnat/redirect/snat/masquerade of a nat chain rewrites it. */
  readonly packet: Packet;
  /** The address translation applied at this hook, if any. */
  readonly nat?: { readonly construct: string; readonly line: number };
}

/** The base chains the kernel runs at a hook for a family, in the order it runs them (priority, then registration). */
export function baseChains(rs: Ruleset, hook: Hook, family: 4 | 6): Chain[] {
  let byHook = baseChainsCache.get(rs);
  if (!byHook) baseChainsCache.set(rs, (byHook = []));
  // By hook and family as one small number (a key string built per call cost more than the lookup).
  const slot = HOOK_SLOTS[hook] * 2 + (family === 4 ? 0 : 1);
  const hit = byHook[slot];
  if (hit) return hit;
  const fam = family === 4 ? "ip" : "ip6";
  const chains = rs.chains
    .filter((c) => c.hook === hook && (c.type === "filter" || c.type === "route" || c.type === "nat") && (c.family === "inet" || c.family === fam))
    .sort((a, b) => a.priority - b.priority || a.seq - b.seq);
  byHook[slot] = chains;
  return chains;
}
const HOOK_SLOTS: Readonly<Record<Hook, number>> = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 };
/** A parsed ruleset is never changed after parsing: what is derived from it is kept per ruleset. */
const baseChainsCache = new WeakMap<Ruleset, Chain[][]>();
const chainByNameCache = new WeakMap<Ruleset, Map<string, Chain>>();

/** The chain a jump or goto names, in the jumping chain's table (first definition, as the parser keeps them). */
function chainNamed(rs: Ruleset, family: string, table: string, name: string): Chain | undefined {
  let byName = chainByNameCache.get(rs);
  if (!byName) {
    byName = new Map();
    for (const c of rs.chains) {
      const k = `${c.family}\u0000${c.table}\u0000${c.name}`;
      if (!byName.has(k)) byName.set(k, c);
    }
    chainByNameCache.set(rs, byName);
  }
  return byName.get(`${family}\u0000${table}\u0000${name}`);
}

interface Cuts {
  readonly saddr: Map<4 | 6, bigint[]>;
  readonly daddr: Map<4 | 6, bigint[]>;
  readonly ports: number[];
}
const cutsCache = new WeakMap<Ruleset, Cuts>();

/** Every boundary a rule draws on source address, destination address and port: the packets between two are alike to the ruleset. */
function cutsOf(rs: Ruleset): Cuts {
  const hit = cutsCache.get(rs);
  if (hit) return hit;
  const out = cutsOfChains(rs.chains);
  cutsCache.set(rs, out);
  return out;
}

const pathCutsCache = new WeakMap<Ruleset, Map<string, Cuts>>();

/**
 * The boundaries drawn by the rules a packet of this family can meet at these hooks: those of the
 * hooks' base chains and of every chain they jump or go to (directly, through a vmap, transitively).
 * No other rule is evaluated on the packet, so two addresses these cuts do not tell apart get the
 * same result at every one of these hooks: trying one address per class of these cuts decides what
 * trying one per class of all the ruleset's cuts decides, with the same witness (the lowest address
 * of the first class that passes; the lowest of the range when none does).
 */
function pathCutsOf(rs: Ruleset, hooks: readonly Hook[], family: 4 | 6): Cuts {
  return perPath(pathCutsCache, rs, hooks, family, () => {
    const seen = reachableChains(rs, hooks, family);
    return cutsOfChains(rs.chains.filter((c) => seen.has(c)));
  });
}

/** What is derived from a ruleset for a path (hooks and family), computed once: a ruleset never changes after parsing. */
function perPath<T>(cache: WeakMap<Ruleset, Map<string, T>>, rs: Ruleset, hooks: readonly Hook[], family: 4 | 6, compute: () => T): T {
  let byKey = cache.get(rs);
  if (!byKey) cache.set(rs, (byKey = new Map()));
  const key = `${hooks.join(",")}/${family}`;
  if (byKey.has(key)) return byKey.get(key)!;
  const out = compute();
  byKey.set(key, out);
  return out;
}

/** The hooks' base chains for the family and every chain they jump or go to (directly, through a vmap, transitively). */
function reachableChains(rs: Ruleset, hooks: readonly Hook[], family: 4 | 6): Set<Chain> {
  return chainsReached(rs, hooks.flatMap((h) => baseChains(rs, h, family)));
}

/** The chains given and every chain they jump or go to (directly, through a vmap, transitively). */
function chainsReached(rs: Ruleset, from: readonly Chain[]): Set<Chain> {
  const seen = new Set<Chain>();
  const todo = [...from];
  while (todo.length) {
    const c = todo.pop()!;
    if (seen.has(c)) continue;
    seen.add(c);
    for (const r of c.rules) {
      for (const v of [r.verdict, ...(r.vmap ? r.vmap.entries.values() : [])]) {
        if (!v || (v.kind !== "jump" && v.kind !== "goto")) continue;
        const target = chainNamed(rs, c.family, c.table, v.target ?? "");
        if (target) todo.push(target);
      }
    }
  }
  return seen;
}

/** The number of cuts at or below n: two values with the same index lie between the same two cuts. */
function classIndex(cuts: readonly (bigint | number)[], n: bigint | number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cuts[mid]! <= n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const translatesCache = new WeakMap<Ruleset, Map<string, boolean>>();

/**
 * Whether a translation can rewrite the packet where the outcome of these hooks still depends on it:
 * a nat rule at any hook but the last, or at a last hook that may divert it (prerouting, output).
 */
function translatesOnPath(rs: Ruleset, hooks: readonly Hook[], family: 4 | 6): boolean {
  return perPath(translatesCache, rs, hooks, family, () => {
    const early = hooks.filter((h, i) => i < hooks.length - 1 || h === "prerouting" || h === "output");
    return [...reachableChains(rs, early, family)].some((c) => c.rules.some((r) => r.nat));
  });
}

/** A symbolic address's ranges as a short key, per spec (the walk passes the same spec again and again). */
const rangesKeys = new WeakMap<AddrSpec, string>();
/** Ranges as text → its short key: equal ranges, equal keys (the text of the internet's ranges runs to kilobytes). */
const rangesIds = new Map<string, string>();

function rangesKeyOf(s: AddrSpec): string {
  let key = rangesKeys.get(s);
  if (key === undefined) {
    const text = `${s.v}:${(s.kind === "ranges" ? s.ranges.filter((r) => r.v === s.v) : [fullRange(s.v)]).map((r) => `${r.lo}-${r.hi}`).join(",")}`;
    key = rangesIds.get(text);
    if (key === undefined) rangesIds.set(text, (key = `${s.v}r${rangesIds.size}`));
    rangesKeys.set(s, key);
  }
  return key;
}

/**
 * The packet's class at these hooks, or undefined when the exact packet matters. Every rule the
 * packet can meet there compares its addresses and port only with the path's cuts, so two packets
 * whose concrete addresses and port lie in the same classes (the rest alike) meet the same rules
 * with the same outcome and witness at every hook: evaluateHooks gives them the same verdict and
 * the same constructs. A symbolic address stands as its ranges (its representatives and witness
 * come from them). Undefined when a translation on the path can rewrite the packet before the
 * outcome is decided (the translated address or port then depends on the exact one).
 */
export function packetClass(rs: Ruleset, hooks: readonly Hook[], p: Packet): string | undefined {
  const id = packetClassId(rs, hooks, p);
  return id === undefined ? undefined : `c${id}`;
}

/**
 * packetClass as a number (equal numbers, equal classes; unique across rulesets): what the
 * reachability walk keys its steps by. A trie per ruleset and path with one level per field of the
 * class: the rules kept (none: -1), each address (a concrete one by its class of the path's cuts, or
 * by nothing where the kept rules stand for it; a symbolic one by its family or its ranges), then the
 * protocol, port class and interfaces (on a translation-free path only those a vmap selects on, else
 * all of them and the DNAT mark) and the sets the source is in.
 */
export function packetClassId(rs: Ruleset, hooks: readonly Hook[], p: Packet): number | undefined {
  const path = pathInfo(rs, hooks, p.family);
  if (path.exact || p.iifAddr || p.oifAddr || p.redirected) return undefined;
  const cuts = path.cuts;
  // No translation anywhere on the path: the rules the packet's concrete fields let match (prunedCuts)
  // stand for its concrete addresses (packets of many sources share them, where each address is a class of its own).
  const kept = path.natFree ? prunedCuts(rs, hooks, p, path) : undefined;
  let n = trieStep(path.classes, kept ? kept.id : -1);
  n = trieStep(n, classAddr(p.saddr, kept ? undefined : cuts.saddr));
  n = trieStep(n, classAddr(p.daddr, kept ? undefined : cuts.daddr));
  if (kept) {
    // The kept rules answer for every match on the concrete fields; a vmap's selection reads its field itself.
    const v = path.vmapReads;
    n = trieStep(n, v.has("proto") ? p.proto : null);
    n = trieStep(n, v.has("dport") ? classIndex(cuts.ports, p.dport) : null);
    n = trieStep(n, v.has("iif") ? classIface(p.iif) : null);
    n = trieStep(n, v.has("oif") ? classIface(p.oif) : null);
  } else {
    n = trieStep(n, p.proto);
    n = trieStep(n, classIndex(cuts.ports, p.dport));
    n = trieStep(n, classIface(p.iif));
    n = trieStep(n, classIface(p.oif));
    n = trieStep(n, p.dnat ? 1 : 0);
  }
  n = trieStep(n, p.inSets?.length ? p.inSets.join(",") : "");
  return (n.value ??= nextClassId++);
}
let nextClassId = 0;
/** Per ruleset and path key (prefix): packetClassId's trie. */
const classRoots = new WeakMap<Ruleset, Map<string, TrieNode<number>>>();

/** An address as a level of packetClassId: its family where the kept rules stand for it, its class of the cuts (v6 negative), `4*`, or its ranges' key. */
function classAddr(s: AddrSpec, cuts: Map<4 | 6, bigint[]> | undefined): string | number {
  if (s.kind === "ip") {
    if (!cuts) return s.v === 4 ? "4#" : "6#";
    const i = classIndex(cuts.get(s.v) ?? [], s.n);
    return s.v === 4 ? i : -1 - i;
  }
  if (s.kind === "any") return s.v === 4 ? "4*" : "6*";
  return rangesKeyOf(s);
}

const ROLE_LEVELS: Readonly<Record<Iface["role"], number>> = { loopback: 0, tunnel: 1, bridge: 2, external: 3 };
/** An interface as a level of a trie: none (null), its name, or its role (a number, never a name). */
function classIface(i: Iface | undefined): string | number | null {
  return i ? (i.name !== undefined ? i.name : ROLE_LEVELS[i.role]) : null;
}

/** A trie node: one level per field of a key, without building and hashing a key string per lookup. */
interface TrieNode<T> {
  next?: Map<unknown, TrieNode<T>>;
  value?: T;
}
function trieStep<T>(n: TrieNode<T>, step: unknown): TrieNode<T> {
  let next = n.next;
  if (!next) n.next = next = new Map();
  let c = next.get(step);
  if (!c) next.set(step, (c = {}));
  return c;
}

/** A path's cuts, whether its outcome needs the exact packet, and its key, per hooks array (callers pass the same arrays) and family. */
interface PathInfo {
  readonly cuts: Cuts;
  readonly exact: boolean;
  /** No nat rule in any chain the path's hooks reach: every hook sees the packet as sent (interfaces aside). */
  readonly natFree: boolean;
  /** The fields a vmap of the path's chains selects on: besides the matches (which the kept rules answer for), only these read the port, protocol or interfaces. */
  readonly vmapReads: ReadonlySet<string>;
  readonly prefix: string;
  /** packetClassId's trie for the path (shared by the paths of the same hooks and family). */
  readonly classes: TrieNode<number>;
  /** portSpan's cuts by the rest of the packet (shared likewise). */
  readonly spans: TrieNode<number[]>;
  /** The first hook where a nat rule is reachable, -1 when none (portSpan prunes no rule from there). */
  readonly natAt: number;
}
const pathInfoCache = new WeakMap<Ruleset, Map<readonly Hook[], PathInfo[]>>();

function pathInfo(rs: Ruleset, hooks: readonly Hook[], family: 4 | 6): PathInfo {
  let byHooks = pathInfoCache.get(rs);
  if (!byHooks) pathInfoCache.set(rs, (byHooks = new Map()));
  let byFamily = byHooks.get(hooks);
  if (!byFamily) byHooks.set(hooks, (byFamily = []));
  const hit = byFamily[family];
  if (hit) return hit;
  const prefix = `${hooks.join(",")}|${family}`;
  const shared = <T>(cache: WeakMap<Ruleset, Map<string, TrieNode<T>>>): TrieNode<T> => {
    let byPrefix = cache.get(rs);
    if (!byPrefix) cache.set(rs, (byPrefix = new Map()));
    let root = byPrefix.get(prefix);
    if (!root) byPrefix.set(prefix, (root = {}));
    return root;
  };
  return (byFamily[family] = {
    cuts: pathCutsOf(rs, hooks, family),
    exact: translatesOnPath(rs, hooks, family),
    natFree: ![...reachableChains(rs, hooks, family)].some((c) => c.rules.some((r) => r.nat)),
    vmapReads: new Set([...reachableChains(rs, hooks, family)].flatMap((c) => c.rules.flatMap((r) => (r.vmap ? [r.vmap.reads ?? "hook"] : [])))),
    prefix,
    classes: shared(classRoots),
    spans: shared(spanRoots),
    natAt: hooks.findIndex((k) => baseChains(rs, k, family).some((b) => chainsFrom(rs, b).some((c) => c.rules.some((r) => r.nat)))),
  });
}

/** The rules a packet's concrete fields let match on a path, and the cuts they draw on its symbolic addresses. */
interface Kept {
  /** Stands for the kept rules (per ruleset, path and symbolic sides): equal ids, equal rules. */
  readonly id: number;
  readonly cuts: Cuts;
}
const ruleIds = new WeakMap<Rule, number>();
let nextRuleId = 0;
const fromBase = new WeakMap<Chain, Chain[]>();
const ifaceIndex = new WeakMap<Chain, { iif: IfaceIndex; oif: IfaceIndex }>();
interface IfaceIndex {
  readonly byName: Map<string, number[]>;
  /** Rules requiring no name of this interface. */
  readonly rest: number[];
  /** By name: its rules merged with `rest`, in order (built on first use). */
  readonly merged: Map<string, readonly number[]>;
}

/**
 * The kept rules of prunedCuts as a trie: from a root per ruleset, path and symbolic sides, one step
 * per base chain (-1) and per kept rule (its id), in the order the rules are met. Equal rules, equal
 * node: what a key string of the same steps told apart, without building and hashing one per packet.
 */
type KeptNode = TrieNode<Kept>;
/** Per ruleset: a root per path and symbolic sides (`${prefix}|sd`), and how many kept rule sets it has (their ids). */
const keptRoots = new WeakMap<Ruleset, { readonly roots: Map<string, KeptNode>; count: number }>();

/** What prunedCuts walks on a path, resolved once: each hook's base chains, and the chains each reaches with their rules' ids. */
interface PrunePlan {
  readonly hooks: readonly { readonly hook: Hook; readonly bases: readonly { readonly base: Chain; readonly chains: readonly { readonly chain: Chain; readonly ids: readonly number[] }[] }[] }[];
  /** By symbolic sides (1: saddr, 2: daddr). */
  readonly roots: readonly KeptNode[];
}
const prunePlans = new WeakMap<PathInfo, PrunePlan>();

function prunePlan(rs: Ruleset, hooks: readonly Hook[], path: PathInfo, family: 4 | 6): PrunePlan {
  let plan = prunePlans.get(path);
  if (plan) return plan;
  let perRs = keptRoots.get(rs);
  if (!perRs) keptRoots.set(rs, (perRs = { roots: new Map(), count: 0 }));
  const root = (sides: string): KeptNode => {
    const key = `${path.prefix}|${sides}`;
    let r = perRs!.roots.get(key);
    if (!r) perRs!.roots.set(key, (r = {}));
    return r;
  };
  const idOf = (rule: Rule): number => {
    let id = ruleIds.get(rule);
    if (id === undefined) ruleIds.set(rule, (id = nextRuleId++));
    return id;
  };
  plan = {
    // A hook without base chains keeps no rule and adds no step: left out.
    hooks: hooks.filter((hook) => baseChains(rs, hook, family).length > 0).map((hook) => ({ hook, bases: baseChains(rs, hook, family).map((base) => ({ base, chains: chainsFrom(rs, base).map((chain) => ({ chain, ids: chain.rules.map(idOf) })) })) })),
    roots: [root(""), root("s"), root("d"), root("sd")],
  };
  prunePlans.set(path, plan);
  return plan;
}

/** A base chain and every chain it jumps or goes to (directly, through a vmap, transitively). */
function chainsFrom(rs: Ruleset, base: Chain): Chain[] {
  let out = fromBase.get(base);
  if (!out) fromBase.set(base, (out = [...chainsReached(rs, [base])]));
  return out;
}

/**
 * Indices of a chain's rules that an interface does not rule out, in order: a rule requiring named
 * interfaces (ifaceKeys) matches only a packet on one of them; with no interface, none. A known role
 * without a name (an external interface) may match a name by its role: every rule.
 */
function ifaceCandidates(chain: Chain, which: "iif" | "oif", iface: Iface | undefined): readonly number[] | undefined {
  if (iface && iface.name === undefined) return undefined;
  let idx = ifaceIndex.get(chain);
  if (!idx) {
    const build = (w: "iif" | "oif"): IfaceIndex => {
      const byName = new Map<string, number[]>();
      const rest: number[] = [];
      chain.rules.forEach((r, i) => {
        const names = r.ifaceKeys?.[w];
        if (!names) rest.push(i);
        else for (const n of new Set(names)) byName.set(n, [...(byName.get(n) ?? []), i]);
      });
      return { byName, rest, merged: new Map() };
    };
    ifaceIndex.set(chain, (idx = { iif: build("iif"), oif: build("oif") }));
  }
  const x = idx[which];
  if (!iface) return x.rest;
  const done = x.merged.get(iface.name!);
  if (done) return done;
  const hit = x.byName.get(iface.name!);
  if (!hit) return x.rest;
  const out: number[] = [];
  let a = 0;
  let b = 0;
  while (a < hit.length || b < x.rest.length) {
    if (b >= x.rest.length || (a < hit.length && hit[a]! < x.rest[b]!)) out.push(hit[a++]!);
    else out.push(x.rest[b++]!);
  }
  x.merged.set(iface.name!, out);
  return out;
}

/** The packet as a hook sees it: the interface it cannot know hidden (as evaluateHooks does). */
function seenAt(k: Hook, q: Packet): Packet {
  return (k === "prerouting" || k === "input") && q.oif !== undefined ? { ...q, oif: undefined } : k === "output" && q.iif !== undefined ? { ...q, iif: undefined } : q;
}

/**
 * The rules of a translation-free path (natFree) that some packet differing from this one only in its
 * symbolic addresses can match: at each hook, in each base chain and the chains it reaches, those whose
 * every match but the ones on a symbolic address holds for the packet as that hook sees it (the same
 * packet at every hook: nothing translates it). Every other rule fails on every such packet, so two
 * addresses the kept rules' cuts do not tell apart get the same result at every hook, with the same
 * witness: trying one per class of these cuts decides what trying one per class of all the path's cuts
 * decides. Packets with the same kept rules (at each hook and base chain) and the same symbolic
 * addresses, port class and interfaces meet the same rules with the same outcome (packetClass).
 */
function prunedCuts(rs: Ruleset, hooks: readonly Hook[], p: Packet, path = pathInfo(rs, hooks, p.family)): Kept {
  const symS = p.saddr.kind !== "ip";
  const symD = p.daddr.kind !== "ip";
  const plan = prunePlan(rs, hooks, path, p.family);
  const kept = keptScratch;
  kept.length = 0;
  let node = plan.roots[(symS ? 1 : 0) | (symD ? 2 : 0)]!;
  for (const { hook: k, bases } of plan.hooks) {
    const seen = seenAt(k, p);
    for (const { base, chains } of bases) {
      node = trieStep(node, -1);
      for (const { chain, ids } of chains) {
        const byIif = ifaceCandidates(chain, "iif", seen.iif);
        const byOif = ifaceCandidates(chain, "oif", seen.oif);
        const cand = byIif && byOif ? (byIif.length <= byOif.length ? byIif : byOif) : (byIif ?? byOif);
        const n = cand ? cand.length : chain.rules.length;
        for (let c = 0; c < n; c++) {
          const ri = cand ? cand[c]! : c;
          const rule = chain.rules[ri]!;
          if (rule.never) continue;
          let holds = true;
          for (const m of rule.matchers) {
            if (m.reads === "saddr" ? symS : m.reads === "daddr" && symD) continue;
            if (!m(seen, k, base.priority)) {
              holds = false;
              break;
            }
          }
          if (!holds) continue;
          node = trieStep(node, ids[ri]!);
          kept.push(rule);
        }
      }
    }
  }
  if (!node.value) {
    const perRs = keptRoots.get(rs)!;
    node.value = { id: perRs.count++, cuts: cutsOfRules(kept) };
  }
  kept.length = 0;
  return node.value;
}
/** prunedCuts' kept rules, reused (read only for a new set's cuts, before it returns). */
const keptScratch: Rule[] = [];

/** Port cuts per ruleset and path key (prefix), by the packet but its port (portSpan's trie). */
const spanRoots = new WeakMap<Ruleset, Map<string, TrieNode<number[]>>>();

/**
 * The ports around the packet's dport that these hooks cannot tell from it: every packet equal to
 * this one but for a dport in [lo, hi] meets the same rules with the same outcome and witness at
 * every hook, so evaluateHooks gives it the same result (constructs included). The cuts are the port
 * ranges (and nat target ports) of the rules whose other matches may hold for the packet as each
 * hook sees it (a match on a symbolic address counts as holding, as in prunedCuts; a rule none of
 * whose port-free matches hold fails on every port); at and after the first hook where a nat rule
 * is reachable, of every rule there (what the translated packet meets is not pruned). The port alone
 * where a translation before the last hook decides (packetClass is undefined there too).
 */
export function portSpan(rs: Ruleset, hooks: readonly Hook[], p: Packet): { lo: number; hi: number } {
  const path = pathInfo(rs, hooks, p.family);
  if (path.exact || p.iifAddr || p.oifAddr || p.redirected) return { lo: p.dport, hi: p.dport };
  const symS = p.saddr.kind !== "ip";
  const symD = p.daddr.kind !== "ip";
  // A concrete address by its spec (ipSpec gives one per address; another spec of it is only another entry), a symbolic one as any.
  let node = trieStep(path.spans, symS ? null : p.saddr);
  node = trieStep(node, symD ? null : p.daddr);
  node = trieStep(node, p.proto);
  node = trieStep(node, classIface(p.iif));
  node = trieStep(node, classIface(p.oif));
  node = trieStep(node, p.dnat ? 1 : 0);
  node = trieStep(node, p.inSets?.length ? p.inSets.join(",") : "");
  let cuts = node.value;
  if (!cuts) {
    const points = new Set<number>();
    const natAt = path.natAt;
    for (const [hi, k] of hooks.entries()) {
      const seen = seenAt(k, p);
      const every = natAt !== -1 && hi >= natAt;
      for (const base of baseChains(rs, k, p.family)) {
        for (const chain of chainsFrom(rs, base)) {
          const byIif = every ? undefined : ifaceCandidates(chain, "iif", seen.iif);
          const byOif = every ? undefined : ifaceCandidates(chain, "oif", seen.oif);
          const cand = byIif && byOif ? (byIif.length <= byOif.length ? byIif : byOif) : (byIif ?? byOif ?? chain.rules.keys());
          for (const ri of cand) {
            const rule = chain.rules[ri]!;
            if (rule.never) continue;
            if (!every && !rule.matchers.every((m) => m.reads === "dport" || (m.reads === "saddr" ? symS : m.reads === "daddr" && symD) || m(seen, k, base.priority))) continue;
            for (const ref of rule.portRefs) {
              for (const [lo, hi2] of ref()) {
                points.add(lo);
                points.add(hi2 + 1);
              }
            }
            if (rule.nat?.port) {
              points.add(rule.nat.port);
              points.add(rule.nat.port + 1);
            }
          }
        }
      }
    }
    node.value = cuts = [...points].sort((a, b) => a - b);
  }
  const i = classIndex(cuts, p.dport);
  return { lo: i === 0 ? 0 : cuts[i - 1]!, hi: i < cuts.length ? cuts[i]! - 1 : 65535 };
}

function cutsOfChains(chains: readonly Chain[]): Cuts {
  return cutsOfRules(chains.flatMap((c) => c.rules));
}

function cutsOfRules(rules: readonly Rule[]): Cuts {
  const saddr = new Map<4 | 6, Set<bigint>>([[4, new Set()], [6, new Set()]]);
  const daddr = new Map<4 | 6, Set<bigint>>([[4, new Set()], [6, new Set()]]);
  const ports = new Set<number>();
  {
    for (const r of rules) {
      for (const ref of r.addrRefs) {
        for (const x of ref.get()) {
          const m = (ref.which === "saddr" ? saddr : daddr).get(x.v)!;
          m.add(x.lo);
          m.add(x.hi + 1n);
        }
      }
      for (const ref of r.portRefs) {
        for (const [lo, hi] of ref()) {
          ports.add(lo);
          ports.add(hi + 1);
        }
      }
      if (r.nat?.port) ports.add(r.nat.port);
    }
  }
  const sorted = (m: Map<4 | 6, Set<bigint>>) => new Map([...m].map(([v, xs]) => [v, [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))] as const));
  return { saddr: sorted(saddr), daddr: sorted(daddr), ports: [...ports].sort((a, b) => a - b) };
}

/**
 * Port classes of the rulesets: intervals of 1-65535 inside which every port gets the same
 * verdict from every rule (each rule compares dport with ranges; the interval ends are where
 * one starts or stops), plus the extra ports given. The lowest port of each class stands for it.
 */
export function portClasses(rulesets: readonly Ruleset[], extra: readonly number[] = []): { lo: number; hi: number }[] {
  const cuts = new Set<number>([1, ...extra, ...extra.map((p) => p + 1)]);
  for (const rs of rulesets) for (const c of cutsOf(rs).ports) cuts.add(c);
  const points = [...cuts].filter((p) => p >= 1 && p <= 65535).sort((a, b) => a - b);
  return points.map((lo, i) => ({ lo, hi: (points[i + 1] ?? 65536) - 1 }));
}

const representativesCache = new WeakMap<readonly bigint[], Map<string, AddrSpec[]>>();

/**
 * Concrete addresses standing for every class of the spec the ruleset tells apart (the lowest address
 * of each). Cached per ruleset (its cuts) and spec: the same symbolic source or destination is tried on
 * every port class of every flow.
 */
function representatives(spec: AddrSpec, cuts: readonly bigint[]): AddrSpec[] {
  if (spec.kind === "ip") return [spec];
  const ranges = spec.kind === "any" ? [fullRange(spec.v)] : spec.ranges.filter((r) => r.v === spec.v);
  const key = rangesKeyOf(spec);
  let byKey = representativesCache.get(cuts);
  if (!byKey) representativesCache.set(cuts, (byKey = new Map()));
  const hit = byKey.get(key);
  if (hit) return hit;
  const out = new Set<bigint>();
  for (const r of ranges) {
    out.add(r.lo);
    // cuts are sorted: start at the first one above r.lo.
    for (let i = classIndex(cuts, r.lo); i < cuts.length && cuts[i]! <= r.hi; i++) out.add(cuts[i]!);
  }
  const reps = [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((n): AddrSpec => ({ kind: "ip", v: spec.v, n, text: formatIp(spec.v, n) }));
  byKey.set(key, reps);
  return reps;
}

const classRepsCache = new WeakMap<readonly bigint[], Map<string, AddrSpec[]>>();

/**
 * The representatives (ascending) of which no two lie between the same two cuts: the lowest of each
 * class the cuts draw over the spec (a class may span several of the spec's ranges). Two addresses of
 * one class get the same result from every rule whose cuts these are, so the first of the class that
 * passes is its lowest, the one representatives() would try first.
 */
function classRepresentatives(spec: AddrSpec, cuts: readonly bigint[]): AddrSpec[] {
  const all = representatives(spec, cuts);
  if (spec.kind === "ip" || all.length < 2) return all;
  let byKey = classRepsCache.get(cuts);
  if (!byKey) classRepsCache.set(cuts, (byKey = new Map()));
  const key = rangesKeyOf(spec);
  const hit = byKey.get(key);
  if (hit) return hit;
  const out: AddrSpec[] = [];
  let last = -1;
  for (const a of all) {
    const c = classIndex(cuts, (a as { n: bigint }).n);
    if (c !== last) out.push(a);
    last = c;
  }
  byKey.set(key, out);
  return out;
}

/**
 * Evaluates the packet at one hook, every base chain of a matching family on it in the kernel's
 * order: one drop anywhere drops; accept in one base chain passes to the next; a nat chain's
 * translation rewrites the packet the later chains see. A packet with a symbolic address (the
 * internet, a set of ranges) is accepted when some address in it is: each class of addresses
 * the ruleset tells apart is tried with one concrete address, and the construct names it.
 */
export function evaluateHook(rs: Ruleset, hook: Hook, p: Packet): EvalResult {
  if (p.saddr.kind === "ip" && p.daddr.kind === "ip") return evaluateConcrete(rs, hook, p);
  const cuts = cutsOf(rs);
  let first: EvalResult | undefined;
  for (const s of representatives(p.saddr, cuts.saddr.get(p.saddr.v) ?? [])) {
    for (const d of representatives(p.daddr, cuts.daddr.get(p.daddr.v) ?? [])) {
      const r = evaluateConcrete(rs, hook, { ...p, saddr: s, daddr: d });
      const witness = p.saddr.kind !== "ip" && p.daddr.kind !== "ip" ? `from ${specText(s)} to ${specText(d)}` : p.saddr.kind !== "ip" ? `from ${specText(s)}` : `to ${specText(d)}`;
      const named = { ...r, construct: `${r.construct} [${witness}]` };
      if (r.verdict === "accept") return named;
      first ??= named;
    }
  }
  return first ?? evaluateConcrete(rs, hook, p);
}

export interface HooksResult {
  readonly verdict: "accept" | "drop";
  /** Each hook passed, with its result (the last one decided a drop). */
  readonly steps: readonly { readonly hook: Hook; readonly result: EvalResult }[];
  /** A nat chain at prerouting or output sent the packet to another destination (it leaves this path). */
  readonly diverted?: { readonly hook: Hook; readonly result: EvalResult };
  /** The concrete addresses tried when the packet's were symbolic: `from 10.0.0.0`. */
  readonly witness?: string;
}

/**
 * The packet through several hooks in order (prerouting then input; prerouting, forward and
 * postrouting; output and postrouting), each seeing what the previous ones left (translations
 * included; iif is unknown at output and postrouting's local packets, oif at prerouting and
 * input). A symbolic address is tried one concrete address per class, through all the hooks:
 * accepted when one address passes every hook.
 */
export function evaluateHooks(rs: Ruleset, hooks: readonly Hook[], p: Packet, opts: { readonly allCuts?: boolean; readonly pathCuts?: boolean } = {}): HooksResult {
  const one = (q: Packet, witness?: string): HooksResult => {
    const steps: { hook: Hook; result: EvalResult }[] = [];
    let cur = q;
    for (const k of hooks) {
      // The interface a hook cannot know is hidden from it (copied only when set: this runs for every class tried).
      const seen = (k === "prerouting" || k === "input") && cur.oif !== undefined ? { ...cur, oif: undefined } : k === "output" && cur.iif !== undefined ? { ...cur, iif: undefined } : cur;
      const result = evaluateConcrete(rs, k, seen);
      steps.push({ hook: k, result });
      if (result.verdict === "drop") return { verdict: "drop", steps, witness };
      if (result.nat && (k === "prerouting" || k === "output") && specText(result.packet.daddr) !== specText(cur.daddr)) return { verdict: "drop", steps, diverted: { hook: k, result }, witness };
      cur = { ...result.packet, iif: cur.iif, oif: cur.oif };
    }
    return { verdict: "accept", steps, witness };
  };
  if (p.saddr.kind === "ip" && p.daddr.kind === "ip") return one(p);
  // `allCuts`: every class of the whole ruleset; `pathCuts`: of the rules the path reaches (the
  // equivalence tests' references). Else, on a path nothing translates, of the rules the packet's
  // concrete fields let match (prunedCuts), one address per class.
  const pruned = !opts.allCuts && !opts.pathCuts && pathInfo(rs, hooks, p.family).natFree;
  const cuts = opts.allCuts ? cutsOf(rs) : pruned ? prunedCuts(rs, hooks, p).cuts : pathCutsOf(rs, hooks, p.family);
  const reps = pruned ? classRepresentatives : representatives;
  let first: HooksResult | undefined;
  const witnessOf = (s: AddrSpec, d: AddrSpec) => (p.saddr.kind !== "ip" && p.daddr.kind !== "ip" ? `from ${specText(s)} to ${specText(d)}` : p.saddr.kind !== "ip" ? `from ${specText(s)}` : `to ${specText(d)}`);
  for (const s of reps(p.saddr, cuts.saddr.get(p.saddr.v) ?? [])) {
    for (const d of reps(p.daddr, cuts.daddr.get(p.daddr.v) ?? [])) {
      const r = one({ ...p, saddr: s, daddr: d });
      if (r.verdict === "accept") return { ...r, witness: witnessOf(s, d) };
      first ??= { ...r, witness: witnessOf(s, d) };
    }
  }
  return first ?? one(p);
}

function evaluateConcrete(rs: Ruleset, hook: Hook, p0: Packet): EvalResult {
  let p = p0;
  let last: EvalResult | undefined;
  let nat: EvalResult["nat"];
  for (const base of baseChains(rs, hook, p.family)) {
    // The kernel binds a connection's NAT at a hook once: the first nat chain that translates the
    // packet wins, and the later nat chains on that hook are not run for it (nf_nat_inet_fn).
    if (base.type === "nat" && nat) continue;
    const where = chainWhere(base);
    const raw = runChain(rs, base, base, p, hook, 0);
    const r = raw === "return" ? null : raw;
    if (r?.nat && r.verdict === "accept") {
      p = applyNat(p, r.nat);
      nat = { construct: r.construct, line: r.line };
    }
    if (r && r.verdict === "drop") return { ...r, chain: base.name, packet: p, nat };
    if (r) last = { verdict: r.verdict, construct: r.construct, line: r.line, chain: base.name, packet: p, nat };
    else if (base.policy === "drop") return { verdict: "drop", construct: `${where} policy drop`, line: base.policyLine ?? base.line, chain: base.name, packet: p, nat };
    else if (base.type !== "nat" || !last) last = { verdict: "accept", construct: `${where} policy accept`, line: base.policyLine ?? base.line, chain: base.name, packet: p, nat };
  }
  return last ? { ...last, packet: p, nat } : { verdict: "accept", construct: `no ${hook} chain (accept)`, line: 0, chain: "", packet: p, nat };
}

function applyNat(p: Packet, nat: NonNullable<Rule["nat"]>): Packet {
  switch (nat.kind) {
    case "dnat":
      return { ...p, daddr: ipSpec(nat.addr!), dport: nat.port ?? p.dport, dnat: true };
    case "redirect":
      return { ...p, daddr: p.iifAddr ?? p.daddr, dport: nat.port ?? p.dport, dnat: true, redirected: true };
    case "snat":
      return { ...p, saddr: ipSpec(nat.addr!) };
    case "masquerade":
      return { ...p, saddr: p.oifAddr ?? p.saddr };
  }
}

/** Indices of the rules that can match the packet, in order: rules for its exact destination plus every other rule. */
function candidateRules(chain: Chain, p: Packet): Iterable<number> {
  if (p.daddr.kind !== "ip" || chain.rules.length < 16) return chain.rules.keys();
  if (!chain.index) {
    const byDaddr = new Map<string, number[]>();
    const rest: number[] = [];
    chain.rules.forEach((r, i) => {
      if (r.daddrKeys) for (const k of r.daddrKeys) byDaddr.set(k, [...(byDaddr.get(k) ?? []), i]);
      else rest.push(i);
    });
    chain.index = { byDaddr, rest };
  }
  const hit = chain.index.byDaddr.get(`${p.daddr.v}:${p.daddr.n}`) ?? [];
  const rest = chain.index.rest;
  if (hit.length === 0) return rest;
  const out: number[] = [];
  let a = 0;
  let b = 0;
  while (a < hit.length || b < rest.length) {
    if (b >= rest.length || (a < hit.length && hit[a]! < rest[b]!)) out.push(hit[a++]!);
    else out.push(rest[b++]!);
  }
  return out;
}

const wheres = new WeakMap<Chain, string>();

/** `table inet palisade chain forward`: how a verdict names its chain. */
function chainWhere(c: Chain): string {
  let w = wheres.get(c);
  if (w === undefined) wheres.set(c, (w = `table ${c.family} ${c.table} chain ${c.name}`));
  return w;
}

function runChain(rs: Ruleset, chain: Chain, base: Chain, p: Packet, hook: Hook, depth: number): (NftVerdict & { nat?: Rule["nat"] }) | null | "return" {
  if (depth > 16) return { verdict: "drop", construct: `jump loop at chain ${chain.name}`, line: chain.line };
  for (const ri of candidateRules(chain, p)) {
    const rule = chain.rules[ri]!;
    if (rule.never) continue;
    if (!rule.matchers.every((m) => m(p, hook, base.priority))) continue;
    let v = rule.verdict;
    if (rule.vmap) {
      const keys = rule.vmap.select(p, hook, base.priority);
      const hit = keys.map((key) => rule.vmap!.entries.get(key)).find((x) => x);
      if (!hit) continue;
      v = hit;
    }
    if (!v || v.kind === "continue") continue;
    const construct = `${chainWhere(chain)} rule (line ${rule.line}): ${rule.text}`;
    if (v.kind === "accept" || v.kind === "drop") return { verdict: v.kind, construct, line: rule.line, nat: rule.nat };
    if (v.kind === "return") return "return";
    const target = chainNamed(rs, chain.family, chain.table, v.target ?? "");
    if (!target) return { verdict: "drop", construct: `${construct} (no chain ${v.target})`, line: rule.line };
    const r = runChain(rs, target, base, p, hook, depth + 1);
    if (r && r !== "return") return r;
    if (v.kind === "goto") return null;
  }
  return null;
}

/** sourceNat's chains per ruleset, by family. */
const snatChainsCache = new WeakMap<Ruleset, Chain[][]>();

/** The source NAT the postrouting nat chains apply to the packet, if any. */
export function sourceNat(rs: Ruleset, p: Packet): { to: string; construct: string; line: number } | undefined {
  let byFamily = snatChainsCache.get(rs);
  if (!byFamily) snatChainsCache.set(rs, (byFamily = []));
  let chains = byFamily[p.family];
  if (!chains) {
    const fam = p.family === 4 ? "ip" : "ip6";
    chains = byFamily[p.family] = rs.chains.filter((c) => c.hook === "postrouting" && c.type === "nat" && (c.family === "inet" || c.family === fam)).sort((a, b) => a.priority - b.priority);
  }
  for (const c of chains) {
    for (const rule of c.rules) {
      if (rule.never || !rule.snat || !rule.matchers.every((m) => m(p, "postrouting", c.priority))) continue;
      return { to: rule.snat, construct: `table ${c.family} ${c.table} chain ${c.name} rule (line ${rule.line}): ${rule.text}`, line: rule.line };
    }
  }
  return undefined;
}

export { fullRange, specText };
