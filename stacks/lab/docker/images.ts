/**
 * The images the lab's dockerd runs, built here (no registry is reachable) from the host's own
 * binaries and libraries, `docker import`ed under the names the artifacts use:
 * - `haproxy`: the host's HAProxy (Debian's 2.6) with its libraries, for an image named haproxy:*;
 * - `postgres`: the host's PostgreSQL 15 with an entrypoint that does what the official image's does
 *   on an empty data directory (a cluster, the superuser's password from POSTGRES_PASSWORD, every
 *   /docker-entrypoint-initdb.d hook, then `postgres` listening on every address), for postgres:*;
 * - `idle`: busybox that listens on nothing, for the ACME client (lego answers HTTP-01 only while it
 *   runs; the acme drill runs it in the container's network namespace);
 * - `standin`: every other image: busybox-static listening on exactly the ports its containers
 *   declare (`palisade.listens`), answering any TCP connection with a small HTTP 200 naming the
 *   service. One image serves several containers: each finds its ports by its own address.
 *
 * Each image's root filesystem is a tarball cached in `.palisade/lab-cache/images/`, keyed by a
 * hash of its inputs (the files copied in, with size and mtime, and the scripts), so an unchanged
 * image costs only the import; a changed input builds a new one.
 */
import { createHash } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { mustAsync } from "../proc.js";

export type ImageKind = "haproxy" | "postgres" | "idle" | "standin";

/** What the lab runs for an image name the artifacts use. */
export function imageKind(ref: string): ImageKind {
  const repo = ref.split("@")[0]!.replace(/:[^/:]+$/, "");
  const last = repo.split("/").pop()!;
  if (last === "haproxy") return "haproxy";
  if (last === "postgres") return "postgres";
  if (last === "lego") return "idle";
  return "standin";
}

export interface StandinEntry {
  readonly service: string;
  /** The container's addresses: how one image's instance finds its own ports. */
  readonly addresses: readonly string[];
  /** `tcp/8080` … (udp ports are listed but not opened: busybox nc has no UDP listener). */
  readonly listens: readonly string[];
}

export interface ImageSpec {
  readonly ref: string;
  readonly kind: ImageKind;
  /** Stand-in images only: their containers. */
  readonly standins?: readonly StandinEntry[];
}

export interface BuiltImage {
  readonly ref: string;
  readonly kind: ImageKind;
  readonly tar: string;
  /** Dockerfile-style changes given to `docker import`. */
  readonly changes: readonly string[];
  readonly cached: boolean;
}

const BUSYBOX = "/bin/busybox";
const HAPROXY = "/usr/sbin/haproxy";
const PG_BIN = "/usr/lib/postgresql/15/bin";
const PG_LIB = "/usr/lib/postgresql/15/lib";
const PG_SHARE = "/usr/share/postgresql/15";
const PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const APPLETS = ["sh", "nc", "ip", "sleep", "cat", "printf", "kill", "cp", "chmod", "ls", "echo", "test", "[", "mkdir", "rm", "true", "wait"];

/** Stand-in: listen on this container's declared TCP ports; exit cleanly on SIGTERM. */
const STANDIN_RUN = String.raw`#!/bin/sh
# palisade lab stand-in: listens on exactly the ports its container declares (palisade.listens).
trap 'kill 0 2>/dev/null; exit 0' TERM INT
addrs=$(ip -4 addr)
conf=""
for f in /standin/by-ip/*; do
  a=${"${f##*/}"}
  case "$addrs" in *"inet $a/"*) conf=$f ;; esac
done
if [ -z "$conf" ]; then echo "stand-in: none of my addresses has an entry in /standin/by-ip" >&2; exit 1; fi
read -r service < "$conf"
export STANDIN="$service"
for p in $(sed -n 2p "$conf" 2>/dev/null || tail -n +2 "$conf"); do
  case "$p" in tcp/*) nc -ll -p "${"${p#tcp/}"}" -e /standin/respond & ;; esac
done
echo "stand-in $service listening: $(tail -n +2 "$conf")"
while :; do wait; sleep 3600 & wait; done
`;

/** One connection: read the request head (up to the blank line, 2 s at most), answer, close. */
const STANDIN_RESPOND = String.raw`#!/bin/sh
cr=$(printf '\r')
while read -r -t 2 line; do line=${"${line%$cr}"}; [ -z "$line" ] && break; done
body="palisade-lab stand-in: $STANDIN"
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s\n' $((${"${#body}"} + 1)) "$body"
`;

