/**
 * A reader for the plain block-style YAML that site files are written in, for speed only: the
 * `yaml` library builds a whole document (every node, its range, its comments) before it gives
 * the values, about half a second for a site of a thousand services, most of `plan` and `verify`'s
 * reading. This reader gives the values in one pass over the lines.
 *
 * It is never the one that decides what a file means. It reads a narrow subset (block mappings
 * and sequences, single-line plain and quoted scalars, flow sequences of scalars, comments) and
 * returns `undefined` for anything outside it or anything it doubts: anchors, tags, block
 * scalars, multi-line scalars, complex keys, repeated keys, a key that is not a string, tabs,
 * document markers, escapes it does not know, indentation it cannot place. The caller then reads
 * the file with the `yaml` library, which also reports the errors with their lines. Where it
 * returns a value, that value is the one `yaml` (YAML 1.2, core schema) gives: the test reads
 * every example and generated site, and thousands of generated and mutated documents, both ways.
 */

interface Line {
  readonly indent: number;
  /** The line from its first non-space character, with trailing spaces kept (scalars trim them). */
  readonly text: string;
}

/** Thrown inside the reader when the text leaves the subset; caught at the top. */
class OutsideSubset extends Error {}

const outside = (): never => {
  throw new OutsideSubset();
};

/** The values of `text` as `yaml` reads them, or `undefined` if `text` is outside the subset. */
export function readBlockYaml(text: string): Record<string, unknown> | undefined {
  // Characters whose handling differs between YAML readers or needs the full grammar: tabs,
  // carriage returns, other C0/C1 controls, the byte-order mark, Unicode line separators.
  if (/[\t\r\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufeff\u2028\u2029]/.test(text)) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split("\n")) {
    const body = raw.trimStart();
    if (body === "" || body.startsWith("#")) continue;
    const indent = raw.length - body.length;
    if (indent === 0 && (body.startsWith("---") || body.startsWith("...") || body.startsWith("%"))) return undefined;
    lines.push({ indent, text: body });
  }
  if (lines.length === 0 || lines[0]!.indent !== 0) return undefined;
  try {
    const reader = new Reader(lines);
    const value = reader.node();
    if (reader.at < lines.length || value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    return value as Record<string, unknown>;
  } catch (e) {
    if (e instanceof OutsideSubset) return undefined;
    throw e;
  }
}

class Reader {
  at = 0;
  constructor(private readonly lines: Line[]) {}

  /** The block node whose first line is the current one, at that line's indentation. */
  node(): unknown {
    const line = this.lines[this.at]!;
    return isSequenceEntry(line.text) ? this.sequence(line.indent) : this.mapping(line.indent);
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (line.indent < indent) break;
      if (line.indent > indent) outside(); // it would continue the scalar before it, or it is misplaced
      if (!isSequenceEntry(line.text)) break; // the parent mapping's next key (a sequence at its key's indentation)
      const rest = line.text.slice(1).trimStart();
      if (rest === "" || rest.startsWith("#")) {
        this.at++;
        items.push(this.nested(indent, false));
      } else if (isSequenceEntry(rest)) {
        outside(); // "- - a": rare in site files, left to the library
      } else if (keyEnd(rest) >= 0) {
        // "- key: value": a mapping whose indentation is the column of its first key. Read the
        // rest of the line as that mapping's first line.
        this.lines[this.at] = { indent: line.indent + (line.text.length - rest.length), text: rest };
        items.push(this.mapping(this.lines[this.at]!.indent));
      } else {
        this.at++;
        items.push(inlineValue(rest));
      }
    }
    return items;
  }

  private mapping(indent: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (line.indent < indent) break;
      if (line.indent > indent || isSequenceEntry(line.text)) outside(); // a continued scalar, a misplaced line or entry
      const colon = keyEnd(line.text);
      if (colon < 0) outside();
      const key = keyOf(line.text.slice(0, colon));
      if (Object.prototype.hasOwnProperty.call(map, key)) outside(); // the library refuses it, with its line
      const rest = line.text.slice(colon + 1).trimStart();
      this.at++;
      map[key] = rest === "" || rest.startsWith("#") ? this.nested(indent, true) : inlineValue(rest);
    }
    return map;
  }

  /** The value of an entry whose line ends after its indicator: the more-indented lines that follow, else null. */
  private nested(indent: number, inMapping: boolean): unknown {
    const next = this.lines[this.at];
    if (next === undefined || next.indent < indent) return null;
    if (next.indent > indent) return this.node();
    // A mapping's value may be a sequence at the key's own indentation.
    return inMapping && isSequenceEntry(next.text) ? this.sequence(indent) : null;
  }
}

function isSequenceEntry(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

/** Where the key of a `key: value` line ends (the index of its colon), or -1 if the line is not one. */
function keyEnd(text: string): number {
  if (text.startsWith("[") || text.startsWith("{")) return -1; // a flow collection (as a key it is left to the library)
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text, 0);
    return text[end] === ":" && (end + 1 === text.length || text[end + 1] === " ") ? end : -1;
  }
  for (let i = text.indexOf(":"); i >= 0; i = text.indexOf(":", i + 1)) {
    if (i + 1 === text.length || text[i + 1] === " ") return i;
  }
  return -1;
}

function keyOf(raw: string): string {
  if (raw.startsWith('"') || raw.startsWith("'")) {
    const key = quoted(raw);
    return key === "__proto__" ? outside() : key;
  }
  if (raw === "" || raw.endsWith(" ") || raw.includes(" #") || raw === "<<" || startsOutsidePlain(raw)) outside();
  if (typeof plainScalar(raw) !== "string") outside(); // 80:, true:, null: — the library keeps the key's type
  return raw;
}

