import { describe, expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import {
  allows,
  openbaoDirOf,
  boundCidrs,
  parseHcl,
  parsePolicy,
  renderOpenBao,
  secretsStackResources,
  secretsStackVariables,
  type HclBlock,
  type PolicyRule,
} from "../../policies/openbao/index.js";
import { secretGuardrails } from "../../policies/guardrails.js";
import { renderTenancy } from "../../policies/tenancy/index.js";
import { REFERENCE_SITE } from "../helpers/cli.js";
import { siteFiles } from "../policies/planned-sites.js";
import { siteWithTenants } from "./support.js";

/* OpenBao of every example: one policy and AppRole per identity, one connection and role per tenant, least privilege. */
describe.each(siteFiles())("renderOpenBao on %s", ({ file: siteFile }) => {
  const s = loadSite(siteFile);
  const rendered = renderOpenBao(s);
  const bao = openbaoDirOf(s);
  const text = (path: string) => rendered.find((x) => x.path === `${bao}/${path}`)?.content ?? "";
  const ids = s.openbao.identities;
  const apps = ids.filter((i) => i.kind === "app");
  const provisioners = ids.filter((i) => i.kind === "provisioner");
  const tenants = s.tenants.map((t) => `tenant-${t.id}`);

  it("GIVEN the site WHEN rendered THEN there are a config, a policy and an AppRole per identity, a connection and a role per tenant, nothing else", () => {
    expect(rendered.map((a) => a.path).sort()).toEqual(
      [
        `${bao}/config.hcl`,
        ...ids.flatMap((i) => [`${bao}/approle/${i.name}.json`, `${bao}/policies/${i.name}.hcl`]),
        ...tenants.flatMap((t) => [`${bao}/database/connections/${t}.json`, `${bao}/database/roles/${t}.json`]),
      ].sort(),
    );
  });

  it("GIVEN each app identity's policy WHEN evaluated THEN it reads its own KV path and every tenant's credentials, and cannot manage roles or connections", () => {
    expect(apps.length).toBeGreaterThan(0);
    for (const i of apps) {
      const rules = parsePolicy(text(`policies/${i.name}.hcl`));
      expect(allows(rules, `kv/data/${i.name}/x`, "read"), i.name).toBe(true);
      for (const t of tenants) expect(allows(rules, `database/creds/${t}`, "read"), `${i.name} ${t}`).toBe(true);
      for (const path of [`database/roles/${tenants[0]}`, `database/config/${tenants[0]}`, "sys/mounts/database", `kv/data/${i.name}x/y`]) {
        for (const cap of ALL_CAPS) expect(allows(rules, path, cap), `${i.name} ${cap} ${path}`).toBe(false);
      }
    }
  });

  it("GIVEN each provisioner's policy WHEN evaluated THEN it manages tenant roles and connections and never reads credentials", () => {
    for (const i of provisioners) {
      const rules = parsePolicy(text(`policies/${i.name}.hcl`));
      for (const path of [`database/roles/${tenants[0]}`, `database/config/${tenants[0]}`]) expect(allows(rules, path, "create"), `${i.name} ${path}`).toBe(true);
      for (const cap of ALL_CAPS) expect(allows(rules, `database/creds/${tenants[0]}`, cap), `${i.name} ${cap}`).toBe(false);
    }
  });

  it("GIVEN every policy WHEN inspected THEN none has sudo, a root or leading wildcard path, or sys/ beyond lease renewal", () => {
    for (const i of ids) {
      for (const r of parsePolicy(text(`policies/${i.name}.hcl`))) {
        expect(r.capabilities, `${i.name} ${r.path}`).not.toContain("sudo");
        expect(r.path, i.name).not.toMatch(/^[*+]|^$|^\/|\*.+/);
        if (r.path.startsWith("sys/")) expect(r.path).toBe("sys/leases/renew");
      }
    }
  });

  it("GIVEN each AppRole WHEN read THEN it is bound to the networks OpenBao shares with its service, short-lived, with only its own policy", () => {
    for (const i of ids) {
      const role = JSON.parse(text(`approle/${i.name}.json`));
      const cidrs = boundCidrs(s, i.service);
      expect(cidrs.length, i.name).toBeGreaterThan(0);
      expect(role.token_bound_cidrs).toEqual(cidrs);
      expect(role.secret_id_bound_cidrs).toEqual(cidrs);
      expect(role.token_policies).toEqual([i.name]);
      expect(role.token_no_default_policy).toBe(true);
      expect(role.token_max_ttl).toBeLessThanOrEqual(3600);
    }
  });

  it("GIVEN each tenant WHEN its role and connection are read THEN the login expires with its lease, is never privileged, and the connection allows only that role", () => {
    for (const t of tenants) {
      const role = JSON.parse(text(`database/roles/${t}.json`));
      const create = role.creation_statements.join("\n");
      expect(create, t).toContain(`VALID UNTIL '{{expiration}}'`);
      expect(create.replaceAll("NOSUPERUSER", "").replaceAll("NOBYPASSRLS", "").replaceAll("NOCREATEROLE", "").replaceAll("NOCREATEDB", "")).not.toMatch(/SUPERUSER|BYPASSRLS|CREATEROLE|CREATEDB/);
      expect(role.max_ttl).toBeLessThanOrEqual(86400);
      expect(JSON.parse(text(`database/connections/${t}.json`)).allowed_roles).toEqual([t]);
    }
  });
});

const site = loadSite(REFERENCE_SITE);
const artifacts = renderOpenBao(site);
const file = (path: string) => {
  const a = artifacts.find((x) => x.path === `hosts/cloud/openbao/${path}`);
  if (!a) throw new Error(`no artifact ${path}; have ${artifacts.map((x) => x.path).join(", ")}`);
  return a.content;
};
const policy = (name: string): PolicyRule[] => parsePolicy(file(`policies/${name}.hcl`));
const ALL_CAPS = ["create", "read", "update", "patch", "delete", "list", "sudo"] as const;

describe("the reference snapshot: renderOpenBao: files", () => {
  it("GIVEN the reference site WHEN rendered THEN config, policies, AppRoles and one database connection and role per tenant are under hosts/cloud/openbao/", () => {
    expect(artifacts.map((a) => a.path)).toEqual([
      "hosts/cloud/openbao/approle/api.json",
      "hosts/cloud/openbao/approle/provisioner.json",
      "hosts/cloud/openbao/config.hcl",
      "hosts/cloud/openbao/database/connections/tenant-acme.json",
      "hosts/cloud/openbao/database/connections/tenant-globex.json",
      "hosts/cloud/openbao/database/roles/tenant-acme.json",
      "hosts/cloud/openbao/database/roles/tenant-globex.json",
      "hosts/cloud/openbao/policies/api.hcl",
      "hosts/cloud/openbao/policies/provisioner.hcl",
    ]);
  });

  it("GIVEN the same site WHEN rendered twice THEN the output is identical", () => {
    expect(renderOpenBao(site)).toEqual(artifacts);
    expect(secretsStackResources(site)).toEqual(secretsStackResources(site));
  });
});

describe("the reference snapshot: renderOpenBao: server configuration", () => {
  const config = parseHcl(file("config.hcl"));
  const blocks = (type: string): HclBlock[] => config.blocks.filter((b) => b.type === type);

  it("GIVEN the config WHEN parsed THEN the only listener is TCP with TLS on, a cert and key file, TLS 1.3", () => {
    expect(blocks("listener").map((b) => b.labels)).toEqual([["tcp"]]);
    const l = blocks("listener")[0]!.body.attributes;
    expect(l.tls_disable).toBe(false);
    expect(l.tls_cert_file).toBe("/openbao/tls/tls.crt");
    expect(l.tls_key_file).toBe("/openbao/tls/tls.key");
    expect(l.tls_min_version).toBe("tls13");
    expect(l.address).toBe("0.0.0.0:8200");
  });

  it("GIVEN the config WHEN parsed THEN storage is file or raft and the UI is off", () => {
    expect(blocks("storage").map((b) => b.labels[0])).toEqual(["file"]);
    expect(config.attributes.ui).toBe(false);
    expect(config.attributes.disable_mlock).toBe(false);
  });

  it("GIVEN the config WHEN parsed THEN it declares two file audit devices at distinct paths writing to distinct places", () => {
    const audits = blocks("audit");
    expect(audits.map((b) => b.labels[0])).toEqual(["file", "file"]);
    expect(new Set(audits.map((b) => b.labels[1])).size).toBe(2);
    const targets = audits.map((b) => b.body.blocks.find((o) => o.type === "options")!.body.attributes.file_path);
    expect(targets).toEqual(["/openbao/audit/audit.log", "stdout"]);
    for (const a of audits) expect(a.body.blocks.find((o) => o.type === "options")!.body.attributes.log_raw).toBe("false");
  });

  it("GIVEN the config WHEN read THEN it holds no key material or token", () => {
    expect(file("config.hcl")).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|token\s*=|unseal|password/i);
  });
});

