import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { planOnce } from "../helpers/plan-once.js";
import { copyOut, editText, verifyDirInProcess } from "./support.js";

const planned = await planOnce();

describe("palisade verify and palisade diff", () => {
  it("GIVEN a directory that does not exist WHEN verified THEN it exits 2 naming it", async () => {
    const missing = join(tempDir("verify"), "nope");
    const r = await runCli(["verify", "--out", missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing);
  });

  it("GIVEN a directory without intent.json WHEN verified THEN the intent is recomputed from the site and the missing file is a violation (exit 1)", async () => {
    const dir = copyOut(planned.dir);
    rmSync(join(dir, "intent.json"));
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/intent-tampered.*intent\.json is missing/);
  });

  it("GIVEN a directory without intent.json and without the site WHEN verified THEN it exits 2 and says so", async () => {
    const dir = copyOut(planned.dir);
    rmSync(join(dir, "intent.json"));
    rmSync(join(dir, "inputs"), { recursive: true });
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("intent.json");
  });

  it("GIVEN the edge's firewall missing WHEN verified THEN its flows are pending and, every layer being rendered now, that fails the run", () => {
    const dir = copyOut(planned.dir);
    rmSync(join(dir, "hosts/edge/nftables.conf"));
    const missing = verifyDirInProcess(dir);
    expect(missing.flows.find((f) => f.line === "internet => edge-proxy : tcp/443")?.verdict).toBe("pending");
    expect(missing.artifacts.missing).toContain("hosts/edge/nftables.conf");
    expect(missing.summary.verdict).toBe("fail");
    expect(verifyDirInProcess(dir, { pendingIsViolation: false }).summary.verdict).toBe("pass");
  });

  it("GIVEN the same artifacts on both sides WHEN diffed THEN it exits 0 and says nothing changed", async () => {
    const r = await runCli(["diff", "--base", planned.dir, "--out", copyOut(planned.dir)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("No change");
  });

  it("GIVEN a change that opens a port WHEN diffed THEN it exits 1 with the flow added and the new finding", async () => {
    const head = copyOut(planned.dir);
    editText(head, "hosts/edge/nftables.conf", (t) => t.replace(/(\t\ttcp dport \{ 80, 443 \} accept)/, "\t\ttcp dport 22 accept\n$1"));
    const r = await runCli(["diff", "--base", planned.dir, "--out", head]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("+ internet => edge:sshd : tcp/22");
    expect(r.stdout).toContain("+ unexpected-exposure internet => edge:sshd : tcp/22");
    expect(r.stdout.split("\n").length).toBeLessThan(60);
  });

  it("GIVEN diff without --base WHEN run THEN it exits 2", async () => {
    expect((await runCli(["diff"])).code).toBe(2);
  });
});
