import { parseRange, type AddrRange } from "./addr.js";
import type { Site } from "../../core/index.js";
import type { Finding } from "./report-model.js";

/*
 * Postfix as Postfix reads it, for one question: does an smtpd relay mail for a client outside
 * the trusted ranges, unauthenticated, to a domain that is not ours? (An open relay.)
 *
 * main.cf (postconf(5)): a logical line starts in column 1; a line starting with whitespace
 * continues it; lines whose first non-blank is `#` are comments (a `#` later in a line is part of
 * the value); the LAST definition of a parameter wins; `$name`, `${name}`, `$(name)` expand.
 * master.cf: `-o name=value` (or `-o { name = value }`) overrides main.cf for that service only.
 *
 * At RCPT TO, smtpd evaluates the client, helo, sender, relay and recipient restriction lists;
 * each list stops at its first `permit` or reject; the mail is relayed unless some list rejects.
 * The outside client is modelled as an attacker: any condition it can satisfy (a resolvable
 * hostname, a well-formed sender, a DNS record it controls) is assumed satisfied. A restriction or
 * a value this reader does not model (lookup tables, conditional expansions, unknown names) is a
 * finding: what is not understood fails.
 */

export const POSTFIX_DIR = "hosts/edge/mail/postfix";
export const MAIN_CF = `${POSTFIX_DIR}/main.cf`;
export const MASTER_CF = `${POSTFIX_DIR}/master.cf`;

interface Param {
  readonly value: string;
  readonly file: string;
  readonly line: number;
}

type Params = Map<string, Param>;

export class PostfixParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** main.cf as logical lines, last definition winning. */
export function parseMainCf(text: string, file = MAIN_CF): Params {
  const out: Params = new Map();
  let current: { text: string; line: number } | undefined;
  const flush = () => {
    if (!current) return;
    const m = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/s.exec(current.text);
    if (!m) throw new PostfixParseError(file, current.line, `not a "name = value" line: ${JSON.stringify(current.text.slice(0, 80))}`);
    out.set(m[1]!, { value: m[2]!.replace(/\s+/g, " ").trim(), file, line: current.line });
    current = undefined;
  };
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (/^\s*(#|$)/.test(line)) return;
    if (/^\s/.test(line)) {
      if (!current) throw new PostfixParseError(file, i + 1, "a continuation line (starting with whitespace) with nothing to continue");
      current.text += ` ${line.trim()}`;
      return;
    }
    flush();
    current = { text: line, line: i + 1 };
  });
  flush();
  return out;
}

export interface SmtpdService {
  /** The service field: `smtp`, `submission`, `127.0.0.1:25`, … */
  readonly name: string;
  readonly type: string;
  readonly line: number;
  readonly overrides: Params;
}

/** The smtpd services of master.cf with their `-o` overrides. */
export function parseMasterCf(text: string, file = MASTER_CF): SmtpdService[] {
  const entries: { text: string; line: number }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (/^\s*(#|$)/.test(line)) return;
    if (/^\s/.test(line)) {
      const last = entries[entries.length - 1];
      if (!last) throw new PostfixParseError(file, i + 1, "a continuation line with nothing to continue");
      last.text += ` ${line.trim()}`;
      return;
    }
    entries.push({ text: line, line: i + 1 });
  });
  const out: SmtpdService[] = [];
  for (const e of entries) {
    const words = tokenizeMaster(e.text, file, e.line);
    if (words.length < 8) throw new PostfixParseError(file, e.line, `a service needs 8 fields (service type private unpriv chroot wakeup maxproc command), found ${words.length}`);
    const [name, type, , , , , , command, ...args] = words as [string, string, string, string, string, string, string, string, ...string[]];
    if (command !== "smtpd") continue;
    const overrides: Params = new Map();
    for (let k = 0; k < args.length; k++) {
      if (args[k] !== "-o") continue;
      const kv = args[++k];
      const m = kv === undefined ? null : /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/s.exec(kv);
      if (!m) throw new PostfixParseError(file, e.line, `-o expects name=value, found ${JSON.stringify(kv ?? "")}`);
      overrides.set(m[1]!, { value: m[2]!.trim(), file, line: e.line });
    }
    out.push({ name, type, line: e.line, overrides });
  }
  return out;
}

