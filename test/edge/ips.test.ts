import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EDGE_BAN_SETS, EDGE_FILTERS, EDGE_FW_TABLE, renderIps, type EdgeJail } from "../../edge/index.js";
import { requireTool } from "../helpers/tools.js";
import { FIXTURES, artifact, fail2banCounts, run, tempDir, topology, writeFile } from "./edge-test-kit.js";

const t = topology();
const files = renderIps(t);
const jailLocal = artifact(files, "hosts/edge/fail2ban/jail.local");
const action = artifact(files, "hosts/edge/fail2ban/action.d/palisade-nft.conf");
const jails = Object.keys(EDGE_FILTERS).sort() as EdgeJail[];
const fixture = (jail: string, kind: "bad" | "good") => join(FIXTURES, "fail2ban", `${jail}.${kind}.log`);
const lineCount = (path: string) => readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "").length;

/** Writes the rendered fail2ban directory to a temp dir and returns the path of one filter in it. */
function filterFile(jail: EdgeJail, content?: string): string {
  const dir = tempDir(`f2b-${jail}`);
  return writeFile(join(dir, "filter.d", `${jail}.conf`), content ?? artifact(files, `hosts/edge/fail2ban/filter.d/${jail}.conf`));
}

describe("edge IPS (fail2ban) rendering", () => {
  it("GIVEN the reference site WHEN rendered THEN the six jails are enabled with the site's findtime, maxretry and bantime", () => {
    for (const j of ["sshd", "postfix-sasl", "dovecot", "haproxy-sni", "portscan", "recidive"]) {
      expect(jailLocal).toMatch(new RegExp(`^\\[${j}\\]\\nenabled = true\\nfilter = ${j}\\n`, "m"));
    }
    expect(jailLocal).toMatch(/^findtime = 600$/m);
    expect(jailLocal).toMatch(/^maxretry = 5$/m);
    expect(jailLocal).toMatch(/^bantime = 3600$/m);
  });

  it("GIVEN the jails WHEN rendered THEN ignoreip covers loopback, the tunnel, the edge itself, the cloud's uplinks and the admin CIDRs, and nothing wider", () => {
    const ignore = /^ignoreip = (.*)$/m.exec(jailLocal)![1]!.split(" ");
    expect(ignore).toEqual(["127.0.0.1/8", "::1", "10.77.0.0/30", "fd77::/64", "203.0.113.10", "2001:db8::10", "198.51.100.20", "198.51.100.36", "198.51.100.64/28", "2001:db8:ad::/48"]);
    expect(ignore).not.toContain("0.0.0.0/0");
  });

  it("GIVEN the edge's own addresses in ignoreip WHEN the jails are rendered THEN ignoreself is off and usedns is no, so no DNS lookup sits on the ban path", () => {
    // ignoreself resolves the host's names (AAAA included) on the first failure: an unreachable
    // resolver held the lab's first SSH ban for ~5 s (the resolver timeout).
    expect(jailLocal).toMatch(/^ignoreself = false$/m);
    expect(jailLocal).not.toMatch(/^ignoreself = true$/m);
    expect(jailLocal).toMatch(/^usedns = no$/m);
    const ignore = /^ignoreip = (.*)$/m.exec(jailLocal)![1]!.split(" ");
    expect(ignore).toEqual(expect.arrayContaining([t.site.edge.ipv4, t.site.edge.ipv6, "127.0.0.1/8", "::1"]));
  });

  it("GIVEN the firewall's ban sets WHEN the action is rendered THEN it adds elements with a timeout to them and creates no table of its own", () => {
    expect(jailLocal).toMatch(/^action = palisade-nft$/m);
    expect(action).toContain(`table = ${EDGE_FW_TABLE}`);
    expect(action).toContain("table_family = inet");
    expect(action).toMatch(new RegExp(`^addr_set = ${EDGE_BAN_SETS.v4}$`, "m"));
    expect(action).toMatch(new RegExp(`\\[Init\\?family=inet6\\]\\n\\naddr_set = ${EDGE_BAN_SETS.v6}`));
    expect(action).toContain("add element <table_family> <table> <addr_set> \\{ <ip> timeout <bantime>s \\}");
    expect(action).not.toMatch(/add (table|chain|set)/);
  });

  it("GIVEN production and lab options WHEN rendered THEN production keeps bans in a file and the lab in memory", () => {
    expect(artifact(files, "hosts/edge/fail2ban/fail2ban.conf")).toMatch(/^dbfile = \/var\/lib\/fail2ban\/fail2ban\.sqlite3$/m);
    const lab = renderIps(t, { dbfile: ":memory:", runDir: "/run/lab/f2b" });
    expect(artifact(lab, "hosts/edge/fail2ban/fail2ban.conf")).toMatch(/^dbfile = :memory:$/m);
    expect(artifact(lab, "hosts/edge/fail2ban/jail.local")).toContain("logpath = /run/lab/f2b/fail2ban.log");
  });

  it("GIVEN the reference site WHEN rendered THEN every file matches its snapshot", async () => {
    for (const f of files) await expect(f.content).toMatchFileSnapshot(`__snapshots__/${f.path.replace("hosts/edge/", "")}`);
  });
});

