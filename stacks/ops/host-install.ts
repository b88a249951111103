import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Artifact, Site } from "../../core/index.js";
import { CLOUD_WG_IFACE, EDGE_WG_IFACE, WG_PRIVATE_KEY_PATH } from "../../tunnel/index.js";
import { siteKeys } from "./keys.js";

/*
 * What `palisade deploy` puts on a host before its engine applies the host's stack:
 *
 * - every rendered file of `out/hosts/<host>/` at `/etc/palisade/<the same relative path>`: the
 *   containers' bind mounts read them there (one rule, no per-file table: `hosts/edge/knot/` is
 *   `/etc/palisade/knot/`, the directory edge-dns mounts);
 * - the host's private keys (`palisade keys`, those whose `host` is this host) at
 *   `/etc/palisade/secrets/<file>`, mode 0600 in a 0700 directory;
 * - each rendered sysctl drop-in (`sysctl.d/*.conf`, the edge's forwarding on several sites) linked
 *   from /etc/sysctl.d/ under its own name, so the kernel reads it at boot; a link to a drop-in no
 *   longer rendered is removed (the running kernel keeps the value until a reboot or `sysctl -w`);
 * - then the host-level daemons, which run outside Docker, take the new files: the firewall
 *   (`nft -c` first, then `nft -f`, which replaces only Palisade's own table), the kernel settings
 *   (`sysctl -p` of each drop-in, in the order sysctl reads them: forwarding only once the forward
 *   chain is loaded, and before the tunnel carries anything) and the tunnel (`wg syncconf` when the
 *   interface is up, `wg-quick up` when it is not).
 *
 * All of it is one POSIX sh script, streamed to `ssh HOST sh -s` on stdin: the keys travel in the
 * SSH session only, never on a command line, in out/ or in a temporary file on this machine. Each
 * file is written next to its target and renamed over it (a reader never sees half a file). The
 * script records what it installed in `/etc/palisade/.palisade-installed` and removes files it
 * installed before that are no longer rendered (a removed tenant's SQL); it never removes a key
 * or anything it did not install. No timestamps: the same plan gives the same script.
 */

