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

/**
 * Parses with JSON.parse (fast); the line of each value is found only when first asked for, by a
 * scan of the text (most verifications ask for none). Text that is not JSON is scanned at once,
 * for the line where it stops being JSON.
 */
export function parseJsonWithLines(text: string): LocatedJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    scan(text); // throws JsonSyntaxError with the line
    throw new JsonSyntaxError((e as Error).message, 1);
  }
  let lines: Map<string, number> | undefined;
  return {
    value,
    lineOf(pointer) {
      lines ??= scan(text);
      const parts = pointer.map((p) => segment(String(p)));
      for (let n = parts.length; n >= 0; n--) {
        const hit = lines.get(n === 0 ? "" : `/${parts.slice(0, n).join("/")}`);
        if (hit !== undefined) return hit;
      }
      return 1;
    },
  };
}

/** A JSON number or literal at the scanner's position (sticky: no copy of the text). */
const LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** A pointer segment as RFC 6901 escapes it. */
const segment = (k: string) => (k.includes("~") || k.includes("/") ? k.replace(/~/g, "~0").replace(/\//g, "~1") : k);

/**
 * The line of every value, by JSON pointer; throws JsonSyntaxError where the text is not JSON
 * (or repeats a key in an object: engines keep only one of them). It builds no values: a key is
 * decoded only when it holds an escape.
 */
function scan(text: string): Map<string, number> {
  const lines = new Map<string, number>();
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
  const value = (path: string): void => {
    ws();
    lines.set(path, line);
    const c = text[i];
    if (c === "{") {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a property name");
        const k = str();
        ws();
        if (text[i] !== ":") fail(`expected ':' after "${k}"`);
        i++;
        if (keys.has(k)) fail(`duplicate key "${k}" (engines keep only one of them)`);
        keys.add(k);
        value(`${path}/${segment(k)}`);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail("expected ',' or '}' (unbalanced braces?)");
      }
    }
    if (c === "[") {
      i++;
      let n = 0;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value(`${path}/${n++}`);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail("expected ',' or ']' (unbalanced brackets?)");
      }
    }
    if (c === '"') {
      str();
      return;
    }
    LITERAL.lastIndex = i;
    const lit = LITERAL.exec(text);
    if (!lit) return fail(i >= text.length ? "unexpected end of file" : `unexpected ${JSON.stringify(text[i])}`);
    i += lit[0].length;
  };
  value("");
  ws();
  if (i < text.length) fail("text after the JSON value");
  return lines;
}