const regex = requireTool("fail2ban-regex", "fail2ban");
describe("edge IPS filters checked by fail2ban-regex against real-format logs", () => {
  describe.each(jails)("filter %s", (jail) => {
    it.skipIf(!regex.path)(`GIVEN the ${jail} log with only abusive lines WHEN fail2ban-regex runs THEN every line matches`, () => {
      const log = fixture(jail, "bad");
      const r = run(regex.path!, [log, filterFile(jail)]);
      expect(fail2banCounts(r.stdout)).toEqual({ lines: lineCount(log), ignored: 0, matched: lineCount(log) });
    });

    it.skipIf(!regex.path)(`GIVEN the ${jail} log with only legitimate lines WHEN fail2ban-regex runs THEN nothing matches`, () => {
      const log = fixture(jail, "good");
      const r = run(regex.path!, [log, filterFile(jail)]);
      expect(lineCount(log)).toBeGreaterThan(2);
      expect(fail2banCounts(r.stdout).matched).toBe(0);
    });

    it.skipIf(!regex.path)(`GIVEN good and bad ${jail} lines mixed WHEN fail2ban-regex runs THEN it matches exactly the bad ones`, () => {
      const bad = readFileSync(fixture(jail, "bad"), "utf8");
      const good = readFileSync(fixture(jail, "good"), "utf8");
      const log = writeFile(join(tempDir(`f2b-mix-${jail}`), "mixed.log"), good + bad);
      const r = run(regex.path!, [log, filterFile(jail)]);
      expect(fail2banCounts(r.stdout).matched).toBe(lineCount(fixture(jail, "bad")));
    });
  });

  it.skipIf(!regex.path)("GIVEN a user name that smuggles a fake address WHEN the sshd and dovecot filters match THEN they ban the real source", () => {
    const ssh = run(regex.path!, ["-o", "ip", fixture("sshd", "bad"), filterFile("sshd")]).stdout;
    expect(ssh).toContain("192.0.2.13");
    expect(ssh).not.toContain("9.9.9.9");
    const dove = run(regex.path!, ["-o", "ip", fixture("dovecot", "bad"), filterFile("dovecot")]).stdout;
    expect(dove).toContain("192.0.2.32");
    expect(dove).not.toContain("9.9.9.9");
  });

  it.skipIf(!regex.path)("GIVEN a filter with a broken regular expression WHEN fail2ban-regex loads it THEN it fails", () => {
    const broken = artifact(files, "hosts/edge/fail2ban/filter.d/sshd.conf").replace("Invalid user .* from", "Invalid user (.* from");
    const r = run(regex.path!, [fixture("sshd", "bad"), filterFile("sshd", broken)]);
    expect(r.status).not.toBe(0);
  });
});

const client = requireTool("fail2ban-client", "fail2ban");
describe("edge IPS configuration checked by fail2ban-client -t", () => {
  /** The rendered directory, with log paths pointed at the fixtures (the checker needs existing logs). */
  function configDir(edit: (path: string, content: string) => string = (_, c) => c): string {
    const dir = tempDir("f2b-conf");
    const lab = renderIps(t, { dbfile: ":memory:", runDir: join(dir, "run") });
    writeFile(join(dir, "run", "fail2ban.log"), "");
    for (const f of lab) {
      let content = f.content;
      for (const [from, jail] of [["/var/log/auth.log", "sshd"], ["/var/log/mail.log", "dovecot"], ["/var/log/haproxy.log", "haproxy-sni"], ["/var/log/kern.log", "portscan"]] as const) {
        content = content.replaceAll(from, fixture(jail, "bad"));
      }
      writeFile(join(dir, f.path.replace("hosts/edge/fail2ban/", "")), edit(f.path, content));
    }
    return dir;
  }

  it.skipIf(!client.path)("GIVEN the rendered configuration WHEN fail2ban-client -t tests it THEN it is valid", () => {
    const r = run(client.path!, ["-c", configDir(), "-t"]);
    expect(r.stdout + r.stderr).toContain("OK: configuration test is successful");
    expect(r.stderr).not.toMatch(/WARNING|ERROR/);
    expect(r.status).toBe(0);
  });

  it.skipIf(!client.path)("GIVEN a jail that names a missing filter WHEN fail2ban-client -t tests it THEN it fails", () => {
    const dir = configDir((p, c) => (p.endsWith("jail.local") ? c.replace("filter = portscan", "filter = no-such-filter") : c));
    const r = run(client.path!, ["-c", dir, "-t"]);
    expect(r.status).not.toBe(0);
  });
});
