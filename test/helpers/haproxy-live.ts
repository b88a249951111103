import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { frontendFor, parseHaproxy, routeRequest, outcomeText, type HaproxyConfig, type HaproxyRequest } from "../../policies/verifier/haproxy.js";
import { parseIp } from "../../policies/verifier/addr.js";
import { tempDir } from "./paths.js";

/*
 * The real haproxy running a config, on loopback, for the differential test. The config is the
 * rendered one with only its addresses moved: each bind to its own 127.0.0.1 port, each server to
 * a stub listener that answers with its backend/server name, each `src` address to a 127.0.1.x
 * address the client binds to, file paths (certificates, sockets, /dev/log) into a temp dir.
 * Every routing rule stays as rendered. No root, no namespace: ports are the kernel's free ones.
 */

const STUB = "PALISADE-STUB ";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A listener that answers every connection with `PALISADE-STUB <id>` once the client has sent its request head. */
function stub(id: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((sock) => {
      let seen = Buffer.alloc(0);
      let done = false;
      const answer = () => {
        if (done) return;
        done = true;
        const body = `${STUB}${id}\n`;
        sock.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      };
      sock.on("data", (d: Buffer) => {
        seen = Buffer.concat([seen, d]);
        // An HTTP request head, or a TLS record after the PROXY header (passthrough).
        if (seen.includes("\r\n\r\n") && !(seen[0] === 0x0d && seen.length <= 28)) answer();
        else if (seen.includes(Buffer.from([0x16, 0x03]))) answer();
      });
      sock.on("error", () => undefined);
      setTimeout(() => answer(), 300).unref();
    });
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

/** A TLS 1.2 ClientHello (with the SNI extension when `sni` is a name), enough for req.ssl_sni and req.ssl_hello_type. */
export function clientHello(sni: string | null): Buffer {
  const exts: Buffer[] = [];
  if (sni !== null) {
    const name = Buffer.from(sni, "ascii");
    const entry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
    const list = Buffer.concat([u16(entry.length), entry]);
    exts.push(Buffer.concat([u16(0), u16(list.length), list]));
  }
  // supported_groups and signature_algorithms, so the hello looks like a real one.
  exts.push(Buffer.from([0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17]));
  exts.push(Buffer.from([0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x01]));
  const extBytes = Buffer.concat(exts);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    Buffer.alloc(32, 7),
    Buffer.from([0]),
    u16(4),
    Buffer.from([0xc0, 0x2f, 0x00, 0x9c]),
    Buffer.from([1, 0]),
    u16(extBytes.length),
    extBytes,
  ]);
  const hs = Buffer.concat([Buffer.from([1]), Buffer.from([(body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(hs.length), hs]);
}

function u16(n: number): Buffer {
  return Buffer.from([(n >> 8) & 0xff, n & 0xff]);
}

/** PROXY protocol v2 header for a TCP/IPv4 client (as the edge's `send-proxy-v2` writes). */
function proxyV2(src: string, dst: string, sport: number, dport: number): Buffer {
  const ip = (s: string) => Buffer.from(s.split(".").map(Number));
  return Buffer.concat([Buffer.from("0d0a0d0a000d0a515549540a", "hex"), Buffer.from([0x21, 0x11]), u16(12), ip(src), ip(dst), u16(sport), u16(dport)]);
}

export interface LiveProxy {
  /** Where the request really landed, in `outcomeText`'s words. */
  send(req: HaproxyRequest): Promise<string>;
  stop(): Promise<void>;
}

interface Rewrite {
  readonly text: string;
  /** original bind port -> loopback port (first bind of that port). */
  readonly ports: Map<number, number>;
  /** original src address -> loopback address the client binds to. */
  readonly srcs: Map<string, string>;
}

let certDir: string | undefined;
function testCertDir(openssl: string): string {
  if (certDir) return certDir;
  const dir = tempDir("hap-cert");
  const certs = join(dir, "certs");
  mkdirSync(certs);
  execFileSync(openssl, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-subj", "/CN=palisade-differential", "-days", "2"], { stdio: "ignore" });
  writeFileSync(join(certs, "test.pem"), readFileSync(join(dir, "c.pem"), "utf8") + readFileSync(join(dir, "k.pem"), "utf8"));
  certDir = certs;
  return certs;
}

async function rewrite(cfg: HaproxyConfig, text: string, dir: string, certs: string, stubs: Map<string, number>): Promise<Rewrite> {
  const lines = text.split("\n");
  const ports = new Map<number, number>();
  const bindPorts = new Map<string, number>();
  for (const fe of cfg.frontends) {
    for (const b of fe.binds) {
      const key = `${b.address}|${b.port}`;
      if (!bindPorts.has(key)) bindPorts.set(key, await freePort());
      if (!ports.has(b.port)) ports.set(b.port, bindPorts.get(key)!);
    }
  }
  const srcs = new Map<string, string>();
  let nextSrc = 2;
  const srcFor = (ip: string) => {
    if (!srcs.has(ip)) srcs.set(ip, `127.0.1.${nextSrc++}`);
    return srcs.get(ip)!;
  };
  const out = lines.map((raw, i) => {
    const t = raw.trim();
    const indent = raw.slice(0, raw.length - raw.trimStart().length);
    if (/^bind\s/.test(t)) {
      const [, addr, ...opts] = t.split(/\s+/);
      const fixed = addr!.split(",").map((a) => {
        const m = /^(?:ipv4@|ipv6@)?(\[[^\]]*\]|[^\]:]*|[0-9a-fA-F:]*::?[0-9a-fA-F.]*):(\d+)$/.exec(a)!;
        const address = m[1]!.replace(/^\[|\]$/g, "");
        const norm = address === "" || address === "*" || address === "0.0.0.0" || address === "::" ? "*" : address;
        return `127.0.0.1:${bindPorts.get(`${norm}|${m[2]}`)}`;
      });
      const o = opts.join(" ").replace(/crt \S+/, `crt ${certs}/`);
      return `${indent}bind ${fixed.join(",")} ${o}`.trimEnd();
    }
    if (/^server\s/.test(t)) {
      const [, name, , ...opts] = t.split(/\s+/);
      return `${indent}server ${name} 127.0.0.1:${stubs.get(`${name}@${i + 1}`)} ${opts.join(" ")}`.trimEnd();
    }
    if (/^log\s+\/dev\/log/.test(t)) return `${indent}log stdout format raw local0 info`;
    if (/^stats socket\s/.test(t)) return `${indent}${t.replace(/socket \S+/, `socket ${join(dir, "admin.sock")}`)}`;
    // src addresses in conditions and acls: the client binds the mapped loopback address.
    return raw.replace(/(\bsrc\s+)([0-9.\s/]+?)(\s*\}|$)/g, (_m, pre: string, addrs: string, post: string) => `${pre}${addrs.trim().split(/\s+/).map((a) => srcFor(a.split("/")[0]!)).join(" ")}${post}`);
  });
  return { text: out.join("\n"), ports, srcs };
}

