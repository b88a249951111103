// `npm run bench`: plan against cdktf synth, verifier scaling (synthetic, in process), `palisade verify`
// on planned generated sites, the lab. Measures; never asserts.
import { benchPlan, type BenchFigure } from "./bench/plan.js";
import { benchVerifier } from "./bench/verifier.js";
import { benchVerifyCli } from "./bench/verify-cli.js";
import { benchLab } from "./bench/lab.js";
import { benchK8s } from "./bench/k8s.js";

const sections: [string, () => BenchFigure[] | Promise<BenchFigure[]>][] = [
  ["plan", () => benchPlan()],
  ["verifier", () => benchVerifier()],
  ["verify", () => benchVerifyCli()],
  ["lab", () => benchLab()],
  ["k8s", () => benchK8s()],
];

const only = process.argv.slice(2);
for (const [name, run] of sections) {
  if (only.length && !only.includes(name)) continue;
  try {
    for (const f of await run()) {
      console.log(`${f.name.padEnd(58)} ${f.value.toFixed(f.unit === "s" || f.unit === "x" ? 3 : 1).padStart(9)} ${f.unit}${f.target ? `   (target ${f.target})` : ""}`);
    }
  } catch (e) {
    console.log(`${name}: not measured: ${(e as Error).message.split("\n")[0]}`);
  }
}
