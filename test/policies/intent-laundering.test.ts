import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { copyOut, editJson, editText, problemLines, verifyDirInProcess } from "./support.js";
import { planSite, siteFiles } from "./planned-sites.js";

/*
 * Class 11 of issue 12: the intent cannot be laundered. verify recomputes the intent from the site
 * the artifacts were planned from (inputs/site.yaml, hashed in manifest.json, or --site), so an
 * edit of intent.json is a finding, never a new truth. Generic: each mutation picks its pair from
 * the planned intent itself.
 */

type Intent = { nevers: { from: string; to: string; reason: string }[]; flows: { from: string; to: string; port: string; reason: string }[]; peers: { id: string; kind: string }[] };

const MUTATIONS: readonly [string, (dir: string, intent: Intent) => void, RegExp][] = [
  ["delete a must-never pair from intent.json", (d, i) => editJson(d, "intent.json", (j: Intent) => { j.nevers = j.nevers.filter((n) => !(n.from === i.nevers[0]!.from && n.to === i.nevers[0]!.to)); }), /intent-tampered nevers: .* intent\.json lacks the must-never pair .*intent\.json line \d+/],
  ["add an allowed flow along a must-never pair", (d, i) => editJson(d, "intent.json", (j: Intent) => { j.flows.push({ from: i.nevers[0]!.from, to: i.nevers[0]!.to, port: "tcp/5432", reason: "laundered" }); }), /intent-tampered flows: \+.* has an allowed flow .*intent\.json line \d+/],
  ["empty the must-never list", (d) => editJson(d, "intent.json", (j: Intent) => { j.nevers = []; }), /intent-tampered nevers: .* lacks the must-never pair/],
  ["retarget a must-never pair", (d, i) => editJson(d, "intent.json", (j: Intent) => { j.nevers[0]!.to = i.peers.find((p) => p.id !== i.nevers[0]!.to && p.kind === "service")!.id; }), /intent-tampered nevers: \+/],
  ["delete intent.json", (d) => editText(d, "intent.json", () => ""), /intent-tampered intent\.json .*not JSON/],
  ["edit the site copy so that it no longer matches the manifest", (d) => editText(d, "inputs/site.yaml", (t) => `${t}\n# edited after plan\n`), /intent-tampered manifest\.json .*not planned from this site/],
  ["delete the site copy", (d) => editText(d, "inputs/site.yaml", () => "   \n"), /intent-tampered intent\.json .*cannot be recomputed/],
];

describe.each(siteFiles())("the intent of %s cannot be laundered", ({ file }) => {
  let planned: string;
  const intent = () => JSON.parse(readFileSync(join(planned, "intent.json"), "utf8")) as Intent;

  it("GIVEN the plan WHEN verified THEN intent.json equals the intent recomputed from the site (no intent finding)", async () => {
    planned = await planSite(file);
    expect(problemLines(verifyDirInProcess(planned)).filter((l) => l.startsWith("intent-tampered"))).toEqual([]);
  });

  it.each(MUTATIONS)("GIVEN '%s' WHEN palisade verify runs THEN it exits 1 with a finding naming the artifact", async (_n, mutate, expected) => {
    const dir = copyOut(planned);
    mutate(dir, intent());
    const r = await runCli(["verify", "--out", dir]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const report = verifyDirInProcess(dir);
    const lines = problemLines(report);
    expect(lines.some((l) => expected.test(l)), `expected ${expected} among:\n${lines.join("\n")}`).toBe(true);
    // The finding names the artifact and the line (issue 12: every class ends so).
    const hits = report.findings.filter((f) => f.severity === "violation" && expected.test(`${f.kind} ${f.subject} ${f.message}`));
    expect(hits.some((f) => !!f.artifact && typeof f.line === "number" && f.line > 0), `a finding naming an artifact and a line among ${JSON.stringify(hits.map((f) => [f.artifact, f.line]))}`).toBe(true);
  });

  it("GIVEN a must-never pair deleted from intent.json WHEN verified THEN the pair is still checked (the recomputed intent is what is verified)", () => {
    const dir = copyOut(planned);
    const first = intent().nevers[0]!;
    editJson(dir, "intent.json", (j: Intent) => { j.nevers = j.nevers.filter((n) => !(n.from === first.from && n.to === first.to)); });
    const r = verifyDirInProcess(dir);
    expect(r.nevers.some((n) => n.source === first.from && n.destination === first.to)).toBe(true);
  });

  it("GIVEN --site with the planned site WHEN verified THEN it passes, and GIVEN --site with another site THEN the manifest's hash does not match", async () => {
    expect((await runCli(["verify", "--out", copyOut(planned), "--site", file])).code).toBe(0);
    const other = copyOut(planned);
    editText(other, "inputs/site.yaml", (t) => `${t}# another site\n`);
    const r = await runCli(["verify", "--out", copyOut(planned), "--site", join(other, "inputs", "site.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/manifest\.json records the site's sha256 .* these artifacts were not planned from this site/);
  });
});
