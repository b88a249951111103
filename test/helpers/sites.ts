import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import type { SiteInput } from "../../core/index.js";
import { REFERENCE_SITE } from "./paths.js";

/** The reference site file's text (palisade.yaml). */
export const referenceText = readFileSync(REFERENCE_SITE, "utf8");

/** The reference site as plain data, to be changed by a test. */
export function referenceData(): SiteInput & Record<string, unknown> {
  return parse(referenceText) as SiteInput & Record<string, unknown>;
}

/**
 * The reference site with one change, as YAML text. `change` edits a fresh copy in place; it is
 * untyped on purpose, since the point is usually to write what the schema forbids.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function mutated(change: (site: any) => void): string {
  const data = referenceData();
  change(data);
  return stringify(data);
}

/** The reference text with one literal edit (for faults that only exist in text, like a duplicate key). */
export function edited(find: string, replace: string): string {
  if (!referenceText.includes(find)) throw new Error(`the reference palisade.yaml no longer contains ${JSON.stringify(find)}`);
  return referenceText.replace(find, replace);
}

/**
 * The reference platform declared as two sites (the `sites` form): its cloud host becomes site
 * `eu` (region eu-west), and a second host `us` (region us-east, its own uplinks, tunnel and pool)
 * holds the us-east PostgreSQL server. `change` edits the data afterwards, like `mutated`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function twoSitesData(): any {
  const data = referenceData() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const { subnet, subnet6, ...tunnel } = data.tunnel;
  const cloudKey = data.publicKeys.wireguardCloud;
  delete data.publicKeys.wireguardCloud;
  data.tunnel = tunnel;
  data.sites = [
    { id: "eu", region: "eu-west", ...data.cloud, tunnel: { subnet, subnet6 }, publicKey: cloudKey },
    {
      id: "us",
      region: "us-east",
      docker: "ssh://deploy@10.77.0.6",
      uplinks: [
        { id: "fiber", interface: "fiber0", address: "198.51.100.100/28", gateway: "198.51.100.97", priority: 1 },
        { id: "cellular", interface: "wwan0", address: "198.51.100.116/28", gateway: "198.51.100.113", priority: 2 },
      ],
      networkPool: "172.22.0.0/16",
      tunnel: { subnet: "10.77.0.4/30", subnet6: "fd79::/64" },
    },
  ];
  delete data.cloud;
  return data;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function twoSites(change: (site: any) => void = () => {}): string {
  const data = twoSitesData();
  change(data);
  return stringify(data);
}
