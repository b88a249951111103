import { existsSync, statSync } from "node:fs";
import { parseQueryPort, QueryInputError, queryPair, reachList, renderQuery, siteModelOf, VerifyInputError } from "../../policies/verifier/index.js";
import { readArtifacts } from "../../stacks/output.js";
import { parseOptions, printHelp, UsageError, type Command } from "../cli-util.js";
import { verifyDir } from "./verify.js";

const HELP = `palisade query SRC DST [PORT] [--out D]
palisade query --from SRC [--out D]
palisade query --to DST [--out D]

May SRC reach DST? Answered from the artifacts in D alone (as verify does), with the hop-by-hop
trace of the deciding path: each layer (Docker network, each host's nftables, WireGuard, each
proxy; for a pod of a Kubernetes cluster, the source's egress and the destination's ingress
NetworkPolicy and the node's nftables), its verdict, the artifact and line, and why. Without PORT,
every port DST listens on is tried (every probe port when DST is a range such as internet). PORT is N (TCP), tcp/N or udp/N.
--from SRC lists everything SRC reaches; --to DST everything that reaches DST.

Options:
  --out D      the artifact directory (default: out/)
  --from SRC   list what SRC reaches
  --to DST     list what reaches DST
  -h, --help   this text

Exit: 0 allowed (or a list printed), 1 denied (or pending), 2 bad input (an unknown peer lists the
known ones; a malformed port; no artifacts in D).`;

function badInput(e: unknown): never {
  if (e instanceof QueryInputError || e instanceof VerifyInputError) throw new UsageError(`palisade query: ${e.message}`);
  throw e;
}

export const query: Command = {
  name: "query",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOptions("query", argv, { out: { type: "string" }, from: { type: "string" }, to: { type: "string" } }, true);
    if (values.help) return printHelp(HELP);
    const dir = (values.out as string | undefined) ?? "out";
    const from = values.from as string | undefined;
    const to = values.to as string | undefined;
    if (from !== undefined || to !== undefined) {
      if (positionals.length || (from !== undefined && to !== undefined)) throw new UsageError("palisade query: give either SRC DST [PORT], or --from SRC, or --to DST; see palisade query --help");
      const report = verifyDir(dir);
      try {
        console.log(reachList(report, (from ?? to)!, from !== undefined ? "from" : "to").trimEnd());
      } catch (e) {
        badInput(e);
      }
      return 0;
    }
    if (positionals.length < 2 || positionals.length > 3) throw new UsageError("palisade query: expected SRC DST [PORT]; see palisade query --help");
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`palisade query: ${dir} is not a directory; run palisade plan --out ${dir} first`);
    try {
      const { site, clusters } = siteModelOf(readArtifacts(dir).filter((a) => !a.path.startsWith("report/")));
      const port = positionals[2] !== undefined ? parseQueryPort(positionals[2]) : undefined;
      const answer = queryPair(site, positionals[0]!, positionals[1]!, port, clusters);
      console.log(renderQuery(answer).trimEnd());
      return answer.verdict === "allowed" ? 0 : 1;
    } catch (e) {
      return badInput(e);
    }
  },
};
