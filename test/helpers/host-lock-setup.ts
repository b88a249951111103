import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

/*
 * The host tests use names that are global to the machine: network namespaces, wireguard-go's UAPI
 * sockets (/var/run/wireguard/<ifname>.sock is shared by every namespace), loopback ports, dockerd
 * run directories. Inside one `vitest run` they are serial (fileParallelism: false); this lock keeps
 * a second run on the same machine (another clone, a CI job beside a developer's run) from starting
 * its host tests until the first one's are done, instead of both failing on each other's leftovers.
 * A lock whose owner died is taken over.
 */
const LOCK = "/tmp/palisade-host-tests.lock";
const WAIT_MS = 45 * 60_000;

function ownerAlive(): boolean {
  let pid = 0;
  try {
    pid = Number(readFileSync(`${LOCK}/pid`, "utf8"));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tryTake(): boolean {
  try {
    mkdirSync(LOCK);
  } catch {
    return false;
  }
  writeFileSync(`${LOCK}/pid`, String(process.pid));
  return true;
}

export default async function setup(): Promise<() => void> {
  const deadline = Date.now() + WAIT_MS;
  let told = false;
  while (!tryTake()) {
    // A lock directory without a live owner (a killed run, or one caught between mkdir and the pid file
    // for longer than a poll) is stale.
    if (!ownerAlive()) {
      await new Promise((r) => setTimeout(r, 500));
      if (!ownerAlive()) rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${LOCK} is held by a live process for more than ${WAIT_MS / 60_000} min: another test run uses this machine's namespaces; wait for it or stop it`);
    if (!told) {
      process.stderr.write(`host tests: waiting for ${LOCK} (another run on this machine holds it)\n`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  return () => {
    if (readFileSync(`${LOCK}/pid`, "utf8") === String(process.pid)) rmSync(LOCK, { recursive: true, force: true });
  };
}
