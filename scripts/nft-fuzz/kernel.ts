import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { parseNftables } from "../../policies/verifier/nftables.js";
import { FW_LOCAL, generateCase, modelDelivers, rng, type FuzzCase, type FuzzPacket } from "./generate.js";

/*
 * The kernel's side of the nftables differential test: two network namespaces joined by a veth
 * pair (`fzout` in the sender's, `fzin` in the firewall's, which also holds the dummies `fzd1`
 * and `fzd2` to forward to). Each generated ruleset is loaded into the firewall's namespace with
 * `nft -f`, then an observer table (priority 10000, after every generated chain) records the
 * source port of each packet that reaches the end of input or postrouting. A Python sender in
 * the other namespace writes each packet as an Ethernet frame on `fzout` (any source address,
 * checksums computed), so the packets go through the real prerouting, routing, NAT, input,
 * forward and postrouting of the kernel.
 */

const SENDER = String.raw`
import json, socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def l4(p, src, dst, pseudo):
    proto = 6 if p["proto"] == "tcp" else 17
    if proto == 6:
        h = struct.pack("!HHIIBBHHH", p["sport"], p["dport"], 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    else:
        h = struct.pack("!HHHH", p["sport"], p["dport"], 8 + 4, 0) + b"fuzz"
    c = csum(pseudo(proto, len(h)) + h)
    if proto == 17 and c == 0: c = 0xffff
    off = 16 if proto == 6 else 6
    return proto, h[:off] + struct.pack("!H", c) + h[off + 2:]
dst_mac = bytes.fromhex(sys.argv[2].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
src_mac = s.getsockname()[4]
for line in sys.stdin:
    for p in json.loads(line):
        if p["family"] == 4:
            src, dst = socket.inet_pton(socket.AF_INET, p["saddr"]), socket.inet_pton(socket.AF_INET, p["daddr"])
            proto, seg = l4(p, src, dst, lambda pr, n: src + dst + struct.pack("!BBH", 0, pr, n))
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0, 64, proto, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            frame = dst_mac + src_mac + b"\x08\x00" + ip + seg
        else:
            src, dst = socket.inet_pton(socket.AF_INET6, p["saddr"]), socket.inet_pton(socket.AF_INET6, p["daddr"])
            proto, seg = l4(p, src, dst, lambda pr, n: src + dst + struct.pack("!IxxxB", n, pr))
            ip = struct.pack("!IHBB16s16s", 6 << 28, len(seg), proto, 64, src, dst)
            frame = dst_mac + src_mac + b"\x86\xdd" + ip + seg
        s.send(frame)
    print("sent", flush=True)
`;

const OBSERVER = `table inet fzobs {
\tset seen {
\t\ttype inet_service
\t\tflags dynamic
\t\tsize 65535
\t}
\tchain obs_in {
\t\ttype filter hook input priority 10000; policy accept;
\t\tadd @seen { th sport }
\t}
\tchain obs_post {
\t\ttype filter hook postrouting priority 10000; policy accept;
\t\toifname { "fzd1", "fzd2" } add @seen { th sport }
\t}
}
`;

function run(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(args[0]!, args.slice(1), { input, encoding: "utf8" });
  return { code: r.status ?? 1, out: r.stdout ?? "", err: r.stderr ?? "" };
}
function must(args: string[], input?: string): string {
  const r = run(args, input);
  if (r.code !== 0) throw new Error(`${args.join(" ")} failed (${r.code}): ${r.err.trim()}`);
  return r.out;
}

export interface Disagreement {
  readonly ruleset: string;
  readonly packet: FuzzPacket;
  readonly kernel: boolean;
  readonly model: boolean;
  readonly trace: string[];
}

export interface FuzzResult {
  readonly cases: number;
  readonly rulesets: number;
  /** Rulesets `nft -f` refused (the generator's mistakes; their packets are not counted). */
  readonly rejected: number;
  readonly disagreements: Disagreement[];
  readonly seconds: number;
  /** How many packets the kernel delivered (so a run where nothing passes is visible). */
  readonly delivered: number;
}

/** The two namespaces, named after this process so parallel runs cannot collide. */
export class FuzzLab {
  readonly src: string;
  readonly fw: string;
  private readonly dir: string;
  private sender?: ChildProcessWithoutNullStreams;
  private lines?: Interface;
  private waiting: ((line: string) => void)[] = [];

  constructor(tag = `${process.pid}`) {
    this.src = `pnfz-src-${tag}`;
    this.fw = `pnfz-fw-${tag}`;
    this.dir = mkdtempSync(join(tmpdir(), "palisade-nftfuzz-"));
  }

