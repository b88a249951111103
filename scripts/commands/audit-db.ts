import { AuditInputError, PsqlError, auditDatabase, formatFindings, psqlClient } from "../../policies/tenancy/index.js";
import { UsageError, parseOptions, type Command, printHelp } from "../cli-util.js";

const HELP = `palisade audit-db --url U [--app-role R]... [--json]

Inspects a live PostgreSQL server (every database the connecting role may enter) and reports each
object that weakens tenant isolation, by its properties, not its name:
  - a table with a tenant_id column without row-level security, or with RLS enabled but not forced
  - a permissive policy that admits any tenant (e.g. WITH CHECK (true), or no app.tenant_id in it)
  - an app role that is superuser, BYPASSRLS, or owns tables (also through role membership)
  - a view over tenant tables without security_invoker; a materialized view over them
  - a SECURITY DEFINER function without a pinned search_path
  - a database holding tenant data that PUBLIC may CONNECT to

Options:
  --url U        libpq URL; a superuser (or a role that can read the catalogs of every database)
  --app-role R   the application's role (repeatable; default: every role granted access to a
                 tenant table that does not own it)
  --json         findings as JSON
  -h, --help     this text

Exit: 0 no findings, 1 findings (each names its object), 2 bad input.`;

export async function run(argv: string[]): Promise<number> {
  try {
    const { values } = parseOptions("audit-db", argv, { url: { type: "string" }, "app-role": { type: "string", multiple: true }, json: { type: "boolean" } });
    if (values.help) return printHelp(HELP);
    const url = values.url as string | undefined;
    if (!url) throw new UsageError("palisade audit-db: --url is required, e.g. postgresql://postgres@postgres:5432/palisade");
    const appRoles = ((values["app-role"] as string[] | undefined) ?? []).flatMap((r) => r.split(",")).map((r) => r.trim()).filter(Boolean);
    const result = await auditDatabase(psqlClient(url), { appRoles });
    console.log(values.json ? JSON.stringify(result, null, 2) : formatFindings(result));
    return result.findings.length === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof UsageError || e instanceof AuditInputError) {
      console.error(e.message);
      return 2;
    }
    if (e instanceof PsqlError) {
      console.error(`palisade audit-db: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

export const auditDb: Command = { name: "audit-db", help: HELP, run };
