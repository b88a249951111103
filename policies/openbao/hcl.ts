/*
 * A small HCL reader: enough for the OpenBao configuration and policies Palisade renders
 * (attributes, blocks with labels, strings, numbers, booleans, lists, objects, #, // and block
 * comments). No interpolation, heredocs or expressions. Tests use it to read back what was rendered
 * and assert least privilege path by path; it is not a general HCL implementation.
 */

export type HclValue = string | number | boolean | HclValue[] | { [key: string]: HclValue };

export interface HclBlock {
  readonly type: string;
  readonly labels: readonly string[];
  readonly body: HclBody;
  readonly line: number;
}

export interface HclBody {
  readonly attributes: Readonly<Record<string, HclValue>>;
  readonly blocks: readonly HclBlock[];
}

export class HclSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${message}`);
    this.name = "HclSyntaxError";
  }
}

type TokenKind = "ident" | "string" | "number" | "punct" | "newline" | "eof";
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly value?: string | number;
  readonly line: number;
  readonly column: number;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const adv = (n = 1) => {
    for (let k = 0; k < n; k++) {
      if (src[i] === "\n") {
        line++;
        col = 1;
      } else col++;
      i++;
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    const startLine = line;
    const startCol = col;
    if (c === "\n") {
      out.push({ kind: "newline", text: "\n", line, column: col });
      adv();
    } else if (c === " " || c === "\t" || c === "\r") {
      adv();
    } else if (c === "#" || (c === "/" && src[i + 1] === "/")) {
      while (i < src.length && src[i] !== "\n") adv();
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) throw new HclSyntaxError("unterminated /* comment", startLine, startCol);
      adv(end + 2 - i);
    } else if (c === '"') {
      adv();
      let value = "";
      for (;;) {
        if (i >= src.length || src[i] === "\n") throw new HclSyntaxError("unterminated string", startLine, startCol);
        const ch = src[i]!;
        if (ch === '"') {
          adv();
          break;
        }
        if (ch === "$" && src[i + 1] === "{") throw new HclSyntaxError("interpolation is not supported", line, col);
        if (ch === "\\") {
          const e = src[i + 1];
          const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };
          if (e === undefined || !(e in map)) throw new HclSyntaxError(`unsupported escape \\${e ?? ""}`, line, col);
          value += map[e];
          adv(2);
          continue;
        }
        value += ch;
        adv();
      }
      out.push({ kind: "string", text: value, value, line: startLine, column: startCol });
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i));
      if (!m) throw new HclSyntaxError(`unexpected ${JSON.stringify(c)}`, line, col);
      out.push({ kind: "number", text: m[0], value: Number(m[0]), line, column: col });
      adv(m[0].length);
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      out.push({ kind: "ident", text: m[0], line, column: col });
      adv(m[0].length);
    } else if ("={}[],:".includes(c)) {
      out.push({ kind: "punct", text: c, line, column: col });
      adv();
    } else {
      throw new HclSyntaxError(`unexpected ${JSON.stringify(c)}`, line, col);
    }
  }
  out.push({ kind: "eof", text: "", line, column: col });
  return out;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }
  private next(): Token {
    return this.tokens[this.pos++]!;
  }
  private skipNewlines(): void {
    while (this.peek().kind === "newline") this.pos++;
  }
  private fail(t: Token, expected: string): never {
    throw new HclSyntaxError(`expected ${expected}, found ${t.kind === "eof" ? "end of file" : JSON.stringify(t.text)}`, t.line, t.column);
  }
  private expectPunct(p: string): Token {
    const t = this.next();
    if (t.kind !== "punct" || t.text !== p) this.fail(t, JSON.stringify(p));
    return t;
  }

  body(closing: boolean): HclBody {
    const attributes: Record<string, HclValue> = {};
    const blocks: HclBlock[] = [];
    for (;;) {
      this.skipNewlines();
      const t = this.peek();
      if (closing && t.kind === "punct" && t.text === "}") return { attributes, blocks };
      if (t.kind === "eof") {
        if (closing) this.fail(t, '"}"');
        return { attributes, blocks };
      }
      if (t.kind !== "ident") this.fail(t, "an attribute or block name");
      this.next();
      const after = this.peek();
      if (after.kind === "punct" && after.text === "=") {
        this.next();
        if (Object.hasOwn(attributes, t.text)) throw new HclSyntaxError(`attribute ${t.text} set twice`, t.line, t.column);
        attributes[t.text] = this.value();
        const end = this.peek();
        if (!(end.kind === "newline" || end.kind === "eof" || (end.kind === "punct" && end.text === "}"))) this.fail(end, "a new line after the attribute");
        continue;
      }
      const labels: string[] = [];
      while (this.peek().kind === "string" || this.peek().kind === "ident") labels.push(this.next().text);
      this.expectPunct("{");
      const body = this.body(true);
      this.expectPunct("}");
      blocks.push({ type: t.text, labels, body, line: t.line });
    }
  }

  value(): HclValue {
    this.skipNewlines();
    const t = this.next();
    if (t.kind === "string") return t.value as string;
    if (t.kind === "number") return t.value as number;
    if (t.kind === "ident") {
      if (t.text === "true") return true;
      if (t.text === "false") return false;
      this.fail(t, "a value (expressions are not supported)");
    }
    if (t.kind === "punct" && t.text === "[") {
      const items: HclValue[] = [];
      for (;;) {
        this.skipNewlines();
        if (this.peek().kind === "punct" && this.peek().text === "]") {
          this.next();
          return items;
        }
        items.push(this.value());
        this.skipNewlines();
        const sep = this.peek();
        if (sep.kind === "punct" && sep.text === ",") this.next();
        else if (!(sep.kind === "punct" && sep.text === "]")) this.fail(sep, '"," or "]"');
      }
    }
    if (t.kind === "punct" && t.text === "{") {
      const obj: Record<string, HclValue> = {};
      for (;;) {
        this.skipNewlines();
        const k = this.next();
        if (k.kind === "punct" && k.text === "}") return obj;
        if (k.kind !== "ident" && k.kind !== "string") this.fail(k, "an object key");
        const eq = this.next();
        if (!(eq.kind === "punct" && (eq.text === "=" || eq.text === ":"))) this.fail(eq, '"=" or ":"');
        obj[k.text] = this.value();
        const sep = this.peek();
        if (sep.kind === "punct" && sep.text === ",") this.next();
      }
    }
    this.fail(t, "a value");
  }
}

/** Parses HCL text into attributes and blocks. Throws `HclSyntaxError` with line and column. */
export function parseHcl(text: string): HclBody {
  return new Parser(tokenize(text)).body(false);
}

// ---------------------------------------------------------------------------------------------
// Policies

export const CAPABILITIES = ["create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe"] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface PolicyRule {
  readonly path: string;
  readonly capabilities: readonly Capability[];
}

/** Reads an OpenBao/Vault ACL policy: `path "…" { capabilities = [...] }` blocks, nothing else. */
export function parsePolicy(text: string): PolicyRule[] {
  const body = parseHcl(text);
  if (Object.keys(body.attributes).length > 0) throw new Error(`a policy has only path blocks; found attribute(s) ${Object.keys(body.attributes).join(", ")}`);
  const seen = new Set<string>();
  return body.blocks.map((b) => {
    if (b.type !== "path" || b.labels.length !== 1) throw new Error(`line ${b.line}: expected path "<path>" { ... }, found ${b.type} ${b.labels.map((l) => JSON.stringify(l)).join(" ")}`);
    const path = b.labels[0]!;
    if (seen.has(path)) throw new Error(`line ${b.line}: path ${JSON.stringify(path)} appears twice`);
    seen.add(path);
    const extra = Object.keys(b.body.attributes).filter((k) => k !== "capabilities");
    if (extra.length > 0 || b.body.blocks.length > 0) throw new Error(`line ${b.line}: path ${JSON.stringify(path)} may only set capabilities (found ${extra.join(", ") || "a block"})`);
    const caps = b.body.attributes.capabilities;
    if (!Array.isArray(caps) || caps.some((c) => typeof c !== "string" || !(CAPABILITIES as readonly string[]).includes(c))) {
      throw new Error(`line ${b.line}: path ${JSON.stringify(path)}: capabilities must be a list of ${CAPABILITIES.join(", ")}`);
    }
    return { path, capabilities: caps as Capability[] };
  });
}

/** Compiled patterns: the checks ask about the same policy paths for every request they try. */
const patterns = new Map<string, RegExp>();

function patternRegex(pattern: string): RegExp {
  const hit = patterns.get(pattern);
  if (hit) return hit;
  const glob = pattern.endsWith("*");
  const body = glob ? pattern.slice(0, -1) : pattern;
  const parts = body.split("/").map((seg) => (seg === "+" ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  const re = new RegExp(`^${parts.join("/")}${glob ? ".*" : ""}$`);
  if (patterns.size >= 4096) patterns.clear();
  patterns.set(pattern, re);
  return re;
}

/** Does a policy path (with `+` segment wildcards and a trailing `*` glob) match a request path? */
export function pathMatches(pattern: string, request: string): boolean {
  return patternRegex(pattern).test(request);
}

function firstWildcard(p: string): number {
  const positions = [p.indexOf("+"), p.indexOf("*")].filter((n) => n >= 0);
  return positions.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...positions);
}

/** Vault's priority between two matching paths: negative when `a` is lower priority than `b`. */
export function comparePriority(a: string, b: string): number {
  const wa = firstWildcard(a);
  const wb = firstWildcard(b);
  if (wa !== wb) return wa < wb ? -1 : 1;
  const ga = a.endsWith("*");
  const gb = b.endsWith("*");
  if (ga !== gb) return ga ? -1 : 1;
  const pa = a.split("/").filter((s) => s === "+").length;
  const pb = b.split("/").filter((s) => s === "+").length;
  if (pa !== pb) return pa > pb ? -1 : 1;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The rule that decides a request path: the highest-priority matching rule, or undefined (denied). */
export function governingRule(rules: readonly PolicyRule[], request: string): PolicyRule | undefined {
  const matching = rules.filter((r) => pathMatches(r.path, request));
  matching.sort((x, y) => comparePriority(y.path, x.path));
  return matching[0];
}

/** Whether the policy grants `capability` on `request` (deny wins; no matching rule denies). */
export function allows(rules: readonly PolicyRule[], request: string, capability: Capability): boolean {
  const rule = governingRule(rules, request);
  if (!rule || rule.capabilities.includes("deny")) return false;
  return rule.capabilities.includes(capability);
}
