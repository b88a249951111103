import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSite, type Site } from "../../core/index.js";
import { openbaoDirOf } from "../../policies/openbao/render.js";
import { openbaoBool } from "../../policies/verifier/openbao-server.js";
import { FORMATTERS } from "../../policies/report/index.js";
import { copyOut, describeMutationSuite, editText, verifyDirInProcess } from "./support.js";
import { generatedSiteFile, planSite, siteFiles } from "./planned-sites.js";

/*
 * OpenBao's server configuration as the server reads it. Each edit weakens what protects the
 * secrets (plaintext or old TLS on a listener, the UI on, memory unlocked, a plaintext address, an
 * audit device gone or logging raw, its file world-readable, what the verifier does not model);
 * verify must exit 1 with an openbao-config finding on the edited line. OpenBao cannot run here:
 * no differential test, these mutations are the evidence. Rewrites that change nothing OpenBao
 * does must pass. The file's place comes from the planned site.
 */

interface Mutation {
  readonly name: string;
  readonly edit: (text: string, site: Site) => string;
  readonly expected: RegExp;
  readonly marker: string;
  /** Only where it is a weakening (memory locking is off by design in a Kubernetes pod). */
  readonly applies?: (site: Site) => boolean;
}

const inListener = (x: string, line: string) => x.replace(/^(listener "tcp" \{)$/m, `$1\n  ${line}`);
const MUTATIONS: readonly Mutation[] = [
  { name: "the listener's TLS disabled", edit: (x) => x.replace(/^( {2}tls_disable\s*=\s*)false$/m, "$1true"), expected: /tls_disable = true: the listener speaks plaintext/, marker: "tls_disable" },
  { name: "the listener's TLS disabled as the string \"1\"", edit: (x) => x.replace(/^( {2}tls_disable\s*=\s*)false$/m, '$1"1"'), expected: /tls_disable = "1": the listener speaks plaintext/, marker: "tls_disable" },
  { name: "tls_disable removed and a plaintext second listener added", edit: (x) => `${x}\nlistener "tcp" {\n  address     = "0.0.0.0:8201"\n  tls_disable = "T"\n}\n`, expected: /0\.0\.0\.0:8201.*tls_disable = "T"/, marker: 'tls_disable = "T"' },
  { name: "TLS 1.0 allowed", edit: (x) => x.replace(/^( {2}tls_min_version\s*=\s*)".*"$/m, '$1"tls10"'), expected: /tls_min_version "tls10": at least tls12/, marker: "tls_min_version" },
  { name: "the listener's key file pointed elsewhere", edit: (x) => x.replace(/^( {2}tls_key_file\s*=\s*)".*"$/m, '$1"/tmp/key.pem"'), expected: /tls_key_file "\/tmp\/key\.pem": the listener's key is not the rendered/, marker: "tls_key_file" },
  { name: "unauthenticated metrics on the listener", edit: (x) => inListener(x, 'telemetry_unauth = "true"'), expected: /telemetry_unauth is not modelled/, marker: "telemetry_unauth" },
  { name: "the web UI on", edit: (x) => x.replace(/^(ui\s*=\s*)false$/m, "$1true"), expected: /the web UI is on/, marker: "ui" },
  { name: "memory locking off on a Docker host", edit: (x) => x.replace(/^(disable_mlock\s*=\s*)false$/m, '$1"true"'), expected: /memory locking is off on a Docker host/, marker: "disable_mlock", applies: (s) => s.cloud.engine !== "kubernetes" },
  { name: "a plaintext api_addr", edit: (x) => x.replace(/^(api_addr\s*=\s*)"https:/m, '$1"http:'), expected: /api_addr "http:.*is not https/, marker: "api_addr" },
  { name: "the raw storage endpoint on", edit: (x) => x.replace(/^(ui\s*=.*)$/m, "$1\nraw_storage_endpoint = true"), expected: /raw_storage_endpoint is not modelled/, marker: "raw_storage_endpoint" },
  { name: "a plugin directory (arbitrary binaries)", edit: (x) => x.replace(/^(ui\s*=.*)$/m, '$1\nplugin_directory = "/tmp/plugins"'), expected: /plugin_directory is not modelled/, marker: "plugin_directory" },
  { name: "an audit device logging raw secrets", edit: (x) => x.replace(/^( {4}log_raw\s*=\s*)"false"$/m, '$1"true"'), expected: /log_raw = "true": the audit log holds every token and secret in clear/, marker: "log_raw" },
  { name: "the volume's audit device removed", edit: (x) => x.replace(/^audit "file" "file-volume" \{\n(?:.*\n)*?\}\n/m, ""), expected: /audit device file-volume .* is gone/, marker: "" },
  { name: "the volume's audit device writing to /dev/null", edit: (x) => x.replace(/^( {4}file_path\s*=\s*)"\/openbao\/audit\/audit\.log"$/m, '$1"/dev/null"'), expected: /audit device file-volume writes to "\/dev\/null", not the rendered/, marker: "/dev/null" },
  { name: "the audit log world-readable", edit: (x) => x.replace(/^( {4}mode\s*=\s*)"0600"$/m, '$1"0644"'), expected: /mode "0644": the audit log is readable or writable beyond its owner/, marker: "mode" },
  { name: "accessors in clear in the audit log (hmac_accessor)", edit: (x) => x.replace(/^( {4}log_raw\s*=.*)$/m, '$1\n    hmac_accessor = "false"'), expected: /option hmac_accessor is not modelled/, marker: "hmac_accessor" },
  { name: "another storage backend", edit: (x) => x.replace(/^storage "file" \{/m, 'storage "inmem" {'), expected: /the storage is not the rendered file backend/, marker: "storage" },
  { name: "a seal stanza", edit: (x) => `${x}\nseal "transit" {\n  address = "https://192.0.2.9:8200"\n}\n`, expected: /block seal is not modelled/, marker: "seal" },
  { name: "a value HCL cannot read (an expression)", edit: (x) => x.replace(/^(ui\s*=\s*)false$/m, "$1!false"), expected: /not understood, so not trusted/, marker: "ui" },
];

const NEUTRAL: readonly { readonly name: string; readonly edit: (text: string) => string }[] = [
  { name: "booleans as OpenBao's other spellings", edit: (x) => x.replace(/^( {2}tls_disable\s*=\s*)false$/m, '$1"F"').replace(/^(ui\s*=\s*)false$/m, '$1"0"') },
  { name: "comments of every HCL kind and attributes aligned differently", edit: (x) => x.replace(/^(log_level\s*=\s*)(.*)$/m, "// the log\n/* level */ log_level = $2 # info") },
  { name: "TLS 1.2 as the minimum", edit: (x) => x.replace(/^( {2}tls_min_version\s*=\s*)".*"$/m, '$1"tls12"') },
];

const sites = [...siteFiles(), generatedSiteFile(7)];
const configPath = (site: Site) => `${openbaoDirOf(site)}/config.hcl`;

describeMutationSuite({
  title: "OpenBao's server configuration of %s as OpenBao reads it",
  kind: "openbao-config",
  sites,
  artifact: configPath,
  mutations: MUTATIONS.map((m) => ({ ...m, apply: (dir: string, site: Site) => editText(dir, configPath(site), (x) => m.edit(x, site)) })),
  neutral: NEUTRAL.map((m) => ({ ...m, apply: (dir: string, site: Site) => editText(dir, configPath(site), m.edit) })),
});

describe("OpenBao's booleans and the SARIF rule of every finding", () => {
  it("GIVEN Go's strconv.ParseBool spellings WHEN read THEN true or false, and undefined for what OpenBao refuses", () => {
    expect(["1", "t", "T", "TRUE", "true", "True", true, 1].map(openbaoBool)).toEqual(Array(8).fill(true));
    expect(["0", "f", "F", "FALSE", "false", "False", false, 0].map(openbaoBool)).toEqual(Array(8).fill(false));
    expect(["yes", "on", "tRuE", 2, ""].map(openbaoBool)).toEqual(Array(5).fill(undefined));
  });

  it("GIVEN findings of kinds that had no rule (openbao-config, open-relay) WHEN SARIF is rendered THEN every result's ruleIndex is its own rule", async () => {
    const planned = await planSite(sites[0]!.file);
    const s = parseSite(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    const dir = copyOut(planned);
    editText(dir, `${openbaoDirOf(s)}/config.hcl`, (x) => x.replace(/^(ui\s*=\s*)false$/m, "$1true"));
    editText(dir, "hosts/edge/mail/postfix/main.cf", (x) => x.replace(/^mynetworks = .*$/m, "mynetworks = 0.0.0.0/0"));
    const report = verifyDirInProcess(dir);
    expect(new Set(report.findings.map((f) => f.kind))).toEqual(new Set(["openbao-config", "open-relay"]));
    const sarif = JSON.parse(FORMATTERS.find((f) => f.path.endsWith(".sarif"))!.render(report)) as { runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; ruleIndex?: number }[] }[] };
    const run = sarif.runs[0]!;
    expect(run.results.length).toBeGreaterThan(0);
    for (const res of run.results) expect(run.tool.driver.rules[res.ruleIndex!]?.id, res.ruleId).toBe(res.ruleId);
  });
});
