/*
 * JSON with line numbers: findings about an engine's artifact (cdk.tf.json, the Pulumi capture)
 * name the line of the field they are about, and a file that is not JSON names the line where it
 * stops being JSON. A small parser of its own (JSON.parse keeps no positions).
 */

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`${message} at line ${line}`);
    this.name = "JsonSyntaxError";
  }
}

export interface LocatedJson {
  readonly value: unknown;
  /** Line of the value at a JSON pointer (`/resource/docker_container/x/user`), or of its nearest present parent. */
  lineOf(pointer: readonly (string | number)[]): number;
}

// One parse per artifact text: the engine readers, the drift and role checks and the guardrails
// all read the same cdk.tf.json and Pulumi capture (at a thousand services, 2.8 MB each: every
// extra JSON.parse was 25 ms and as much again in garbage collection). The value is shared, so
// callers only read it. Only large texts are kept (a few per verification), and few of them: a
// process verifying many plans (the tests) does not hold on to them all.
const parsed = new Map<string, LocatedJson>();
const CACHED_FROM = 1 << 16;

/**
 * Parses with JSON.parse (fast) and scans the text for the line of each value. The scan also
 * refuses what JSON.parse lets pass: a repeated key (JSON.parse keeps the last, an engine need
 * not), so every caller's handling of unreadable JSON covers it, where the parse is. Text that is
 * not JSON throws JsonSyntaxError with the line where it stops being JSON. The same text gives
 * the same (shared, read-only) value.
 */
export function parseJsonWithLines(text: string): LocatedJson {
  if (text.length < CACHED_FROM) return parseUncached(text);
  const hit = parsed.get(text);
  if (hit) return hit;
  const located = parseUncached(text);
  if (parsed.size >= 16) parsed.clear();
  parsed.set(text, located);
  return located;
}

function parseUncached(text: string): LocatedJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    scan(text); // throws JsonSyntaxError with the line
    throw new JsonSyntaxError((e as Error).message, 1);
  }
  const root = scan(text);
  return {
    value,
    lineOf(pointer) {
      // The deepest node the pointer reaches: the value's own line, or its nearest present parent's.
      let node: Node = root;
      for (const p of pointer) {
        const k = String(p);
        const next: Node | number | undefined = node.kids instanceof Map ? node.kids.get(k) : /^(?:0|[1-9]\d*)$/.test(k) ? node.kids[Number(k)] : undefined;
        if (next === undefined) break;
        if (typeof next === "number") return next;
        node = next;
      }
      return node.line;
    },
  };
}

/**
 * An object or array value and its line; its members are nodes, or bare lines for the others
 * (numbers, strings, literals). A tree, not a map of every value's pointer: at a thousand
 * services the pointer strings (one per value, a quarter of a million) were most of the scan's
 * time and memory.
 */
interface Node {
  readonly line: number;
  readonly kids: Map<string, Node | number> | (Node | number)[];
}

/** A JSON number or literal at the scanner's position (sticky: no copy of the text). */
const LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/**
 * The line of every value, as a tree; throws JsonSyntaxError where the text is not JSON (or
 * repeats a key in an object: engines keep only one of them). It builds no values: a key is
 * decoded only when it holds an escape.
 */
function scan(text: string): Node {
  let i = 0;
  let line = 1;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(what, line);
  };
  const ws = () => {
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) break;
    }
  };
  const str = (): string => {
    const start = i;
    let escaped = false;
    i++;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 92) {
        escaped = true;
        i++;
      } else if (c === 34) break;
      else if (c === 10) fail("a line break inside a string");
    }
    if (i >= text.length) fail("an unterminated string");
    i++;
    if (!escaped) return text.slice(start + 1, i - 1);
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail("an invalid string escape");
    }
  };
  /** The value at the position: its node, or its line when it holds no other value. */
  const value = (): Node | number => {
    ws();
    const at = line;
    const c = text.charCodeAt(i);
    if (c === 123 /* { */) {
      i++;
      const keys = new Map<string, Node | number>();
      ws();
      if (text.charCodeAt(i) === 125) {
        i++;
        return { line: at, kids: keys };
      }
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== 34) fail("expected a property name");
        const k = str();
        ws();
        if (text.charCodeAt(i) !== 58) fail(`expected ':' after "${k}"`);
        i++;
        if (keys.has(k)) fail(`duplicate key "${k}" (engines keep only one of them)`);
        keys.set(k, value());
        ws();
        const d = text.charCodeAt(i);
        if (d === 44) {
          i++;
          continue;
        }
        if (d === 125) {
          i++;
          return { line: at, kids: keys };
        }
        fail("expected ',' or '}' (unbalanced braces?)");
      }
    }
    if (c === 91 /* [ */) {
      i++;
      const items: (Node | number)[] = [];
      ws();
      if (text.charCodeAt(i) === 93) {
        i++;
        return { line: at, kids: items };
      }
      for (;;) {
        items.push(value());
        ws();
        const d = text.charCodeAt(i);
        if (d === 44) {
          i++;
          continue;
        }
        if (d === 93) {
          i++;
          return { line: at, kids: items };
        }
        fail("expected ',' or ']' (unbalanced brackets?)");
      }
    }
    if (c === 34) {
      str();
      return at;
    }
    LITERAL.lastIndex = i;
    const lit = LITERAL.exec(text);
    if (!lit) return fail(i >= text.length ? "unexpected end of file" : `unexpected ${JSON.stringify(text[i])}`);
    i += lit[0].length;
    return at;
  };
  const top = value();
  ws();
  if (i < text.length) fail("text after the JSON value");
  // A document that is one string or number has no members: a node without any.
  return typeof top === "number" ? { line: top, kids: [] } : top;
}
