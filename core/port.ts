/** A transport port (or range) on one protocol. Value object: compare with `key`. */
export type Protocol = "tcp" | "udp";

export class Port {
  static tcp(port: number): Port {
    return new Port("tcp", port, port);
  }
  static udp(port: number): Port {
    return new Port("udp", port, port);
  }
  static tcpRange(from: number, to: number): Port {
    return new Port("tcp", from, to);
  }
  /** Parses the canonical form produced by `toString()` (`tcp/443`, `udp/1000-2000`). */
  static parse(text: string): Port {
    const m = /^(tcp|udp)\/(\d+)(?:-(\d+))?$/.exec(text.trim());
    if (!m) throw new Error(`not a port: ${JSON.stringify(text)} (expected tcp/N, udp/N or tcp/N-M)`);
    const from = Number(m[2]);
    return new Port(m[1] as Protocol, from, m[3] ? Number(m[3]) : from);
  }

  static readonly SSH = Port.tcp(22);
  static readonly SMTP = Port.tcp(25);
  static readonly DNS_UDP = Port.udp(53);
  static readonly DNS_TCP = Port.tcp(53);
  static readonly HTTP = Port.tcp(80);
  static readonly HTTPS = Port.tcp(443);
  static readonly SMTPS = Port.tcp(465);
  static readonly SUBMISSION = Port.tcp(587);
  static readonly IMAPS = Port.tcp(993);
  static readonly POSTGRES = Port.tcp(5432);
  static readonly VAULT = Port.tcp(8200);
  static readonly WIREGUARD = Port.udp(51820);

  private constructor(
    readonly protocol: Protocol,
    readonly from: number,
    readonly to: number,
  ) {
    for (const p of [from, to]) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) {
        throw new Error(`port ${p} is out of range (expected an integer 1-65535)`);
      }
    }
    if (to < from) throw new Error(`port range ${from}-${to} is reversed`);
  }

  /** Single port number; throws for ranges (callers that need one port say so). */
  get number(): number {
    if (this.from !== this.to) throw new Error(`${this} is a range, not a single port`);
    return this.from;
  }

  contains(protocol: Protocol, port: number): boolean {
    return this.protocol === protocol && port >= this.from && port <= this.to;
  }

  /** Canonical, human form used in reports and rule comments: `tcp/5432`. */
  toString(): string {
    return this.from === this.to ? `${this.protocol}/${this.from}` : `${this.protocol}/${this.from}-${this.to}`;
  }

  get key(): string {
    return this.toString();
  }
}

/** Sort ports by protocol, then number: the order used in every artifact. */
export function comparePorts(a: Port, b: Port): number {
  return a.protocol.localeCompare(b.protocol) || a.from - b.from || a.to - b.to;
}