function waitListening(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = connect({ port, host: "127.0.0.1" });
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`haproxy did not listen on ${port}`));
        else setTimeout(tryOnce, 20);
      });
    };
    tryOnce();
  });
}

/** Reads a socket to its end (or a timeout) and says where the request landed. */
function observe(sock: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    const finish = () => {
      const text = data.toString("latin1");
      const stubAt = text.indexOf(STUB);
      if (stubAt >= 0) return resolve(`server ${text.slice(stubAt + STUB.length).split("\n")[0]!.trim()}`);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (status && status[1] !== "400") return resolve(`answer ${status[1]}`);
      resolve("refused");
    };
    sock.on("data", (d: Buffer) => (data = Buffer.concat([data, d])));
    sock.on("error", () => undefined);
    sock.on("close", finish);
    setTimeout(() => sock.destroy(), timeoutMs).unref();
  });
}

/**
 * Starts haproxy on the config. The stub identities are `<backend>/<server>`, as the evaluator
 * names the servers a request may land on.
 */
export async function startLive(haproxy: string, openssl: string, text: string): Promise<{ live: LiveProxy; cfg: HaproxyConfig }> {
  const cfg = parseHaproxy("haproxy.cfg", text);
  if (cfg.problems.length) throw new Error(`the config has problems: ${JSON.stringify(cfg.problems)}`);
  const dir = tempDir("hap-diff");
  const certs = testCertDir(openssl);
  const stubs = new Map<string, number>();
  const servers: Server[] = [];
  for (const be of cfg.backends) {
    for (const s of be.servers) {
      const st = await stub(`${be.name}/${s.name}`);
      servers.push(st.server);
      stubs.set(`${s.name}@${s.line}`, st.port);
    }
  }
  const rw = await rewrite(cfg, text, dir, certs, stubs);
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, rw.text);
  const check = spawnSyncText(haproxy, ["-c", "-q", "-f", file]);
  if (check) throw new Error(`haproxy -c refuses the rewritten config:\n${check}\n${rw.text}`);
  const proc: ChildProcess = spawn(haproxy, ["-db", "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 5000;
  try {
    for (const p of new Set(rw.ports.values())) await waitListening(p, deadline);
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  const live: LiveProxy = {
    async send(req) {
      const port = rw.ports.get(req.port);
      if (!port) return "refused";
      const localAddress = rw.srcs.get(req.src) ?? "127.0.0.1";
      const sock = connect({ port, host: "127.0.0.1", localAddress });
      await new Promise<void>((resolve) => {
        sock.once("connect", () => resolve());
        sock.once("error", () => resolve());
      });
      if (req.proxyHeader) sock.write(proxyV2("192.0.2.55", "10.0.0.1", 40000, req.port));
      const fe = frontendFor(cfg, req.port)!;
      const ssl = fe.binds.find((b) => b.port === req.port)?.ssl ?? false;
      const httpReq = `GET ${req.path ?? "/"} HTTP/1.1\r\n${req.host !== undefined ? `Host: ${req.host}\r\n` : ""}Connection: close\r\n\r\n`;
      if (req.sni !== undefined && ssl) {
        const tls = tlsConnect({ socket: sock, host: "127.0.0.1", ...(req.sni ? { servername: req.sni } : {}), rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] });
        tls.on("error", () => undefined);
        tls.once("secureConnect", () => tls.write(httpReq));
        const seen = await observe(tls, 2000);
        sock.destroy();
        return seen;
      }
      if (req.sni !== undefined) sock.write(clientHello(req.sni));
      else if (fe.mode === "http" || !req.proxyHeader) sock.write(httpReq);
      return observe(sock, fe.mode === "tcp" ? 7000 : 2000);
    },
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once("exit", r)));
      for (const s of servers) s.close();
    },
  };
  return { live, cfg };
}

function spawnSyncText(cmd: string, args: string[]): string {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    return "";
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    return `${err.stdout?.toString() ?? ""}${err.stderr?.toString() ?? ""}`;
  }
}

/** The evaluator's answer for the same request, in the same words. */
export function expected(cfg: HaproxyConfig, req: HaproxyRequest): string {
  const fe = frontendFor(cfg, req.port);
  if (!fe) return "refused";
  const o = routeRequest(cfg, fe, req);
  return o.kind === "server" ? `server ${o.backend}` : outcomeText(o);
}

export { parseIp };
