import { existsSync } from "node:fs";
import { join } from "node:path";
import { labDown, labUp, readRecord, labPaths } from "../../stacks/lab/up.js";
import { labProbe } from "../../stacks/lab/probe.js";
import { DRILLS, drillsCannotRun, runDrill, type DrillName } from "../../stacks/lab/drills.js";
import { writeLabReport } from "../../stacks/lab/report.js";
import { ApplyError } from "../../stacks/lab/docker/apply.js";
import { UsageError, parseOptions, type Command, printHelp } from "../cli-util.js";
import { plan } from "./plan.js";

const HELP = `palisade lab up|probe|drill NAME|down [--out D] [--site F] [--engine E] [--json]

The planned platform in network namespaces, with the real daemons and the rendered configs
(nftables, WireGuard, HAProxy, Knot, fail2ban, pebble + lego, PostgreSQL, the failover agent).
Each private-cloud site is a real Docker host: a dockerd of its own (Debian's docker.io) in the
site's namespace, with the site's nftables, uplinks, failover agent and tunnel to the edge's
wg-edge, and the site's rendered stack applied to it from the artifacts by the lab's applier, a stand-in for
terraform apply / pulumi up (neither can run here), on images the lab builds from the host's
binaries (HAProxy, PostgreSQL 15) and busybox-static stand-ins.
Needs root. Only addresses the lab assigns inside its own namespaces; no route off the machine.

  up             render out/ into namespaces (plans first when out/ is missing); idempotent
  probe          every source x destination x declared port, plus a seeded sample of the
                 other ports; observed vs the verifier's matrix; every route of intent.json
                 browsed through edge, tunnel and ingress (out/report/lab-observed.json, lab.json)
  drill NAME     ${"fiber-cut | brute-force | port-scan | dns | acme |"}
                 ${"container-restart | dockerd-restart"} (the cloud's Docker engine);
                 on a one-site lab (refused, exit 2, when the lab has several sites)
  down           remove every namespace, process and socket the lab recorded (also after a crash)

Options:
  --out D        the planned output directory (default: out/)
  --site F       the site file (default: palisade.yaml)
  --engine E     up: apply the cloud stack from cdktf's cdk.tf.json (cdktf, the default) or
                 from the Pulumi capture (pulumi)
  --json         print one JSON object as the last line: { pass, figures, ... }
  -h, --help     this text

Exit: 0 pass, 1 fail, 2 bad input.`;

function emit(json: boolean, result: { pass: boolean; figures: Record<string, unknown>; [k: string]: unknown }): number {
  if (json) console.log(JSON.stringify(result));
  return result.pass ? 0 : 1;
}

export const lab: Command = {
  name: "lab",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOptions("lab", argv, { out: { type: "string" }, site: { type: "string" }, engine: { type: "string" }, json: { type: "boolean" } }, true);
    if (values.help) return printHelp(HELP);
    const json = values.json === true;
    const outDir = (values.out as string | undefined) ?? "out";
    const siteFile = (values.site as string | undefined) ?? "palisade.yaml";
    const [action, name] = positionals;
    const engine = (values.engine as string | undefined) ?? "cdktf";
    if (engine !== "cdktf" && engine !== "pulumi") throw new UsageError(`palisade lab: --engine ${engine}: expected cdktf (cdk.tf.json) or pulumi (the Pulumi capture)`);
    const needRoot = () => {
      if (process.getuid?.() !== 0) throw new UsageError("palisade lab: needs root (network namespaces, nftables, daemons); run it as root");
    };
    const progress = (line: string) => console.log(line);
    switch (action) {
      case "up": {
        needRoot();
        // Planned already: a one-site plan's cloud stack, or any plan's manifest (a plan of several sites has no cloud stack).
        if (!existsSync(join(outDir, "cdktf/stacks/cloud/cdk.tf.json")) && !existsSync(join(outDir, "manifest.json"))) {
          progress(`up: ${outDir}/ has no planned artifacts: planning first`);
          const code = await plan.run(["--out", outDir, "--site", siteFile]);
          if (code === 2) return 2;
        }
        try {
          const r = await labUp({ outDir, siteFile, progress, engine });
          return emit(json, { pass: true, figures: { up_s: r.seconds, already_up: r.alreadyUp, processes: r.record.daemons.length, namespaces: r.record.namespaces.length, timings: r.record.timings }, skipped: r.record.skipped, warnings: r.record.warnings });
        } catch (e) {
          if (e instanceof ApplyError) {
            // An artifact the applier refuses: bad input, nothing was created (it is read first).
            console.error(`palisade lab up: ${e.message}`);
            return 2;
          }
          console.error(`lab up failed: ${(e as Error).message}`);
          console.error("what was created is recorded; run `palisade lab down` to remove it");
          return emit(json, { pass: false, figures: {}, error: (e as Error).message });
        }
      }
      case "down": {
        needRoot();
        const r = await labDown(labPaths(), progress);
        return emit(json, { pass: true, figures: { killed: r.killed, namespaces: r.removedNamespaces.length } });
      }
      case "probe": {
        needRoot();
        const rec = readRecord();
        if (!rec?.complete) throw new UsageError("palisade lab probe: the lab is not up (palisade lab up)");
        const r = await labProbe(rec, progress);
        writeLabReport(rec.outDir, { probe: r, docker: rec.docker });
        return emit(json, { pass: r.incorrect === 0, figures: { correct: r.correct, incorrect: r.incorrect, probes: r.probes, probe_s: r.seconds }, expectedFrom: r.expectedFrom, mismatches: r.mismatches.map((m) => m.line + (m.expected ? " (expected, not observed)" : " (observed, not expected)")) });
      }
      case "drill": {
        needRoot();
        if (!name || !(DRILLS as readonly string[]).includes(name)) throw new UsageError(`palisade lab drill: NAME must be one of ${DRILLS.join(", ")}`);
        const rec = readRecord();
        if (!rec?.complete) throw new UsageError("palisade lab drill: the lab is not up (palisade lab up)");
        const cannot = drillsCannotRun(rec);
        if (cannot) throw new UsageError(`palisade lab drill: ${cannot}`);
        const r = await runDrill(rec, name as DrillName, progress);
        writeLabReport(rec.outDir, { drill: r, docker: rec.docker });
        return emit(json, { pass: r.pass, figures: r.figures, drill: r.name, notes: r.notes });
      }
      default:
        throw new UsageError(`palisade lab: expected up, probe, drill NAME or down; see palisade lab --help`);
    }
  },
};
