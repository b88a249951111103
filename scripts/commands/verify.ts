import { join } from "node:path";
import { verifyOutDir, verifyOutDirConcurrently, writeReportDir, type VerifyDirOptions } from "../../stacks/verify-dir.js";
import { runDate } from "../../stacks/provenance.js";
import { verdictLine } from "../../stacks/plan.js";
import { VerifyInputError, type Report } from "../../policies/verifier/index.js";
import { parseOptions, printHelp, UsageError, type Command } from "../cli-util.js";

const HELP = `palisade verify [--out D] [--site F] [--strict] [--date YYYY-MM-DD] [--timings]

Re-derives who reaches whom from the artifacts already in D (Terraform JSON, the Pulumi capture,
the hosts' nftables, WireGuard, HAProxy, Postfix, Dovecot, rspamd, fail2ban and Knot files (knot.conf and
the zone files: the records served must be the site's), OpenBao's
configuration and policies, the tenancy SQL), checks it against the intent and the guardrails,
and rewrites D/report/. The intent (flows, must-never pairs, the platform-wide rules) is
recomputed from the site the artifacts were planned from (F, else D/inputs/site.yaml, whose
sha256 must be the one D/manifest.json records); D/intent.json is only compared with it, and any
difference is a violation.

Options:
  --out D      the artifact directory (default: out/)
  --site F     the site file to recompute the intent from (default: D/inputs/site.yaml); in CI,
               the reviewed site file of the repository
  --strict     advisory guardrails marked strict (image digests) fail too
  --date D     the run date written into the report, and the day exceptions expire against
               (default: SOURCE_DATE_EPOCH when set; otherwise no date in the report, and
               exceptions are judged against today's date, UTC)
  --timings    measure the verification and write the seconds into junit.xml (each intended
               flow and must-never pair, each suite, the total) and report.json (timings); off,
               every time is 0 and the output byte-identical from run to run (a --date does not
               turn them on)
  -h, --help   this text

Exit: 0 ok, 1 violations or mandatory guardrail findings, 2 bad input (no such directory, no
intent.json, no engine output).`;

/** Reads and verifies an artifact directory; UsageError (exit 2) when it cannot. */
export function verifyDir(dir: string, opts: VerifyDirOptions = {}): Report {
  try {
    return verifyOutDir(dir, opts);
  } catch (e) {
    throw usageError(dir, e);
  }
}

/** verifyDir, with nft's checks of the rulesets running while the site is read (verify's own path). */
async function verifyDirConcurrently(dir: string, opts: VerifyDirOptions): Promise<Report> {
  try {
    return await verifyOutDirConcurrently(dir, opts);
  } catch (e) {
    throw usageError(dir, e);
  }
}

const usageError = (dir: string, e: unknown) => (e instanceof VerifyInputError ? new UsageError(`palisade verify: ${dir}: ${e.message}`) : e);

export const verify: Command = {
  name: "verify",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("verify", argv, { out: { type: "string" }, site: { type: "string" }, strict: { type: "boolean" }, date: { type: "string" }, timings: { type: "boolean" } });
    if (values.help) return printHelp(HELP);
    const dir = (values.out as string | undefined) ?? "out";
    const report = await verifyDirConcurrently(dir, { strict: values.strict === true, date: dateOption("verify", values.date as string | undefined), siteFile: values.site as string | undefined, timings: values.timings === true });
    writeReportDir(dir, report);
    console.log(verdictLine(report));
    for (const f of report.findings.filter((x) => x.severity === "violation")) console.log(`  violation: [${f.kind}] ${f.subject}: ${f.message}`);
    for (const g of report.guardrails.filter((x) => x.level === "mandatory")) console.log(`  guardrail: [${g.rule}] ${g.subject}: ${g.message}`);
    console.log(`report: ${join(dir, "report", "index.html")}`);
    return report.summary.verdict === "fail" ? 1 : 0;
  },
};

/** The run date from --date or SOURCE_DATE_EPOCH; a malformed one is bad input (exit 2). */
export function dateOption(command: string, flag: string | undefined): string | undefined {
  try {
    return runDate(flag);
  } catch (e) {
    throw new UsageError(`palisade ${command}: ${(e as Error).message}`);
  }
}
