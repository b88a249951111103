import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSite, tunnelAddresses } from "../../core/index.js";
import { INGRESS_PATHS, renderIngressConfig, SECURITY_HEADERS } from "../../cluster/index.js";
import { buildTopology } from "../../stacks/platform.js";
import { REFERENCE_SITE } from "../helpers/paths.js";
import { requireTool } from "../helpers/tools.js";
import { dockerSiteFiles } from "../policies/planned-sites.js";
import { siteFacts } from "../policies/site-facts.js";

/** `haproxy -c` needs a real certificate where the config points: the test makes one in a temp dir. */
function checkWithHaproxy(config: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "palisade-ingress-"));
  mkdirSync(join(dir, "certs"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/CN=app.example.com", "-days", "1"], { stdio: "ignore" });
  execFileSync("sh", ["-c", `cat ${dir}/cert.pem ${dir}/key.pem > ${dir}/certs/app.pem`]);
  const local = config.replaceAll(`${INGRESS_PATHS.certDir}/`, `${dir}/certs/`).replaceAll(INGRESS_PATHS.adminSocket, join(dir, "admin.sock"));
  writeFileSync(join(dir, "haproxy.cfg"), local);
  const r = spawnSync("haproxy", ["-c", "-f", join(dir, "haproxy.cfg")], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe.each(dockerSiteFiles())("the ingress HAProxy configuration of %s", ({ file }) => {
  const site = loadSite(file);
  const topology = buildTopology(site);
  const cfg = renderIngressConfig(topology);
  const edgeTunnel = tunnelAddresses(site).edge4;
  const routes = siteFacts(file).intent.routes;
  const aclByHost = new Map([...cfg.matchAll(/acl (host_\w+) hdr\(host\),field\(1,:\) -i (\S+)/g)].map((m) => [m[2]!, m[1]!]));

  it("accepts the PROXY protocol only from the edge's tunnel address and refuses other sources", () => {
    const https = cfg.slice(cfg.indexOf("frontend fe_https"), cfg.indexOf("frontend fe_stats"));
    expect(https).toContain(`tcp-request connection expect-proxy layer4 if { src ${edgeTunnel} }`);
    expect(https).toContain(`tcp-request connection reject unless { src ${edgeTunnel} }`);
    expect(cfg).not.toContain("accept-proxy");
  });

  it.each(routes.filter((r) => !r.path).map((r) => [r.host, r.service] as const))("routes host %s to %s", (host, service) => {
    expect(aclByHost.get(host), host).toBeDefined();
    expect(cfg).toContain(`use_backend be_${service.replace(/-/g, "_")} if ${aclByHost.get(host)}\n`);
  });

  it("matches each path with one fetch per acl line (a second fetch on one line would be a pattern)", () => {
    for (const r of routes.filter((x) => x.path)) {
      expect(cfg).toMatch(new RegExp(`\n {4}acl \\w+ path ${r.path!.replace(/[/.]/g, "\\$&")}\n`));
      expect(cfg).toMatch(new RegExp(`\n {4}acl \\w+ path_beg ${r.path!.replace(/[/.]/g, "\\$&")}/\n`));
    }
    expect(cfg).not.toMatch(/acl \w+ path \S+ path_beg/);
  });

  it("routes each path before the catch-all of its host", () => {
    for (const r of routes.filter((x) => x.path)) {
      const acl = aclByHost.get(r.host)!;
      const pathRule = new RegExp(`use_backend be_${r.service.replace(/-/g, "_")} if ${acl} path_\\w+\n`).exec(cfg);
      const catchAll = new RegExp(`use_backend \\S+ if ${acl}\n`).exec(cfg);
      expect(pathRule, `${r.host}${r.path}`).not.toBeNull();
      if (catchAll) expect(pathRule!.index).toBeLessThan(catchAll.index);
    }
  });

  it("sends an unknown host to a rejecting backend, never to an application", () => {
    expect(cfg).toContain("default_backend be_reject");
    expect(cfg).toMatch(/backend be_reject\n {4}http-request deny deny_status 421/);
  });

  it("redirects HTTP to HTTPS except ACME HTTP-01 paths, which go to the ACME client", () => {
    const http = cfg.slice(cfg.indexOf("frontend fe_http\n"), cfg.indexOf("frontend fe_https"));
    expect(http).toContain("acl acme_challenge path_beg /.well-known/acme-challenge/");
    expect(http).toContain("http-request redirect scheme https code 301 unless acme_challenge");
    expect(http).toContain("use_backend be_acme if acme_challenge");
  });

  it.each(SECURITY_HEADERS.map(([h]) => h))("sets the security header %s on responses", (header) => {
    expect(cfg).toMatch(new RegExp(`http-response set-header ${header} "`));
  });

  it("binds the stats/Prometheus endpoint to the ingress's address on an internal network, never to all interfaces", () => {
    const bind = /bind (\S+):8404/.exec(cfg)?.[1];
    const net = [...topology.service("ingress").addresses].find(([, ip]) => ip === bind)?.[0];
    expect(net).toBeDefined();
    expect(topology.network("cloud", net!).internal).toBe(true);
    expect(cfg).not.toMatch(/bind (\*|0\.0\.0\.0|:::?):8404/);
  });

  it("dials each routed service and the ACME client at its address on a network it shares with the ingress, and nothing else", () => {
    const ingress = topology.service("ingress");
    const dialed = [...new Set([...routes.map((r) => r.service), "acme"])].sort();
    for (const id of dialed) {
      const shared = [...topology.service(id).addresses].find(([net]) => ingress.addresses.has(net));
      expect(shared, `${id} shares a network with the ingress`).toBeDefined();
      expect(cfg).toContain(`server ${id} ${shared![1]}:`);
    }
    expect([...cfg.matchAll(/^\s+server (\S+) /gm)].map((m) => m[1]!).sort()).toEqual(dialed);
  });
});

describe("the reference snapshot: the ingress of palisade.yaml", () => {
  const cfg = renderIngressConfig(buildTopology(loadSite(REFERENCE_SITE)));
  const haproxy = requireTool("haproxy");
  it.skipIf(!haproxy.path)("passes haproxy -c (the real checker; every example's ingress: test/examples/checkers.test.ts)", () => {
    const r = checkWithHaproxy(cfg);
    expect(r.output).toContain("Configuration file is valid");
    expect(r.status).toBe(0);
  });
  it.skipIf(!haproxy.path)("is caught by haproxy -c when a route names a backend that does not exist (negative control)", () => {
    const r = checkWithHaproxy(cfg.replace(/use_backend \S+ if (host_\w+)\n/, "use_backend be_nowhere if $1\n"));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/be_nowhere/);
  });
  it("routes app /api to the api before the frontend catches the host", () => {
    expect(cfg.indexOf("use_backend be_api if host_app path_api")).toBeLessThan(cfg.indexOf("use_backend be_frontend if host_app"));
  });
});
