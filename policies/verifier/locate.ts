/*
 * Line citations for constructs of the engine output: `docker_container.container_cloud_api image`
 * in a cdk.tf.json, `docker:index/container:Container::cloud-api capabilities` in a Pulumi capture.
 * The line is the resource's own key (or its name), then the first line of the named field after
 * it, so a finding points at the setting that caused it, not at the top of the file.
 */

const jsonKey = (k: string) => `${JSON.stringify(k)}:`;

/** 1-based line of a construct in a JSON artifact, or undefined when it cannot be found. */
export function lineOfConstruct(text: string, construct: string): number | undefined {
  const [resource, ...fieldParts] = construct.trim().split(/\s+/);
  if (!resource) return undefined;
  const field = fieldParts[0];
  const lines = text.split("\n");
  let start = -1;
  const tf = /^([a-z0-9_]+)\.([A-Za-z0-9_-]+)$/.exec(resource);
  const pulumi = /^(.+)::(.+)$/.exec(resource);
  if (tf) {
    const typeLine = lines.findIndex((l) => l.includes(jsonKey(tf[1]!)));
    if (typeLine < 0) return undefined;
    start = lines.findIndex((l, i) => i > typeLine && l.includes(jsonKey(tf[2]!)));
  } else if (pulumi) {
    start = lines.findIndex((l) => l.includes(`${jsonKey("name")} ${JSON.stringify(pulumi[2]!)}`));
  }
  if (start < 0) return undefined;
  if (!field) return start + 1;
  // The field's key within this resource: before the next resource at the same indentation.
  const indent = /^\s*/.exec(lines[start]!)![0].length;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    const ind = /^\s*/.exec(l)![0].length;
    if (ind <= indent && /^\s*[}\]]/.test(l) && ind < indent) break;
    if (tf && ind === indent && l.trim().startsWith('"')) break;
    if (l.includes(jsonKey(field)) || l.includes(jsonKey(snakeToCamel(field)))) return i + 1;
  }
  return start + 1;
}

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
