import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderEdge } from "../../edge/index.js";
import { requireTool } from "../helpers/tools.js";
import { artifact, run, tempDir, topology, writeFile } from "./edge-test-kit.js";

const files = renderEdge(topology());
const DOVECOT = "hosts/edge/mail/dovecot/dovecot.conf";
const RSPAMD = ["actions.conf", "dkim_signing.conf", "worker-proxy.inc"].map((f) => `hosts/edge/mail/rspamd/local.d/${f}`);

describe("Dovecot's configuration checked by doveconf", () => {
  const doveconf = requireTool("doveconf", "dovecot-core");

  it.skipIf(!doveconf.path)("GIVEN the rendered dovecot.conf WHEN doveconf -n parses it THEN it is valid and IMAP listens only with TLS", () => {
    const path = writeFile(join(tempDir("dovecot"), "dovecot.conf"), artifact(files, DOVECOT));
    const r = run("doveconf", ["-n", "-c", path]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ssl = required$/m);
    expect(r.stdout).toMatch(/port = 993/);
  });

  it.skipIf(!doveconf.path)("GIVEN a dovecot.conf with an invalid value WHEN doveconf parses it THEN it fails naming the line (negative control)", () => {
    const path = writeFile(join(tempDir("dovecot-bad"), "dovecot.conf"), `${artifact(files, DOVECOT)}\nssl = sometimes\n`);
    const r = run("doveconf", ["-n", "-c", path]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Invalid value: sometimes/);
  });
});

describe("rspamd's local.d files checked by rspamd's own UCL parser (rspamadm configtest)", () => {
  const rspamadm = requireTool("rspamadm", "rspamd");

  it.skipIf(!rspamadm.path).each(RSPAMD)("GIVEN the rendered %s WHEN rspamadm parses it THEN its syntax is OK", (file) => {
    const path = writeFile(join(tempDir("rspamd"), file.split("/").pop()!), artifact(files, file));
    const r = run("rspamadm", ["configtest", "-c", path]);
    expect(r.stdout + r.stderr).toContain("syntax OK");
    expect(r.status).toBe(0);
  });

  it.skipIf(!rspamadm.path)("GIVEN a local.d file with an unmatched brace WHEN rspamadm parses it THEN it is caught (negative control)", () => {
    const path = writeFile(join(tempDir("rspamd-bad"), "dkim_signing.conf"), `${artifact(files, RSPAMD[1]!)}\nbroken {\n`);
    const r = run("rspamadm", ["configtest", "-c", path]);
    expect(r.stdout + r.stderr).toMatch(/syntax BAD|unmatched/);
    expect(r.status).not.toBe(0);
  });
});
