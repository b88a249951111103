import { describeDisagreement, differential } from "./nft-fuzz/kernel.js";

/*
 * `npm run fuzz:nft -- N [--seed S] [--batch B]`: N generated (ruleset, packet) pairs, each
 * ruleset loaded with nft -f in a throwaway network namespace and its packets sent through the
 * kernel; the verifier's evaluator must agree on every one. Needs root. Exit 1 on a disagreement
 * (each printed with its ruleset and packet), 2 on bad arguments.
 */
const args = process.argv.slice(2);
const num = (flag: string, dflt: number): number => {
  const i = args.indexOf(flag);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`fuzz:nft: ${flag} ${args[i + 1] ?? ""}: expected a positive integer`);
    process.exit(2);
  }
  args.splice(i, 2);
  return v;
};
const seed = num("--seed", 1);
const batch = num("--batch", 50);
const n = args[0] === undefined ? 10000 : Number(args[0]);
if (!Number.isInteger(n) || n <= 0 || args.length > 1) {
  console.error(`fuzz:nft: usage: npm run fuzz:nft -- N [--seed S] [--batch B] (N, the number of cases, a positive integer; got ${JSON.stringify(args.join(" "))})`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error("fuzz:nft: needs root (network namespaces and nft); run it as root");
  process.exit(2);
}
let last = 0;
const r = await differential(n, seed, batch, (p) => {
  if (p.cases - last >= 2000) {
    last = p.cases;
    console.error(`  ${p.cases} cases, ${p.disagreements.length} disagreements, ${(p.cases / p.seconds).toFixed(0)} cases/s`);
  }
});
for (const d of r.disagreements.slice(0, 5)) console.log(describeDisagreement(d), "\n");
console.log(`fuzz:nft: seed ${seed}: ${r.cases} cases over ${r.rulesets} rulesets (${r.rejected} generated rulesets refused by nft -f), ${r.delivered} delivered by the kernel, ${r.disagreements.length} disagreements, ${r.seconds.toFixed(1)} s, ${(r.cases / r.seconds).toFixed(0)} cases/s`);
process.exit(r.disagreements.length ? 1 : 0);
