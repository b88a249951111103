import { existsSync } from "node:fs";
import { join } from "node:path";
import { labDown, labUp, readRecord, labPaths } from "../../stacks/lab/up.js";
import { labProbe } from "../../stacks/lab/probe.js";
import { DRILLS, runDrills, type DrillName, type DrillResult } from "../../stacks/lab/drills.js";
import { DrillRefused } from "../../stacks/lab/drill-sites.js";
import { writeLabReport } from "../../stacks/lab/report.js";
import { ApplyError } from "../../stacks/lab/docker/apply.js";
import { UsageError, parseOptions, type Command, printHelp } from "../cli-util.js";
import { plan } from "./plan.js";

const HELP = `palisade lab up|probe|drill NAME [--site ID]|down [--out D] [--site F] [--engine E] [--json]

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
                 ${"container-restart | dockerd-restart"} (a site's Docker engine).
                 fiber-cut, container-restart and dockerd-restart run on every site in
                 order, each reported as its own (--site ID: that site only); acme on the
                 site with the ingress; brute-force, port-scan and dns on the edge (no --site)
  down           remove every namespace, process and socket the lab recorded (also after a crash)

Options:
  --out D        the planned output directory (default: out/)
  --site F       up: the site file (default: palisade.yaml)
  --site ID      drill: the one site to run a site drill on (default: every site, in order)
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
        writeLabReport(rec.outDir, { probe: r, dockers: rec.dockers });
        return emit(json, { pass: r.incorrect === 0, figures: { correct: r.correct, incorrect: r.incorrect, probes: r.probes, probe_s: r.seconds }, expectedFrom: r.expectedFrom, mismatches: r.mismatches.map((m) => m.line + (m.expected ? " (expected, not observed)" : " (observed, not expected)")) });
      }
      case "drill": {
        needRoot();
        if (!name || !(DRILLS as readonly string[]).includes(name)) throw new UsageError(`palisade lab drill: NAME must be one of ${DRILLS.join(", ")}`);
        const rec = readRecord();
        if (!rec?.complete) throw new UsageError("palisade lab drill: the lab is not up (palisade lab up)");
        let results: DrillResult[];
        try {
          results = await runDrills(rec, name as DrillName, progress, values.site as string | undefined);
        } catch (e) {
          if (e instanceof DrillRefused) throw new UsageError(`palisade lab drill ${name}: ${e.message}`);
          throw e;
        }
        writeLabReport(rec.outDir, { drills: results, dockers: rec.dockers });
        const [only] = results;
        if (results.length === 1 && only) return emit(json, { pass: only.pass, figures: only.figures, drill: only.name, ...(only.site ? { site: only.site } : {}), notes: only.notes });
        // Several sites: one line each, then the figures by site.
        for (const r of results) progress(`drill ${name} [${r.site}]: ${r.pass ? "pass" : "FAIL"}${r.notes.length ? ` (${r.notes.join("; ")})` : ""}`);
        return emit(json, {
          pass: results.every((r) => r.pass),
          drill: name,
          figures: Object.fromEntries(results.map((r) => [r.site!, r.figures])),
          sites: results.map((r) => ({ site: r.site, pass: r.pass, notes: r.notes })),
          notes: results.flatMap((r) => r.notes.map((n) => `${r.site}: ${n}`)),
        });
      }
      default:
        throw new UsageError(`palisade lab: expected up, probe, drill NAME or down; see palisade lab --help`);
    }
  },
};
