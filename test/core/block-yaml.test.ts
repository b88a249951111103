import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { parseDocument, stringify } from "yaml";
import { readBlockYaml } from "../../core/block-yaml.js";
import { rng } from "../../core/rng.js";
import { generateSite } from "../../scripts/lab-fuzz/generate-site.js";
import { largeSite } from "../../scripts/bench/large-site.js";
import { examples } from "../helpers/examples.js";
import { ROOT } from "../helpers/paths.js";

/**
 * The block-YAML reader against the `yaml` library, the reader that decides: wherever the fast
 * reader gives a value it must be the library's (same keys, order, types, NaN and -0 included),
 * and wherever the library refuses a text the fast reader must refuse it too.
 */
function libraryRefuses(text: string): boolean {
  return parseDocument(text, { uniqueKeys: true, prettyErrors: false }).errors.length > 0;
}

/** What is wrong with the fast reader's answer on `text`, or undefined when it agrees (or declines). */
function disagreement(text: string): string | undefined {
  const fast = readBlockYaml(text);
  if (fast === undefined) return undefined;
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) return "the library refuses it; the fast reader gave a value";
  const value: unknown = doc.toJS();
  if (!isDeepStrictEqual(fast, value)) return `values differ: fast ${JSON.stringify(fast)} library ${JSON.stringify(value)}`;
  return undefined;
}

/** Scalars chosen to sit on the core schema's edges and on the subset's. */
const TRICKY_SCALARS: readonly unknown[] = [
  "plain", "two words", "tcp/8000", "172.16.0.0/12", "2001:db8::20", "fd78::", "http://127.0.0.1:8000/", "ssh://deploy@203.0.113.20",
  "a: b", "a:b", "a #b", "a#b", "#a", "-", "-a", "- a", "?a", ":a", "a:", "'quoted'", '"dq"', "it's", "x, y", "[a]", "{a}", "a]", "&x", "*x", "!x", "|", ">", "%x", "@x", "`x",
  "true", "True", "TRUE", "tRUE", "yes", "on", "off", "no", "null", "Null", "~", "", " ", " lead", "trail ", "0x1F", "0o17", "017", "+5", "-0", "1e3", ".5", "1.", ".inf", "-.Inf", ".NaN", "1_000", "0b11",
  "é", "\u00e9t\u00e9", "\u2603", "back\\slash", 'say "hi"', "new\nline", "\u0001", "__proto__", "<<",
  0, -0, 1, -17, 8080, 3.5, 1e21, 2 ** 60, NaN, Infinity, -Infinity, true, false, null,
];

function randomValue(r: () => number, depth: number): unknown {
  const roll = r();
  if (depth <= 0 || roll < 0.45) return TRICKY_SCALARS[Math.floor(r() * TRICKY_SCALARS.length)];
  if (roll < 0.7) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth - 1));
  const map: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) {
    const key = r() < 0.7 ? `k${Math.floor(r() * 6)}` : String(TRICKY_SCALARS[Math.floor(r() * TRICKY_SCALARS.length)]);
    if (key !== "__proto__") map[key] = randomValue(r, depth - 1);
  }
  return map;
}

/** One-line edits an operator (or a bad merge) makes: a character in, a character out, a line moved in or out, a line repeated. */
function mutate(text: string, r: () => number): string {
  const lines = text.split("\n");
  const at = Math.floor(r() * lines.length);
  const line = lines[at]!;
  const col = Math.floor(r() * (line.length + 1));
  const inserts = [":", ": ", " ", "  ", "#", " #", "-", "- ", "'", '"', "[", "]", "{", "}", ",", "&", "*", "!", "|", "\\", "\t", "0", "~", "?"];
  switch (Math.floor(r() * 6)) {
    case 0:
      lines[at] = line.slice(0, col) + inserts[Math.floor(r() * inserts.length)] + line.slice(col);
      break;
    case 1:
      lines[at] = line.slice(0, col) + line.slice(col + 1);
      break;
    case 2:
      lines[at] = " ".repeat(1 + Math.floor(r() * 2)) + line;
      break;
    case 3:
      lines[at] = line.replace(/^ {1,2}/, "");
      break;
    case 4:
      lines.splice(at, 0, line);
      break;
    default:
      lines.splice(at, 1);
  }
  return lines.join("\n");
}

