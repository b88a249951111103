// Preloaded (`node --import`) into every process the bench times: reports its peak RSS on exit.
process.on("exit", () => process.stderr.write(`MAXRSS_KB ${process.resourceUsage().maxRSS}\n`));
