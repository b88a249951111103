import { readFileSync } from "node:fs";
import { loadSite } from "../../core/index.js";
import { manifestArtifact, planArtifacts, verdictLine, verifyPlan } from "../../stacks/plan.js";
import { startPulumiWorker } from "../../stacks/engines.js";
import { diffReports, renderDiffMarkdown } from "../../policies/diff.js";
import { renderReport } from "../../policies/report/index.js";
import { dateOption, verifyDir } from "./verify.js";
import { provenanceOf } from "../../stacks/provenance.js";
import { todayUtc } from "../../stacks/verify-dir.js";
import { PALISADE_VERSION } from "../../stacks/package-root.js";
import { writeOutAtomic } from "../../stacks/output.js";
import { oneOf, parseOptions, printHelp, type Command } from "../cli-util.js";

const HELP = `palisade plan [--site F] [--out D] [--engine cdktf|pulumi|both] [--base D] [--strict] [--date YYYY-MM-DD] [--timings] [--engine-plan]

Loads the site file, builds the platform, renders every artifact (Terraform JSON per stack,
the Pulumi capture, the hosts' configuration files) into D atomically, verifies them and writes
the report. Needs neither root nor network.

Options:
  --site F       the site file (default: palisade.yaml)
  --out D        the output directory (default: out/); replaced only when the run succeeds
  --engine E     cdktf, pulumi or both (default: both)
  --base D       a previous output directory: print the segmentation diff against it, and write
                 it to D/report/diff.md and into the HTML report
  --strict       treat warnings (e.g. an image without a digest) as failures
  --date D       the run date written into the report, and the day exceptions expire against
                 (default: SOURCE_DATE_EPOCH when set; otherwise no date in the report, and
                 exceptions are judged against today's date, UTC)
  --timings      measure the verification and write the seconds into junit.xml (each intended
                 flow and must-never pair, each suite, the total) and report.json (timings); off,
                 every time is 0 and the output byte-identical from run to run (a --date does not
                 turn them on)
  --engine-plan  also run \`tofu plan\` / \`pulumi preview\` against the hosts and print its summary;
                 an engine or host that cannot be reached is a note, not a failure
  -h, --help     this text

Exit: 0 ok, 1 violations (or warnings under --strict), 2 bad input (nothing written).`;

export const plan: Command = {
  name: "plan",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("plan", argv, {
      site: { type: "string" },
      out: { type: "string" },
      engine: { type: "string" },
      base: { type: "string" },
      strict: { type: "boolean" },
      date: { type: "string" },
      timings: { type: "boolean" },
      "engine-plan": { type: "boolean" },
    });
    if (values.help) return printHelp(HELP);
    const engine = oneOf("plan", "engine", values.engine as string | undefined, ["cdktf", "pulumi", "both"] as const, "both");
    const date = dateOption("plan", values.date as string | undefined);
    const siteFile = (values.site as string | undefined) ?? "palisade.yaml";
    const outDir = (values.out as string | undefined) ?? "out";
    // The Pulumi SDK loads in its worker while this thread reads the site and builds the platform;
    // the engines close it when done, and a site refused before that closes it here.
    const pulumiWorker = engine === "both" ? startPulumiWorker() : undefined;
    let result: Awaited<ReturnType<typeof planArtifacts>>;
    let siteText: string;
    let site: ReturnType<typeof loadSite>;
    try {
      site = loadSite(siteFile);
      siteText = readFileSync(siteFile, "utf8");
      result = await planArtifacts(site, siteText, { engine, pulumiWorker });
    } finally {
      pulumiWorker?.close();
    }
    const strictFailure = values.strict === true && result.warnings.length > 0;
    for (const w of result.warnings) console.log(`${values.strict ? "error" : "warning"}: [${w.id}] ${w.message}`);
    if (strictFailure) {
      console.error(`plan --strict: ${result.warnings.length} warning(s) are failures; nothing written to ${outDir}`);
      return 1;
    }
    const artifacts = [...result.artifacts];
    const manifest = manifestArtifact(siteText, artifacts, engine);
    const provenance = provenanceOf(manifest.content, outDir, date, PALISADE_VERSION);
    let verification = verifyPlan([...artifacts, manifest], { strict: values.strict === true, provenance, asOf: date ?? todayUtc(), site, timings: values.timings === true });
    let diffMarkdown: string | undefined;
    if (values.base) {
      // The diff is part of this run's report: report/diff.md, and a section of index.html.
      diffMarkdown = renderDiffMarkdown(diffReports(verifyDir(values.base as string, { date }), verification.report));
      const report = { ...verification.report, baseDiff: diffMarkdown };
      verification = { report, files: [...renderReport(report), { path: "report/diff.md", content: diffMarkdown }] };
    }
    writeOutAtomic(outDir, [...artifacts, manifest, ...verification.files]);
    const counts = Object.entries(result.resourceCounts).map(([k, n]) => `${k}=${n}`).join(" ");
    console.log(`plan: ${artifacts.length + 1} files in ${outDir}/ (resources: ${counts}); report in ${outDir}/report/`);
    console.log(verdictLine(verification.report));
    for (const f of verification.report.findings.filter((x) => x.severity === "violation")) console.log(`  violation: [${f.kind}] ${f.subject}: ${f.message}`);
    for (const g of verification.report.guardrails.filter((x) => x.level === "mandatory")) console.log(`  guardrail: [${g.rule}] ${g.subject}: ${g.message}`);
    if (diffMarkdown) console.log(diffMarkdown);
    const failed = verification.report.summary.verdict === "fail";
    if (values["engine-plan"]) {
      // The engines' CLIs and their runner load only for --engine-plan.
      const { DEFAULT_SECRETS_DIR, defaultOpsContext, enginePlan } = await import("../../stacks/ops/index.js");
      const code = await enginePlan({ siteFile, outDir, engine, secretsDir: DEFAULT_SECRETS_DIR }, defaultOpsContext());
      return failed ? 1 : code;
    }
    return failed ? 1 : 0;
  },
};
