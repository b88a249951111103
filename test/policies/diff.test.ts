import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diffIsEmpty, diffReports, renderDiffMarkdown, type DiffSection } from "../../policies/diff.js";
import { REFERENCE_SITE, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { planInto, planOnce } from "../helpers/plan-once.js";
import { copyOut, editJson, editText, pulumiContainer, tfContainer, verifyDirInProcess } from "./support.js";

/*
 * The diff compares everything the report states: one test per kind of change, each made in the
 * artifacts (or the site file) the way a pull request would, never in the report.
 */

const planned = await planOnce();
const base = verifyDirInProcess(planned.dir);
const sectionsOf = (dir: string): DiffSection[] => diffReports(base, verifyDirInProcess(dir)).sections.map((s) => s.section);
const markdownOf = (dir: string) => renderDiffMarkdown(diffReports(base, verifyDirInProcess(dir)), 1000);

/** The first container of the cloud stack that adds no capability: any service, not a named one. */
function plainCloudContainer(): string {
  const tf = planned.tf("cloud");
  const [name] = Object.entries(tf.resource.docker_container!).find(([, c]) => ((c as { capabilities?: { add?: string[] } }).capabilities?.add ?? []).length === 0)!;
  return (tf.resource.docker_container![name] as { name: string }).name;
}

describe("palisade diff compares everything the report states", () => {
  it("GIVEN the same artifacts WHEN diffed THEN nothing differs", () => {
    expect(diffIsEmpty(diffReports(base, verifyDirInProcess(copyOut(planned.dir))))).toBe(true);
  });

  it("GIVEN an admin range added to the site WHEN planned and diffed THEN the admin peer's addresses and its SSH exposure differ", async () => {
    const dir = tempDir("diff-admin");
    const site = join(dir, "site.yaml");
    const text = readFileSync(REFERENCE_SITE, "utf8");
    const changed = text.replace(/adminCidrs:\s*\n(\s*)- /, (m, indent: string) => `${m}192.0.2.128/25\n${indent}- `);
    expect(changed).not.toBe(text);
    writeFileSync(site, changed);
    const out = join(dir, "out");
    expect((await runCli(["plan", "--site", site, "--out", out])).code).toBe(0);
    const md = markdownOf(out);
    expect(sectionsOf(out)).toEqual(expect.arrayContaining(["peers", "exposure"]));
    expect(md).toMatch(/^\+ admin: addresses .*192\.0\.2\.128\/25/m);
    expect(md).toMatch(/^\+ admin => edge:sshd : tcp\/22: intended from .*192\.0\.2\.128\/25/m);
  });

  it("GIVEN a container given SYS_ADMIN with a reason label WHEN diffed THEN the exception and its reason show", () => {
    const name = plainCloudContainer();
    const dir = copyOut(planned.dir);
    for (const [path, get, adds] of [
      ["cdktf/stacks/cloud/cdk.tf.json", tfContainer, "add"],
      ["pulumi/cloud.json", pulumiContainer, "adds"],
    ] as const) {
      editJson(dir, path, (j) => {
        const c = get(j, name);
        c.capabilities[adds].push("SYS_ADMIN");
        c.labels.push({ label: "palisade.cap.SYS_ADMIN", value: "mounts a FUSE file system" });
      });
    }
    expect(sectionsOf(dir)).toContain("exceptions");
    expect(markdownOf(dir)).toMatch(/^\+ cloud\/\S+ cap_add SYS_ADMIN \(dangerous\): reason: mounts a FUSE file system/m);
  });

  it("GIVEN an exception's reason label reworded WHEN diffed THEN the change shows before and after", () => {
    const dir = copyOut(planned.dir);
    const ex = base.exceptions.find((e) => e.kind === "capability")!;
    const cap = ex.detail.replace("cap_add ", "");
    const container = `${ex.host}-${ex.subject}`.replace(new RegExp(`^${ex.host}-${ex.host}-`), `${ex.host}-`);
    for (const [path, get] of [
      [`cdktf/stacks/${ex.host}/cdk.tf.json`, tfContainer],
      [`pulumi/${ex.host}.json`, pulumiContainer],
    ] as const) {
      editJson(dir, path, (j) => {
        const label = get(j, container).labels.find((l: { label: string }) => l.label === `palisade.cap.${cap}`);
        label.value = "reworded";
      });
    }
    const md = markdownOf(dir);
    expect(md).toContain(`- ${ex.host}/${ex.subject} ${ex.detail}: reason: ${ex.reason}`);
    expect(md).toContain(`+ ${ex.host}/${ex.subject} ${ex.detail}: reason: reworded`);
  });

  it("GIVEN an exception's expiry moved in the site WHEN planned and diffed THEN its governance differs", async () => {
    const text = readFileSync(REFERENCE_SITE, "utf8");
    const moved = text.replace(/expires: "\d{4}-\d{2}-\d{2}"/, 'expires: "2099-01-01"');
    if (moved === text) return; // a site without governance entries has nothing to move
    const dir = tempDir("diff-expiry");
    const site = join(dir, "site.yaml");
    writeFileSync(site, moved);
    const out = join(dir, "out");
    expect((await runCli(["plan", "--site", site, "--out", out])).code).toBe(0);
    expect(sectionsOf(out)).toContain("exceptions");
    expect(markdownOf(out)).toMatch(/^\+ .*expires 2099-01-01/m);
  });

  it("GIVEN an exception's expiry moved in intent.json only WHEN verified THEN it is tampering, and the site's expiry still governs", () => {
    const dir = copyOut(planned.dir);
    let moved = false;
    editJson(dir, "intent.json", (j) => {
      if (j.exceptions?.length) {
        j.exceptions[0].expires = "2099-01-01";
        moved = true;
      }
    });
    if (!moved) return;
    const report = verifyDirInProcess(dir);
    expect(report.findings.some((f) => f.kind === "intent-tampered" && /exception/.test(f.message) && f.artifact === "intent.json")).toBe(true);
    expect(sectionsOf(dir)).not.toContain("exceptions");
  });

  it("GIVEN a port opened in a firewall WHEN diffed THEN flows, exposure, findings and counts differ", () => {
    const dir = copyOut(planned.dir);
    editText(dir, "hosts/edge/nftables.conf", (t) => t.replace(/(\n\s*)(tcp dport \{ 80, 443 \} accept)/, "$1tcp dport 22 accept$1$2"));
    expect(sectionsOf(dir)).toEqual(expect.arrayContaining(["flows", "exposure", "findings", "counts"]));
    const d = diffReports(base, verifyDirInProcess(dir));
    expect(d.flowsAdded.length).toBeGreaterThan(0);
  });

  it("GIVEN a firewall rule's text changed but not its verdict WHEN diffed THEN the flow's construct differs", () => {
    const dir = copyOut(planned.dir);
    const flow = base.flows.find((f) => f.verdict === "allowed" && f.layers.some((l) => l.layer.startsWith("nftables") && l.line && /comment "/.test(l.construct)))!;
    const step = flow.layers.find((l) => l.layer.startsWith("nftables") && l.line && /comment "/.test(l.construct))!;
    editText(dir, step.artifact, (t) => t.split("\n").map((l, i) => (i === step.line! - 1 ? l.replace(/comment "([^"]*)"/, 'comment "$1 (edited)"') : l)).join("\n"));
    const d = diffReports(base, verifyDirInProcess(dir));
    const flows = d.sections.find((s) => s.section === "flows");
    expect(flows?.changed.map((c) => c.key)).toContain(flow.line);
    expect(d.flowsAdded).toEqual([]);
  });

  it("GIVEN a guardrail broken (a memory limit removed) WHEN diffed THEN the guardrails and counts differ", () => {
    const name = plainCloudContainer();
    const dir = copyOut(planned.dir);
    editJson(dir, "cdktf/stacks/cloud/cdk.tf.json", (j) => delete tfContainer(j, name).memory);
    editJson(dir, "pulumi/cloud.json", (j) => delete pulumiContainer(j, name).memory);
    expect(sectionsOf(dir)).toEqual(expect.arrayContaining(["guardrails", "counts"]));
    expect(markdownOf(dir)).toMatch(/^\+ memory-limit cloud\//m);
  });

  it("GIVEN a tenant's row-level security no longer forced WHEN diffed THEN tenant isolation differs", () => {
    if (base.tenants.length === 0) return;
    const layer = base.tenants.flatMap((t) => t.layers).find((l) => l.artifact?.endsWith(".sql") && /FORCE/.test(l.construct));
    if (!layer) return;
    const dir = copyOut(planned.dir);
    editText(dir, layer.artifact!, (t) => t.replace(/FORCE ROW LEVEL SECURITY/g, "NO FORCE ROW LEVEL SECURITY"));
    expect(sectionsOf(dir)).toContain("tenants");
  });

  it("GIVEN the nftables line that decides a blocked must-never pair's weakest path made to accept WHEN diffed THEN the pair's statement differs, before and after", () => {
    const pick = base.nevers
      .filter((n) => n.status === "blocked" && n.weakest)
      .map((n) => ({ n, step: n.weakest!.steps.find((st) => st.layer.startsWith("nftables") && st.verdict === "deny" && st.line && st.artifact) }))
      .find((x) => x.step);
    expect(pick, "a blocked pair whose weakest path an nftables line denies").toBeDefined();
    const { n, step } = pick!;
    const dir = copyOut(planned.dir);
    editText(dir, step!.artifact, (t) => t.split("\n").map((l, i) => (i === step!.line! - 1 ? (/policy drop;/.test(l) ? l.replace("policy drop;", "policy accept;") : l.replace(/\bdrop\b/, "accept")) : l)).join("\n"));
    const d = diffReports(base, verifyDirInProcess(dir));
    const key = `${n.source} => ${n.destination}`;
    const changed = d.sections.find((x) => x.section === "nevers")?.changed.find((c) => c.key === key);
    expect(changed, `${key} among ${JSON.stringify(d.sections.map((x) => x.section))}`).toBeDefined();
    const md = renderDiffMarkdown(d, 1000);
    expect(md).toContain(`- ${key}: ${changed!.before}`);
    expect(md).toContain(`+ ${key}: ${changed!.after}`);
  });

  it("GIVEN a rendered artifact deleted WHEN diffed THEN the artifacts section names it as missing, and the verdicts it decided turn pending", () => {
    const gone = base.artifacts.expected.find((a) => a.endsWith("haproxy.cfg"))!;
    expect(base.artifacts.missing).not.toContain(gone);
    const dir = copyOut(planned.dir);
    rmSync(join(dir, gone));
    const d = diffReports(base, verifyDirInProcess(dir));
    expect(d.sections.map((x) => x.section)).toEqual(expect.arrayContaining(["artifacts", "counts"]));
    expect(d.sections.find((x) => x.section === "flows")?.changed.some((c) => c.after.startsWith("pending") && !c.before.startsWith("pending"))).toBe(true);
    expect(renderDiffMarkdown(d, 1000)).toMatch(new RegExp(`^\\+ missing: .*${gone.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`, "m"));
  });

  it("GIVEN the diff of a change WHEN rendered THEN it is capped per section for a pull-request comment", () => {
    const dir = copyOut(planned.dir);
    editText(dir, "hosts/edge/nftables.conf", (t) => t.replace(/(\n\s*)(tcp dport \{ 80, 443 \} accept)/, "$1tcp dport 22 accept$1$2"));
    const md = renderDiffMarkdown(diffReports(base, verifyDirInProcess(dir)), 3);
    expect(md).toContain("### Palisade segmentation diff (pass → fail)");
    expect(md.split("\n").every((l) => !l.startsWith("  … and") || /… and \d+ more/.test(l))).toBe(true);
  });

  it("GIVEN plan --base WHEN the plan differs THEN the diff is written to report/diff.md and into index.html", async () => {
    const head = join(tempDir("diff-base"), "out");
    const r = await planInto(head, ["--base", planned.dir]);
    expect(r.code).toBe(0);
    const md = readFileSync(join(head, "report", "diff.md"), "utf8");
    expect(md).toContain("### Palisade segmentation diff");
    expect(readFileSync(join(head, "report", "index.html"), "utf8")).toContain('id="diff"');
  });
});