/** The value written on an entry's line after its indicator (comment-free text, trailing spaces included). */
function inlineValue(text: string): unknown {
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text, 0);
    afterScalar(text, end);
    return quoted(text.slice(0, end));
  }
  if (text.startsWith("[") || text.startsWith("{")) return flowCollection(text);
  const comment = text.indexOf(" #");
  const plain = (comment >= 0 ? text.slice(0, comment) : text).trimEnd();
  if (startsOutsidePlain(plain) || plain.includes(": ") || plain.endsWith(":")) outside();
  return plainScalar(plain);
}

/** A flow collection that opens and closes on the line: `[a, "b"]`, `{ id: x, ports: [tcp/80] }`, `[]`, `{}`. */
function flowCollection(text: string): unknown {
  const [value, end] = flowNode(text, 0);
  afterScalar(text, end);
  return value;
}

/** The flow node at `i` and the index after it. */
function flowNode(text: string, i: number): [unknown, number] {
  const c = text[i];
  if (c === "[" || c === "{") return flowEntries(text, i);
  if (c === '"' || c === "'") {
    const end = quotedEnd(text, i);
    return [quoted(text.slice(i, end)), end];
  }
  let end = i;
  while (end < text.length && !",[]{}#:".includes(text[end]!)) end++;
  // A colon or a hash inside a flow plain scalar (`2001:db8::1`, `a#b`) is left to the library.
  if (text[end] === "#" || (text[end] === ":" && text[end + 1] !== " ")) outside();
  const plain = text.slice(i, end).trimEnd();
  if (plain === "" || startsOutsidePlain(plain)) outside();
  return [plainScalar(plain), end];
}

/** The entries of the flow sequence or mapping opening at `open`, and the index after its close. */
function flowEntries(text: string, open: number): [unknown, number] {
  const isMap = text[open] === "{";
  const close = isMap ? "}" : "]";
  const items: unknown[] = [];
  const map: Record<string, unknown> = {};
  let i = skipSpaces(text, open + 1);
  if (text[i] === close) return [isMap ? map : items, i + 1];
  for (;;) {
    if (isMap) {
      const [key, afterKey] = flowNode(text, i);
      if (typeof key !== "string" || text[afterKey] !== ":" || text[afterKey + 1] !== " " || key === "__proto__") outside();
      if (Object.prototype.hasOwnProperty.call(map, key as string)) outside();
      const [value, afterValue] = flowNode(text, skipSpaces(text, afterKey + 1));
      map[key as string] = value;
      i = skipSpaces(text, afterValue);
    } else {
      const [value, afterValue] = flowNode(text, i);
      items.push(value);
      i = skipSpaces(text, afterValue);
    }
    if (text[i] === ",") {
      i = skipSpaces(text, i + 1);
      if (text[i] === close) outside(); // a trailing comma
      continue;
    }
    if (text[i] !== close) outside();
    return [isMap ? map : items, i + 1];
  }
}

function skipSpaces(text: string, i: number): number {
  while (text[i] === " ") i++;
  return i;
}

/** After a quoted scalar or a flow collection, only spaces and a comment may follow on the line. */
function afterScalar(text: string, end: number): void {
  const tail = text.slice(end);
  if (tail.trim() !== "" && !/^\s+#/.test(tail)) outside();
}

/** Plain scalars may not start with an indicator; `-`, `?` and `:` are left out entirely when followed by a space. */
function startsOutsidePlain(text: string): boolean {
  if (text === "") return false;
  const first = text[0]!;
  if ("&*!|>'\"%@`,[]{}#".includes(first)) return true;
  return (first === "-" || first === "?" || first === ":") && (text.length === 1 || text[1] === " " || first !== "-");
}

/** The end (one past the closing quote) of the quoted scalar at `start`; outside the subset if it does not close on the line. */
function quotedEnd(text: string, start: number): number {
  const quote = text[start]!;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (quote === '"' && c === "\\") i++;
    else if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i + 1;
    }
  }
  return outside();
}

const DOUBLE_QUOTED_ESCAPES: Readonly<Record<string, string>> = { '"': '"', "\\": "\\", "/": "/", n: "\n", t: "\t", r: "\r", "0": "\0", " ": " " };

/** The value of a complete quoted scalar (quotes included). */
function quoted(raw: string): string {
  const body = raw.slice(1, -1);
  if (raw[0] === "'") return body.replaceAll("''", "'");
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i]!;
    if (e === "u" && /^[0-9a-fA-F]{4}$/.test(body.slice(i + 1, i + 5))) {
      const code = parseInt(body.slice(i + 1, i + 5), 16);
      if (code >= 0xd800 && code <= 0xdfff) outside(); // surrogate halves: the library pairs them its own way
      out += String.fromCharCode(code);
      i += 4;
    } else if (Object.prototype.hasOwnProperty.call(DOUBLE_QUOTED_ESCAPES, e)) {
      out += DOUBLE_QUOTED_ESCAPES[e];
    } else {
      outside();
    }
  }
  return out;
}

/** A plain scalar resolved by the YAML 1.2 core schema, with the library's own tests and conversions. */
function plainScalar(s: string): unknown {
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE)$/.test(s)) return true;
  if (/^(?:[Ff]alse|FALSE)$/.test(s)) return false;
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) return s.slice(-3).toLowerCase() === "nan" ? NaN : s[0] === "-" ? -Infinity : Infinity;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s) || /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  if (s === "__proto__") outside();
  return s;
}
