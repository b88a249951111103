import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { EDGE_REJECT_BACKEND, edgeRoutes, renderIps, renderProxy } from "../../edge/index.js";
import { describeRoot } from "../helpers/root.js";
import { requireTool } from "../helpers/tools.js";
import { artifact, fail2banCounts, run, tempDir, topology, writeFile } from "./edge-test-kit.js";

const t = topology();
const cfg = renderProxy(t).content;
/** The lines of one section (`frontend fe_tls`, `backend be_app`), trimmed. */
const section = (name: string) => {
  const start = cfg.indexOf(`\n${name}\n`);
  if (start < 0) throw new Error(`no section ${name}`);
  const rest = cfg.slice(start + name.length + 2);
  return rest.slice(0, rest.search(/\n(?:\S|$)/) >= 0 ? rest.search(/\n(?:\S|$)/) : undefined).split("\n").map((l) => l.trim()).filter(Boolean);
};

describe("edge HAProxy (haproxy.cfg)", () => {
  it("GIVEN the site's names WHEN rendered THEN app, blog and git are each routed by SNI to their own backend", () => {
    const tls = section("frontend fe_tls");
    expect(edgeRoutes(t).map((r) => r.host)).toEqual(["app.example.com", "blog.example.com", "git.example.com"]);
    for (const r of edgeRoutes(t)) expect(tls).toContain(`use_backend ${r.backend} if { req.ssl_sni -i ${r.host} }`);
    expect(tls).toContain("mode tcp");
    expect(tls).toContain("tcp-request inspect-delay 5s");
    expect(tls).toContain("tcp-request content accept if { req.ssl_hello_type 1 }");
  });

  it("GIVEN each routed backend WHEN read THEN it has one server, the cloud ingress's tunnel address on 443, with PROXY v2", () => {
    for (const r of edgeRoutes(t)) {
      const servers = section(`backend ${r.backend}`).filter((l) => l.startsWith("server "));
      expect(servers).toEqual(["server ingress 10.77.0.2:443 send-proxy-v2"]);
    }
  });

  it("GIVEN an unknown or missing SNI WHEN it falls through THEN the default backend rejects it", () => {
    expect(section("frontend fe_tls")).toContain(`default_backend ${EDGE_REJECT_BACKEND}`);
    const reject = section(`backend ${EDGE_REJECT_BACKEND}`);
    expect(reject).toContain("tcp-request content reject");
    expect(reject.some((l) => l.startsWith("server "))).toBe(false);
  });

  it("GIVEN port 80 WHEN rendered THEN only ACME challenges for the site's names reach the ingress (PROXY v2) and the rest is redirected to HTTPS", () => {
    const http = section("frontend fe_http");
    expect(http).toContain("acl acme_challenge path_beg /.well-known/acme-challenge/");
    expect(http).toContain("http-request redirect scheme https code 301 unless acme_challenge site_host");
    expect(http).toContain("use_backend be_acme if acme_challenge site_host");
    expect(section("backend be_acme")).toContain("server ingress 10.77.0.2:80 send-proxy-v2");
    expect(http.some((l) => l.startsWith("default_backend"))).toBe(false);
  });

  it("GIVEN statistics WHEN rendered THEN they are only on a unix socket, never on a TCP listener", () => {
    expect(cfg).toMatch(/^\s+stats socket \/var\/run\/haproxy\/admin\.sock mode 600 level admin$/m);
    expect(cfg).not.toMatch(/stats (enable|uri)|listen stats|prometheus/);
    expect(cfg.match(/^\s+bind /gm)?.length).toBe(4);
  });

  it("GIVEN the reference site WHEN rendered THEN it matches the snapshot", async () => {
    await expect(cfg).toMatchFileSnapshot("__snapshots__/haproxy.cfg");
  });
});

