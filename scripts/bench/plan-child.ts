// One cold `palisade plan` for the bench, reporting the process's peak RSS on stderr.
import { main } from "../main.js";

const code = await main(process.argv.slice(2));
process.stderr.write(`MAXRSS_KB ${process.resourceUsage().maxRSS}\n`);
process.exitCode = code;
