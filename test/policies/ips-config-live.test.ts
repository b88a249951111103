import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { IPS_JAILS, IPS_LOGS, IPS_REPEAT_JAIL, ipsFailRegexes, parseSite, type Site } from "../../core/index.js";
import { fail2banSeconds } from "../../policies/verifier/fail2ban.js";
import { requireTool } from "../helpers/tools.js";
import { copyOut, verifyDirInProcess } from "./support.js";
import { planSite, siteFiles } from "./planned-sites.js";
import { MUTATIONS, NEUTRAL } from "./ips-mutations.js";

/*
 * The IPS check against fail2ban's own reader: `fail2ban-client -c DIR -d` (fail2ban 1.0, no
 * server, no root) prints the jails exactly as the server would be configured from the files.
 * For the plan and for each rewrite that changes nothing, fail2ban must read every jail of the IPS
 * with the plan's settings (the verifier passes them); for each weakening the verifier reports
 * (not a refusal of what it does not model), fail2ban must read a different jail configuration
 * than the plan's: the finding is about something fail2ban really does.
 */

const fail2ban = requireTool("fail2ban-client", "fail2ban");

/** Per jail, what fail2ban set: thresholds in seconds, exemptions, actions and their ban command and tags. */
type JailView = Record<string, string>;

/**
 * The files as fail2ban reads them, from a copy whose absolute log paths (each jail's logpath,
 * the server's logtarget) are moved under a root of the test's own, where each is created:
 * fail2ban-client -d lists only the log files that exist. A path is then compared as the original.
 */
function readByFail2ban(dir: string): Map<string, JailView> {
  const root = mkdtempSync(join(tmpdir(), "palisade-f2b-logs-"));
  try {
    const conf = join(root, "fail2ban");
    cpSync(join(dir, "hosts/edge/fail2ban"), conf, { recursive: true });
    for (const file of ["jail.local", "fail2ban.conf"]) {
      const path = join(conf, file);
      if (!existsSync(path)) continue;
      writeFileSync(
        path,
        readFileSync(path, "utf8").replace(/^(logpath|logtarget)( *= *)(\/\S*)$/gm, (_all, key: string, eq: string, log: string) => {
          const moved = join(root, "logs", log);
          mkdirSync(dirname(moved), { recursive: true });
          writeFileSync(moved, "");
          return `${key}${eq}${moved}`;
        }),
      );
    }
    const out = execFileSync(fail2ban.path!, ["-c", conf, "-d"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 }).replaceAll(join(root, "logs"), "");
    // Each line is a Python literal: python3 (fail2ban's own interpreter) turns it into JSON.
    const json = execFileSync("python3", ["-c", "import ast,json,sys\nprint(json.dumps([ast.literal_eval(l) for l in sys.stdin if l.startswith('[')]))"], { input: out, encoding: "utf8" });
    const jails = new Map<string, JailView>([["(server)", {}]]);
    for (const cmd of JSON.parse(json) as unknown[][]) {
      if (cmd[0] === "add") jails.set(String(cmd[1]), { backend: String(cmd[2]) });
      if (cmd[0] === "set" && cmd.length === 3) {
        jails.get("(server)")![String(cmd[1])] = String(cmd[2]);
        continue;
      }
      const view = jails.get(String(cmd[1]));
      if (!view) continue;
      if (cmd[0] === "set") {
        const [key, ...values] = cmd.slice(2).map(String);
        const v = ["bantime", "findtime"].includes(key!) ? String(fail2banSeconds(values[0]!)) : values.join(" ");
        view[key!] = view[key!] && key!.startsWith("add") ? `${view[key!]}\n${v}` : v;
      } else if (cmd[0] === "multi-set" && cmd[2] === "action") {
        for (const [k, v] of cmd[4] as [string, string][]) if (k !== "name") view[`action ${cmd[3]} ${k}`] = v;
      } else if (cmd[0] === "multi-set") {
        // A list of expressions (addfailregex, addignoreregex), sorted: fail2ban tries each on every
        // line, so their order decides only which one reports a match, never whether one does.
        view[String(cmd[2])] = [...(cmd[3] as string[])].sort().join("\n");
      }
    }
    return jails;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const weakened = (dir: string) => verifyDirInProcess(dir).findings.filter((f) => f.kind === "ips-weakened");

describe.skipIf(!fail2ban.path)(`the IPS check agrees with fail2ban's own reader${fail2ban.path ? "" : ` (skipped: ${fail2ban.skipReason})`}`, () => {
  const file = siteFiles()[0]!.file;
  let planned: string;
  let site: Site;
  let plan: Map<string, JailView>;

  it("GIVEN the plan WHEN fail2ban reads it THEN every jail of the IPS runs with the palisade-nft action and the site's thresholds, and verify passes it", async () => {
    planned = await planSite(file);
    site = parseSite(readFileSync(join(planned, "inputs/site.yaml"), "utf8"));
    plan = readByFail2ban(planned);
    expect([...plan.keys()].filter((k) => k !== "(server)").sort()).toEqual([...IPS_JAILS].sort());
    for (const name of IPS_JAILS) {
      const v = plan.get(name)!;
      expect(v.addaction, name).toBe("palisade-nft");
      expect(Number(v.bantime), name).toBeGreaterThanOrEqual(site.edge.ips.bantime);
      // Each jail reads its log with the platform's expressions, as fail2ban compiles them.
      expect(v.addlogpath?.split(" ")[0], name).toBe(name === IPS_REPEAT_JAIL ? plan.get("(server)")!.logtarget : IPS_LOGS[name]);
      expect(v.addfailregex?.split("\n"), name).toEqual(ipsFailRegexes(name).sort());
    }
    expect(weakened(planned)).toEqual([]);
  });

  it.each(NEUTRAL.map((m) => [m.name, m] as const))("GIVEN '%s' WHEN fail2ban reads it THEN it reads the plan's jails, and verify passes it", (_n, m) => {
    const dir = copyOut(planned, "f2b");
    m.apply(dir, site);
    expect(readByFail2ban(dir)).toEqual(plan);
    expect(weakened(dir)).toEqual([]);
  });

  let compared = 0;
  it.each(MUTATIONS.map((m) => [m.name, m] as const))("GIVEN '%s' WHEN verify reports a weakening THEN fail2ban reads other jails than the plan's", (_n, m) => {
    const dir = copyOut(planned, "f2b");
    m.apply(dir, site);
    const judged = weakened(dir).filter((f) => !/not understood|refused/.test(f.message));
    if (judged.length === 0) return; // refused as not modelled: the verifier fails closed, whatever fail2ban does
    let real: Map<string, JailView> | undefined;
    try {
      real = readByFail2ban(dir);
    } catch {
      return; // fail2ban refuses the files: no jail runs, which the finding says too
    }
    expect(real, judged.map((f) => f.message).join("\n")).not.toEqual(plan);
    compared++;
  });

  it("GIVEN the weakenings above WHEN compared THEN most were read by fail2ban (the comparison is not vacuous)", () => {
    expect(compared).toBeGreaterThanOrEqual(24);
  });
});
