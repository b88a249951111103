import { SiteError, loadSite, type Tenant } from "../../core/index.js";
import {
  TenantInputError,
  addTenant,
  assertTenantId,
  databaseOf,
  listTenants,
  psqlClient,
  PsqlError,
  redactUrl,
  removeTenant,
  serverFor,
  type ProvisionOutcome,
} from "../../policies/tenancy/index.js";
import { UsageError, oneOf, parseOptions, type Command, printHelp } from "../cli-util.js";

const HELP = `palisade tenant add|remove|list --url U [options]

  add ID --url U [--site F]                        add the tenant as the site file declares it
  add ID --url U --mode shared --name N            add a tenant not (yet) in the site file
  add ID --url U --mode dedicated --name N --region R
  remove ID --url U                                remove a tenant the server's registry knows
  list --url U [--json]                            the server's tenant registry

Shared tenants are rows in the registry of the shared database (isolated by FORCE RLS);
dedicated tenants get their own database and roles with CONNECT revoked from PUBLIC. Every step
runs in one transaction where PostgreSQL allows it; CREATE DATABASE cannot, and is undone (DROP
DATABASE) when a later step fails: a tenant is added entirely or not at all.

Options:
  --url U      libpq URL of the server's "palisade" database, as the provisioner role, e.g.
               postgresql://palisade_provisioner@postgres:5432/palisade (put the password in
               PGPASSWORD or ~/.pgpass rather than in the URL)
  --site F     add: the site file that declares the tenant (default: palisade.yaml)
  --mode M     add: shared or dedicated, for a tenant the site file does not declare
  --name N     add: the tenant's display name (with --mode)
  --region R   add: a dedicated tenant's region (with --mode dedicated)
  --json       list: the registry as JSON
  -h, --help   this text

Exit: 0 ok, 1 the server refused (nothing was left half-done), 2 bad input.`;

function tenantFromFlags(id: string, values: Record<string, unknown>, siteFile: string | undefined): Tenant {
  const mode = values.mode as string | undefined;
  if (mode === undefined) {
    const file = siteFile ?? "palisade.yaml";
    const site = loadSite(file);
    const tenant = site.tenants.find((t) => t.id === id);
    if (!tenant) {
      throw new UsageError(
        `palisade tenant add: tenant ${id} is not in ${file} (tenants: ${site.tenants.map((t) => t.id).join(", ") || "none"}); declare it under tenants: or pass --mode and --name`,
      );
    }
    if (values.name !== undefined || values.region !== undefined) throw new UsageError("palisade tenant add: --name and --region go with --mode; without --mode the site file decides");
    const server = serverFor(site, tenant);
    console.log(`tenant ${id}: ${tenant.mode}, database ${databaseOf(tenant)}, belongs on server ${server.id} (region ${server.region})`);
    return tenant;
  }
  if (siteFile !== undefined) throw new UsageError("palisade tenant add: give either --site or --mode, not both");
  const m = oneOf("tenant add", "mode", mode, ["shared", "dedicated"] as const, "shared");
  const name = values.name as string | undefined;
  if (!name) throw new UsageError("palisade tenant add: --mode needs --name (the tenant's display name)");
  if (m === "shared") {
    if (values.region !== undefined) throw new UsageError("palisade tenant add: shared tenants live on the shared server; --region is for --mode dedicated");
    return { id, mode: "shared", name };
  }
  const region = values.region as string | undefined;
  if (!region) throw new UsageError("palisade tenant add: --mode dedicated needs --region (it chooses the server)");
  return { id, mode: "dedicated", name, region };
}

