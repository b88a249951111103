#!/usr/bin/env bash
# Installs the real daemons and checkers the test suite runs (Debian packages). Needs root.
# Packages must not auto-start their services on default ports: a policy-rc.d forbids it for
# the duration of the install, and the previous policy (if any) is put back.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root (the test suite's root-only tests skip without these packages)" >&2
  exit 1
fi
PACKAGES=(nftables wireguard-tools wireguard-go haproxy knot knot-dnsutils knot-dnssecutils fail2ban
  python3-pyinotify postfix dovecot-core dovecot-imapd rspamd shellcheck lego pebble curl iproute2
  conntrack openssl chromium util-linux
  postgresql-15 ca-certificates
  docker.io containerd runc busybox-static)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
policy=/usr/sbin/policy-rc.d
backup=""
if [ -e "$policy" ]; then backup=$(mktemp); cp -p "$policy" "$backup"; fi
printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"
restore() { if [ -n "$backup" ]; then mv "$backup" "$policy"; else rm -f "$policy"; fi; }
trap restore EXIT
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
