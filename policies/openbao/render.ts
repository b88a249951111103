import { openbaoDir, openbaoSite, Port, sortArtifacts, type Artifact, type Site } from "../../core/index.js";
import {
  OPENBAO_PATHS,
  OPENBAO_TLS,
  appRoleArguments, appRoleRoles,
  databaseConnections,
  databaseRoles,
  servicePolicies,
  type ServicePolicy,
} from "./model.js";

/** Where the OpenBao artifacts go on the one-site form (mounted read-only at /openbao/config in the `openbao` container); with sites, under OpenBao's site (`openbaoDirOf`). */
export const OPENBAO_ARTIFACT_DIR = openbaoDir("cloud");

/** The directory of a platform's OpenBao files: under the site that runs OpenBao. */
export function openbaoDirOf(site: Site): string {
  return openbaoDir(openbaoSite(site).id);
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** The audit devices declared in the server config (OpenBao ≥ 2.4 creates them at start, API creation stays off). */
export const AUDIT_DEVICES = [
  { path: "file-volume", description: "Audit log on the openbao-audit volume", filePath: `${OPENBAO_PATHS.audit}/audit.log` },
  { path: "file-stdout", description: "Second copy to the container log: a full volume cannot silence auditing", filePath: "stdout" },
] as const;

/**
 * The server configuration: TLS-only listener, file storage on the data volume, two declarative
 * file audit devices. mlock stays on (the container has IPC_LOCK), which is why the storage is
 * `file` rather than raft (raft's memory-mapped database and mlock do not mix). On a Kubernetes
 * cloud it is off: the nodes run without swap and the restricted pod cannot hold IPC_LOCK.
 */
export function renderServerConfig(site: Site): string {
  const port = Port.VAULT.number;
  const lines = [
    `# OpenBao server configuration for site ${site.site.name}. Rendered by Palisade; do not edit.`,
    `# No secret in this file: the TLS key is read from ${OPENBAO_TLS.key} (mounted from /etc/palisade/secrets/openbao/).`,
    `ui            = false`,
    `disable_mlock = ${site.cloud.engine === "kubernetes"}`,
    `api_addr      = ${q(`https://openbao:${port}`)}`,
    `log_level     = "info"`,
    ``,
    `listener "tcp" {`,
    `  address         = ${q(`0.0.0.0:${port}`)}`,
    `  tls_disable     = false`,
    `  tls_cert_file   = ${q(OPENBAO_TLS.cert)}`,
    `  tls_key_file    = ${q(OPENBAO_TLS.key)}`,
    `  tls_min_version = "tls13"`,
    `}`,
    ``,
    `storage "file" {`,
    `  path = ${q(OPENBAO_PATHS.data)}`,
    `}`,
  ];
  for (const d of AUDIT_DEVICES) {
    lines.push(
      ``,
      `audit "file" ${q(d.path)} {`,
      `  description = ${q(d.description)}`,
      `  options {`,
      `    file_path = ${q(d.filePath)}`,
      `    log_raw   = "false"`,
      ...(d.filePath === "stdout" ? [] : [`    mode      = "0600"`]),
      `  }`,
      `}`,
    );
  }
  lines.push(``);
  return lines.join("\n");
}

/** One ACL policy as HCL. */
export function renderPolicyHcl(policy: ServicePolicy): string {
  const lines = [`# OpenBao policy ${q(policy.name)}. Rendered by Palisade; do not edit.`, `# ${policy.description}`];
  for (const r of policy.rules) {
    lines.push(``, `path ${q(r.path)} {`, `  capabilities = [${r.capabilities.map(q).join(", ")}]`, `}`);
  }
  lines.push(``);
  return lines.join("\n");
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * The OpenBao artifacts:
 *   config.hcl                          server configuration
 *   policies/<service>.hcl              least-privilege ACL policies
 *   approle/<service>.json              AppRole role definitions (auth/approle/role/<service>)
 *   database/connections/<name>.json    database secrets engine connections (password: a variable reference)
 *   database/roles/<name>.json          one role per tenant (creation/renew/revocation statements, TTLs)
 * The same model feeds `secretsStackResources` for the engines.
 */
export function renderOpenBao(site: Site): Artifact[] {
  const dir = openbaoDirOf(site);
  const out: Artifact[] = [{ path: `${dir}/config.hcl`, content: renderServerConfig(site) }];
  for (const p of servicePolicies(site)) out.push({ path: `${dir}/policies/${p.name}.hcl`, content: renderPolicyHcl(p) });
  for (const r of appRoleRoles(site)) {
    out.push({
      path: `${dir}/approle/${r.name}.json`,
      content: json(appRoleArguments(r)),
    });
  }
  for (const c of databaseConnections(site)) {
    out.push({
      path: `${dir}/database/connections/${c.name}.json`,
      content: json({
        name: c.name,
        plugin_name: "postgresql-database-plugin",
        server: c.server,
        connection_url: c.connectionUrl,
        username: c.username,
        password: c.password,
        allowed_roles: c.allowedRoles,
        verify_connection: true,
      }),
    });
  }
  for (const r of databaseRoles(site)) {
    out.push({
      path: `${dir}/database/roles/${r.name}.json`,
      content: json({
        name: r.name,
        db_name: r.dbName,
        creation_statements: r.creationStatements,
        renew_statements: r.renewStatements,
        revocation_statements: r.revocationStatements,
        default_ttl: r.defaultTtlSeconds,
        max_ttl: r.maxTtlSeconds,
      }),
    });
  }
  return sortArtifacts(out);
}
