import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { examples } from "../helpers/examples.js";
import { tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { requireTool } from "../helpers/tools.js";

/*
 * The mail and IPS daemons' own checkers on every example's rendered files: postconf -n and -M on
 * Postfix's main.cf and master.cf, doveconf -n on dovecot.conf, rspamadm configtest on rspamd's
 * local.d files, fail2ban-client -t on the IPS directory. (postfix check needs root: mail.test.ts,
 * a host test, runs it on the reference; the real smtpd runs in postfix-relay-live.test.ts.)
 */

const postconf = requireTool("postconf", "postfix");
const doveconf = requireTool("doveconf", "dovecot-core");
const rspamadm = requireTool("rspamadm", "rspamd");
const f2b = requireTool("fail2ban-client", "fail2ban");

const planned: { name: string; dir: string }[] = [];
for (const e of examples) planned.push({ name: e.name, dir: (await planOnce(e.file)).dir });

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** A copy of the rendered directory `from` (relative to the plan) in a temp dir, each file passed through `edit`. */
function copyTree(planDir: string, from: string, edit: (path: string, text: string) => string = (_, t) => t): string {
  const dir = tempDir("ex-daemon-conf");
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(planDir, from, rel), { withFileTypes: true })) {
      const path = join(rel, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), edit(path, readFileSync(join(planDir, from, path), "utf8")));
      }
    }
  };
  walk("");
  return dir;
}

/**
 * fail2ban-client -t opens every jail's log and the server's run directory: both are pointed into the
 * temp dir (empty logs), the database is in memory. Nothing else of the rendered files changes.
 */
function checkableIps(planDir: string, edit: (path: string, text: string) => string = (_, t) => t): string {
  const logs = tempDir("ex-f2b-logs");
  // The server's own log (fail2ban.conf's logtarget) is the recidive jail's input: it exists on a running host.
  writeFileSync(join(logs, "run-fail2ban.log"), "");
  return copyTree(planDir, "hosts/edge/fail2ban", (path, text) => {
    let out = text.replace(/^dbfile = .*$/m, "dbfile = :memory:").replaceAll("/var/run/fail2ban/", `${logs}/run-`);
    out = out.replace(/^(logpath = )(\/var\/log\/\S+)$/gm, (_m, key: string, log: string) => {
      const file = join(logs, log.replaceAll("/", "_"));
      writeFileSync(file, "");
      return `${key}${file}`;
    });
    return edit(path, out);
  });
}

describe.each(planned)("the mail and IPS checkers on the $name example's files", ({ dir }) => {
  const mailDir = () => copyTree(dir, "hosts/edge/mail/postfix");

  it.skipIf(!postconf.path)("GIVEN main.cf WHEN postconf -n reads it THEN it prints no warning", () => {
    const r = run(postconf.path!, ["-c", mailDir(), "-n"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^smtpd_relay_restrictions = .*reject_unauth_destination/m);
  });

  it.skipIf(!postconf.path)("GIVEN master.cf WHEN postconf -M reads it THEN it is valid", () => {
    const r = run(postconf.path!, ["-c", mailDir(), "-M"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^smtp +inet/m);
  });

  it.skipIf(!postconf.path)("GIVEN main.cf with a misspelt parameter added WHEN postconf -n reads it THEN it warns (negative control)", () => {
    const conf = copyTree(dir, "hosts/edge/mail/postfix", (p, t) => (p === "main.cf" ? `${t}smtpd_relay_restriction = permit\n` : t));
    expect(run(postconf.path!, ["-c", conf, "-n"]).stderr).toMatch(/unused parameter: smtpd_relay_restriction/);
  });

  it.skipIf(!doveconf.path)("GIVEN dovecot.conf WHEN doveconf -n parses it THEN it is valid and requires TLS", () => {
    const r = run(doveconf.path!, ["-n", "-c", join(copyTree(dir, "hosts/edge/mail/dovecot"), "dovecot.conf")]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ssl = required$/m);
  });

  it.skipIf(!doveconf.path)("GIVEN dovecot.conf with an invalid value added WHEN doveconf parses it THEN it fails (negative control)", () => {
    const conf = copyTree(dir, "hosts/edge/mail/dovecot", (_, t) => `${t}\nssl = sometimes\n`);
    expect(run(doveconf.path!, ["-n", "-c", join(conf, "dovecot.conf")]).status).not.toBe(0);
  });

  const rspamd = readdirSync(join(dir, "hosts/edge/mail/rspamd/local.d")).sort();
  it.skipIf(!rspamadm.path).each(rspamd)("GIVEN rspamd's local.d/%s WHEN rspamadm configtest parses it THEN its syntax is OK", (file) => {
    const r = run(rspamadm.path!, ["configtest", "-c", join(copyTree(dir, "hosts/edge/mail/rspamd/local.d"), file)]);
    expect(r.stdout + r.stderr).toContain("syntax OK");
    expect(r.status).toBe(0);
  });

  it.skipIf(!f2b.path)("GIVEN the IPS directory WHEN fail2ban-client -t tests it THEN the configuration test is successful", () => {
    const r = run(f2b.path!, ["-c", checkableIps(dir), "-t"]);
    expect(r.stdout + r.stderr).toContain("OK: configuration test is successful");
    expect(r.stderr).not.toMatch(/WARNING|ERROR/);
    expect(r.status).toBe(0);
  });

  it.skipIf(!f2b.path)("GIVEN a jail naming a filter that does not exist WHEN fail2ban-client -t tests it THEN it fails (negative control)", () => {
    const conf = checkableIps(dir, (p, t) => (p === "jail.local" ? t.replace(/^filter = .*$/m, "filter = no-such-filter") : t));
    expect(run(f2b.path!, ["-c", conf, "-t"]).status).not.toBe(0);
  });
});
