import { describeDaemonMutations } from "./daemon-mutations.js";

/* Issue 12, classes 5 (WireGuard as wg reads it) and 6 (HAProxy as haproxy parses it), on every example and a generated platform: see daemon-mutations.ts. */
await describeDaemonMutations(["5 wireguard", "6 haproxy"]);
