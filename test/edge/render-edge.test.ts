import { describe, expect, it } from "vitest";
import { EDGE_WG_IFACE, renderEdge } from "../../edge/index.js";
import { referenceSite, siteWith, topology } from "./edge-test-kit.js";

describe("renderEdge", () => {
  const files = renderEdge(topology());

  it("GIVEN the reference site WHEN the edge is rendered THEN every file is under hosts/edge/ and no path repeats", () => {
    expect(files.length).toBeGreaterThan(15);
    for (const f of files) expect(f.path.startsWith("hosts/edge/")).toBe(true);
    expect(new Set(files.map((f) => f.path)).size).toBe(files.length);
    expect(files.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "hosts/edge/nftables.conf",
        "hosts/edge/haproxy/haproxy.cfg",
        "hosts/edge/knot/knot.conf",
        "hosts/edge/knot/zones/example.com.zone",
        "hosts/edge/fail2ban/jail.local",
        "hosts/edge/fail2ban/action.d/palisade-nft.conf",
        "hosts/edge/mail/postfix/main.cf",
        "hosts/edge/mail/postfix/master.cf",
        "hosts/edge/mail/dovecot/dovecot.conf",
      ]),
    );
  });

  it("GIVEN the same site WHEN rendered twice THEN every byte is the same (no timestamps, stable order)", () => {
    expect(renderEdge(topology(referenceSite()))).toEqual(files);
    for (const f of files) expect(f.content).not.toMatch(/20\d\d-\d\d-\d\dT|Generated (at|on)/);
  });

  it("GIVEN every edge artifact WHEN scanned THEN none holds private key material, a TSIG secret or a password", () => {
    for (const f of files) {
      expect(f.content, f.path).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|^\s*secret:|password\s*=|PrivateKey\s*=/im);
      expect(f.content, f.path).not.toContain("ZHVtbXkt");
    }
  });

  it("GIVEN the tunnel WHEN rendered THEN the edge names its WireGuard interface wg-edge", () => {
    expect(EDGE_WG_IFACE).toBe("wg-edge");
  });

  it("GIVEN a site without a DKIM public key WHEN rendered THEN the plan gets one dkim-key warning, even when rendered twice", () => {
    const t = topology(siteWith((s) => delete s.publicKeys.dkim));
    renderEdge(t);
    renderEdge(t);
    expect(t.warnings.filter((w) => w.id === "dkim-key")).toHaveLength(1);
    const ok = topology();
    renderEdge(ok);
    expect(ok.warnings.some((w) => w.id === "dkim-key")).toBe(false);
  });
});