function report(action: string, id: string, outcome: ProvisionOutcome): number {
  if (outcome.ok) {
    for (const s of outcome.done) console.log(`  done: ${s}`);
    console.log(`tenant ${action} ${id}: ok`);
    return 0;
  }
  console.error(`tenant ${action} ${id}: failed at step "${outcome.failed?.step}": ${outcome.failed?.error}`);
  for (const s of outcome.undone) console.error(`  undone: ${s}`);
  if (outcome.undoFailures.length > 0) {
    for (const f of outcome.undoFailures) console.error(`  COULD NOT UNDO: ${f.step}: ${f.error}`);
    console.error(`tenant ${action} ${id}: objects may be left behind (see above); fix the cause and run "palisade tenant remove ${id}" or drop them by hand`);
  } else if (action === "add") {
    console.error(`tenant ${action} ${id}: every completed step was undone; the server is as it was before this command`);
  } else {
    console.error(`tenant ${action} ${id}: "tenant remove" can be run again once the cause is fixed`);
  }
  return 1;
}

function hint(e: PsqlError): string {
  if (/relation "palisade\.tenants" does not exist/.test(e.message)) return " (apply the bootstrap.sql of its site (hosts/<site>/postgres/bootstrap.sql; hosts/cloud/postgres/ on one site) to this server first, and point --url at its palisade database)";
  if (/permission denied/.test(e.message)) return " (connect as palisade_provisioner, which the bootstrap creates)";
  return "";
}

export async function run(argv: string[]): Promise<number> {
  try {
    const [action, ...rest] = argv;
    if (action === "--help" || action === "-h" || action === "help") return printHelp(HELP);
    if (action !== "add" && action !== "remove" && action !== "list") {
      throw new UsageError(`palisade tenant: expected add, remove or list, given ${action === undefined ? "nothing" : JSON.stringify(action)}; see palisade tenant --help`);
    }
    const { values, positionals } = parseOptions(
      `tenant ${action}`,
      rest,
      { url: { type: "string" }, site: { type: "string" }, mode: { type: "string" }, name: { type: "string" }, region: { type: "string" }, json: { type: "boolean" } },
      true,
    );
    if (values.help) return printHelp(HELP);
    const url = values.url as string | undefined;
    if (!url) throw new UsageError(`palisade tenant ${action}: --url is required (the server's palisade database, e.g. postgresql://palisade_provisioner@postgres:5432/palisade)`);
    if (action !== "add") {
      for (const flag of ["site", "mode", "name", "region"] as const) {
        if (values[flag] !== undefined) throw new UsageError(`palisade tenant ${action}: --${flag} only applies to add`);
      }
    }
    const client = psqlClient(url);

    if (action === "list") {
      if (positionals.length > 0) throw new UsageError(`palisade tenant list: unexpected argument ${JSON.stringify(positionals[0])}`);
      const rows = await listTenants(client);
      if (values.json) console.log(JSON.stringify(rows, null, 2));
      else if (rows.length === 0) console.log(`no tenants registered on ${redactUrl(url)}`);
      else for (const r of rows) console.log(`${r.id}\t${r.mode}\t${r.region ?? "-"}\t${r.database}\t${r.name}`);
      return 0;
    }

    if (positionals.length !== 1) throw new UsageError(`palisade tenant ${action}: expected one tenant id, given ${positionals.length}`);
    const id = assertTenantId(positionals[0]!);
    if (values.json) throw new UsageError(`palisade tenant ${action}: --json only applies to list`);

    if (action === "add") {
      const tenant = tenantFromFlags(id, values, values.site as string | undefined);
      return report("add", id, await addTenant(client, tenant));
    }
    const outcome = await removeTenant(client, id);
    if (!outcome) {
      console.error(`tenant remove ${id}: no such tenant in the registry of ${redactUrl(url)} (see palisade tenant list)`);
      return 1;
    }
    return report("remove", id, outcome);
  } catch (e) {
    if (e instanceof UsageError || e instanceof TenantInputError) {
      console.error(e.message);
      return 2;
    }
    if (e instanceof SiteError) {
      console.error(e.format());
      return 2;
    }
    if (e instanceof PsqlError) {
      console.error(`palisade tenant: ${e.message}${hint(e)}`);
      return 1;
    }
    throw e;
  }
}

export const tenant: Command = { name: "tenant", help: HELP, run };
