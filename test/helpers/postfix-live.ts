import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "./paths.js";

/*
 * The real Postfix running a rendered main.cf and master.cf, in a network namespace of its own, for
 * the relay differential test. Lab-only rewrites, each forced by the lab and none touching a relay
 * decision:
 * - queue and data directories, the log file and the TLS certificate move into a temp dir (the
 *   rendered paths are the edge host's; the certificate is a throwaway self-signed one);
 * - the milters go (no rspamd here; a milter never widens relaying);
 * - submission and smtps offer no SASL (no Dovecot auth socket here: smtpd exits when it cannot
 *   reach it). The probe is an unauthenticated client, for which permit_sasl_authenticated never
 *   matches whether or not SASL is offered.
 * The namespace's net.unix.max_dgram_qlen is raised to 512: a fresh namespace has 10, and Postfix's
 * daemons, logging to postlogd over a datagram socket, block on a full queue at startup.
 */

const POSTFIX = "/usr/sbin/postfix";
const PROBE = join(ROOT, "test/helpers/smtp-relay-probe.mjs");

/** One SMTP dialogue of the probe script, as it printed it. */
export interface RelayDialogue {
  readonly source: string;
  readonly port: number;
  readonly replies: readonly string[];
  readonly error?: string;
}

/** What the RCPT TO reply says of the relay decision (restriction lists run client, helo, sender, relay, recipient). */
export type RelayOutcome = "relayed" | "refused" | "inconclusive";

export function relayOutcome(d: RelayDialogue): RelayOutcome {
  const rcpt = d.replies.length >= 4 ? d.replies.at(-1)! : undefined;
  if (!rcpt) {
    // The session ended before RCPT: a server that will not take MAIL (TLS or authentication
    // required, a configuration error) relays nothing.
    const last = d.replies.at(-1) ?? "";
    return /^[45]\d\d/.test(last) ? "refused" : "inconclusive";
  }
  if (/^2\d\d/.test(rcpt)) return "relayed";
  if (/Relay access denied|Recipient address rejected: Access denied/.test(rcpt)) return "refused";
  // The recipient restrictions run after the relay restrictions: a rejection there means the relay stage let it through.
  if (/Recipient address rejected/.test(rcpt)) return "relayed";
  if (/^4\d\d .*Server configuration (error|problem)/i.test(rcpt)) return "refused";
  return "inconclusive";
}

