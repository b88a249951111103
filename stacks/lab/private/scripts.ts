/**
 * Plain-JavaScript programs the lab runs inside namespaces with `node -e` (no tsx start-up cost):
 * the prober that tries many connections from one namespace in parallel and prints the results as
 * one JSON line. Two small Python ones (`python3 -c`): the stand-ins outside Docker in one
 * process, and the edge's kernel-log relay.
 */

/**
 * Prober: `node -e PROBER` with a JSON job on stdin:
 * { targets: [{ id, kind: "connect"|"dns"|"udp-send", host, port, bind?, sport? }], timeoutMs,
 *   concurrency, perSourceRate?, perSourceBurst? }
 * Prints one JSON line: { results: { id: "open"|"refused"|"timeout"|"answered"|"sent"|"error:CODE" } }.
 * `connect`: TCP connect (open = handshake done; refused = RST). `dns`: one UDP query for the
 * root SOA-less name given in `qname` (answered = any reply). `udp-send`: one datagram from `sport`.
 */
export const PROBER_JS = String.raw`
const net = require("net"), dgram = require("dgram");
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", async () => {
  const job = JSON.parse(input);
  const results = {};
  const timeoutMs = job.timeoutMs || 300;
  const buckets = new Map();
  const rate = job.perSourceRate || 0, burst = job.perSourceBurst || 0;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function takeToken(src) {
    if (!rate) return;
    for (;;) {
      const now = Date.now();
      let b = buckets.get(src);
      if (!b) { b = { tokens: burst, at: now }; buckets.set(src, b); }
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
      if (b.tokens >= 1) { b.tokens -= 1; return; }
      await sleep(Math.ceil(((1 - b.tokens) / rate) * 1000));
    }
  }
  function connect(t) {
    return new Promise((resolve) => {
      const opts = { host: t.host, port: t.port };
      if (t.bind) opts.localAddress = t.bind;
      const s = net.connect(opts);
      let done = false;
      const finish = (r) => { if (done) return; done = true; clearTimeout(timer); s.destroy(); resolve(r); };
      // The verdict "timeout" waits one more turn of the event loop (setImmediate runs after the
      // I/O poll): on a loaded machine the loop can lag past the timer while the handshake has
      // long completed, and timers run before I/O callbacks; without this, a lag reads as a drop.
      const timer = setTimeout(() => setImmediate(() => finish("timeout")), timeoutMs);
      s.once("connect", () => finish("open"));
      s.once("error", (e) => finish(e.code === "ECONNREFUSED" ? "refused" : e.code === "ETIMEDOUT" ? "timeout" : "error:" + e.code));
    });
  }
  function dnsQuery(t) {
    return new Promise((resolve) => {
      const s = dgram.createSocket(t.host.includes(":") ? "udp6" : "udp4");
      const labels = (t.qname || ".").split(".").filter(Boolean);
      const q = Buffer.concat([
        Buffer.from([0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
        ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
        Buffer.from([0, 0, 6, 0, 1]),
      ]);
      let done = false;
      const finish = (r) => { if (done) return; done = true; clearTimeout(timer); try { s.close(); } catch {} resolve(r); };
      const timer = setTimeout(() => setImmediate(() => finish("timeout")), timeoutMs);
      s.on("message", () => finish("answered"));
      s.on("error", (e) => finish("error:" + e.code));
      s.bind({ address: t.bind, port: t.sport || 0 }, () => s.send(q, t.port, t.host));
    });
  }
  function udpSend(t) {
    return new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      s.on("error", (e) => { try { s.close(); } catch {} resolve("error:" + e.code); });
      s.bind({ address: t.bind, port: t.sport || 0 }, () =>
        s.send(Buffer.from("palisade-lab-probe"), t.port, t.host, (e) => { setTimeout(() => { try { s.close(); } catch {} }, 50); resolve(e ? "error:" + e.code : "sent"); }));
    });
  }
  const queue = [...job.targets];
  async function worker() {
    for (let t = queue.shift(); t; t = queue.shift()) {
      await takeToken(t.bind || "");
      results[t.id] = t.kind === "dns" ? await dnsQuery(t) : t.kind === "udp-send" ? await udpSend(t) : await connect(t);
    }
  }
  await Promise.all(Array.from({ length: Math.min(job.concurrency || 64, queue.length || 1) }, worker));
  process.stdout.write(JSON.stringify({ results }) + "\n", () => process.exit(0));
});
`;

