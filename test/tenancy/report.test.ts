import { describe, expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import { tenantIsolationSection } from "../../policies/tenancy/index.js";
import { REFERENCE_SITE } from "../helpers/cli.js";

describe("tenantIsolationSection", () => {
  const rows = tenantIsolationSection(loadSite(REFERENCE_SITE));

  it("GIVEN the reference site WHEN the section is built THEN there is one row per tenant, sorted, naming database, server and OpenBao paths", () => {
    expect(rows.map((r) => [r.tenant, r.mode, r.database, r.server])).toEqual([
      ["acme", "shared", "palisade", "pg-main (eu-west)"],
      ["globex", "dedicated", "tenant_globex", "pg-us (us-east)"],
    ]);
    expect(rows[1]!.openbaoPaths).toEqual(["database/creds/tenant-globex", "database/roles/tenant-globex", "database/config/tenant-globex"]);
    expect(rows[1]!.roles.slice(0, 2)).toEqual(["tenant_globex_owner", "tenant_globex_app"]);
  });

  it("GIVEN a shared tenant WHEN the section is built THEN its layers are FORCE RLS, the registry, a non-privileged role and short-lived credentials, and no database layer", () => {
    const layers = rows[0]!.layers.map((l) => l.split(":")[0]);
    expect(layers).toEqual(["postgres-rls", "postgres-registry", "postgres-role", "openbao-credentials"]);
    expect(rows[0]!.layers.join("\n")).not.toContain("postgres-database");
  });

  it("GIVEN a dedicated tenant WHEN the section is built THEN its own database with CONNECT revoked from PUBLIC is the first layer, and RLS is still there", () => {
    expect(rows[1]!.layers[0]).toContain("CONNECT revoked from PUBLIC");
    expect(rows[1]!.layers.map((l) => l.split(":")[0])).toEqual(expect.arrayContaining(["postgres-database", "postgres-placement", "postgres-rls", "openbao-credentials"]));
  });
});
