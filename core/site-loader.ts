import { readFileSync } from "node:fs";
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from "yaml";
import type { z } from "zod";
import { readBlockYaml } from "./block-yaml.js";
import { referenceProblems } from "./site-references.js";
import { normalizeSites, siteFormProblems } from "./sites.js";
import { siteSchema, type Site } from "./site-schema.js";

/** One thing wrong with the site file, said so that an operator can fix it without the code. */
export interface SiteProblem {
  /** Dotted path into the file, e.g. `cloud.uplinks[1].gateway`; `(file)` for the whole file. */
  readonly path: string;
  /** The value given, as the operator wrote it (JSON), or `(missing)`. */
  readonly given: string;
  readonly expected: string;
  readonly fix: string;
}

export class SiteError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly SiteProblem[],
  ) {
    super(`${file}: ${problems.length} problem(s) in the site file`);
    this.name = "SiteError";
  }

  /** Human listing, one problem per block, no stack trace. */
  format(): string {
    const lines = [`error: ${this.file} is not a valid site file (${this.problems.length} problem${this.problems.length === 1 ? "" : "s"}):`];
    for (const p of this.problems) {
      lines.push(`  - ${p.path}: given ${p.given}; expected ${p.expected}.`, `    fix: ${p.fix}`);
    }
    return lines.join("\n");
  }
}

function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "(file)";
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const part of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** zod says "Invalid input: expected object, received number"; the operator needs "a mapping". */
function cleanExpected(message: string): string {
  const words: Record<string, string> = { object: "a mapping", array: "a list", string: "a string", number: "a number", boolean: "true or false" };
  let m = message.replace(/^Invalid input: /, "").replace(/, received \w+$/, "");
  m = m.replace(/^expected (object|array|string|number|boolean)$/, (_, t: string) => `expected ${words[t]}`);
  // A discriminated union's tag (e.g. a tenant's mode): "Invalid discriminator value. Expected 'a' | 'b'".
  m = m.replace(/^Invalid discriminator value\. Expected (.*)$/, (_, opts: string) => `expected one of ${opts.replace(/'/g, '"').split(" | ").join(", ")}`);
  return m.startsWith("expected ") ? m.slice("expected ".length) : m;
}

function problemsFromZod(error: z.ZodError, raw: unknown): SiteProblem[] {
  const out: SiteProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        out.push({
          path: pathText(path),
          given: show(valueAt(raw, path)),
          expected: "no such key here (unknown keys are errors so that typos are not ignored)",
          fix: `remove or rename "${key}"; see palisade.schema.json for the keys allowed ${issue.path.length > 0 ? `at ${pathText(issue.path)}` : "at the top level"}`,
        });
      }
      continue;
    }
    if (issue.code === "invalid_union" && "errors" in issue) {
      // Report the alternative that got furthest instead of zod's generic message.
      const given = valueAt(raw, issue.path);
      out.push({
        path: pathText(issue.path),
        given: show(given),
        expected: cleanExpected(issue.message),
        fix: `set ${pathText(issue.path)} to ${cleanExpected(issue.message)}`,
      });
      continue;
    }
    const given = valueAt(raw, issue.path);
    const expected = cleanExpected(issue.message);
    out.push({
      path: pathText(issue.path),
      given: show(given),
      expected,
      fix: given === undefined ? `add ${pathText(issue.path)}: ${expected}` : `change ${pathText(issue.path)} to ${expected}`,
    });
  }
  return out;
}

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

/** Checks that need the whole file: unique ids, cross references, overlaps. */
export function semanticProblems(site: Site): SiteProblem[] {
  const out: SiteProblem[] = [];
  const uniq = (path: string, items: readonly { id: string }[]) => {
    for (const d of duplicates(items.map((i) => i.id))) {
      const index = items.map((i) => i.id).lastIndexOf(d);
      out.push({ path: `${path}[${index}].id`, given: show(d), expected: "an id not used by another entry", fix: `rename one of the entries with id "${d}" in ${path}` });
    }
  };
  uniq("tenants", site.tenants);
  uniq("postgres.servers", site.postgres.servers);
  uniq("edge.dns.secondaries", site.edge.dns.secondaries);
  for (const d of duplicates(site.postgres.servers.map((s) => s.region))) {
    out.push({ path: "postgres.servers", given: show(d), expected: "one server per region", fix: `keep one server for region "${d}"` });
  }
  site.tenants.forEach((t, i) => {
    if (t.mode === "dedicated" && !site.postgres.servers.some((s) => s.region === t.region)) {
      out.push({
        path: `tenants[${i}].region`,
        given: show(t.region),
        expected: `a region served by a PostgreSQL server (${site.postgres.servers.map((s) => s.region).join(", ")})`,
        fix: `set tenants[${i}].region to one of those, or add a server for "${t.region}" under postgres.servers`,
      });
    }
  });
  site.site.adminCidrs.forEach((c, i) => {
    if (c.endsWith("/0")) {
      out.push({ path: `site.adminCidrs[${i}]`, given: show(c), expected: "a specific range, not the whole internet", fix: "list only the addresses your administrators connect from" });
    }
  });
  out.push(...referenceProblems(site));
  return out;
}