/** master.cf words; `{ … }` groups one argument (Postfix ≥ 3.0). */
function tokenizeMaster(text: string, file: string, line: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    if (text[i] === "{") {
      const end = text.indexOf("}", i);
      if (end < 0) throw new PostfixParseError(file, line, "unbalanced { in a service argument");
      out.push(text.slice(i + 1, end).trim());
      i = end + 1;
      continue;
    }
    const m = /^\S+/.exec(text.slice(i))!;
    out.push(m[0]);
    i += m[0].length;
  }
  return out;
}

/** Postfix's own defaults at compatibility_level >= 2 (the ones the relay decision reads). */
const DEFAULTS: Record<string, string> = {
  smtpd_client_restrictions: "",
  smtpd_helo_restrictions: "",
  smtpd_sender_restrictions: "",
  smtpd_recipient_restrictions: "",
  smtpd_relay_restrictions: "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
  mynetworks_style: "host",
  relay_domains: "",
  smtpd_sasl_auth_enable: "no",
};

const LISTS = ["smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions", "smtpd_relay_restrictions", "smtpd_recipient_restrictions"] as const;

/** Restrictions an attacker outside mynetworks, unauthenticated, can always get past (they never reject it for sure). */
const PASSABLE = new Set([
  "permit_sasl_authenticated",
  "permit_auth_destination",
  "reject_unauth_pipelining",
  "reject_non_fqdn_recipient",
  "reject_non_fqdn_sender",
  "reject_non_fqdn_helo_hostname",
  "reject_invalid_helo_hostname",
  "reject_unknown_helo_hostname",
  "reject_unknown_recipient_domain",
  "reject_unknown_sender_domain",
  "reject_unknown_client_hostname",
  "reject_unknown_reverse_client_hostname",
  "reject_unlisted_recipient",
  "reject_unlisted_sender",
  "reject_unverified_recipient",
  "reject_unverified_sender",
  "reject_multi_recipient_bounce",
  "reject_sender_login_mismatch",
  "reject_authenticated_sender_login_mismatch",
  "reject_known_sender_login_mismatch",
  "reject_unauthenticated_sender_login_mismatch",
  "reject_plaintext_session",
  "reject_rbl_client",
  "reject_rhsbl_client",
  "reject_rhsbl_sender",
  "reject_rhsbl_helo",
  "reject_rhsbl_recipient",
  "reject_rhsbl_reverse_client",
  "reject_unauth_destination_unless_authenticated",
  "sleep",
]);
/** Restrictions that take one argument (skipped with it). */
const WITH_ARGUMENT = new Set(["reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_sender", "reject_rhsbl_helo", "reject_rhsbl_recipient", "reject_rhsbl_reverse_client", "sleep"]);
/** Restrictions that let the outside attacker through for sure. */
const ATTACKER_PERMITS = new Set(["permit", "permit_mx_backup", "permit_tls_all_clientcerts"]);

export interface RelayVerdict {
  readonly service: string;
  readonly open: boolean;
  /** Why, with the parameter that decided it. */
  readonly reason: string;
  readonly file: string;
  readonly line: number;
}

export interface MailContext {
  /** Client ranges allowed to relay unauthenticated: loopback and the tunnel. */
  readonly trusted: readonly string[];
  /** Domains the platform may relay to besides its final destinations (its own domain and below). */
  readonly ownDomain: string;
}

/** Who may relay through the edge's Postfix without authentication, by the site: loopback (implied) and every site's tunnel. */
export function mailContextOf(site: Site): MailContext {
  return { trusted: site.sites.flatMap((s) => [s.tunnel.subnet, s.tunnel.subnet6]), ownDomain: site.site.domain };
}

class Unmodelled extends Error {
  constructor(
    readonly param: Param | undefined,
    message: string,
  ) {
    super(message);
  }
}

function lookup(name: string, service: SmtpdService, main: Params): Param | undefined {
  return service.overrides.get(name) ?? main.get(name);
}

