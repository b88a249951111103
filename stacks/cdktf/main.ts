// Entry point for `cdktf synth` (cdktf.json): the same App that `palisade plan` synthesizes.
import { loadSite } from "../../core/index.js";
import { buildTopology } from "../platform.js";
import { buildCdktfApp } from "./synth.js";

const site = loadSite(process.env.PALISADE_SITE ?? "palisade.yaml");
// `cdktf synth` tells the app where to write through CDKTF_OUTDIR.
buildCdktfApp(buildTopology(site), process.env.CDKTF_OUTDIR ?? "cdktf.out").synth();
