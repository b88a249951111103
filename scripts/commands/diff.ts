import { diffIsEmpty, diffReports, renderDiffMarkdown, type SegmentationDiff } from "../../policies/diff.js";
import { parseOptions, printHelp, UsageError, type Command } from "../cli-util.js";
import { verifyDir } from "./verify.js";

const HELP = `palisade diff --base D1 [--out D2]

The semantic segmentation diff between two artifact directories (e.g. the base branch's plan and
this change's). It compares everything the report states: each peer's addresses and ports, every
flow's verdict and the layers and constructs deciding it, must-never pairs, exposure to public
ranges (the admin SSH ranges included), exceptions with their reasons and governance, tenant
isolation evidence, findings, guardrails, counts, and each site's lab engine (the stack the lab
applied, its images, its lab-only changes) once the lab has run. Prints Markdown short enough for a
pull-request comment. Each side is re-verified from its artifacts.

Options:
  --base D1    the base artifact directory (required)
  --out D2     the changed artifact directory (default: out/)
  -h, --help   this text

Exit: 0 same, 1 anything differs, 2 bad input.`;

export function segmentationDiff(baseDir: string, headDir: string): { diff: SegmentationDiff; markdown: string } {
  const diff = diffReports(verifyDir(baseDir), verifyDir(headDir));
  return { diff, markdown: renderDiffMarkdown(diff) };
}

export const diff: Command = {
  name: "diff",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions("diff", argv, { base: { type: "string" }, out: { type: "string" } });
    if (values.help) return printHelp(HELP);
    if (!values.base) throw new UsageError("palisade diff: --base D is required; see palisade diff --help");
    const { diff: d, markdown } = segmentationDiff(values.base as string, (values.out as string | undefined) ?? "out");
    console.log(markdown);
    return diffIsEmpty(d) ? 0 : 1;
  },
};
