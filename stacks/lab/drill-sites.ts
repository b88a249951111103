/**
 * Which private-cloud site each drill runs on, and a site's parts of a lab record.
 *
 * - Site drills (fiber-cut: the site's fiber, failover agent and tunnel; container-restart and
 *   dockerd-restart: the site's Docker engine) run on every site in the site file's order, or on
 *   the one `--site ID` names, each reported as that site's.
 * - acme runs on the site with the ingress: the platform has one ingress and one ACME client, on
 *   its first site; `--site` naming another site is refused (that site has nothing to issue for).
 * - The edge drills (brute-force, port-scan, dns) run once, on the edge; `--site` is refused.
 *
 * A one-site lab has one site (`cloud`): every drill runs as it always has, its result names no site.
 */
import type { LabDocker } from "./docker/cloud.js";
import type { LabSiteLayout } from "./layout.js";
import { labSiteFiles } from "./site-files.js";
import type { LabRecord } from "./up.js";

export type DrillScope = "site" | "ingress" | "edge";

const SCOPES: Record<string, DrillScope> = {
  "fiber-cut": "site",
  "container-restart": "site",
  "dockerd-restart": "site",
  acme: "ingress",
  "brute-force": "edge",
  "port-scan": "edge",
  dns: "edge",
};

/** What a drill's fault concerns: one site (run per site), the ingress's site, or the edge. */
export function drillScope(name: string): DrillScope {
  const s = SCOPES[name];
  if (!s) throw new Error(`no drill named ${name}`);
  return s;
}

/** A drill the lab refuses to run as asked (bad input: exit 2, nothing changed). */
export class DrillRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DrillRefused";
  }
}

/** The site whose stack runs the ingress (and the ACME client): the first site with a rendered `hosts/<site>/ingress/haproxy.cfg`. */
export function ingressSiteId(rec: LabRecord): string | undefined {
  return rec.layout.sites.find((s) => labSiteFiles(rec.outDir, s.id).ingressHaproxy)?.id;
}

/**
 * The sites `name` runs on, in order (`undefined`: the edge, no site); `only` is `--site ID`.
 * Throws DrillRefused when `only` is not one of the lab's sites, or the drill cannot run there.
 */
export function drillTargets(rec: LabRecord, name: string, only?: string): (string | undefined)[] {
  const ids = rec.layout.sites.map((s) => s.id);
  if (only !== undefined && !ids.includes(only)) {
    const file = /[/.]/.test(only) ? ` (for drill, --site names one of the lab's sites; the site file was lab up's)` : "";
    throw new DrillRefused(`--site ${only}: not a site of this lab${file}; expected one of ${ids.join(", ")}, or no --site for every site in order`);
  }
  switch (drillScope(name)) {
    case "edge":
      if (only !== undefined) throw new DrillRefused(`--site ${only}: ${name} is an edge drill (its fault and figures are the edge's, not a site's); run it without --site`);
      return [undefined];
    case "ingress": {
      const at = ingressSiteId(rec) ?? ids[0]!;
      if (only !== undefined && only !== at) throw new DrillRefused(`--site ${only}: ${name} runs on site ${at}, the site with the ingress and the ACME client (the platform has one of each); site ${only} runs neither, so there is nothing to issue there`);
      return [at];
    }
    case "site":
      return only !== undefined ? [only] : ids;
  }
}

/** The lab's site by id. */
export function labSite(rec: LabRecord, id: string): LabSiteLayout {
  const s = rec.layout.sites.find((x) => x.id === id);
  if (!s) throw new Error(`the lab has no site ${id} (${rec.layout.sites.map((x) => x.id).join(", ")})`);
  return s;
}

const isFirst = (rec: LabRecord, id: string) => rec.layout.sites[0]?.id === id;

/** The site's Docker engine as `up` recorded it. */
export function siteDocker(rec: LabRecord, id: string): LabDocker | undefined {
  return rec.dockers?.[id];
}

/** The first site's Docker engine: the one the lab report's engine section describes. */
export function firstSiteDocker(rec: LabRecord): LabDocker | undefined {
  const first = rec.layout.sites[0]?.id;
  return first === undefined ? undefined : siteDocker(rec, first);
}

/** A file `up` recorded for a site: `key` for the first site, `key:<id>` for the others (as up.ts names them). */
export function siteFile(rec: LabRecord, id: string, key: string): string | undefined {
  return rec.files[isFirst(rec, id) ? key : `${key}:${id}`];
}

/** The site's lab WireGuard public key, as the edge's wg-edge lists its peer. */
export function sitePublicKey(rec: LabRecord, id: string): string {
  return rec.keys.sites?.[id] ?? rec.keys.cloudPublic;
}

/** Prefixes a drill's progress lines with its site (`fiber-cut [us]: …`) on a lab of several sites. */
export function siteProgress(rec: LabRecord, site: string | undefined, progress: (line: string) => void): (line: string) => void {
  if (site === undefined || rec.layout.sites.length < 2) return progress;
  return (line) => progress(line.replace(/^([\w-]+): /, `$1 [${site}]: `));
}