describe("the reference snapshot: renderOpenBao: least-privilege policies, path by path", () => {
  const api = policy("api");
  const provisioner = policy("provisioner");

  it("GIVEN the api policy WHEN evaluated THEN it reads its own KV path and tenant credentials, and nothing more there", () => {
    expect(allows(api, "kv/data/api/database", "read")).toBe(true);
    expect(allows(api, "database/creds/tenant-acme", "read")).toBe(true);
    expect(allows(api, "database/creds/tenant-globex", "read")).toBe(true);
    for (const cap of ["create", "update", "delete", "list", "sudo"] as const) {
      expect(allows(api, "kv/data/api/database", cap)).toBe(false);
      expect(allows(api, "database/creds/tenant-acme", cap)).toBe(false);
    }
  });

  it("GIVEN the api policy WHEN evaluated THEN it cannot touch roles, connections, other KV paths, or non-tenant credentials", () => {
    for (const path of [
      "database/roles/tenant-acme",
      "database/roles/anything",
      "database/config/tenant-acme",
      "database/rotate-root/tenant-acme",
      "database/creds/migrator",
      "kv/data/provisioner/x",
      "kv/metadata/api/x",
      "kv/data/apix",
      "sys/policies/acl/api",
      "auth/approle/role/api/secret-id",
      "sys/mounts/database",
    ]) {
      for (const cap of ALL_CAPS) expect(allows(api, path, cap), `${cap} ${path}`).toBe(false);
    }
  });

  it("GIVEN the provisioner policy WHEN evaluated THEN it manages tenant roles and connections only", () => {
    for (const path of ["database/roles/tenant-acme", "database/config/tenant-acme"]) {
      for (const cap of ["create", "read", "update", "delete"] as const) expect(allows(provisioner, path, cap), `${cap} ${path}`).toBe(true);
      expect(allows(provisioner, path, "sudo")).toBe(false);
    }
    for (const path of ["database/roles/admin", "database/config/platform", "database/roles", "database/config"]) {
      for (const cap of ALL_CAPS) expect(allows(provisioner, path, cap), `${cap} ${path}`).toBe(false);
    }
  });

  it("GIVEN the provisioner policy WHEN evaluated THEN it cannot read credentials, KV, or change auth and policies", () => {
    for (const path of [
      "database/creds/tenant-acme",
      "database/creds/anything",
      "kv/data/api/x",
      "sys/policies/acl/provisioner",
      "auth/approle/role/provisioner",
      "sys/leases/lookup",
      "sys/mounts/kv",
    ]) {
      for (const cap of ALL_CAPS) expect(allows(provisioner, path, cap), `${cap} ${path}`).toBe(false);
    }
  });

  it("GIVEN every policy WHEN inspected THEN none has sudo, a root or leading wildcard path, or sys/ beyond lease renewal", () => {
    for (const [name, rules] of [["api", api], ["provisioner", provisioner]] as const) {
      for (const r of rules) {
        expect(r.capabilities, `${name} ${r.path}`).not.toContain("sudo");
        expect(r.path, name).not.toMatch(/^[*+]|^$|^\/|\*.+/);
        expect(r.path.split("/").length, `${name} ${r.path}`).toBeGreaterThanOrEqual(2);
        if (r.path.startsWith("sys/")) expect(r.path).toBe("sys/leases/renew");
      }
    }
  });
});