const haproxy = requireTool("haproxy");
describe("edge HAProxy checked by haproxy -c", () => {
  it.skipIf(!haproxy.path)("GIVEN the rendered config WHEN haproxy -c checks it THEN it is valid without warnings", () => {
    const r = run(haproxy.path!, ["-c", "-f", writeFile(join(tempDir("hap"), "haproxy.cfg"), cfg)]);
    expect(r.stdout + r.stderr).toContain("Configuration file is valid");
    expect(r.stdout + r.stderr).not.toMatch(/WARNING|ALERT/);
    expect(r.status).toBe(0);
  });

  it.skipIf(!haproxy.path)("GIVEN a config whose backend server has a misspelt option WHEN haproxy -c checks it THEN it fails", () => {
    const r = run(haproxy.path!, ["-c", "-f", writeFile(join(tempDir("hap-bad"), "haproxy.cfg"), cfg.replace("send-proxy-v2", "send-proxy-v9"))]);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/ALERT/);
  });
});

const openssl = requireTool("openssl");
const python = requireTool("python3");
const regex = requireTool("fail2ban-regex", "fail2ban");
describeRoot("edge HAProxy running in a private network namespace", () => {
  it.skipIf(!haproxy.path || !openssl.path || !python.path || !regex.path)(
    "GIVEN the rendered config running WHEN clients send a known, an unknown and no SNI THEN the known one reaches the ingress with PROXY v2, the others are refused and the IPS filter counts exactly them",
    () => {
      const dir = tempDir("hap-live");
      const live = cfg
        .replace("log /dev/log local0 info", "log stdout format rfc3164 local0 info")
        .replace("/var/run/haproxy/admin.sock", join(dir, "admin.sock"));
      const cfgFile = writeFile(join(dir, "haproxy.cfg"), live);
      const sink = writeFile(
        join(dir, "sink.py"),
        [
          "import socket, sys",
          "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
          "s.bind(('10.77.0.2', 443)); s.listen(5); s.settimeout(8)",
          "c, _ = s.accept(); c.settimeout(3); data = c.recv(16)",
          `open('${join(dir, "first-bytes.hex")}', 'w').write(data.hex())`,
        ].join("\n"),
      );
      const hello = (sni: string) =>
        `echo | timeout 3 ${openssl.path} s_client -connect 203.0.113.10:443 ${sni ? `-servername ${sni}` : "-noservername"} >/dev/null 2>&1 || true`;
      const script = [
        "set -e",
        "ip link set lo up",
        "ip addr add 203.0.113.10/32 dev lo",
        "ip addr add 2001:db8::10/128 dev lo nodad",
        "ip addr add 10.77.0.2/32 dev lo",
        `${python.path} ${sink} & SINK=$!`,
        `${haproxy.path} -db -f ${cfgFile} > ${join(dir, "haproxy.log")} 2>&1 & HAP=$!`,
        "sleep 0.4",
        hello("app.example.com"),
        hello("evil.example.org"),
        hello(""),
        hello("example.com"),
        "sleep 0.3",
        "kill $HAP; wait $HAP || true",
        "kill $SINK 2>/dev/null || true; wait $SINK || true",
      ].join("\n");
      const r = run("unshare", ["-n", "bash", "-c", script]);
      expect(r.stderr).toBe("");
      // PROXY v2: the 12-byte signature, then 0x21 (version 2, PROXY) and 0x11 (TCP over IPv4).
      expect(run("cat", [join(dir, "first-bytes.hex")]).stdout.slice(0, 28)).toBe("0d0a0d0a000d0a515549540a2111");
      const log = run("cat", [join(dir, "haproxy.log")]).stdout;
      expect(log).toMatch(/palisade-sni client=203\.0\.113\.10 port=\d+ frontend=fe_tls backend=be_app sni=app\.example\.com/);
      expect(log).toMatch(/backend=be_reject sni=evil\.example\.org bytes=0 term=PR/);
      expect(log).toMatch(/backend=be_reject sni=- bytes=0 term=PR/);
      expect(log).toMatch(/backend=be_closed sni=example\.com bytes=0 term=PR/);
      const filter = writeFile(join(dir, "filter.d", "haproxy-sni.conf"), artifact(renderIps(t), "hosts/edge/fail2ban/filter.d/haproxy-sni.conf"));
      // rsyslog writes what HAProxy sends to /dev/log without the <PRI> field: do the same here.
      const asSyslog = writeFile(join(dir, "haproxy-syslog.log"), log.replace(/^<\d+>/gm, ""));
      const counted = fail2banCounts(run(regex.path!, [asSyslog, filter]).stdout);
      expect(counted.matched).toBe(2);
    },
    30_000,
  );
});
