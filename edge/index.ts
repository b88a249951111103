import type { Artifact, Topology } from "../core/index.js";
import { renderDns } from "./dns.js";
import { renderFirewall } from "./firewall.js";
import { renderIps } from "./ips.js";
import { renderMail } from "./mail.js";
import { renderProxy } from "./proxy.js";
import { renderSysctl } from "./sysctl.js";

export { declareEdge, EDGE_PORTS } from "./declare.js";
export { EDGE_WG_IFACE, EDGE_DIR } from "./private/edge-facts.js";
export {
  renderFirewall,
  EDGE_FW_TABLE,
  EDGE_BAN_SETS,
  EDGE_DROP_LOG_PREFIX,
  EDGE_OUT_DROP_LOG_PREFIX,
  EDGE_NEW_CONN_RATE,
} from "./firewall.js";
export { renderIps, EDGE_IPS_ACTION, EDGE_JAILS, EDGE_FILTERS, EDGE_RECIDIVE, type EdgeJail, type IpsOptions } from "./ips.js";
export {
  renderProxy,
  edgeRoutes,
  edgeClosedNames,
  EDGE_REJECT_BACKEND,
  EDGE_CLOSED_BACKEND,
  EDGE_SNI_LOG_TAG,
  EDGE_HAPROXY_SOCKET,
} from "./proxy.js";
export {
  renderDns,
  renderZone,
  renderKnotConf,
  txtStrings,
  dkimRecordValue,
  mtaStsPolicy,
  tsigKeyId,
  KNOT_TSIG_INCLUDE,
  KNOT_CONFIG_DIR,
  KNOT_STORAGE_DIR,
  KNOT_DNSSEC_POLICY,
} from "./dns.js";
export { renderSysctl } from "./sysctl.js";
export { renderMail, renderMainCf, renderMasterCf, renderDovecotConf, renderDkimSigning, mailCertPath, MAIL_SECRETS, MAIL_MILTER } from "./mail.js";

/** Every file for the edge host, under `hosts/edge/`. */
export function renderEdge(t: Topology): Artifact[] {
  if (!t.site.publicKeys.dkim && !t.warnings.some((w) => w.id === "dkim-key")) {
    t.warnings.push({
      id: "dkim-key",
      subject: "edge-mail",
      message: "publicKeys.dkim is not set: the zone has no DKIM record and receivers will not verify signed mail; run `palisade keys` and copy the public key into the site file",
    });
  }
  return [renderFirewall(t), ...renderIps(t), renderProxy(t), ...renderDns(t), ...renderMail(t), ...renderSysctl(t)];
}
