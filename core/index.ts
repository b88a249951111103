export { Port, comparePorts, type Protocol } from "./port.js";
export { Zone, type ZoneName } from "./zone.js";
export { AddressPeer, type IPeer } from "./peer.js";
export { Connections, IntentLedger, flowLine, type FlowIntent, type NeverIntent } from "./connections.js";
export { Host, HostDaemon, type HostProps } from "./host.js";
export { Network, type NetworkProps } from "./network.js";
export { Service, type ServiceProps, type CapabilityGrant, type Mount, type PublishedPort, type Healthcheck } from "./service.js";
export { Topology, type PlanWarning } from "./topology.js";
export { EXCEPTION_KINDS, exceptionSchema, type ExceptionGovernance } from "./site-exceptions.js";
export {
  siteSchema,
  type Site,
  type SiteDeclaration,
  type CloudSite,
  type SiteInput,
  type Tenant,
  type Uplink,
  type CloudEngine,
  type ImageRef,
  type ServiceImageName,
  type DeclaredService,
  type Route,
  type OpenbaoIdentity,
} from "./site-schema.js";
export * from "./declaration.js";
export { FORWARDING_SYSCTL_FILE, ONE_SITE_ID, declarationOf, defaultKeyFile, hostDir, openbaoDir, openbaoSite, postgresDir, postgresDirOf, regionsArePlaces, siteOfServer, siteOfService, sysctlDir } from "./sites.js";
export { loadSite, parseSite, SiteError, type SiteProblem } from "./site-loader.js";
export * from "./cidr.js";
export { IPS_ACTION, IPS_DROP_LOG_PREFIX, IPS_FILTERS, IPS_JAILS, IPS_LOGS, IPS_REJECT_BACKEND, IPS_REPEAT_JAIL, IPS_SNI_LOG_TAG, ipsFailRegexes, type IpsJail } from "./ips.js";
export { DOVECOT_PASSDB, DOVECOT_USERDB, MAIL_SECRETS, RSPAMD_ACTIONS, RSPAMD_MILTER } from "./mail.js";
export { dkimRecordValue, KNOT_CONFIG_DIR, KNOT_DNSSEC_POLICY, KNOT_RRL, KNOT_STORAGE_DIR, KNOT_TSIG_INCLUDE, mtaStsPolicy, tsigKeyId, txtStrings, zoneLine, zoneRecords, zoneSoa, type ZoneRecord } from "./dns.js";
export { rng, seedOf } from "./rng.js";
export { type Artifact, sortArtifacts } from "./artifact.js";
export { missingKeyPlaceholder, tunnelAddresses, siteTunnelAddresses, siteNames, wireguardKeys, type TunnelAddresses } from "./site-derived.js";
