/**
 * The uplink failover decision, as a pure function: `decide(state, probes, now, config)` returns the
 * next state and the actions to carry out. No I/O, no clock: the agent owns both, the tests drive it
 * with tables.
 *
 * Semantics:
 * - An uplink is **down** after `misses` consecutive missed probes, and **up** again at its first
 *   answered probe. Its `healthySince` is the time of the first answered probe of its current
 *   streak of answers (null while the last probe missed).
 * - primary-active → backup-active when the primary is down and the backup is up.
 * - backup-active → primary-active (failback) only when the primary has answered every probe for
 *   `holdDownMs` (hold-down: a flapping primary never fails back), or at once when the backup is
 *   down while the primary is up (a dead backup is never preferred to a live primary).
 * - Both down: the current uplink is kept (nothing better to switch to; no flapping).
 * Every switch asks for the route to the edge to move, the tunnel to be pinned to the new uplink
 * (the edge's tunnel packets arriving on the other one are dropped), the tunnel to be nudged (so the
 * edge roams to the new source address) and the tunnel's stale conntrack entries to be flushed.
 */

export type FailoverMode = "primary-active" | "backup-active";

export interface UplinkHealth {
  readonly up: boolean;
  readonly consecutiveMisses: number;
  /** Start of the current streak of answered probes (ms), null while the last probe missed. */
  readonly healthySince: number | null;
}

export interface FailoverState {
  readonly mode: FailoverMode;
  /** When the current mode was entered (ms). */
  readonly since: number;
  /** True while both uplinks are down (logged once when entered, once when left). */
  readonly bothDown: boolean;
  readonly uplinks: Readonly<Record<string, UplinkHealth>>;
}

export interface ProbeResult {
  readonly uplink: string;
  readonly ok: boolean;
}

export interface MachineConfig {
  /** Uplink id of the primary (priority 1) and the backup. */
  readonly primary: string;
  readonly backup: string;
  /** Consecutive missed probes that mark an uplink down. */
  readonly misses: number;
  /** Time the primary must answer every probe before failing back. */
  readonly holdDownMs: number;
}

export type LogEvent =
  | { readonly event: "uplink-down"; readonly uplink: string; readonly misses: number }
  | { readonly event: "uplink-up"; readonly uplink: string }
  | { readonly event: "failover"; readonly from: string; readonly to: string; readonly reason: string }
  | { readonly event: "failback"; readonly from: string; readonly to: string; readonly reason: string }
  | { readonly event: "both-down"; readonly keeping: string }
  | { readonly event: "both-down-cleared"; readonly keeping: string };

export type FailoverAction =
  | { readonly kind: "route"; readonly uplink: string }
  | { readonly kind: "pin-tunnel"; readonly uplink: string }
  | { readonly kind: "nudge-tunnel" }
  | { readonly kind: "flush-conntrack" }
  | { readonly kind: "log"; readonly entry: LogEvent };

export interface Decision {
  readonly state: FailoverState;
  readonly actions: readonly FailoverAction[];
}

/** The state the agent starts in: on the primary, both uplinks presumed up until probes say otherwise. */
export function initialState(config: MachineConfig, now: number): FailoverState {
  const fresh: UplinkHealth = { up: true, consecutiveMisses: 0, healthySince: now };
  return { mode: "primary-active", since: now, bothDown: false, uplinks: { [config.primary]: fresh, [config.backup]: fresh } };
}

/** The uplink a mode routes through. */
export function activeUplink(mode: FailoverMode, config: MachineConfig): string {
  return mode === "primary-active" ? config.primary : config.backup;
}

function nextHealth(prev: UplinkHealth, ok: boolean | undefined, now: number, misses: number): UplinkHealth {
  if (ok === undefined) return prev; // no probe this round: no news
  if (ok) return { up: true, consecutiveMisses: 0, healthySince: prev.healthySince ?? now };
  const consecutiveMisses = prev.consecutiveMisses + 1;
  return { up: prev.up && consecutiveMisses < misses, consecutiveMisses, healthySince: null };
}

const SWITCH_ACTIONS = (to: string): FailoverAction[] => [
  { kind: "route", uplink: to },
  { kind: "pin-tunnel", uplink: to },
  { kind: "nudge-tunnel" },
  { kind: "flush-conntrack" },
];

export function decide(state: FailoverState, probes: readonly ProbeResult[], now: number, config: MachineConfig): Decision {
  const actions: FailoverAction[] = [];
  const byUplink = new Map(probes.map((p) => [p.uplink, p.ok]));
  const uplinks: Record<string, UplinkHealth> = {};
  for (const id of [config.primary, config.backup]) {
    const prev = state.uplinks[id] ?? { up: true, consecutiveMisses: 0, healthySince: now };
    const next = nextHealth(prev, byUplink.get(id), now, config.misses);
    if (prev.up && !next.up) actions.push({ kind: "log", entry: { event: "uplink-down", uplink: id, misses: next.consecutiveMisses } });
    if (!prev.up && next.up) actions.push({ kind: "log", entry: { event: "uplink-up", uplink: id } });
    uplinks[id] = next;
  }
  const primary = uplinks[config.primary]!;
  const backup = uplinks[config.backup]!;
  let mode = state.mode;
  let since = state.since;

  if (mode === "primary-active" && !primary.up && backup.up) {
    mode = "backup-active";
    actions.push(...SWITCH_ACTIONS(config.backup), {
      kind: "log",
      entry: { event: "failover", from: config.primary, to: config.backup, reason: `${config.primary} missed ${primary.consecutiveMisses} probes in a row` },
    });
  } else if (mode === "backup-active" && primary.up) {
    const heldMs = primary.healthySince === null ? 0 : now - primary.healthySince;
    const reason = !backup.up
      ? `${config.backup} is down and ${config.primary} answers`
      : heldMs >= config.holdDownMs
        ? `${config.primary} answered every probe for ${heldMs} ms (hold-down ${config.holdDownMs} ms)`
        : null;
    if (reason !== null) {
      mode = "primary-active";
      actions.push(...SWITCH_ACTIONS(config.primary), { kind: "log", entry: { event: "failback", from: config.backup, to: config.primary, reason } });
    }
  }
  if (mode !== state.mode) since = now;

  const bothDown = !primary.up && !backup.up;
  const keeping = activeUplink(mode, config);
  if (bothDown && !state.bothDown) actions.push({ kind: "log", entry: { event: "both-down", keeping } });
  if (!bothDown && state.bothDown) actions.push({ kind: "log", entry: { event: "both-down-cleared", keeping } });

  return { state: { mode, since, bothDown, uplinks }, actions };
}
