import { runGeneratedPlatform } from "./lab-fuzz/run.js";

/*
 * `npm run lab:fuzz -- N [--seed S]`: N generated platforms (seeds S, S+1, …; default S = 1), each
 * planned (it must verify PASS), brought up in the lab on the real dockerd, probed from inside
 * and compared with the verifier's matrix, then taken down. Prints each disagreement and the
 * count; exit 1 on any, 2 on bad arguments or without root.
 */
const args = process.argv.slice(2);
let seed = 1;
const at = args.indexOf("--seed");
if (at >= 0) {
  seed = Number(args[at + 1]);
  if (!Number.isInteger(seed) || seed < 0) {
    console.error(`lab:fuzz: --seed ${args[at + 1] ?? ""}: expected a non-negative integer`);
    process.exit(2);
  }
  args.splice(at, 2);
}
const n = args[0] === undefined ? 3 : Number(args[0]);
if (!Number.isInteger(n) || n <= 0 || args.length > 1) {
  console.error(`lab:fuzz: usage: npm run lab:fuzz -- N [--seed S] (N, the number of platforms, a positive integer; got ${JSON.stringify(args.join(" "))})`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error("lab:fuzz: needs root (network namespaces, dockerd, daemons); run it as root");
  process.exit(2);
}
const t0 = Date.now();
let disagreements = 0;
let flows = 0;
for (let s = seed; s < seed + n; s++) {
  const r = await runGeneratedPlatform(s, (line) => console.log(line));
  flows += r.probed;
  disagreements += r.disagreements.length;
  for (const d of r.disagreements) console.log(`  ${d}`);
}
console.log(`lab:fuzz: seeds ${seed}..${seed + n - 1}: ${n} generated platform(s), ${flows} probed flows, ${disagreements} disagreement(s), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(disagreements ? 1 : 0);
