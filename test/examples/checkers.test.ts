import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { INGRESS_PATHS } from "../../cluster/index.js";
import { KNOT_TSIG_INCLUDE } from "../../edge/index.js";
import { examples } from "../helpers/examples.js";
import { tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { requireTool } from "../helpers/tools.js";

/*
 * The real checkers on every example's rendered files: haproxy -c on the edge proxy and the
 * ingress, kzonecheck on each zone, knotc conf-check on knot.conf, shellcheck on lego's scripts.
 * (nft -c of every host's firewall needs a network namespace: nft-check.test.ts, a host test.)
 */

const haproxy = requireTool("haproxy");
const openssl = requireTool("openssl");
const kzonecheck = requireTool("kzonecheck", "knot-dnssecutils");
const knotc = requireTool("knotc", "knot");
const shellcheck = requireTool("shellcheck");

/** Each example's output, and the host its ingress and ACME client run on (the first site). */
const planned: { name: string; dir: string; front: string }[] = [];
for (const e of examples) planned.push({ name: e.name, dir: (await planOnce(e.file)).dir, front: `hosts/${e.site.cloud.id}` });

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};

/** The ingress config with its certificate directory and socket moved into a temp dir holding a throwaway certificate. */
function checkableIngress(config: string): string {
  const dir = tempDir("ex-ingress");
  mkdirSync(join(dir, "certs"));
  execFileSync(openssl.path!, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/CN=example.test", "-days", "1"], { stdio: "ignore" });
  writeFileSync(join(dir, "certs", "site.pem"), readFileSync(join(dir, "cert.pem"), "utf8") + readFileSync(join(dir, "key.pem"), "utf8"));
  const file = join(dir, "haproxy.cfg");
  // A Kubernetes cloud's backends are cluster DNS names, which resolve only inside a cluster (none runs here).
  const local = config.replace(/ [a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local:/g, " 127.0.0.1:");
  writeFileSync(file, local.replaceAll(`${INGRESS_PATHS.certDir}/`, `${dir}/certs/`).replaceAll(INGRESS_PATHS.adminSocket, join(dir, "admin.sock")));
  return file;
}

describe.each(planned)("the real checkers on the $name example's files", ({ dir, front }) => {
  const text = (path: string) => readFileSync(join(dir, path), "utf8");
  const zones = readdirSync(join(dir, "hosts/edge/knot/zones")).filter((f) => f.endsWith(".zone")).sort();

  it.skipIf(!haproxy.path)("GIVEN the edge proxy's haproxy.cfg WHEN haproxy -c checks it THEN it is valid without warnings", () => {
    const file = join(tempDir("ex-edge-hap"), "haproxy.cfg");
    writeFileSync(file, text("hosts/edge/haproxy/haproxy.cfg"));
    const r = run(haproxy.path!, ["-c", "-f", file]);
    expect(r.output).toContain("Configuration file is valid");
    expect(r.output).not.toMatch(/WARNING|ALERT/);
  });

  it.skipIf(!haproxy.path || !openssl.path)("GIVEN the ingress's haproxy.cfg WHEN haproxy -c checks it THEN it is valid", () => {
    const r = run(haproxy.path!, ["-c", "-f", checkableIngress(text(`${front}/ingress/haproxy.cfg`))]);
    expect(r.output).toContain("Configuration file is valid");
    expect(r.status).toBe(0);
  });

  it.skipIf(!kzonecheck.path).each(zones)("GIVEN the zone %s WHEN kzonecheck checks it THEN it has no error", (zone) => {
    const file = join(tempDir("ex-zone"), zone);
    writeFileSync(file, text(`hosts/edge/knot/zones/${zone}`));
    const r = run(kzonecheck.path!, ["-o", zone.replace(/\.zone$/, ""), file]);
    expect(r.output).not.toMatch(/error/i);
    expect(r.status).toBe(0);
  });

  it.skipIf(!knotc.path)("GIVEN knot.conf (its paths in a temp dir, a dummy TSIG include) WHEN knotc conf-check runs THEN it is valid", () => {
    const tmp = tempDir("ex-knot");
    mkdirSync(join(tmp, "zones"));
    mkdirSync(join(tmp, "storage"));
    for (const z of zones) writeFileSync(join(tmp, "zones", z), text(`hosts/edge/knot/zones/${z}`));
    const include = join(tmp, "tsig.conf");
    const conf = text("hosts/edge/knot/knot.conf");
    const ids = [...conf.matchAll(/key: (tsig-\S+)/g)].map((m) => m[1]!);
    writeFileSync(include, [...new Set(ids)].map((id) => `key:\n  - id: ${id}\n    algorithm: hmac-sha256\n    secret: ZHVtbXktdGVzdC1rZXktbm90LWEtc2VjcmV0LTAwMDA=\n`).join(""));
    writeFileSync(join(tmp, "knot.conf"), conf.replace(KNOT_TSIG_INCLUDE, include).replace('"/config/zones"', `"${tmp}/zones"`).replace('"/storage"', `"${tmp}/storage"`));
    const r = run(knotc.path!, ["-c", join(tmp, "knot.conf"), "conf-check"]);
    expect(r.output).toContain("Configuration is valid");
  });

  it.skipIf(!shellcheck.path).each([`${front}/acme/renew.sh`, `${front}/acme/deploy-hook.sh`])("GIVEN %s WHEN shellcheck reads it THEN it reports nothing", (path) => {
    const file = join(tempDir("ex-sh"), "script.sh");
    writeFileSync(file, text(path));
    const r = run(shellcheck.path!, ["--shell=sh", file]);
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });
});