/** `name = value` definitions replaced in place (each earlier definition and its continuation lines dropped). */
function setParams(mainCf: string, values: Readonly<Record<string, string>>): string {
  const out: string[] = [];
  let dropping = false;
  for (const line of mainCf.split("\n")) {
    if (dropping && /^[ \t]/.test(line)) continue;
    const name = /^([A-Za-z0-9_]+)\s*=/.exec(line)?.[1];
    dropping = name !== undefined && name in values;
    if (!dropping) out.push(line);
  }
  const text = out.join("\n").replace(/\n*$/, "\n");
  return text + Object.entries(values).map(([k, v]) => `${k} = ${v}\n`).join("");
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
const run = promisify(execFile);

export class LivePostfix {
  private constructor(
    readonly ns: string,
    readonly dir: string,
    readonly server: string,
    readonly server6: string,
  ) {}

  /**
   * Starts Postfix on `mainCf`/`masterCf` in a new namespace `ns` whose loopback carries the server
   * address and every client address given (each as a /24 or /64, so that `mynetworks_style =
   * subnet` has subnets to trust, as on a real host). Resolves once every inet service listens.
   */
  static async start(ns: string, mainCf: string, masterCf: string, clients: readonly string[], tls: { cert: string; key: string }): Promise<LivePostfix> {
    const dir = tempDir("postfix-live");
    chmodSync(dir, 0o755); // the postfix user opens its data directory below it
    for (const d of ["conf", "queue", "data"]) mkdirSync(join(dir, d));
    chownSync(join(dir, "data"), Number(execFileSync("id", ["-u", "postfix"]).toString().trim()), 0);
    writeFileSync(
      join(dir, "conf/main.cf"),
      setParams(mainCf, {
        queue_directory: join(dir, "queue"),
        data_directory: join(dir, "data"),
        smtpd_milters: "",
        non_smtpd_milters: "",
        maillog_file: join(dir, "maillog"),
        maillog_file_prefixes: dir,
        smtpd_tls_cert_file: tls.cert,
        smtpd_tls_key_file: tls.key,
      }),
    );
    writeFileSync(join(dir, "conf/master.cf"), masterCf.replace(/-o smtpd_sasl_auth_enable=yes/g, "-o smtpd_sasl_auth_enable=no"));
    const server = "198.18.25.1";
    const server6 = "2001:db8:25::1";
    spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    ip("netns", "add", ns);
    const live = new LivePostfix(ns, dir, server, server6);
    try {
      ip("-n", ns, "link", "set", "lo", "up");
      ip("netns", "exec", ns, "sysctl", "-qw", "net.unix.max_dgram_qlen=512");
      ip("-n", ns, "addr", "add", `${server}/24`, "dev", "lo");
      ip("-n", ns, "addr", "add", `${server6}/64`, "dev", "lo", "nodad");
      for (const c of clients) ip("-n", ns, "addr", "add", c.includes(":") ? `${c}/64` : `${c}/24`, "dev", "lo", ...(c.includes(":") ? ["nodad"] : []));
      // postfix start reports through a terminal only: `script` gives it one.
      await run("ip", ["netns", "exec", ns, "script", "-qec", `${POSTFIX} -c ${join(dir, "conf")} start`, "/dev/null"]).catch((e: { code?: number; stdout?: string }) => {
        throw new Error(`postfix start failed (exit ${e.code}):\n${e.stdout ?? ""}`);
      });
      await live.waitListening();
      return live;
    } catch (e) {
      live.stop();
      throw e;
    }
  }

  /** The TCP ports the namespace listens on: what master.cf made Postfix open, read from the kernel. */
  async listening(): Promise<number[]> {
    const out = (await run("ip", ["netns", "exec", this.ns, "ss", "-Hltn"], { encoding: "utf8" })).stdout;
    return [...new Set(out.split("\n").flatMap((l) => /:(\d+)\s/.exec(l.split(/\s+/)[3] + " ")?.[1] ?? []).map(Number))].sort((a, b) => a - b);
  }

  private async waitListening(): Promise<void> {
    let last: number[] = [];
    for (let i = 0; i < 50; i++) {
      const now = await this.listening();
      // master opens every inet listener before it forks anything; two equal readings mean it is done.
      if (now.length > 0 && now.join() === last.join()) return;
      last = now;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`postfix in ${this.ns} opened no port within 5 s`);
  }

  /** One unauthenticated dialogue per (source, port), in parallel, inside the namespace. */
  async probe(sources: readonly string[], ports: readonly number[], sender: string, rcpt: string): Promise<RelayDialogue[]> {
    const probes = sources.flatMap((source) => ports.map((port) => ({ source, host: source.includes(":") ? this.server6 : this.server, port, tls: port === 465 ? "implicit" : "auto", sender, rcpt })));
    const r = await run("ip", ["netns", "exec", this.ns, process.execPath, PROBE, JSON.stringify(probes)], { encoding: "utf8", timeout: 30_000 });
    return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as RelayDialogue);
  }

  stop(): void {
    spawnSync("ip", ["netns", "exec", this.ns, POSTFIX, "-c", join(this.dir, "conf"), "stop"], { stdio: "ignore" });
    // Whatever did not stop (a daemon still starting) is killed, every process of the namespace, then the namespace goes.
    const pids = spawnSync("ip", ["netns", "pids", this.ns], { encoding: "utf8" }).stdout.split("\n").filter((p) => /^\d+$/.test(p));
    for (const pid of pids) spawnSync("kill", ["-9", pid], { stdio: "ignore" });
    spawnSync("ip", ["netns", "del", this.ns], { stdio: "ignore" });
  }
}

/** A throwaway self-signed certificate for the lab's smtpd (never a platform key). */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = tempDir("postfix-cert");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=relay-lab.invalid", "-days", "1"], { stdio: "ignore" });
  return { cert, key };
}
