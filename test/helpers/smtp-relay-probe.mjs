// Run inside the test's network namespace (ip netns exec NS node smtp-relay-probe.mjs JSON): for each
// probe { source, host, port, tls: "implicit" | "auto", sender, rcpt }, an SMTP dialogue as an
// unauthenticated client from `source` up to RCPT TO (STARTTLS first when the server offers it, as
// a sending MTA does), printing one JSON line per probe with the replies. Plain JavaScript so that it
// runs in a namespace without the test runner's TypeScript loader.
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";

// A refused service (smtpd exits at startup, master throttles it) leaves the connection open without a banner.
const TIMEOUT_MS = 4000;

function dialogue(probe) {
  return new Promise((resolve) => {
    const replies = [];
    const ehloLines = [];
    let buf = "";
    let sock;
    let waiting = null;
    const done = (error) => {
      clearTimeout(timer);
      sock?.destroy();
      resolve({ ...probe, replies, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => done(`no reply within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    const onData = (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const nl = buf.indexOf("\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        ehloLines.push(line);
        if (line.length >= 4 && line[3] === "-") continue;
        replies.push(line);
        const w = waiting;
        waiting = null;
        w?.(line);
      }
    };
    const next = () => new Promise((r) => (waiting = r));
    const send = (s, line) => {
      s.write(`${line}\r\n`);
      return next();
    };
    const attach = (s) => {
      sock = s;
      s.on("data", onData);
      s.on("error", (e) => done(String(e.message)));
    };
    const session = async () => {
      let s = sock;
      if (!(await next()).startsWith("220")) return done();
      const ehlo = await send(s, "EHLO probe.example.org");
      if (probe.tls === "auto" && ehloLines.some((l) => /^250[- ]STARTTLS/i.test(l)) && ehlo.startsWith("250")) {
        if (!(await send(s, "STARTTLS")).startsWith("220")) return done();
        s.removeListener("data", onData);
        s = tlsConnect({ socket: s, rejectUnauthorized: false });
        attach(s);
        await new Promise((r) => s.once("secureConnect", r));
        await send(s, "EHLO probe.example.org");
      }
      if (!(await send(s, `MAIL FROM:<${probe.sender}>`)).startsWith("250")) return done();
      await send(s, `RCPT TO:<${probe.rcpt}>`);
      s.write("QUIT\r\n");
      done();
    };
    const plain = connect({ host: probe.host, port: probe.port, localAddress: probe.source });
    if (probe.tls === "implicit") {
      plain.once("connect", () => {
        const s = tlsConnect({ socket: plain, rejectUnauthorized: false });
        attach(s);
        session();
      });
      plain.on("error", (e) => done(String(e.message)));
    } else {
      attach(plain);
      session();
    }
  });
}

const probes = JSON.parse(process.argv[2]);
const results = await Promise.all(probes.map(dialogue));
for (const r of results) console.log(JSON.stringify(r));
