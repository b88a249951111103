import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import { buildTopology } from "../../stacks/platform.js";
import { PIN_TABLE } from "../../tunnel/failover/agent.js";
import { failoverAgentConfig, parseFailoverConfig } from "../../tunnel/index.js";

const ROOT = resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(join(tmpdir(), "palisade-agent-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const agent = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "tunnel/failover/agent.ts", ...args], { cwd: ROOT, encoding: "utf8", timeout: 15_000 });
const good = failoverAgentConfig(buildTopology(loadSite(join(ROOT, "palisade.yaml"))));

describe("the failover agent's command line", () => {
  it("GIVEN no --config WHEN the agent starts THEN it prints its usage and exits 2", () => {
    const r = agent();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: agent.ts --config FILE");
  });

  it("GIVEN a config with a bad field WHEN the agent starts THEN it names the field, the value and what was expected, and exits 2", () => {
    const file = join(tmp, "bad.json");
    writeFileSync(file, JSON.stringify({ ...good, misses: 0 }));
    const r = agent("--config", file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('misses: given 0; expected a positive integer');
    expect(r.stdout).toBe("");
  });

  it("GIVEN the rendered config THEN it passes the agent's own checks", () => {
    expect(parseFailoverConfig(JSON.parse(JSON.stringify(good)))).toEqual(good);
  });

  it("GIVEN --dry-run WHEN the agent starts and is stopped THEN it pins the tunnel to the primary in its own nft table, and removes that table on SIGTERM", async () => {
    const file = join(tmp, "good.json");
    writeFileSync(file, JSON.stringify({ ...good, stateFile: join(tmp, "failover.state") }));
    const child = spawn(process.execPath, ["--import", "tsx", "tunnel/failover/agent.ts", "--config", file, "--dry-run"], { cwd: ROOT });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    // Whole lines only: under load the agent's output arrives in pieces, and a signal sent after half a line tests nothing.
    const complete = () => out.slice(0, out.lastIndexOf("\n") + 1);
    while (!complete().includes('"event":"start"') || !/"cmd":\["wg","set"/.test(complete())) {
      if (Date.now() > deadline) throw new Error(`no start line: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as { event: string; cmd?: string[]; stdin?: string });
    const pin = lines.find((l) => l.event === "dry-run" && l.cmd?.join(" ") === "nft -f -");
    const [primary, backup] = [...good.uplinks].sort((a, b) => a.priority - b.priority);
    expect(pin?.stdin).toContain(`table inet ${PIN_TABLE} {`);
    expect(pin?.stdin).toContain(`iifname { "${backup!.interface}" } ip saddr ${good.edge.address} udp sport ${good.edge.tunnelPort} drop`);
    expect(pin?.stdin).not.toContain(`"${primary!.interface}"`);
    const cmds = lines.filter((l) => l.event === "dry-run").map((l) => l.cmd!.join(" "));
    expect(cmds.indexOf("nft -f -")).toBeLessThan(cmds.findIndex((c) => c.startsWith("wg set")));
    expect(cmds.at(-1)).toBe(`nft delete table inet ${PIN_TABLE}`);
    expect(lines.at(-1)?.event).toBe("stop");
  }, 20_000);

  it.each([
    { field: "uplinks", value: [], message: "uplinks: given []; expected exactly two uplinks" },
    { field: "probe", value: { ...good.probe, kind: "icmp" }, message: 'probe.kind: given "icmp"' },
    { field: "stateFile", value: "relative.state", message: "stateFile: given" },
  ])("GIVEN $field is wrong THEN parseFailoverConfig rejects it", ({ field, value, message }) => {
    expect(() => parseFailoverConfig({ ...good, [field]: value })).toThrow(message);
  });
});
