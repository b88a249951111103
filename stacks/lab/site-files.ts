/**
 * Where a planned platform keeps each private-cloud site's files, read through this one function
 * by the lab: `hosts/<site>/…` (nftables.conf, wireguard/, failover/, and on the first site
 * ingress/ and acme/), the site's stack `cdktf/stacks/<site>/cdk.tf.json` and `pulumi/<site>.json`.
 * A one-site platform's site id is `cloud` (core ONE_SITE_ID), so its paths are the ones the lab
 * has always read. The directories are core's (`hostDir`, `postgresDir`, `openbaoDir`): PostgreSQL's
 * files under each server's site (siteTenancySql: the SQL each server runs), OpenBao's under OpenBao's site.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hostDir as hostDirOf, openbaoDir, postgresDir } from "../../core/index.js";
import { stackArtifactPath } from "../engines.js";

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
  /** `hosts/<site>/postgres` (may not exist: the site runs no PostgreSQL server). */
  readonly postgresDir: string;
  /** `hosts/<site>/openbao` (may not exist: OpenBao runs on another site). */
  readonly openbaoDir: string;
}

const orNull = (p: string) => (existsSync(p) ? p : null);


export function labSiteFiles(outDir: string, siteId: string): LabSiteFiles {
  const hostDir = join(outDir, hostDirOf(siteId));
  const wgDir = join(hostDir, "wireguard");
  const wgName = existsSync(wgDir) ? readdirSync(wgDir).filter((n) => n.endsWith(".conf")).sort()[0] : undefined;
  return {
    siteId,
    hostDir,
    nft: orNull(join(hostDir, "nftables.conf")),
    wg: wgName ? join(wgDir, wgName) : null,
    failover: orNull(join(hostDir, "failover", "failover.json")),
    ingressHaproxy: orNull(join(hostDir, "ingress", "haproxy.cfg")),
    cdktfStack: join(outDir, stackArtifactPath(siteId, "cdktf")),
    pulumiStack: join(outDir, stackArtifactPath(siteId, "pulumi")),
    postgresDir: join(outDir, postgresDir(siteId)),
    openbaoDir: join(outDir, openbaoDir(siteId)),
  };
}

const INIT_HOOK_DIR = "/docker-entrypoint-initdb.d/";

/**
 * The tenancy SQL the site's PostgreSQL servers run: for each container of the site's stack with
 * an init hook (`/docker-entrypoint-initdb.d/…`, one per server placed on the site), the entry
 * file the hook runs with `psql -f`, under the site's own `hosts/<site>/postgres/`; sorted by path.
 * None when the site runs no server or the stack or hook is not rendered.
 */
export function siteTenancySql(files: LabSiteFiles): string[] {
  if (!existsSync(files.cdktfStack)) return [];
  type Container = { mounts?: { source?: string; target?: string }[] };
  const containers = (JSON.parse(readFileSync(files.cdktfStack, "utf8")) as { resource?: { docker_container?: Record<string, Container> } }).resource?.docker_container ?? {};
  const hooks = Object.values(containers).flatMap((c) => c.mounts?.filter((m) => m.target?.startsWith(INIT_HOOK_DIR)).map((m) => m.source).filter((x): x is string => !!x) ?? []);
  const entries = hooks.flatMap((hook) => {
    const hookFile = join(files.postgresDir, "servers", hook.split("/").pop()!);
    const entry = existsSync(hookFile) ? / -f \S*\/(servers\/[\w-]+\.sql)/.exec(readFileSync(hookFile, "utf8"))?.[1] : undefined;
    return entry && existsSync(join(files.postgresDir, entry)) ? [join(files.postgresDir, entry)] : [];
  });
  return [...new Set(entries)].sort();
}