/** What the official postgres image's entrypoint does on an empty data directory, with a template cluster (initdb ran at build time). */
const PG_ENTRYPOINT = String.raw`#!/bin/sh
# palisade lab: the official postgres image's entrypoint, for the host's PostgreSQL 15.
set -eu
export PGDATA="${"${PGDATA:-/var/lib/postgresql/data}"}" POSTGRES_USER="${"${POSTGRES_USER:-postgres}"}"
if [ "${"${1:-postgres}"}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  cp -a /usr/share/palisade-lab/pgdata/. "$PGDATA/"
  chmod 700 "$PGDATA"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  postgres -D "$PGDATA" -c listen_addresses= -c fsync=off &
  pid=$!
  until pg_isready -q -h /var/run/postgresql; do sleep 0.05; done
  if [ -n "${"${POSTGRES_PASSWORD:-}"}" ]; then
    psql -X -q -v ON_ERROR_STOP=1 --username postgres --dbname postgres -v pw="$POSTGRES_PASSWORD" <<'SQL'
ALTER USER postgres PASSWORD :'pw';
SQL
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) echo "running $f"; psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$f" ;;
      *) [ -e "$f" ] && echo "ignoring $f" ;;
    esac
  done
  kill -INT "$pid"; wait "$pid" || true
  echo "init complete"
fi
[ "${"${1:-postgres}"}" = postgres ] && [ $# -gt 0 ] && shift
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
`;

/** A file and the shared libraries it needs (ldd), real paths. */
async function withLibraries(files: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  const lists = await Promise.all(files.map((f) => mustAsync(["ldd", f]).catch(() => "")));
  for (const [i, text] of lists.entries()) {
    out.add(files[i]!);
    for (const m of text.matchAll(/(\/\S+) \(0x/g)) out.add(m[1]!);
  }
  return [...out].sort();
}

/** Copies a host file into the root at the same path (and the real file behind a symlink, at its path too). */
function copyIn(root: string, file: string): void {
  const dest = join(root, file);
  mkdirSync(dirname(dest), { recursive: true });
  if (existsSync(dest)) return;
  if (lstatSync(file).isSymbolicLink()) {
    const real = realpathSync(file);
    copyIn(root, real);
    symlinkSync(real, dest);
    return;
  }
  copyFileSync(file, dest);
  chmodSync(dest, statSync(file).mode & 0o7777);
}

function fileDigest(h: ReturnType<typeof createHash>, files: readonly string[]): void {
  for (const f of files) {
    const s = statSync(f);
    h.update(`${f}\0${s.size}\0${s.mtimeMs}\0`);
  }
}

function busyboxRoot(root: string): void {
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "usr/bin"]) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  for (const a of [...APPLETS, "sed", "tail", "id", "hostname", "env", "chown"]) if (!existsSync(join(root, "bin", a))) symlinkSync("busybox", join(root, "bin", a));
  chmodSync(join(root, "tmp"), 0o1777);
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
}

interface Recipe {
  readonly key: string;
  readonly changes: readonly string[];
  build(root: string): Promise<void>;
}