describe("the reference snapshot: renderOpenBao: AppRoles", () => {
  for (const name of ["api", "provisioner"]) {
    it(`GIVEN the ${name} AppRole WHEN read THEN secret-ids and tokens are bound to the networks OpenBao shares with its service and short-lived, with only its own policy`, () => {
      const role = JSON.parse(file(`approle/${name}.json`));
      const cidrs = boundCidrs(site, "api");
      expect(cidrs.length).toBeGreaterThan(0);
      expect(role.token_bound_cidrs).toEqual(cidrs);
      expect(role.secret_id_bound_cidrs).toEqual(cidrs);
      expect(role.token_policies).toEqual([name]);
      expect(role.token_no_default_policy).toBe(true);
      expect(role.bind_secret_id).toBe(true);
      expect(role.token_ttl).toBeLessThanOrEqual(900);
      expect(role.token_max_ttl).toBeLessThanOrEqual(3600);
      expect(role.secret_id_ttl).toBeGreaterThan(0);
      expect(role.secret_id_ttl).toBeLessThanOrEqual(86400);
      expect(role.token_bound_cidrs).not.toContain("0.0.0.0/0");
    });
  }

  it("GIVEN the provisioner AppRole WHEN read THEN its secret-id is single-use and expires within minutes", () => {
    const role = JSON.parse(file("approle/provisioner.json"));
    expect(role.secret_id_num_uses).toBe(1);
    expect(role.secret_id_ttl).toBeLessThanOrEqual(600);
  });
});