/** `$name` expansion, recursively; conditional forms are not modelled. */
function expand(p: Param, service: SmtpdService, main: Params, depth = 0): string {
  if (depth > 10) throw new Unmodelled(p, "parameter expansion nests too deep");
  return p.value.replace(/\$(\{[^}]*\}|\([^)]*\)|[A-Za-z0-9_]+)/g, (_m, ref: string) => {
    const name = ref.startsWith("{") || ref.startsWith("(") ? ref.slice(1, -1) : ref;
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Unmodelled(p, `conditional expansion $${ref} is not modelled`);
    const inner = lookup(name, service, main);
    if (inner) return expand(inner, service, main, depth + 1);
    const d = DEFAULTS[name];
    if (d === undefined) throw new Unmodelled(p, `$${name} has no value here and no default this reader knows`);
    return d;
  });
}

function listOf(name: string, service: SmtpdService, main: Params): { items: string[]; param: Param | undefined } {
  const param = lookup(name, service, main);
  const text = param ? expand(param, service, main) : DEFAULTS[name] ?? "";
  return { items: text.split(/[\s,]+/).filter((w) => w !== ""), param };
}

const LOOPBACK = ["127.0.0.0/8", "::1/128"];

function within(r: AddrRange, outer: readonly AddrRange[]): boolean {
  return outer.some((o) => o.v === r.v && o.lo <= r.lo && r.hi <= o.hi);
}

/** The mynetworks entries that let clients outside the trusted ranges in (or cannot be read). */
function untrustedNetworks(service: SmtpdService, main: Params, ctx: MailContext): { param: Param | undefined; entries: string[] } {
  const trusted = [...LOOPBACK, ...ctx.trusted].map((c) => parseRange(c)!).filter(Boolean);
  const param = lookup("mynetworks", service, main);
  if (!param) {
    const style = listOf("mynetworks_style", service, main);
    const compat = lookup("compatibility_level", service, main)?.value ?? "0";
    if (Number.parseFloat(compat) < 2 && !style.param) return { param: style.param, entries: ["mynetworks_style subnet (the default below compatibility_level 2): every subnet the host is attached to"] };
    const s = style.items[0] ?? "host";
    return s === "host" ? { param: undefined, entries: [] } : { param: style.param, entries: [`mynetworks_style ${s}: every ${s} network the host is attached to`] };
  }
  const bad: string[] = [];
  for (const raw of expand(param, service, main).split(/[\s,]+/).filter((w) => w !== "")) {
    if (raw.startsWith("!")) continue; // an exclusion only narrows
    if (raw.startsWith("/") || /^[a-z]+:/i.test(raw)) {
      bad.push(`${raw} (a file or lookup table this reader cannot see)`);
      continue;
    }
    const text = raw.replace(/^\[([^\]]+)\]/, "$1");
    const r = parseRange(text);
    if (!r) bad.push(`${raw} (not an address or network)`);
    else if (!within(r, trusted)) bad.push(raw);
  }
  return { param, entries: bad };
}

function relayDomainsProblem(service: SmtpdService, main: Params, ctx: MailContext): { param: Param; domain: string } | undefined {
  const { items, param } = listOf("relay_domains", service, main);
  if (!param) return undefined;
  for (const d of items) {
    const name = d.replace(/^\./, "").toLowerCase();
    if (/[:/]/.test(d) || !/^[a-z0-9.-]+$/.test(name)) return { param, domain: `${d} (a lookup table or pattern this reader cannot see)` };
    if (name !== ctx.ownDomain && !name.endsWith(`.${ctx.ownDomain}`)) return { param, domain: d };
  }
  return undefined;
}