async function recipe(spec: ImageSpec): Promise<Recipe> {
  const h = createHash("sha256").update(`palisade-lab-image v1\0${spec.kind}\0`);
  fileDigest(h, [BUSYBOX]);
  switch (spec.kind) {
    case "standin": {
      const entries = [...(spec.standins ?? [])].sort((a, b) => a.service.localeCompare(b.service));
      h.update(STANDIN_RUN).update(STANDIN_RESPOND).update(JSON.stringify(entries));
      return {
        key: h.digest("hex").slice(0, 16),
        changes: [PATH_ENV, 'CMD ["/standin/run"]'],
        async build(root) {
          busyboxRoot(root);
          mkdirSync(join(root, "standin/by-ip"), { recursive: true });
          writeFileSync(join(root, "standin/run"), STANDIN_RUN, { mode: 0o755 });
          writeFileSync(join(root, "standin/respond"), STANDIN_RESPOND, { mode: 0o755 });
          for (const e of entries) for (const a of e.addresses) writeFileSync(join(root, "standin/by-ip", a), `${e.service}\n${e.listens.join(" ")}\n`);
        },
      };
    }
    case "idle":
      return {
        key: h.digest("hex").slice(0, 16),
        changes: [PATH_ENV, 'CMD ["/bin/sh", "-c", "trap \'exit 0\' TERM INT; while :; do sleep 3600 & wait; done"]'],
        async build(root) {
          busyboxRoot(root);
        },
      };
    case "haproxy": {
      const files = await withLibraries([HAPROXY]);
      fileDigest(h, files);
      return {
        key: h.digest("hex").slice(0, 16),
        changes: [PATH_ENV, 'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'],
        async build(root) {
          busyboxRoot(root);
          for (const f of files) copyIn(root, f);
          mkdirSync(join(root, "usr/local/sbin"), { recursive: true });
          symlinkSync(HAPROXY, join(root, "usr/local/sbin/haproxy"));
          for (const d of ["usr/local/etc/haproxy", "etc/haproxy/certs", "var/run/haproxy", "var/lib/haproxy"]) mkdirSync(join(root, d), { recursive: true });
          // The official image's user (99) owns its runtime directory: a new volume there copies it.
          chownSync(join(root, "var/run/haproxy"), 99, 99);
          writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nhaproxy:x:99:99:haproxy:/var/lib/haproxy:/bin/false\n");
        },
      };
    }
    case "postgres": {
      const bins = ["postgres", "psql", "pg_isready", "pg_ctl"].map((b) => join(PG_BIN, b));
      // Without the JIT provider: it alone pulls in libLLVM and libz3 (~130 MB); the server runs without JIT when it is absent.
      const libs = readdirSync(PG_LIB).filter((n) => n.endsWith(".so") && !n.startsWith("llvmjit")).map((n) => join(PG_LIB, n));
      const files = await withLibraries([...bins, ...libs]);
      fileDigest(h, files);
      h.update(PG_ENTRYPOINT);
      return {
        key: h.digest("hex").slice(0, 16),
        changes: [PATH_ENV.replace("ENV PATH=", `ENV PATH=${PG_BIN}:`), "ENV TZ=UTC", "ENV PGDATA=/var/lib/postgresql/data", 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]', 'CMD ["postgres"]'],
        async build(root) {
          busyboxRoot(root);
          for (const f of files) copyIn(root, f);
          cpSync(PG_SHARE, join(root, PG_SHARE), { recursive: true, dereference: true });
          for (const z of ["UTC", "Etc/UTC"]) copyIn(root, join("/usr/share/zoneinfo", z));
          mkdirSync(join(root, "usr/local/bin"), { recursive: true });
          writeFileSync(join(root, "usr/local/bin/docker-entrypoint.sh"), PG_ENTRYPOINT, { mode: 0o755 });
          writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n");
          writeFileSync(join(root, "etc/group"), "root:x:0:\npostgres:x:999:\n");
          for (const d of ["var/lib/postgresql/data", "var/run/postgresql", "docker-entrypoint-initdb.d", "usr/share/palisade-lab"]) mkdirSync(join(root, d), { recursive: true });
          // The template cluster: initdb once at build time (as the host's postgres user), owned by 999 in the
          // image; 1 MB WAL segments (not 16) keep the image and each first start small.
          const tmp = mkdtempSync(join(tmpdir(), "palisade-lab-initdb-"));
          chmodSync(tmp, 0o755);
          const data = join(tmp, "data");
          mkdirSync(data);
          await mustAsync(["chown", "postgres:postgres", data]);
          await mustAsync(["runuser", "-u", "postgres", "--", join(PG_BIN, "initdb"), "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C", "--wal-segsize=1"], { env: { ...process.env, TZ: "UTC" } });
          await mustAsync(["cp", "-a", data, join(root, "usr/share/palisade-lab/pgdata")]);
          rmSync(tmp, { recursive: true, force: true });
          await mustAsync(["chown", "-R", "999:999", join(root, "usr/share/palisade-lab/pgdata"), join(root, "var/lib/postgresql"), join(root, "var/run/postgresql")]);
          // As the official image: its socket directory is world-writable (a tmpfs there copies the mode, not the owner).
          chmodSync(join(root, "var/run/postgresql"), 0o3777);
        },
      };
    }
  }
}

/**
 * Builds (or finds in the cache) the root filesystem tarball of each image. Tarballs of the
 * host-binary kinds whose inputs changed (an upgraded package) are removed from the cache; stand-in
 * tarballs (2 MB, one per platform's image) stay, so several platforms share one cache.
 */
export async function buildImages(specs: readonly ImageSpec[], cacheDir: string): Promise<BuiltImage[]> {
  mkdirSync(cacheDir, { recursive: true });
  const built = await Promise.all(
    specs.map(async (spec) => {
      const r = await recipe(spec);
      const tar = join(cacheDir, `${spec.kind}-${r.key}.tar`);
      if (existsSync(tar)) return { ref: spec.ref, kind: spec.kind, tar, changes: r.changes, cached: true };
      const root = mkdtempSync(join(tmpdir(), `palisade-lab-rootfs-${spec.kind}-`));
      try {
        await r.build(root);
        const part = `${tar}.${process.pid}.part`;
        await mustAsync(["tar", "-C", root, "--numeric-owner", "-cf", part, "."], { timeoutMs: 120_000 });
        renameSync(part, tar);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
      return { ref: spec.ref, kind: spec.kind, tar, changes: r.changes, cached: false };
    }),
  );
  const current = new Set(built.map((b) => b.tar));
  for (const name of readdirSync(cacheDir)) {
    const file = join(cacheDir, name);
    if (/^(haproxy|postgres|idle)-[0-9a-f]{16}\.tar$/.test(name) && !current.has(file) && built.some((b) => name.startsWith(`${b.kind}-`))) rmSync(file, { force: true });
  }
  return built;
}

/** The tarball's bytes (for `POST /images/create?fromSrc=-`). */
export function readTar(tar: string): Buffer {
  return readFileSync(tar);
}
