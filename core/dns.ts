/*
 * The edge's Knot DNS fixed shape, shared by its renderer (edge/dns.ts) and the verifier, which
 * requires it of the rendered knot.conf: where the zones are read from, the DNSSEC policy's id,
 * the TSIG include and key ids of the secondaries, the response rate limit.
 */

/** The file, on the edge host, that holds the TSIG keys for zone transfers (never rendered by Palisade). */
export const KNOT_TSIG_INCLUDE = "/etc/palisade/secrets/knot-tsig.conf";
/** Where the container sees the rendered knot directory (bind mount, read-only) and its state volume. */
export const KNOT_CONFIG_DIR = "/config";
export const KNOT_STORAGE_DIR = "/storage";
/** Id of the DNSSEC policy in knot.conf. */
export const KNOT_DNSSEC_POLICY = "palisade";
/** Response rate limiting (mod-rrl): answers per second per source network, and every slip-th one truncated instead of dropped. */
export const KNOT_RRL = { rateLimit: 200, slip: 2 } as const;
/** TSIG key id for one secondary; the key file on the host must define a key with this id. */
export const tsigKeyId = (secondaryId: string) => `tsig-${secondaryId}`;