describe("the block-YAML reader (differential, against the yaml library)", () => {
  it.each(examples.map((e) => [e.name, e.text] as const))("GIVEN the example %s WHEN read THEN the value is the library's (or it declines)", (_name, text) => {
    expect(disagreement(text)).toBeUndefined();
  });

  it("GIVEN generated platforms and the 1,000-service benchmark site WHEN read THEN each is read fast, with the library's value", () => {
    const texts = [...Array.from({ length: 40 }, (_, seed) => generateSite(seed).yaml), largeSite(ROOT, 1000)];
    for (const text of texts) {
      expect(readBlockYaml(text), "the writer's own block style is inside the subset").toBeDefined();
      expect(disagreement(text)).toBeUndefined();
    }
  });

  it("GIVEN 3,000 random documents written by the library in its styles WHEN read THEN never a value the library does not give", () => {
    const r = rng(11);
    let read = 0;
    for (let i = 0; i < 3000; i++) {
      const value = { root: randomValue(r, 4), [`k${i % 7}`]: randomValue(r, 3) };
      const text = stringify(value, {
        indentSeq: r() < 0.5,
        indent: 2 + Math.floor(r() * 3),
        flowCollectionPadding: r() < 0.5,
        collectionStyle: r() < 0.25 ? "flow" : "any",
        defaultStringType: (["PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE"] as const)[Math.floor(r() * 3)],
        defaultKeyType: r() < 0.3 ? "QUOTE_DOUBLE" : null,
        lineWidth: r() < 0.2 ? 20 : 80,
      });
      const wrong = disagreement(text);
      if (wrong) throw new Error(`case ${i}: ${wrong}\n${text}`);
      if (readBlockYaml(text) !== undefined) read++;
    }
    // Most of these are inside the subset: the comparison above is not vacuous.
    expect(read).toBeGreaterThan(1000);
  });

  it("GIVEN 1,000 edits of the examples and of generated sites WHEN read THEN the fast reader refuses whatever the library refuses and agrees elsewhere", () => {
    const r = rng(23);
    const bases = [...examples.filter((e) => readBlockYaml(e.text) !== undefined).map((e) => e.text), ...[3, 5, 8].map((seed) => generateSite(seed).yaml)];
    let read = 0;
    let refusedByLibrary = 0;
    for (let i = 0; i < 1000; i++) {
      let text = bases[i % bases.length]!;
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) text = mutate(text, r);
      const wrong = disagreement(text);
      if (wrong) throw new Error(`case ${i}: ${wrong}\n${text}`);
      if (readBlockYaml(text) !== undefined) read++;
      else if (libraryRefuses(text)) refusedByLibrary++;
    }
    // Both sides are exercised: edits the fast reader reads (compared) and edits the library refuses.
    expect(read).toBeGreaterThan(200);
    expect(refusedByLibrary).toBeGreaterThan(60);
  });

  it("GIVEN what is outside the subset WHEN read THEN it declines, so the library reads it (and reports its errors)", () => {
    for (const text of [
      "a: &x 1\nb: *x\n", // anchors and aliases
      "a: !!str 5\n", // tags
      "a: |\n  text\n", // block scalars
      "a: one\n  two\n", // a multi-line plain scalar
      "a: 1\na: 2\n", // a repeated key
      "80: http\n", // a key that is not a string
      "? a\n: b\n", // a complex key
      "---\na: 1\n", // document markers
      "a:\n\t- b\n", // a tab
      '"a": "\\x41"\n', // an escape outside the subset
      "- a\n- b\n", // not a mapping at the top
    ]) {
      expect(readBlockYaml(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it("GIVEN the subset's forms WHEN read THEN each has its YAML value", () => {
    const text = [
      "# a comment",
      "plain: two words # and a comment",
      "ints: [1, -2, +3, 017, 0x1F, 0o17]",
      "quoted: { dq: \"a: b \\\"c\\\" \\u00e9\", sq: 'it''s' }",
      "nulls:",
      "  - ~",
      "  -",
      "  - null",
      "seq:",
      "- id: fiber",
      "  address: 198.51.100.20/28",
      "empty: {}",
    ].join("\n");
    expect(readBlockYaml(text)).toEqual({
      plain: "two words",
      ints: [1, -2, 3, 17, 31, 15],
      quoted: { dq: 'a: b "c" \u00e9', sq: "it's" },
      nulls: [null, null, null],
      seq: [{ id: "fiber", address: "198.51.100.20/28" }],
      empty: {},
    });
    expect(disagreement(text)).toBeUndefined();
  });
});
