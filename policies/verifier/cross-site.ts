import type { Intent } from "../intent.js";
import { ipSpec } from "./addr.js";
import { probePorts } from "./checks.js";
import { evaluateHooks } from "./nftables.js";
import type { Finding } from "./report-model.js";
import { tunnelIface, v4, type SiteModel } from "./site-model.js";

/*
 * Nothing crosses between sites but the declared flows. The relaying host (the edge, whose
 * tunnel holds every site's peer) must forward from one site's tunnel address to another's only
 * on the ports of a declared flow between containers of those two sites: each other port its
 * forward chain accepts is a finding on the rule that accepts it, even where a site firewall
 * still blocks it (each layer must hold on its own).
 */
export function checkCrossSiteForwarding(m: SiteModel, intent: Intent): Finding[] {
  const sites = [...m.hosts.values()].filter((h) => h.zone === "cloud" && v4(h.tunnel).length > 0);
  if (sites.length < 2) return [];
  const relays = [...m.hosts.values()].filter((h) => h.zone === "edge" && h.nft);
  const hostOf = new Map(intent.peers.map((p) => [p.id, p.host]));
  const declared = new Set(intent.flows.map((f) => `${hostOf.get(f.from)}>${hostOf.get(f.to)}>${f.port}`));
  const ports = probePorts(m);
  const out: Finding[] = [];
  for (const relay of relays) {
    for (const a of sites) {
      for (const b of sites) {
        if (a === b) continue;
        for (const port of ports) {
          const text = `${port.protocol}/${port.port}`;
          if (declared.has(`${a.id}>${b.id}>${text}`)) continue;
          const r = evaluateHooks(relay.nft!, ["prerouting", "forward", "postrouting"], {
            family: 4,
            saddr: ipSpec(v4(a.tunnel)[0]!),
            daddr: ipSpec(v4(b.tunnel)[0]!),
            proto: port.protocol,
            dport: port.port,
            iif: tunnelIface(relay),
            oif: tunnelIface(relay),
          });
          if (r.verdict !== "accept") continue;
          const decided = r.steps.find((s) => s.hook === "forward") ?? r.steps[r.steps.length - 1]!;
          out.push({
            id: `cross-site:${relay.id}:${a.id}>${b.id}:${text}`,
            kind: "unexpected-route",
            severity: "violation",
            subject: `${a.id} => ${b.id} : ${text} through ${relay.id}`,
            message: `${relay.nftPath} line ${decided.result.line ?? "?"}: ${relay.id} forwards ${text} from site ${a.id} to site ${b.id}, and no declared flow between their containers uses it (${decided.result.construct})`,
            layer: `nftables:${relay.id}`,
            artifact: relay.nftPath,
            line: decided.result.line || undefined,
            construct: decided.result.construct,
          });
        }
      }
    }
  }
  return out;
}