/**
 * A duplicate mapping key, located: the dotted path of the second occurrence (the pair whose key
 * starts at `offset`) and both values, so the operator sees which one would have been lost.
 */
function duplicateKeyProblem(doc: Document, offset: number, line: number): SiteProblem | undefined {
  let problem: SiteProblem | undefined;
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      const parts: PropertyKey[] = [];
      const chain = [...ancestors, pair];
      chain.forEach((node, i) => {
        if (isPair(node) && isScalar(node.key)) parts.push(String(node.key.value));
        else if (isSeq(node)) parts.push(node.items.indexOf(chain[i + 1] as never));
      });
      const parent = ancestors[ancestors.length - 1];
      const key = String(pair.key.value);
      const first = isMap(parent) ? parent.items.find((p) => p !== pair && isScalar(p.key) && String(p.key.value) === key) : undefined;
      const js = (n: unknown) => (isNode(n) ? n.toJSON() : n);
      problem = {
        path: pathText(parts),
        given: `the key ${JSON.stringify(key)} twice in one mapping (line ${line}): ${show(js(first?.value))}, then ${show(js(pair.value))}`,
        expected: "each key at most once per mapping",
        fix: `keep one ${pathText(parts)} and delete the other`,
      };
      return visit.BREAK;
    },
  });
  return problem;
}

/**
 * The values of the site text. Plain block YAML is read by the fast reader; anything outside its
 * subset, and every file with an error, by the `yaml` library, which decides and gives the lines.
 */
function siteValues(text: string, file: string): unknown {
  const fast = readBlockYaml(text);
  if (fast !== undefined) return fast;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e): SiteProblem => {
      const line = lineCounter.linePos(e.pos[0]).line;
      const duplicate = e.code === "DUPLICATE_KEY" ? duplicateKeyProblem(doc, e.pos[0], line) : undefined;
      return (
        duplicate ?? {
          path: "(file)",
          given: `YAML that does not parse (line ${line}: ${e.message.split("\n")[0]})`,
          expected: "valid YAML",
          fix: "correct the YAML syntax at that line",
        }
      );
    });
    // The YAML parser may report one fault more than once; list each problem once.
    const unique = [...new Map(problems.map((p) => [JSON.stringify(p), p])).values()];
    throw new SiteError(file, unique);
  }
  return doc.toJS();
}

/** Parses and validates site text. Throws `SiteError` listing every problem. */
export function parseSite(text: string, file = "palisade.yaml"): Site {
  if (text.trim() === "") {
    throw new SiteError(file, [{ path: "(file)", given: "an empty file", expected: "a YAML mapping with site, edge, tunnel, cloud, images, postgres and tenants", fix: "start from the reference palisade.yaml" }]);
  }
  const raw = siteValues(text, file);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SiteError(file, [{ path: "(file)", given: show(raw), expected: "a YAML mapping at the top level", fix: "start from the reference palisade.yaml" }]);
  }
  const result = siteSchema.safeParse(raw);
  if (!result.success) throw new SiteError(file, problemsFromZod(result.error, raw));
  const form = siteFormProblems(result.data);
  if (form.length > 0) throw new SiteError(file, form);
  const site = normalizeSites(result.data);
  const semantic = semanticProblems(site);
  if (semantic.length > 0) throw new SiteError(file, semantic);
  return site;
}

export function loadSite(file: string): Site {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new SiteError(file, [{ path: "(file)", given: `a file that cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`, expected: "a readable YAML file", fix: "pass the path of your site file with --site" }]);
  }
  return parseSite(text, file);
}
