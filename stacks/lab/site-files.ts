/**
 * Where a planned platform keeps each private-cloud site's files, read through this one function
 * by the lab: `hosts/<site>/…` (nftables.conf, wireguard/, failover/, and on the first site
 * ingress/ and acme/), the site's stack `cdktf/stacks/<site>/cdk.tf.json` and `pulumi/<site>.json`.
 * A one-site platform's site id is `cloud` (core ONE_SITE_ID), so its paths are the ones the lab
 * has always read. OpenBao's and PostgreSQL's files are the site's own dir when the plan puts them
 * there (`hosts/<site>/postgres`), else the platform's shared `hosts/cloud/…` (where the renderers
 * write them today).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface LabSiteFiles {
  readonly siteId: string;
  /** `hosts/<site>` */
  readonly hostDir: string;
  readonly nft: string | null;
  /** The site's WireGuard config (`hosts/<site>/wireguard/*.conf`, first by name). */
  readonly wg: string | null;
  readonly failover: string | null;
  readonly ingressHaproxy: string | null;
  readonly cdktfStack: string;
  readonly pulumiStack: string;
  /** `hosts/<site>/postgres` when rendered there, else `hosts/cloud/postgres`. */
  readonly postgresDir: string;
  readonly openbaoDir: string;
}

const orNull = (p: string) => (existsSync(p) ? p : null);

/** A site's stack artifact, relative to the output directory, for the engine the applier reads. */
export function siteStackRel(siteId: string, engine: "cdktf" | "pulumi"): string {
  return engine === "cdktf" ? `cdktf/stacks/${siteId}/cdk.tf.json` : `pulumi/${siteId}.json`;
}

export function labSiteFiles(outDir: string, siteId: string): LabSiteFiles {
  const hostDir = join(outDir, "hosts", siteId);
  const wgDir = join(hostDir, "wireguard");
  const wgName = existsSync(wgDir) ? readdirSync(wgDir).filter((n) => n.endsWith(".conf")).sort()[0] : undefined;
  const shared = (what: string) => (existsSync(join(hostDir, what)) ? join(hostDir, what) : join(outDir, "hosts", "cloud", what));
  return {
    siteId,
    hostDir,
    nft: orNull(join(hostDir, "nftables.conf")),
    wg: wgName ? join(wgDir, wgName) : null,
    failover: orNull(join(hostDir, "failover", "failover.json")),
    ingressHaproxy: orNull(join(hostDir, "ingress", "haproxy.cfg")),
    cdktfStack: join(outDir, siteStackRel(siteId, "cdktf")),
    pulumiStack: join(outDir, siteStackRel(siteId, "pulumi")),
    postgresDir: shared("postgres"),
    openbaoDir: shared("openbao"),
  };
}
