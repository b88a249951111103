/**
 * Where something lives. Zones matter to the verifier's "exposed to the internet" and to the
 * must-never rule "internet -> anything in the cloud".
 */
export type ZoneName = "internet" | "edge" | "tunnel" | "cloud";

export class Zone {
  static readonly INTERNET = new Zone("internet", "The public internet: anyone.");
  static readonly EDGE = new Zone("edge", "The edge VPS with the static public address.");
  static readonly TUNNEL = new Zone("tunnel", "The WireGuard site-to-site tunnel.");
  static readonly CLOUD = new Zone("cloud", "The private cloud: no public address.");

  private constructor(
    readonly name: ZoneName,
    readonly description: string,
  ) {}

  toString(): string {
    return this.name;
  }
}