/**
 * All stand-ins in one process: `python3 -c STANDINS_PY '{"ns": {"name": ["tcp/3000", …]}, …}'`.
 * For each namespace it enters it (setns via libc), opens its listening sockets (a socket stays in
 * the namespace it was created in) and comes back; then one selector loop answers every socket with
 * a small HTTP 200 naming the service (UDP sockets answer each datagram with a SERVFAIL-shaped
 * echo: the ISPs' resolvers). One start-up instead of one per container.
 */
export const STANDINS_PY = String.raw`
import ctypes, json, os, selectors, socket, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
CLONE_NEWNET = 0x40000000
spec = json.loads(sys.argv[1])
home = os.open("/proc/self/ns/net", os.O_RDONLY)
sel = selectors.DefaultSelector()
for ns, services in spec.items():
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        sys.exit("setns " + ns + ": errno " + str(ctypes.get_errno()))
    os.close(fd)
    for name, ports in services.items():
        for p in ports:
            if p.startswith("udp/"):
                # udp/53@ADDR: bound to one address, so replies leave from the address that was asked
                port, _, addr = p.split("/")[1].partition("@")
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.bind((addr or "0.0.0.0", int(port)))
                u.setblocking(False)
                sel.register(u, selectors.EVENT_READ, ("udp", name))
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", int(p.split("/")[1])))
            s.listen(1024)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, ("listen", name))
    libc.setns(home, CLONE_NEWNET)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        kind, name = key.data
        if kind == "udp":
            try:
                data, peer = key.fileobj.recvfrom(4096)
                key.fileobj.sendto(data[:2] + b"\x81\x82" + data[4:], peer)
            except OSError:
                pass
            continue
        if kind == "listen":
            try:
                c, _ = key.fileobj.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, ("conn", name))
            except OSError:
                pass
        else:
            c = key.fileobj
            try:
                data = c.recv(4096)
                if data:
                    body = ("palisade-lab stand-in: " + name + "\n").encode()
                    c.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            except OSError:
                pass
            sel.unregister(c)
            c.close()
`;

/**
 * The edge's rsyslog for kernel lines: `python3 -c KMSG_RELAY_PY FILE HOST PREFIX…`. Reads new
 * records from /dev/kmsg (older ones are skipped) and appends those whose message starts with one
 * of the prefixes to FILE as rsyslog writes kern.log (`Nov 26 01:42:45 HOST kernel: [  123.456789]
 * MESSAGE`), one line per record. The kernel log is shared by every namespace, so only the
 * prefixes of the edge's own `log` rules are relayed. Prints "ready" once it reads.
 */
export const KMSG_RELAY_PY = String.raw`
import os, sys, time
path, host, prefixes = sys.argv[1], sys.argv[2], tuple(sys.argv[3:])
fd = os.open("/dev/kmsg", os.O_RDONLY)
os.lseek(fd, 0, os.SEEK_END)
out = open(path, "a", encoding="utf-8")
print("ready", flush=True)
while True:
    try:
        rec = os.read(fd, 8192).decode("utf-8", "replace")
    except BrokenPipeError:
        continue  # records were overwritten before we read them: go on with the next one
    head, _, msg = rec.partition(";")
    msg = msg.split("\n", 1)[0]
    if not msg.startswith(prefixes):
        continue
    usec = int(head.split(",")[2])
    stamp = time.strftime("%b %e %H:%M:%S")
    out.write("%s %s kernel: [%5d.%06d] %s\n" % (stamp, host, usec // 1000000, usec % 1000000, msg))
    out.flush()
`;
