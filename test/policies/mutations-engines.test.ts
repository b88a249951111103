import { describeDaemonMutations } from "./daemon-mutations.js";

/* Issue 12, class 7 (Docker as the engine applies it, in both engines' output), on every example and a generated platform: see daemon-mutations.ts. */
await describeDaemonMutations(["7 docker"]);
