/** One rendered file, relative to the output directory (e.g. `hosts/edge/nftables.conf`). */
export interface Artifact {
  readonly path: string;
  readonly content: string;
  /** File mode. @default 0o644 */
  readonly mode?: number;
}

export function sortArtifacts(artifacts: readonly Artifact[]): Artifact[] {
  const seen = new Set<string>();
  for (const a of artifacts) {
    if (seen.has(a.path)) throw new Error(`two renderers wrote ${a.path}`);
    seen.add(a.path);
  }
  return [...artifacts].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
