import { mkdirSync, readFileSync, readdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { openbaoDirOf } from "../../policies/openbao/index.js";
import { siteOf } from "./tenancy-mutations.js";
import { describe, expect, it } from "vitest";
import { copyOut, editJson, editText, locatedProblems, problemLines, verifyCli, verifyDirInProcess } from "./support.js";
import { planSite, siteFiles } from "./planned-sites.js";

/*
 * Class 9 of issue 12: OpenBao as OpenBao enforces it. Each mutation edits one of the three places
 * that configure OpenBao (host files, the cdktf secrets stack, the Pulumi capture); verify must
 * exit 1 with a finding naming the artifact and the line. Tenant names come from the planned site
 * (the first and last tenant), never from the reference's.
 */

/** The directory of the planned site's OpenBao files (under the site that runs OpenBao), for a regular expression. */
const esc = (s: string) => s.replace(/[./]/g, "\\$&");
const TF = "cdktf/stacks/secrets/cdk.tf.json";
const PU = "pulumi/secrets.json";
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Ctx {
  /** Where the planned site's OpenBao files are (hosts/<site>/openbao). */
  bao: string;
  /** OpenBao names of the site's tenants (`tenant-<id>`). */
  tenants: string[];
  /** The first app identity (its policy reads credentials) and the provisioner, read from the rendered policies. */
  app: string;
  provisioner?: string;
}

const tfRole = (j: Json, name: string) => j.resource.vault_database_secret_backend_role[name.replace(/-/g, "_")];
const puInputs = (j: Json, type: string, name: string) => j.resources.find((r: Json) => r.type === type && r.inputs.name === name).inputs;
const PU_ROLE = "vault:database/secretBackendRole:SecretBackendRole";

const MUTATIONS: readonly [string, (d: string, c: Ctx) => void, (c: Ctx) => RegExp][] = [
  ["widen the api's credentials to database/creds/* (host HCL)", (d, c) => editText(d, `${c.bao}/policies/${c.app}.hcl`, (t) => t.replace(`path "database/creds/${c.tenants[0]}"`, 'path "database/creds/*"')), (c) => new RegExp(String.raw`openbao-policy policy ${c.app} path database\/creds\/\* .*wildcard on credentials.*${esc(c.bao)}\/policies\/${c.app}\.hcl line \d+`)],
  ["give the api sudo on its KV path (host HCL)", (d, c) => editText(d, `${c.bao}/policies/${c.app}.hcl`, (t) => t.replace(new RegExp(String.raw`(path "kv\/data\/${c.app}\/\*" \{\n\s+capabilities = \["read")`), '$1, "sudo"')), (c) => new RegExp(String.raw`openbao-policy policy ${c.app} sudo kv\/data\/${c.app}\/\* .*line \d+`)],
  ["let the provisioner read credentials (host HCL)", (d, c) => editText(d, `${c.bao}/policies/${c.provisioner}.hcl`, (t) => `${t}\npath "database/creds/tenant-*" {\n  capabilities = ["read"]\n}\n`), (c) => new RegExp(String.raw`openbao-policy policy ${c.provisioner} path database\/creds\/tenant-\* .*provisioner must never read credentials`)],
  ["a segment wildcard in the api's policy reaches roles and connections (Pulumi)", (d, c) => editJson(d, PU, (j) => { const p = puInputs(j, "vault:index/policy:Policy", c.app); p.policy = p.policy.replace(`path "database/creds/${c.tenants[0]}"`, `path "database/+/${c.tenants[0]}"`); }), (c) => new RegExp(String.raw`openbao-policy policy ${c.app} path database\/\+\/.* grants read database\/(config|roles)\/.*pulumi\/secrets\.json line \d+`)],
  ["sys/* for the api in the cdktf stack", (d, c) => editJson(d, TF, (j) => { j.resource.vault_policy[c.app.replace(/-/g, "_")].policy += '\npath "sys/*" {\n  capabilities = ["read", "list"]\n}\n'; }), (c) => new RegExp(String.raw`openbao-policy policy ${c.app} path sys\/\* .*cdktf\/stacks\/secrets\/cdk\.tf\.json line \d+`)],
  ["a policy attribute OpenBao reads but the model does not have (policy = \"write\")", (d, c) => editText(d, `${c.bao}/policies/${c.app}.hcl`, (t) => `${t}\npath "kv/data/shared/*" {\n  policy = "write"\n}\n`), (c) => new RegExp(String.raw`openbao-policy policy ${c.app} .*not read the way OpenBao reads it`)],
  ["the api's AppRole tokens also carry the provisioner policy (host JSON)", (d, c) => editJson(d, `${c.bao}/approle/${c.app}.json`, (j) => { j.token_policies.push(c.provisioner); }), (c) => new RegExp(String.raw`openbao-policy approle ${c.app} token_policies .*${esc(c.bao)}\/approle\/${c.app}\.json`)],
  ["the api's AppRole tokens carry the provisioner policy (cdktf reference)", (d, c) => editJson(d, TF, (j) => { j.resource.vault_approle_auth_backend_role[c.app.replace(/-/g, "_")].token_policies.push(`${"$"}{vault_policy.${c.provisioner}.name}`); }), (c) => new RegExp(String.raw`openbao-policy approle ${c.app} token_policies .*cdktf`)],
  ["a tenant login that never expires (no VALID UNTIL, host JSON)", (d, c) => editJson(d, `${c.bao}/database/roles/${c.tenants[0]}.json`, (j) => { j.creation_statements = j.creation_statements.map((s: string) => s.replace(" VALID UNTIL '{{expiration}}'", "")); }), () => /openbao-role database role .* does not expire with its lease .*line \d+/],
  ["a SUPERUSER tenant login (cdktf)", (d, c) => editJson(d, TF, (j) => { const r = tfRole(j, c.tenants[0]!); r.creation_statements = r.creation_statements.map((s: string) => s.replace("NOSUPERUSER", "SUPERUSER")); }), () => /openbao-role database role .* created SUPERUSER .*cdk\.tf\.json line \d+/],
  ["CREATEROLE and BYPASSRLS, in lower case (Pulumi)", (d, c) => editJson(d, PU, (j) => { const r = puInputs(j, PU_ROLE, c.tenants[0]!); r.creationStatements = r.creationStatements.map((s: string) => s.replace("NOCREATEROLE", "createrole").replace("NOBYPASSRLS", "bypassrls")); }), () => /openbao-role database role .* created (CREATEROLE|BYPASSRLS)/],
  ["a login that joins another tenant's app role too", (d, c) => editJson(d, `${c.bao}/database/roles/${c.tenants[0]}.json`, (j) => { j.creation_statements = j.creation_statements.map((s: string) => s.replace(/IN ROLE (\S+);/, `IN ROLE $1, ${c.tenants.length > 1 ? `tenant_${c.tenants.at(-1)!.slice(7).replace(/-/g, "_")}_app` : "palisade_owner"};`)); }), () => /openbao-role database role .* joins .* besides the tenant's own app role/],
  ["a login granted CONNECT on another database, quoted", (d, c) => editJson(d, `${c.bao}/database/roles/${c.tenants[0]}.json`, (j) => { j.creation_statements.push('GRANT CONNECT ON DATABASE "postgres" TO "{{name}}";'); }), () => /openbao-role database role .* GRANT connect ON DATABASE postgres/],
  ["a renewal that also raises the login's privileges", (d, c) => editJson(d, `${c.bao}/database/roles/${c.tenants[0]}.json`, (j) => { j.renew_statements.push('ALTER ROLE "{{name}}" BYPASSRLS;'); }), () => /openbao-role database role .* renew statement AlterRoleStmt does more/],
  ["credentials that live a year", (d, c) => editJson(d, `${c.bao}/database/roles/${c.tenants[0]}.json`, (j) => { j.max_ttl = 31536000; }), () => /openbao-role database role .* max_ttl 31536000/],
  ["a connection open to every role", (d, c) => editJson(d, `${c.bao}/database/connections/${c.tenants[0]}.json`, (j) => { j.allowed_roles = ["*"]; }), () => /openbao-role database connection .* allowed_roles .* lets roles \*/],
  ["a resource type the verifier does not model in the secrets stack", (d) => editJson(d, TF, (j) => { j.resource.vault_token = { admin: { policies: ["root"] } }; }), () => /openbao-policy vault_token\.admin .*not modelled/],
];

describe.each(siteFiles())("OpenBao of %s, as OpenBao enforces it", ({ file }) => {
  let planned: string;
  let ctx: Ctx;

  it("GIVEN the plan WHEN verified THEN no OpenBao finding", async () => {
    planned = await planSite(file);
    const roles = JSON.parse(readFileSync(join(planned, TF), "utf8")).resource.vault_database_secret_backend_role ?? {};
    const bao = openbaoDirOf(siteOf(readFileSync(join(planned, "inputs/site.yaml"), "utf8")));
    const policies = readdirSync(join(planned, bao, "policies")).map((f) => f.replace(/\.hcl$/, "")).sort();
    const reads = (p: string, what: string) => readFileSync(join(planned, bao, "policies", `${p}.hcl`), "utf8").includes(what);
    ctx = { bao, tenants: Object.values(roles).map((r) => String((r as Json).name)).sort(), app: policies.find((p) => reads(p, "database/creds/"))!, provisioner: policies.find((p) => reads(p, "database/roles/")) };
    expect(problemLines(verifyDirInProcess(planned)).filter((l) => l.startsWith("openbao"))).toEqual([]);
  });

  it.each(MUTATIONS)("GIVEN '%s' WHEN palisade verify runs THEN it exits 1 with a finding naming the artifact and line", async (_n, mutate, expected) => {
    if (ctx.tenants.length === 0) return; // a site without tenants has no tenant roles to mutate
    if (/provisioner/.test(_n) && !ctx.provisioner) return; // a site without a provisioner identity
    const dir = copyOut(planned);
    mutate(dir, ctx);
    const r = await verifyCli(dir);
    expect(r.code, r.stdout).toBe(1);
    const lines = problemLines(r.report);
    const want = expected(ctx);
    expect(lines.some((l) => want.test(l)), `expected ${want} among:\n${lines.join("\n")}`).toBe(true);
    // The finding names the artifact and the line (issue 12: every class ends so).
    const hits = locatedProblems(r.report).filter((h) => want.test(h.line));
    expect(hits.some((h) => !!h.artifact && typeof h.at === "number" && h.at > 0), `a finding naming an artifact and a line among ${JSON.stringify(hits.map((h) => [h.artifact, h.at]))}`).toBe(true);
  });

  it("GIVEN OpenBao's files moved under another host's directory WHEN verified THEN exit 1: each moved file is misplaced and the missing ones are named", async () => {
    if (ctx.tenants.length === 0) return;
    const dir = copyOut(planned);
    const role = `${ctx.bao}/database/roles/${ctx.tenants[0]}.json`;
    const moved = `hosts/edge/openbao/database/roles/${ctx.tenants[0]}.json`;
    mkdirSync(dirname(join(dir, moved)), { recursive: true });
    renameSync(join(dir, role), join(dir, moved));
    const r = await verifyCli(dir);
    expect(r.code, r.stdout).toBe(1);
    const lines = problemLines(r.report);
    expect(lines.some((l) => l.includes(`${moved} is an OpenBao file on host edge`) && l.includes(`${ctx.bao}/`)), lines.join("\n")).toBe(true);
    expect(lines.some((l) => l.includes(`tenant role ${ctx.tenants[0]} of the site is not rendered`) && l.includes(role)), lines.join("\n")).toBe(true);
  });
});
