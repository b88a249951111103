import { describe, expect, it } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { KNOT_TSIG_INCLUDE, renderDns, renderKnotConf, renderZone, txtStrings } from "../../edge/index.js";
import { loadSite, siteNames } from "../../core/index.js";
import { routedHosts, siteZones, zoneOf } from "../../core/declaration.js";
import { requireTool } from "../helpers/tools.js";
import { siteFiles } from "../policies/planned-sites.js";
import { referenceSite, run, siteWith, tempDir, topology, writeFile } from "./edge-test-kit.js";

/* Every zone of every example: what each zone publishes, read from the rendered zone file. */
describe.each(siteFiles())("the zones and knot.conf of %s", ({ file }) => {
  const site = loadSite(file);
  const tp = topology(site);
  const names = siteNames(site);
  const zones = siteZones(site);
  const recordsOf = (text: string, name: string, type: string) =>
    text.split("\n").filter((l) => new RegExp(`^${name.replace(/[.]/g, "\\.")}\\s+IN ${type}\\s`).test(l)).map((l) => l.replace(/^\S+\s+IN \S+\s+/, ""));

  it.each(zones)("GIVEN the zone %s WHEN rendered THEN SPF, DMARC reject and CAA (Let's Encrypt only, no wildcard) are published", (zone) => {
    const z = renderZone(tp, zone).content;
    expect(recordsOf(z, "@", "TXT")).toEqual([zone === site.site.domain ? '"v=spf1 mx -all"' : '"v=spf1 -all"']);
    expect(recordsOf(z, "_dmarc", "TXT")).toEqual([`"v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:${site.site.contactEmail}"`]);
    expect(recordsOf(z, "@", "CAA")).toEqual(['0 issue "letsencrypt.org"', '0 issuewild ";"', `0 iodef "mailto:${site.site.contactEmail}"`]);
    expect(z).not.toMatch(/PRIVATE KEY|secret/i);
  });

  it("GIVEN the primary zone WHEN rendered THEN mail is protected by MX, MTA-STS and TLS-RPT; the other zones have no MX", () => {
    const z = renderZone(tp).content;
    expect(recordsOf(z, "@", "MX")).toEqual([`10 ${names.mail}.`]);
    expect(recordsOf(z, "_mta-sts", "TXT")[0]).toMatch(/^"v=STSv1; id=[0-9a-f]{20}"$/);
    expect(recordsOf(z, "_smtp._tls", "TXT")).toEqual([`"v=TLSRPTv1; rua=mailto:${site.site.contactEmail}"`]);
    for (const zone of zones.filter((x) => x !== site.site.domain)) expect(recordsOf(renderZone(tp, zone).content, "@", "MX"), zone).toEqual([]);
  });

  it("GIVEN every routed host name WHEN its zone is rendered THEN it points at the edge on both families, and so does each apex", () => {
    const hosts = [...routedHosts(site), ...zones];
    expect(hosts.length).toBeGreaterThan(zones.length - 1);
    for (const host of hosts) {
      const zone = zoneOf(site, host) ?? host;
      const rel = host === zone ? "@" : host.slice(0, -(zone.length + 1));
      const z = renderZone(tp, zone).content;
      expect(recordsOf(z, rel, "A"), host).toEqual([site.edge.ipv4]);
      expect(recordsOf(z, rel, "AAAA"), host).toEqual([site.edge.ipv6]);
    }
  });

  it("GIVEN the site WHEN rendered twice THEN every zone's serial is the same", () => {
    const serial = (z: string) => /SOA \S+ \S+ \( (\d+) /.exec(z)![1];
    for (const zone of zones) expect(serial(renderZone(topology(loadSite(file)), zone).content), zone).toBe(serial(renderZone(tp, zone).content));
  });

  it("GIVEN knot.conf WHEN rendered THEN it serves every zone signed, listens on the edge's addresses only, and allows transfers only to declared secondaries with TSIG", () => {
    const k = renderKnotConf(tp).content;
    for (const zone of zones) expect(k, zone).toContain(`domain: ${zone}`);
    expect(k).toMatch(/dnssec-signing: on/);
    expect(k).toContain(`listen: [ ${site.edge.ipv4}@53, ${site.edge.ipv6}@53 ]`);
    expect(k).not.toMatch(/secret:|algorithm: hmac/);
    expect(k.match(/action: transfer/g)?.length ?? 0).toBe(site.edge.dns.secondaries.length);
  });
});

const t = topology();
const zone = renderZone(t).content;
const knot = renderKnotConf(t).content;
const records = (name: string, type: string) =>
  zone.split("\n").filter((l) => new RegExp(`^${name.replace(/[.]/g, "\\.")}\\s+IN ${type}\\s`).test(l)).map((l) => l.replace(/^\S+\s+IN \S+\s+/, ""));

describe("the reference snapshot: edge DNS of palisade.yaml (Knot zone and knot.conf), and the renderer on variants of it", () => {
  it("GIVEN the reference site WHEN the zone is rendered THEN mail is protected by SPF, DMARC reject, MTA-STS and TLS-RPT", () => {
    expect(records("@", "MX")).toEqual(["10 mail.example.com."]);
    expect(records("@", "TXT")).toEqual(['"v=spf1 mx -all"']);
    expect(records("_dmarc", "TXT")).toEqual(['"v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:ops@example.com"']);
    expect(records("_mta-sts", "TXT")[0]).toMatch(/^"v=STSv1; id=[0-9a-f]{20}"$/);
    expect(records("_smtp._tls", "TXT")).toEqual(['"v=TLSRPTv1; rua=mailto:ops@example.com"']);
  });

  it("GIVEN the site's DKIM public key WHEN the zone is rendered THEN the selector publishes it and nothing private", () => {
    expect(records("mail2026._domainkey", "TXT")).toEqual(['"v=DKIM1; k=ed25519; p=jRIGLFYrkLJ3dT4T51RzNtZh+OWB94uY09JH4TJk1Os="']);
    expect(zone).not.toMatch(/PRIVATE KEY|secret/i);
  });

  it("GIVEN no DKIM public key WHEN the zone is rendered THEN there is no DKIM record and the zone says why", () => {
    const z = renderZone(topology(siteWith((s) => delete s.publicKeys.dkim))).content;
    expect(z).not.toContain("_domainkey");
    expect(z).toContain("no DKIM record");
  });

  it("GIVEN a long (RSA) key WHEN split for TXT THEN every string is at most 255 characters and the value is intact", () => {
    const value = `v=DKIM1; k=rsa; p=${"A".repeat(392)}`;
    const text = txtStrings(value);
    const parts = [...text.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(parts.length).toBe(2);
    expect(parts.every((p) => p.length <= 255)).toBe(true);
    expect(parts.join("")).toBe(value);
    expect(() => txtStrings('say "hi"')).toThrow(/quote/);
  });

  it("GIVEN CAA WHEN rendered THEN only Let's Encrypt may issue, nobody may issue wildcards, and violations are reported", () => {
    expect(records("@", "CAA")).toEqual(['0 issue "letsencrypt.org"', '0 issuewild ";"', '0 iodef "mailto:ops@example.com"']);
  });

  it("GIVEN the site's names WHEN rendered THEN apex, app, blog, git, mail, mta-sts and ns1 point at the edge on both families", () => {
    for (const name of ["@", "app", "blog", "git", "mail", "mta-sts", "ns1"]) {
      expect(records(name, "A")).toEqual(["203.0.113.10"]);
      expect(records(name, "AAAA")).toEqual(["2001:db8::10"]);
    }
  });

  it("GIVEN the same site WHEN rendered twice THEN the serial is the same, and a change of content changes it", () => {
    const serial = (z: string) => /SOA \S+ \S+ \( (\d+) /.exec(z)![1];
    expect(serial(renderZone(topology(referenceSite())).content)).toBe(serial(zone));
    const other = renderZone(topology(siteWith((s) => (s.edge.ipv4 = "203.0.113.11")))).content;
    expect(serial(other)).not.toBe(serial(zone));
  });

  it("GIVEN secondaries WHEN knot.conf is rendered THEN transfers are allowed only to them with TSIG, keys come from an include and no secret is in the file", () => {
    expect(knot).toContain(`include: "${KNOT_TSIG_INCLUDE}"`);
    expect(knot).toMatch(/acl:\n {2}- id: xfr-ns2\n {4}address: 198\.51\.100\.53\n {4}key: tsig-ns2\n {4}action: transfer/);
    expect(knot.match(/action: /g)?.length).toBe(1);
    expect(knot).not.toMatch(/secret:|algorithm: hmac/);
    expect(knot).toMatch(/dnssec-signing: on/);
    expect(knot).toMatch(/algorithm: ecdsap256sha256\n {4}nsec3: on/);
    expect(knot).toContain("listen: [ 203.0.113.10@53, 2001:db8::10@53 ]");
  });

  it("GIVEN no secondaries WHEN knot.conf is rendered THEN there is no ACL at all, so every transfer is refused", () => {
    const k = renderKnotConf(topology(siteWith((s) => (s.edge.dns.secondaries = [])))).content;
    expect(k).not.toMatch(/^acl:|action: transfer|include:/m);
  });

  it("GIVEN the reference site WHEN rendered THEN knot.conf and the zone match their snapshots", async () => {
    await expect(knot).toMatchFileSnapshot("__snapshots__/knot/knot.conf");
    await expect(zone).toMatchFileSnapshot("__snapshots__/knot/zones/example.com.zone");
  });
});

const kzonecheck = requireTool("kzonecheck", "knot-dnssecutils");
const knotc = requireTool("knotc", "knot");
describe("the reference snapshot: edge DNS checked by kzonecheck and knotc conf-check, with negative controls (every example's zones: test/examples/checkers.test.ts)", () => {
  it.skipIf(!kzonecheck.path)("GIVEN the rendered zone WHEN kzonecheck checks it THEN it has no error", () => {
    const r = run(kzonecheck.path!, ["-o", "example.com", writeFile(join(tempDir("zone"), "example.com.zone"), zone)]);
    expect(r.stdout + r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
  });

  it.skipIf(!kzonecheck.path)("GIVEN a zone with a CNAME next to other data WHEN kzonecheck checks it THEN it fails", () => {
    const bad = zone.replace(/\n$/, "\napp IN CNAME blog.example.com.\n");
    const r = run(kzonecheck.path!, ["-o", "example.com", writeFile(join(tempDir("zone-bad"), "example.com.zone"), bad)]);
    expect(r.status).not.toBe(0);
  });

  /** knot.conf with its paths pointed into a temp dir and a dummy TSIG include (not a real key). */
  function checkable(conf: string): string {
    const dir = tempDir("knot");
    for (const a of renderDns(t)) if (a.path.endsWith(".zone")) writeFile(join(dir, "zones", "example.com.zone"), a.content);
    mkdirSync(join(dir, "storage"));
    const include = writeFile(join(dir, "tsig.conf"), "key:\n  - id: tsig-ns2\n    algorithm: hmac-sha256\n    secret: ZHVtbXktdGVzdC1rZXktbm90LWEtc2VjcmV0LTAwMDA=\n");
    const local = conf.replace(KNOT_TSIG_INCLUDE, include).replace('"/config/zones"', `"${dir}/zones"`).replace('"/storage"', `"${dir}/storage"`);
    return writeFile(join(dir, "knot.conf"), local);
  }

  it.skipIf(!knotc.path)("GIVEN the rendered knot.conf (with a dummy key include) WHEN knotc conf-check runs THEN it is valid", () => {
    const r = run(knotc.path!, ["-c", checkable(knot), "conf-check"]);
    expect(r.stdout + r.stderr).toContain("Configuration is valid");
    expect(r.stderr).not.toMatch(/warning|error/i);
    expect(r.status).toBe(0);
  });

  it.skipIf(!knotc.path)("GIVEN knot.conf that names an undefined DNSSEC policy WHEN knotc conf-check runs THEN it fails", () => {
    const r = run(knotc.path!, ["-c", checkable(knot.replace("dnssec-policy: palisade", "dnssec-policy: nope")), "conf-check"]);
    expect(r.status).not.toBe(0);
  });
});