describe("the reference snapshot: renderOpenBao: database secrets engine", () => {
  it("GIVEN each tenant WHEN its role is read THEN the login is created VALID UNTIL '{{expiration}}', in the tenant's app role, never privileged, 1h default and 24h max", () => {
    for (const [tenant, group] of [["acme", "palisade_app"], ["globex", "tenant_globex_app"]]) {
      const role = JSON.parse(file(`database/roles/tenant-${tenant}.json`));
      expect(role.db_name).toBe(`tenant-${tenant}`);
      expect(role.default_ttl).toBe(3600);
      expect(role.max_ttl).toBe(86400);
      const create = role.creation_statements.join("\n");
      expect(create).toContain(`VALID UNTIL '{{expiration}}'`);
      expect(create).toContain(`IN ROLE ${group};`);
      expect(create).toContain("NOSUPERUSER");
      expect(create).toContain("NOBYPASSRLS");
      expect(create.replaceAll("NOSUPERUSER", "").replaceAll("NOBYPASSRLS", "").replaceAll("NOCREATEROLE", "").replaceAll("NOCREATEDB", "")).not.toMatch(/SUPERUSER|BYPASSRLS|CREATEROLE|CREATEDB/);
      expect(role.revocation_statements.join("\n")).toContain(`DROP ROLE IF EXISTS "{{name}}"`);
    }
  });

  it("GIVEN each tenant WHEN its connection is read THEN it allows only that tenant's role, connects to the server of the tenant's region, and names its password by variable", () => {
    const acme = JSON.parse(file("database/connections/tenant-acme.json"));
    const globex = JSON.parse(file("database/connections/tenant-globex.json"));
    expect(acme.allowed_roles).toEqual(["tenant-acme"]);
    expect(globex.allowed_roles).toEqual(["tenant-globex"]);
    expect(acme.connection_url).toBe("postgresql://{{username}}:{{password}}@postgres:5432/palisade?sslmode=require");
    expect(globex.connection_url).toContain("@pg-us:5432/");
    expect(acme.password).toEqual({ $var: "postgres_vault_password_pg_main" });
    expect(globex.password).toEqual({ $var: "postgres_vault_password_pg_us" });
    expect(acme.username).toBe("palisade_vault");
  });
});

describe("the reference snapshot: secretsStackResources", () => {
  const resources = secretsStackResources(site);

  it("GIVEN the reference site WHEN described THEN it lists vault provider resources with stable names, sorted by type then name", () => {
    expect(resources.map((r) => `${r.type}.${r.name}`)).toEqual([
      "vault_approle_auth_backend_role.api",
      "vault_approle_auth_backend_role.provisioner",
      "vault_auth_backend.approle",
      "vault_database_secret_backend_connection.tenant-acme",
      "vault_database_secret_backend_connection.tenant-globex",
      "vault_database_secret_backend_role.tenant-acme",
      "vault_database_secret_backend_role.tenant-globex",
      "vault_mount.database",
      "vault_mount.kv",
      "vault_policy.api",
      "vault_policy.provisioner",
    ]);
  });

  it("GIVEN the stack WHEN serialized THEN no secret value appears: passwords are variable references, templates stay templates", () => {
    const text = JSON.stringify(resources);
    const conn = resources.find((r) => r.type === "vault_database_secret_backend_connection" && r.name === "tenant-acme")!;
    expect((conn.props.postgresql as Record<string, unknown>).password).toEqual({ $var: "postgres_vault_password_pg_main" });
    expect(text.replace(/\{\{password\}\}/g, "")).not.toMatch(/"password":"[^{]/);
    expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|hvs\.|s\.[A-Za-z0-9]{24}/);
    expect(secretsStackVariables(site).map((v) => v.name)).toEqual(["postgres_vault_password_pg_main", "postgres_vault_password_pg_us"]);
  });

  it("GIVEN the stack WHEN its policies are parsed THEN they are exactly the rendered host policies", () => {
    for (const name of ["api", "provisioner"]) {
      const r = resources.find((x) => x.type === "vault_policy" && x.name === name)!;
      expect(parsePolicy(r.props.policy as string)).toEqual(policy(name));
    }
  });

  it("GIVEN a tenant is added to the site WHEN described again THEN existing names are unchanged and the new tenant adds its own connection and role", () => {
    const { site: more } = siteWithTenants([...site.tenants, { id: "hooli", name: "Hooli", mode: "shared" }]);
    const names = (rs: typeof resources) => rs.map((r) => `${r.type}.${r.name}`);
    const added = names(secretsStackResources(more)).filter((n) => !names(resources).includes(n));
    expect(added).toEqual(["vault_database_secret_backend_connection.tenant-hooli", "vault_database_secret_backend_role.tenant-hooli"]);
  });
});

describe("the reference snapshot: the project's secret guardrail", () => {
  it("GIVEN every tenancy and OpenBao artifact WHEN the plan's secret scan reads them THEN it finds nothing", () => {
    const files = new Map([...renderTenancy(site), ...artifacts].map((a) => [a.path, a.content] as [string, string]));
    files.set("hosts/cloud/openbao/secrets-stack.json", JSON.stringify(secretsStackResources(site), null, 2));
    expect(secretGuardrails(files)).toEqual([]);
  });
});
