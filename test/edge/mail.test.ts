import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { MAIL_SECRETS, renderMail } from "../../edge/index.js";
import { describeRoot } from "../helpers/root.js";
import { requireTool } from "../helpers/tools.js";
import { artifact, run, tempDir, topology, writeFile } from "./edge-test-kit.js";

const t = topology();
const files = renderMail(t);
const main = artifact(files, "hosts/edge/mail/postfix/main.cf");
const master = artifact(files, "hosts/edge/mail/postfix/master.cf");
const dovecot = artifact(files, "hosts/edge/mail/dovecot/dovecot.conf");
const dkim = artifact(files, "hosts/edge/mail/rspamd/local.d/dkim_signing.conf");
/** The `-o` overrides of one master.cf inet service. */
const overrides = (service: string) => {
  const lines = master.split("\n");
  const i = lines.findIndex((l) => l.startsWith(`${service} `) && l.includes(" inet "));
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (!l.startsWith("  -o ")) break;
    out.push(l.slice(5));
  }
  return out;
};

describe("edge mail (Postfix, Dovecot, rspamd)", () => {
  it("GIVEN port 25 WHEN main.cf is rendered THEN it relays only for mynetworks and authenticated users (no open relay)", () => {
    expect(main).toMatch(/^smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination$/m);
    expect(main).toMatch(/^mynetworks = 127\.0\.0\.0\/8 \[::1\]\/128 10\.77\.0\.0\/30 \[fd77::\]\/64$/m);
    expect(main).not.toMatch(/^mynetworks = .*(0\.0\.0\.0\/0|203\.0\.113)/m);
    expect(main).toMatch(/^smtpd_sasl_auth_enable = no$/m);
  });

  it("GIVEN submission (587) WHEN master.cf is rendered THEN it requires TLS and authentication and rejects everything else", () => {
    const o = overrides("submission");
    expect(o).toContain("smtpd_tls_security_level=encrypt");
    expect(o).toContain("smtpd_sasl_auth_enable=yes");
    expect(o).toContain("smtpd_recipient_restrictions=permit_sasl_authenticated,reject");
  });

  it("GIVEN smtps (465) WHEN master.cf is rendered THEN it is implicit TLS with authentication required", () => {
    const o = overrides("smtps");
    expect(o).toContain("smtpd_tls_wrappermode=yes");
    expect(o).toContain("smtpd_sasl_auth_enable=yes");
    expect(o).toContain("smtpd_recipient_restrictions=permit_sasl_authenticated,reject");
  });

  it("GIVEN Dovecot WHEN rendered THEN only IMAPS 993 listens, TLS is required and plaintext auth is disabled", () => {
    expect(dovecot).toMatch(/^ssl = required$/m);
    expect(dovecot).toMatch(/^disable_plaintext_auth = yes$/m);
    expect(dovecot).toMatch(/inet_listener imap \{\n {4}port = 0\n/);
    expect(dovecot).toMatch(/inet_listener imaps \{\n {4}port = 993\n {4}ssl = yes/);
    expect(dovecot).not.toMatch(/port = 143/);
  });

  it("GIVEN DKIM signing WHEN rendered THEN the private key is read on the host from the secrets directory and no key material is in any mail file", () => {
    expect(dkim).toContain(`path = "${MAIL_SECRETS.dkimKey}";`);
    expect(dkim).toContain('selector = "mail2026";');
    for (const f of files) {
      expect(f.content).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|jRIGLFYrkLJ3dT4T51RzNtZh/);
    }
  });

  it("GIVEN the reference site WHEN rendered THEN every mail file matches its snapshot", async () => {
    for (const f of files) await expect(f.content).toMatchFileSnapshot(`__snapshots__/${f.path.replace("hosts/edge/", "")}`);
  });
});

const postconf = requireTool("postconf", "postfix");
const postfix = requireTool("postfix");
/** A Postfix config directory holding the rendered main.cf and master.cf (optionally edited). */
function configDir(mainCf = main, masterCf = master): string {
  const dir = tempDir("postfix");
  writeFile(join(dir, "main.cf"), mainCf);
  writeFile(join(dir, "master.cf"), masterCf);
  return dir;
}

describe("edge mail checked by postconf", () => {
  it.skipIf(!postconf.path)("GIVEN the rendered main.cf WHEN postconf -n reads it THEN it prints no warning", () => {
    const r = run(postconf.path!, ["-c", configDir(), "-n"]);
    expect(r.stderr).not.toMatch(/warning|fatal/);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination");
  });

  it.skipIf(!postconf.path)("GIVEN main.cf with a misspelt parameter WHEN postconf -n reads it THEN it warns (treated as an error)", () => {
    const r = run(postconf.path!, ["-c", configDir(`${main}smtpd_relay_restriction = permit\n`), "-n"]);
    expect(r.stderr).toMatch(/warning: .*unused parameter: smtpd_relay_restriction=permit/);
  });

  it.skipIf(!postconf.path)("GIVEN the rendered master.cf WHEN postconf -M reads it THEN it is valid, and a broken one fails", () => {
    const good = run(postconf.path!, ["-c", configDir(), "-M"]);
    expect(good.status).toBe(0);
    expect(good.stderr).toBe("");
    expect(good.stdout).toMatch(/^submission inet/m);
    const bad = run(postconf.path!, ["-c", configDir(main, `${master}broken inet n\n`), "-M"]);
    expect(bad.status).not.toBe(0);
  });
});

describeRoot("edge mail checked by postfix check", () => {
  const check = (dir: string) => run("script", ["-qec", `${postfix.path} -c ${dir} check`, "/dev/null"]);

  it.skipIf(!postfix.path)("GIVEN the rendered configuration WHEN postfix check runs THEN it reports nothing", () => {
    const r = check(configDir());
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.skipIf(!postfix.path)("GIVEN a master.cf with a malformed service WHEN postfix check runs THEN it fails", () => {
    const r = check(configDir(main, `${master}broken inet n\n`));
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/fatal/);
  });
});
