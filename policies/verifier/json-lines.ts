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
      const parts = pointer.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1"));
      for (let n = parts.length; n >= 0; n--) {
        const hit = lines.get(n === 0 ? "" : `/${parts.slice(0, n).join("/")}`);
        if (hit !== undefined) return hit;
      }
      return 1;
    },
  };
}

/** The line of every value, by JSON pointer; throws JsonSyntaxError where the text is not JSON. */
function scan(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(what, line);
  };
  const ws = () => {
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c === "\n") line++;
      else if (c !== " " && c !== "\t" && c !== "\r") break;
    }
  };
  const str = (): string => {
    const start = i;
    i++;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c === "\\") i++;
      else if (c === '"') break;
      else if (c === "\n") fail("a line break inside a string");
    }
    if (i >= text.length) fail("an unterminated string");
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail("an invalid string escape");
    }
  };
  const value = (path: string): unknown => {
    ws();
    lines.set(path, line);
    const c = text[i];
    if (c === "{") {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === "}") {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a property name");
        const k = str();
        ws();
        if (text[i] !== ":") fail(`expected ':' after "${k}"`);
        i++;
        if (Object.prototype.hasOwnProperty.call(o, k)) fail(`duplicate key "${k}" (engines keep only one of them)`);
        o[k] = value(`${path}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return o;
        }
        fail("expected ',' or '}' (unbalanced braces?)");
      }
    }
    if (c === "[") {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(value(`${path}/${a.length}`));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return a;
        }
        fail("expected ',' or ']' (unbalanced brackets?)");
      }
    }
    if (c === '"') return str();
    const lit = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!lit) return fail(i >= text.length ? "unexpected end of file" : `unexpected ${JSON.stringify(text[i])}`);
    i += lit[0].length;
    return JSON.parse(lit[0]) as unknown;
  };
  value("");
  ws();
  if (i < text.length) fail("text after the JSON value");
  return lines;
}
