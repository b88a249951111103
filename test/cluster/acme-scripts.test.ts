import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSite } from "../../core/index.js";
import { renderCluster } from "../../cluster/index.js";
import { buildTopology } from "../../stacks/platform.js";
import { requireTool } from "../helpers/tools.js";

const files = renderCluster(buildTopology(loadSite("palisade.yaml"))).filter((a) => a.path.endsWith(".sh"));

function shellcheck(content: string): { status: number | null; output: string } {
  const path = join(mkdtempSync(join(tmpdir(), "palisade-sh-")), "script.sh");
  writeFileSync(path, content);
  const r = spawnSync("shellcheck", ["--shell=sh", path], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("lego's renewal job and deploy hook", () => {
  const tool = requireTool("shellcheck");

  it("GIVEN the cluster WHEN rendered THEN both scripts are there and executable", () => {
    expect(files.map((f) => [f.path, f.mode]).sort()).toEqual([
      ["hosts/cloud/acme/deploy-hook.sh", 0o755],
      ["hosts/cloud/acme/renew.sh", 0o755],
    ]);
  });

  it.skipIf(!tool.path).each(files.map((f) => [f.path, f.content] as const))("GIVEN %s WHEN shellcheck reads it THEN it reports nothing", (_path, content) => {
    const r = shellcheck(content);
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  it.skipIf(!tool.path)("GIVEN a script with an unquoted expansion WHEN shellcheck reads it THEN it is caught (negative control)", () => {
    expect(shellcheck("#!/bin/sh\nx=$1\nrm $x\n").status).not.toBe(0);
  });

  it("GIVEN the deploy hook WHEN read THEN it reloads HAProxy through the admin socket on the shared volume, never docker.sock", () => {
    const hook = files.find((f) => f.path.endsWith("deploy-hook.sh"))!.content;
    expect(hook).toContain("set ssl cert /etc/haproxy/certs/");
    expect(hook).toContain("commit ssl cert");
    expect(hook).toContain("nc -U");
    expect(hook).not.toContain("docker");
  });
});
