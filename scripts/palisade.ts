// The `palisade` command line: argument parsing and dispatch live in main.ts.
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`palisade: internal error: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  },
);