/** The relay decision of one smtpd service for an outside, unauthenticated client and a foreign recipient. */
export function relayVerdict(service: SmtpdService, main: Params, ctx: MailContext, masterFile = MASTER_CF): RelayVerdict {
  const at = (p: Param | undefined) => ({ file: p?.file ?? masterFile, line: p?.line ?? service.line });
  try {
    const nets = untrustedNetworks(service, main, ctx);
    const relayDomains = relayDomainsProblem(service, main, ctx);
    let openReason: { reason: string; param: Param | undefined } | undefined;
    for (const list of LISTS) {
      const { items, param } = listOf(list, service, main);
      let decided: "permit" | "reject" | undefined;
      for (let k = 0; k < items.length && !decided; k++) {
        const r = items[k]!;
        if (r === "warn_if_reject") {
          k++; // the next restriction only logs
        } else if (r === "reject" || r === "defer") {
          decided = "reject";
        } else if (r === "reject_unauth_destination" || r === "defer_unauth_destination") {
          if (relayDomains) openReason ??= { reason: `relay_domains lists ${relayDomains.domain}, which is not the platform's domain ${ctx.ownDomain}: ${r} lets mail for it through`, param: relayDomains.param };
          else decided = "reject";
        } else if (r === "permit_mynetworks") {
          if (nets.entries.length > 0) {
            decided = "permit";
            openReason ??= { reason: `${list} has permit_mynetworks and mynetworks trusts ${nets.entries.join(", ")}, outside loopback and the tunnel (${ctx.trusted.join(", ")})`, param: nets.param ?? param };
          }
        } else if (ATTACKER_PERMITS.has(r)) {
          decided = "permit";
          openReason ??= { reason: `${list} has ${r}${r === "permit" ? " without any authentication before it" : ""}: any client passes`, param };
        } else if (PASSABLE.has(r) || r === "defer_if_permit" || r === "defer_if_reject") {
          if (WITH_ARGUMENT.has(r)) k++;
        } else {
          throw new Unmodelled(param, `${list}: restriction ${JSON.stringify(r)} is not modelled (lookup tables and policy services can answer OK to anyone)`);
        }
      }
      if (decided === "reject") return { service: service.name, open: false, reason: `${list} rejects the outside client's foreign recipient`, ...at(param) };
    }
    const why = openReason ?? { reason: "no restriction list rejects a foreign recipient (no reject_unauth_destination or defer_unauth_destination)", param: lookup("smtpd_relay_restrictions", service, main) };
    return { service: service.name, open: true, reason: why.reason, ...at(why.param) };
  } catch (e) {
    if (!(e instanceof Unmodelled)) throw e;
    return { service: service.name, open: true, reason: `not understood, so not trusted: ${e.message}`, ...at(e.param) };
  }
}

/**
 * Open-relay findings for the edge's Postfix: one per smtpd service of master.cf that relays
 * for an outside client (main.cf or master.cf and the line that decides it).
 */
export function checkMailRelay(files: ReadonlyMap<string, string>, ctx: MailContext): Finding[] {
  const mainText = files.get(MAIN_CF);
  const masterText = files.get(MASTER_CF);
  const finding = (subject: string, message: string, artifact: string, line?: number): Finding => ({
    id: `open-relay:${subject}`,
    kind: "open-relay",
    severity: "violation",
    subject,
    message,
    layer: "postfix",
    artifact,
    ...(line === undefined ? {} : { line }),
  });
  if (mainText === undefined && masterText === undefined) {
    // The edge always runs the mail services (edge/mail.ts): without the rendered files, Postfix
    // relays by whatever configuration the host has, which nothing verified.
    return [finding(MAIN_CF, `the edge has neither ${MAIN_CF} nor ${MASTER_CF}: Postfix would relay by the host's own configuration, which was not verified (its mynetworks and relay restrictions unknown)`, MAIN_CF)];
  }
  if (mainText === undefined || masterText === undefined) {
    const missing = mainText === undefined ? MAIN_CF : MASTER_CF;
    return [finding(missing, `${missing} is missing beside its companion: the relay decision cannot be read`, missing)];
  }
  let main: Params;
  let services: SmtpdService[];
  try {
    main = parseMainCf(mainText);
    services = parseMasterCf(masterText);
  } catch (e) {
    if (!(e instanceof PostfixParseError)) throw e;
    return [finding(e.file, `cannot read ${e.file} line ${e.line}: ${e.message}`, e.file, e.line)];
  }
  const out: Finding[] = [];
  for (const s of services) {
    const v = relayVerdict(s, main, ctx);
    if (v.open) out.push(finding(`edge-mail smtpd ${s.name}`, `Postfix service ${s.name} (${MASTER_CF} line ${s.line}) relays for an outside, unauthenticated client: ${v.reason} (${v.file} line ${v.line})`, v.file, v.line));
  }
  return out;
}
