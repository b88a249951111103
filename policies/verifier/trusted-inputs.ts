import type { Site } from "../../core/index.js";
import { INTENT_PATH, parseIntent, type Intent } from "../intent.js";
import type { Finding } from "./report-model.js";

/*
 * What the verifier checks against must not come from the files it checks. `intent.json` is an
 * artifact like any other: an edit that deletes a must-never pair or adds an allowed flow would
 * launder a violation. So the intent (flows, must-never pairs, the platform-wide rules added by
 * default) and the tenants are recomputed from the site the artifacts were planned from, through
 * the same derivation `plan` uses (stacks/ supplies it: policies/ cannot import the platform);
 * `intent.json` is then only compared with it, and every difference is a violation.
 */

export interface TrustedInputs {
  /** The site the artifacts must have been planned from. */
  readonly site: Site;
  /** The intent recomputed from it (never read from the artifacts). */
  readonly intent: Intent;
  /** Where the site came from, for messages: `inputs/site.yaml`, `--site palisade.yaml`. */
  readonly source: string;
  /** Problems found while establishing the inputs (e.g. the site's hash differs from the manifest's). */
  readonly problems: readonly { readonly message: string; readonly artifact: string; readonly line?: number }[];
}

/** Why no trusted inputs could be established (no site anywhere): the verdict then fails. */
export interface UntrustedInputs {
  readonly reason: string;
}

const key = (o: object) => JSON.stringify(o);

/** 1-based line of the first line of `text` containing all of `needles`, in order on that line or the next few. */
function lineOf(text: string, needles: readonly string[]): number | undefined {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const window = lines.slice(i, i + 6).join("\n");
    if (lines[i]!.includes(needles[0]!) && needles.every((n) => window.includes(n))) return i + 1;
  }
  return undefined;
}

function finding(subject: string, message: string, line?: number): Finding {
  const where = line === undefined ? "" : ` (${INTENT_PATH} line ${line})`;
  return { id: `intent-tampered:${subject}`, kind: "intent-tampered", severity: "violation", subject, message: `${message}${where}`, artifact: INTENT_PATH, ...(line === undefined ? {} : { line }) };
}

/**
 * `intent.json` against the recomputed intent: each must-never pair or flow missing, added or
 * changed, each peer that differs, is a finding naming intent.json and the line.
 */
export function compareIntent(text: string | undefined, expected: Intent, source: string): Finding[] {
  if (text === undefined) return [finding("intent.json", `${INTENT_PATH} is missing; the intent recomputed from ${source} is used`)];
  let declared: Intent;
  try {
    declared = parseIntent(text);
  } catch (e) {
    // The whole file is unreadable as an intent: the finding points at its first line (or where JSON's syntax breaks).
    const at = /at line (\d+)/.exec(String((e as Error).message))?.[1] ?? /line (\d+) column/.exec(String((e as Error).message))?.[1];
    return [finding("intent.json", `${(e as Error).message}; the intent recomputed from ${source} is used`, at ? Number(at) : 1)];
  }
  const out: Finding[] = [];
  const section = (name: string) => lineOf(text, [`"${name}"`]);
  const noun = { nevers: ["the must-never pair", "a must-never pair"], flows: ["the flow", "an allowed flow"], peers: ["the peer", "a peer"], exceptions: ["the exception", "an exception"] } as const;
  const diff = <T extends object>(name: "flows" | "nevers" | "peers" | "exceptions", label: (x: T) => string, needles: (x: T) => string[]) => {
    const have = new Map(((declared[name] ?? []) as unknown as T[]).map((x) => [key(x), x]));
    const want = new Map(((expected[name] ?? []) as unknown as T[]).map((x) => [key(x), x]));
    for (const [k, x] of want) {
      if (!have.has(k)) out.push(finding(`${name}: ${label(x)}`, `${INTENT_PATH} lacks ${noun[name][0]} ${label(x)} that ${source} declares: editing the intent does not change what must hold`, section(name)));
    }
    for (const [k, x] of have) {
      if (!want.has(k)) out.push(finding(`${name}: +${label(x)}`, `${INTENT_PATH} has ${noun[name][1]} ${label(x)} that ${source} does not declare (or declares differently)`, lineOf(text, needles(x)) ?? section(name)));
    }
  };
  type F = { from: string; to: string; port?: string; reason: string };
  diff<F>("nevers", (n) => `${n.from} => ${n.to}`, (n) => [`"from": ${JSON.stringify(n.from)}`, `"to": ${JSON.stringify(n.to)}`]);
  diff<F>("flows", (f) => `${f.from} => ${f.to} : ${f.port}`, (f) => [`"from": ${JSON.stringify(f.from)}`, `"port": ${JSON.stringify(f.port)}`]);
  diff<{ id: string }>("peers", (p) => p.id, (p) => [`"id": ${JSON.stringify(p.id)}`]);
  // Governance (owner, ticket, expiry) is the site's: an expiry moved in intent.json is tampering.
  type E = { service: string; kind: string; capability?: string; expires: string };
  diff<E>("exceptions", (e) => `${e.service} ${e.kind}${e.capability ? ` ${e.capability}` : ""} (expires ${e.expires})`, (e) => [`"service": ${JSON.stringify(e.service)}`, `"expires": ${JSON.stringify(e.expires)}`]);
  if (declared.version !== expected.version) out.push(finding("version", `${INTENT_PATH} version ${declared.version} differs from ${expected.version}`, lineOf(text, ['"version"'])));
  return out;
}

/** Findings for the inputs themselves: no site at all, or a site that is not the one planned. */
export function inputFindings(inputs: TrustedInputs | UntrustedInputs): Finding[] {
  if ("reason" in inputs) {
    // Nothing in intent.json can be trusted: the finding points at the file's first line.
    return [{ id: "intent-unverified", kind: "intent-tampered", severity: "violation", subject: "intent.json", message: `the intent cannot be recomputed, so intent.json is not trusted: ${inputs.reason}`, artifact: INTENT_PATH, line: 1 }];
  }
  return inputs.problems.map((p, i) => ({ id: `intent-tampered:inputs/${i}`, kind: "intent-tampered" as const, severity: "violation" as const, subject: p.artifact, message: p.message, artifact: p.artifact, ...(p.line === undefined ? {} : { line: p.line }) }));
}
