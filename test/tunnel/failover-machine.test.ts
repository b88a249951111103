import { describe, expect, it } from "vitest";
import { decide, initialState, type FailoverAction, type FailoverState, type MachineConfig } from "../../tunnel/index.js";

const config: MachineConfig = { primary: "fiber", backup: "cellular", misses: 3, holdDownMs: 10_000 };
const TICK = 500;

/** One round of probes: `F`/`f` = fiber answered/missed, `C`/`c` = cellular. */
type Round = `${"F" | "f"}${"C" | "c"}`;

function runRounds(rounds: readonly Round[], start: FailoverState = initialState(config, 0), t0 = 0) {
  let state = start;
  const actions: FailoverAction[] = [];
  const modes: string[] = [];
  rounds.forEach((r, i) => {
    const d = decide(state, [{ uplink: "fiber", ok: r[0] === "F" }, { uplink: "cellular", ok: r[1] === "C" }], t0 + (i + 1) * TICK, config);
    state = d.state;
    actions.push(...d.actions);
    modes.push(state.mode);
  });
  return { state, actions, modes };
}
const events = (actions: readonly FailoverAction[]) => actions.flatMap((a) => (a.kind === "log" ? [a.entry.event] : []));
const routes = (actions: readonly FailoverAction[]) => actions.flatMap((a) => (a.kind === "route" ? [a.uplink] : []));
const rep = (r: Round, n: number): Round[] => Array.from({ length: n }, () => r);

describe("the failover state machine", () => {
  describe.each([
    {
      name: "both uplinks healthy",
      rounds: rep("FC", 10),
      mode: "primary-active",
      routes: [],
      events: [],
    },
    {
      name: "the primary misses fewer probes than the threshold",
      rounds: ["fC", "fC", "FC", "fC", "FC"] as Round[],
      mode: "primary-active",
      routes: [],
      events: [],
    },
    {
      name: "the primary goes down",
      rounds: rep("fC", 3),
      mode: "backup-active",
      routes: ["cellular"],
      events: ["uplink-down", "failover"],
    },
    {
      name: "the backup goes down while the primary is healthy",
      rounds: rep("Fc", 5),
      mode: "primary-active",
      routes: [],
      events: ["uplink-down"],
    },
    {
      name: "both uplinks go down",
      rounds: rep("fc", 6),
      mode: "primary-active",
      routes: [],
      events: ["uplink-down", "uplink-down", "both-down"],
    },
    {
      name: "the primary flaps (never healthy for the hold-down)",
      rounds: [...rep("fC", 3), ...Array.from({ length: 8 }, () => [...rep("FC", 6), ...rep("fC", 3)] as Round[]).flat()],
      mode: "backup-active",
      routes: ["cellular"],
      events: ["uplink-down", "failover", ...Array.from({ length: 8 }, () => ["uplink-up", "uplink-down"]).flat()],
    },
    {
      name: "the primary recovers and stays healthy past the hold-down",
      rounds: [...rep("fC", 3), ...rep("FC", 22)],
      mode: "primary-active",
      routes: ["cellular", "fiber"],
      events: ["uplink-down", "failover", "uplink-up", "failback"],
    },
    {
      name: "the backup dies while active and the primary answers again",
      rounds: [...rep("fC", 3), "Fc", "Fc", "Fc"] as Round[],
      mode: "primary-active",
      routes: ["cellular", "fiber"],
      events: ["uplink-down", "failover", "uplink-up", "uplink-down", "failback"],
    },
  ])("GIVEN $name", ({ rounds, mode, routes: expectedRoutes, events: expectedEvents }) => {
    const { state, actions } = runRounds(rounds);
    it(`THEN the agent ends in ${mode}`, () => {
      expect(state.mode).toBe(mode);
    });
    it("THEN the route moves exactly as expected, and never otherwise", () => {
      expect(routes(actions)).toEqual(expectedRoutes);
    });
    it("THEN each state change is logged once", () => {
      expect(events(actions)).toEqual(expectedEvents);
    });
    it("THEN every route change comes with a tunnel nudge and a conntrack flush", () => {
      const kinds = actions.filter((a) => a.kind !== "log").map((a) => a.kind);
      expect(kinds).toEqual(expectedRoutes.flatMap(() => ["route", "pin-tunnel", "nudge-tunnel", "flush-conntrack"]));
    });
  });

  it.each([
    { heldRounds: 19, mode: "backup-active" },
    { heldRounds: 20, mode: "backup-active" },
    { heldRounds: 21, mode: "primary-active" },
  ])("GIVEN the primary answered for $heldRounds rounds of 500 ms after failing WHEN the hold-down is 10 s THEN the mode is $mode", ({ heldRounds, mode }) => {
    // the streak starts at its first answered probe, so N rounds hold (N-1) * 500 ms
    const { state } = runRounds([...rep("fC", 3), ...rep("FC", heldRounds)]);
    expect(state.mode).toBe(mode);
  });

  it("GIVEN the backup is active WHEN one probe of the recovering primary is lost THEN the hold-down starts over", () => {
    const { state, modes } = runRounds([...rep("fC", 3), ...rep("FC", 15), "fC", ...rep("FC", 15)]);
    expect(modes.slice(2)).not.toContain("primary-active");
    expect(state.mode).toBe("backup-active");
    const later = runRounds(rep("FC", 6), state, 34 * TICK);
    expect(later.state.mode).toBe("primary-active");
  });

  it("GIVEN both uplinks are down WHEN the backup answers again THEN the agent fails over to it without waiting", () => {
    const { state, actions } = runRounds([...rep("fc", 4), "fC"]);
    expect(state.mode).toBe("backup-active");
    expect(events(actions)).toEqual(["uplink-down", "uplink-down", "both-down", "uplink-up", "failover", "both-down-cleared"]);
  });

  it("GIVEN a round without a probe result for an uplink THEN its health is unchanged", () => {
    const start = initialState(config, 0);
    const d = decide(start, [{ uplink: "fiber", ok: false }], TICK, config);
    expect(d.state.uplinks.cellular).toEqual(start.uplinks.cellular);
    expect(d.state.uplinks.fiber!.consecutiveMisses).toBe(1);
  });

  it("GIVEN the same inputs THEN decide returns the same output (pure)", () => {
    const s = initialState(config, 0);
    const probes = [{ uplink: "fiber", ok: false }, { uplink: "cellular", ok: true }];
    expect(decide(s, probes, 100, config)).toEqual(decide(s, probes, 100, config));
    expect(s).toEqual(initialState(config, 0));
  });
});
