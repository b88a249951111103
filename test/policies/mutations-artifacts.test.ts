import { describeDaemonMutations } from "./daemon-mutations.js";

/* Issue 12, classes 10 (secrets anywhere) and 13 (malformed artifacts), on every example and a generated platform: see daemon-mutations.ts. */
await describeDaemonMutations(["10 secrets", "13 malformed"]);