  up(): void {
    this.down(true);
    must(["ip", "netns", "add", this.src]);
    must(["ip", "netns", "add", this.fw]);
    const f = (...a: string[]) => must(["ip", "netns", "exec", this.fw, ...a]);
    const s = (...a: string[]) => must(["ip", "netns", "exec", this.src, ...a]);
    must(["ip", "-n", this.src, "link", "add", "fzout", "type", "veth", "peer", "name", "fzin", "netns", this.fw]);
    for (const k of ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]) f("sysctl", "-qw", k);
    f("ip", "link", "set", "lo", "up");
    f("ip", "addr", "add", `${FW_LOCAL.fzin[0]}/24`, "dev", "fzin");
    f("ip", "addr", "add", `${FW_LOCAL.fzin[1]}/64`, "dev", "fzin", "nodad");
    f("ip", "link", "set", "fzin", "up");
    for (const d of ["fzd1", "fzd2"] as const) {
      // A veth whose peer stays in this namespace: frames leave (the peer discards them, not its MAC).
      f("ip", "link", "add", d, "type", "veth", "peer", "name", `${d}p`);
      f("ip", "addr", "add", `${FW_LOCAL[d][0]}/24`, "dev", d);
      f("ip", "addr", "add", `${FW_LOCAL[d][1]}/64`, "dev", d, "nodad");
      f("ip", "link", "set", `${d}p`, "up");
      f("ip", "link", "set", d, "up");
    }
    f("sysctl", "-qw", "net.ipv4.conf.fzin.rp_filter=0");
    s("ip", "link", "set", "lo", "up");
    s("ip", "addr", "add", "10.200.0.2/24", "dev", "fzout");
    s("ip", "link", "set", "fzout", "up");
    const mac = /link\/ether (\S+)/.exec(f("ip", "link", "show", "fzin"))![1]!;
    const script = join(this.dir, "send.py");
    writeFileSync(script, SENDER);
    this.sender = spawn("ip", ["netns", "exec", this.src, "python3", script, "fzout", mac], { stdio: ["pipe", "pipe", "pipe"] });
    this.lines = createInterface({ input: this.sender.stdout });
    this.lines.on("line", (l) => this.waiting.shift()?.(l));
  }

  /** Loads the ruleset (after a flush) and the observer; false when `nft -f` refuses the ruleset. */
  load(ruleset: string): { ok: boolean; err: string } {
    const file = join(this.dir, "rules.nft");
    writeFileSync(file, ruleset);
    must(["ip", "netns", "exec", this.fw, "nft", "flush", "ruleset"]);
    const r = run(["ip", "netns", "exec", this.fw, "nft", "-f", file]);
    if (r.code !== 0) return { ok: false, err: r.err };
    writeFileSync(join(this.dir, "obs.nft"), OBSERVER);
    must(["ip", "netns", "exec", this.fw, "nft", "-f", join(this.dir, "obs.nft")]);
    return { ok: true, err: "" };
  }

  /** Sends the packets and returns the source ports the observer saw. */
  async send(packets: readonly FuzzPacket[]): Promise<Set<number>> {
    const done = new Promise<string>((resolve) => this.waiting.push(resolve));
    this.sender!.stdin.write(`${JSON.stringify(packets)}\n`);
    await done;
    // The veth delivers in the sender's softirq; a short pause lets the last frames through.
    await new Promise((r) => setTimeout(r, 20));
    const j = JSON.parse(must(["ip", "netns", "exec", this.fw, "nft", "-j", "list", "set", "inet", "fzobs", "seen"])) as { nftables: { set?: { elem?: unknown[] } }[] };
    const elems = j.nftables.find((x) => x.set)?.set?.elem ?? [];
    return new Set(elems.map((e) => (typeof e === "number" ? e : Number((e as { elem?: { val?: number } }).elem?.val))));
  }

  down(quiet = false): void {
    this.sender?.stdin.end();
    if (this.sender?.pid) {
      try {
        process.kill(this.sender.pid);
      } catch {
        /* already gone */
      }
    }
    this.sender = undefined;
    for (const ns of [this.src, this.fw]) {
      const r = run(["ip", "netns", "del", ns]);
      if (r.code !== 0 && !quiet && !/No such file/.test(r.err)) throw new Error(`ip netns del ${ns}: ${r.err}`);
    }
    if (!quiet) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Runs `cases` (ruleset, packet) pairs from `seed`, `perRuleset` packets per loaded ruleset.
 * Source ports identify packets and are never reused within one pair of namespaces (so no
 * conntrack entry of an earlier ruleset is met again): the namespaces are rebuilt every 60,000.
 */
export async function differential(cases: number, seed: number, perRuleset = 50, onProgress?: (r: FuzzResult) => void): Promise<FuzzResult> {
  const r = rng(seed);
  const t0 = process.hrtime.bigint();
  const disagreements: Disagreement[] = [];
  let done = 0;
  let rulesets = 0;
  let rejected = 0;
  let delivered = 0;
  let lab = new FuzzLab();
  let sport = 1024;
  const result = (): FuzzResult => ({ cases: done, rulesets, rejected, disagreements, seconds: Number(process.hrtime.bigint() - t0) / 1e9, delivered });
  try {
    lab.up();
    while (done < cases) {
      const n = Math.min(perRuleset, cases - done);
      if (sport + n > 65535) {
        lab.down();
        lab = new FuzzLab();
        lab.up();
        sport = 1024;
      }
      const c: FuzzCase = generateCase(r, n, sport);
      sport += n;
      const loaded = lab.load(c.ruleset);
      if (!loaded.ok) {
        rejected++;
        continue;
      }
      rulesets++;
      const seen = await lab.send(c.packets);
      const rs = parseNftables("fuzz.nft", c.ruleset);
      for (const p of c.packets) {
        const kernel = seen.has(p.sport);
        if (kernel) delivered++;
        const m = rs.problems.length ? { delivered: false, trace: rs.problems.map((x) => `line ${x.line}: ${x.message}`) } : modelDelivers(rs, p);
        if (m.delivered !== kernel || rs.problems.length) disagreements.push({ ruleset: c.ruleset, packet: p, kernel, model: m.delivered, trace: m.trace });
      }
      done += n;
      onProgress?.(result());
    }
  } finally {
    lab.down();
  }
  return result();
}

export function describeDisagreement(d: Disagreement): string {
  const p = d.packet;
  return [
    `kernel ${d.kernel ? "delivered" : "dropped"}, evaluator ${d.model ? "delivered" : "dropped"}: IPv${p.family} ${p.proto} ${p.saddr} -> ${p.daddr}:${p.dport} (sport ${p.sport}) in on fzin`,
    ...d.trace.map((t) => `  evaluator: ${t}`),
    "ruleset:",
    d.ruleset,
  ].join("\n");
}
