/*
 * Line citations for constructs of the engine output: `docker_container.container_cloud_api image`
 * in a cdk.tf.json, `docker:index/container:Container::cloud-api capabilities` in a Pulumi capture.
 * The line is the resource's own key (or its name), then the first line of the named field after
 * it, so a finding points at the setting that caused it, not at the top of the file.
 */

const jsonKey = (k: string) => `${JSON.stringify(k)}:`;

interface LineIndex {
  readonly lines: readonly string[];
  /** JSON key → the lines (0-based, ascending) where it opens a member. */
  readonly keys: ReadonlyMap<string, readonly number[]>;
  /** Value of a `"name": "…"` member → its lines. */
  readonly names: ReadonlyMap<string, readonly number[]>;
}

// Built once per artifact text: a site of a thousand services asks for thousands of citations.
const indexes = new Map<string, LineIndex>();
function indexOf(text: string): LineIndex {
  const hit = indexes.get(text);
  if (hit) return hit;
  const lines = text.split("\n");
  const keys = new Map<string, number[]>();
  const names = new Map<string, number[]>();
  // Pushed in place: copying the list per line made a key on every resource ("name") quadratic.
  const push = (m: Map<string, number[]>, k: string, i: number) => {
    const at = m.get(k);
    if (at) at.push(i);
    else m.set(k, [i]);
  };
  lines.forEach((l, i) => {
    const m = /^\s*"((?:[^"\\]|\\.)*)":\s*(.*)$/.exec(l);
    if (!m) return;
    push(keys, m[1]!, i);
    const v = m[1] === "name" ? /^"((?:[^"\\]|\\.)*)"/.exec(m[2]!) : null;
    if (v) push(names, v[1]!, i);
  });
  const index = { lines, keys, names };
  if (indexes.size > 64) indexes.clear();
  indexes.set(text, index);
  return index;
}

/** 1-based line of a construct in a JSON artifact, or undefined when it cannot be found. */
export function lineOfConstruct(text: string, construct: string): number | undefined {
  const [resource, ...fieldParts] = construct.trim().split(/\s+/);
  if (!resource) return undefined;
  const field = fieldParts[0];
  const { lines, keys, names } = indexOf(text);
  let start = -1;
  const tf = /^([a-z0-9_]+)\.([A-Za-z0-9_-]+)$/.exec(resource);
  const pulumi = /^(.+)::(.+)$/.exec(resource);
  if (tf) {
    const typeLine = keys.get(tf[1]!)?.[0];
    if (typeLine === undefined) return undefined;
    start = keys.get(tf[2]!)?.find((i) => i > typeLine) ?? -1;
  } else if (pulumi) {
    start = names.get(pulumi[2]!)?.[0] ?? -1;
  }
  if (start < 0) return undefined;
  if (!field) return start + 1;
  // The field's key within this resource: before the next member at the resource's indentation.
  const indent = /^\s*/.exec(lines[start]!)![0].length;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    const ind = /^\s*/.exec(l)![0].length;
    if (ind < indent && /^\s*[}\]]/.test(l)) break;
    if (tf && ind === indent && l.trim().startsWith('"')) break;
    if (l.includes(jsonKey(field)) || l.includes(jsonKey(snakeToCamel(field)))) return i + 1;
  }
  return start + 1;
}

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