/** Where a host's rendered files and keys live. */
export const HOST_CONFIG_ROOT = "/etc/palisade";
/** Where the kernel reads sysctl drop-ins at boot; each rendered one is linked from here. */
export const SYSCTL_BOOT_DIR = "/etc/sysctl.d";
/** The rendered sysctl drop-ins of a host's files, in the order sysctl reads them (by name). */
export function sysctlDropIns(rendered: readonly HostFile[]): HostFile[] {
  return rendered.filter((f) => /^sysctl\.d\/[^/]+\.conf$/.test(f.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
/** The list of rendered files the last install put under HOST_CONFIG_ROOT (relative paths). */
export const INSTALLED_LIST = ".palisade-installed";

export interface HostFile {
  /** Relative to HOST_CONFIG_ROOT. */
  readonly path: string;
  readonly content: string;
  /** Octal, e.g. 0o644. */
  readonly mode: number;
}

/** The rendered files of one host, at their paths under HOST_CONFIG_ROOT. Scripts are executable. */
export function renderedHostFiles(artifacts: readonly Artifact[], host: string): HostFile[] {
  const prefix = `hosts/${host}/`;
  return artifacts
    .filter((a) => a.path.startsWith(prefix))
    .map((a) => ({ path: a.path.slice(prefix.length), content: a.content, mode: a.path.endsWith(".sh") ? 0o755 : 0o644 }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The key files of `palisade keys` that this host reads. deploy's preconditions have checked
 * that each exists; a missing one here is a bug, and throws.
 */
export function hostKeyFiles(site: Site, secretsDir: string, host: string): HostFile[] {
  return siteKeys(site)
    .filter((k) => k.host === host)
    .map((k) => ({ path: `secrets/${k.file}`, content: readFileSync(join(secretsDir, k.file), "utf8"), mode: 0o600 }));
}

export interface InstallScriptOptions {
  readonly host: string;
  readonly rendered: readonly HostFile[];
  readonly keys: readonly HostFile[];
  /** Load the firewall and sync the tunnel after the files are in place. */
  readonly reload: boolean;
  /**
   * The host's WireGuard private key file in the secrets directory, as its rendered conf's PostUp
   * reads it (a site's keyFile + `.key`). @default the edge's or the one-site cloud's
   */
  readonly wireguardKeyFile?: string;
}

/** The edge's tunnel is wg-edge; every private-cloud site's host (cloud, or a site's id) has wg-cloud. */
const wgInterface = (host: string) => (host === "edge" ? EDGE_WG_IFACE : CLOUD_WG_IFACE);

/** A here-document body: base64 in lines of 76, so no line of the content can end it early. */
function base64Lines(content: string): string {
  return (Buffer.from(content, "utf8").toString("base64").match(/.{1,76}/g) ?? []).join("\n");
}

const SAFE_PATH = /^[A-Za-z0-9._@+-]+(\/[A-Za-z0-9._@+-]+)*$/;

/**
 * The install script for one host. `sh -s -- ROOT` installs under ROOT instead of / (the tests do
 * that, without `reload`).
 */
export function hostInstallScript(o: InstallScriptOptions): string {
  for (const f of [...o.rendered, ...o.keys]) {
    if (!SAFE_PATH.test(f.path) || f.path.split("/").includes("..")) throw new Error(`host file ${JSON.stringify(f.path)}: not a plain relative path`);
  }
  const dropIns = sysctlDropIns(o.rendered);
  const put = (f: HostFile) => [`put ${f.mode.toString(8).padStart(4, "0")} '${f.path}' <<'PALISADE_EOF'`, base64Lines(f.content), "PALISADE_EOF"].join("\n");
  const lines = [
    "#!/bin/sh",
    `# Palisade: installs the rendered files and private keys of host ${o.host} (streamed by palisade deploy; not kept).`,
    "set -eu",
    "# Directories 0755: the containers' non-root users (knot, haproxy) must traverse them.",
    "umask 022",
    `P="\${1:-}${HOST_CONFIG_ROOT}"`,
    'mkdir -p "$P"',
    'chmod 0755 "$P"',
    'mkdir -p "$P/secrets"',
    'chmod 0700 "$P/secrets"',
    "",
    "# put MODE PATH: the base64 on stdin becomes $P/PATH, written beside it (readable by no one",
    "# else until its mode is set) and renamed over it.",
    "put() {",
    '  mkdir -p "$(dirname "$P/$2")"',
    '  (umask 077 && base64 -d > "$P/$2.palisade-new")',
    '  chmod "$1" "$P/$2.palisade-new"',
    '  mv -f "$P/$2.palisade-new" "$P/$2"',
    "}",
    "",
    `# ${o.keys.length} private key file(s), never listed, never removed by this script`,
    ...o.keys.map(put),
    "",
    `# ${o.rendered.length} rendered file(s)`,
    ...o.rendered.map(put),
    "",
    "# Files this script installed last time and the plan no longer renders.",
    `cat > "$P/${INSTALLED_LIST}.palisade-new" <<'PALISADE_EOF'`,
    ...o.rendered.map((f) => f.path),
    "PALISADE_EOF",
    `if [ -f "$P/${INSTALLED_LIST}" ]; then`,
    "  while IFS= read -r old; do",
    `    case "$old" in ''|/*|*..*|secrets/*) continue ;; esac`,
    `    grep -qxF -- "$old" "$P/${INSTALLED_LIST}.palisade-new" || rm -f -- "$P/$old"`,
    `  done < "$P/${INSTALLED_LIST}"`,
    "fi",
    `chmod 0644 "$P/${INSTALLED_LIST}.palisade-new"`,
    `mv -f "$P/${INSTALLED_LIST}.palisade-new" "$P/${INSTALLED_LIST}"`,
    "",
    `# sysctl drop-ins: linked from ${SYSCTL_BOOT_DIR} (read at boot); links to drop-ins no longer rendered go.`,
    `S="\${1:-}${SYSCTL_BOOT_DIR}"`,
    'for l in "$S"/*.conf; do',
    '  [ -L "$l" ] || continue',
    `  case "$(readlink "$l")" in ${HOST_CONFIG_ROOT}/sysctl.d/*) [ -e "$P/sysctl.d/\${l##*/}" ] || rm -f -- "$l" ;; esac`,
    "done",
    ...(dropIns.length ? ['mkdir -p "$S"', ...dropIns.map((f) => `ln -sfn '${HOST_CONFIG_ROOT}/${f.path}' "$S/${f.path.slice("sysctl.d/".length)}"`)] : []),
  ];
  const has = (p: string) => o.rendered.some((f) => f.path === p);
  const iface = wgInterface(o.host);
  if (o.reload) {
    lines.push("", "# The host-level daemons take the new files.");
    if (has("nftables.conf")) {
      lines.push('nft -c -f "$P/nftables.conf"', 'nft -f "$P/nftables.conf"', `echo "palisade: ${o.host}: firewall loaded"`);
    }
    for (const f of dropIns) lines.push(`sysctl -p "$P/${f.path}"`, `echo "palisade: ${o.host}: kernel settings of ${f.path} applied"`);
    const keyPath = o.wireguardKeyFile ? `${dirname(WG_PRIVATE_KEY_PATH.edge)}/${o.wireguardKeyFile}` : (WG_PRIVATE_KEY_PATH as Record<string, string>)[o.host];
    if (iface && keyPath && has(`wireguard/${iface}.conf`)) {
      lines.push(
        `if ip link show dev ${iface} >/dev/null 2>&1; then`,
        `  wg-quick strip "$P/wireguard/${iface}.conf" > "$P/wireguard/.${iface}.stripped"`,
        `  wg syncconf ${iface} "$P/wireguard/.${iface}.stripped"`,
        `  rm -f "$P/wireguard/.${iface}.stripped"`,
        `  wg set ${iface} private-key ${keyPath}`,
        `  echo "palisade: ${o.host}: tunnel ${iface} synced"`,
        "else",
        `  wg-quick up "$P/wireguard/${iface}.conf"`,
        `  echo "palisade: ${o.host}: tunnel ${iface} up"`,
        "fi",
      );
    }
  }
  lines.push(`echo "palisade: ${o.host}: ${o.rendered.length} file(s) and ${o.keys.length} key(s) in $P"`, "");
  return lines.join("\n");
}

/** The remote command: the script on stdin, run as root (directly, or through sudo without a prompt). */
export const REMOTE_INSTALL_COMMAND = 'if [ "$(id -u)" -eq 0 ]; then exec sh -s; else exec sudo -n sh -s; fi';
