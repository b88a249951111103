import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import { buildTopology } from "../../stacks/platform.js";
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

  it.each([
    { field: "uplinks", value: [], message: "uplinks: given []; expected exactly two uplinks" },
    { field: "probe", value: { ...good.probe, kind: "icmp" }, message: 'probe.kind: given "icmp"' },
    { field: "stateFile", value: "relative.state", message: "stateFile: given" },
  ])("GIVEN $field is wrong THEN parseFailoverConfig rejects it", ({ field, value, message }) => {
    expect(() => parseFailoverConfig({ ...good, [field]: value })).toThrow(message);
  });
});
