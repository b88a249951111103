/*
 * HAProxy configuration: frontends/listens with their binds, routing rules (`use_backend B if
 * { req.ssl_sni -i HOST }`, `{ hdr(host) -i HOST }`, `path_beg /api`, named ACLs) and
 * default_backend; backends with their servers. The verifier turns each server into a route:
 * the proxy relays traffic from its binds to that server's address and port.
 */

export interface HaproxyServer {
  readonly name: string;
  /** Host part: an IP or a name (a Docker network alias). */
  readonly host: string;
  readonly port: number;
  readonly options: string;
  readonly line: number;
}

export interface HaproxyBackend {
  readonly name: string;
  readonly line: number;
  readonly servers: readonly HaproxyServer[];
}

export interface HaproxyRoute {
  readonly frontend: string;
  readonly backend: string;
  /** `sni app.example.com`, `host app.example.com path /api`, `default`. */
  readonly condition: string;
  readonly line: number;
}

export interface HaproxyFrontend {
  readonly name: string;
  readonly binds: readonly { readonly address: string; readonly port: number }[];
  readonly mode: string;
  readonly routes: readonly HaproxyRoute[];
  readonly line: number;
}

export interface HaproxyConfig {
  readonly path: string;
  readonly frontends: readonly HaproxyFrontend[];
  readonly backends: readonly HaproxyBackend[];
}

function describeCondition(cond: string, acls: Map<string, string>): string {
  const parts: string[] = [];
  const text = cond.replace(/\b([A-Za-z_][\w-]*)\b/g, (m) => (acls.has(m) ? `{ ${acls.get(m)} }` : m));
  for (const m of text.matchAll(/req(?:\.|_)ssl_sni\s+(?:-i\s+)?(?:-m\s+\w+\s+)?(\S+)/g)) parts.push(`sni ${m[1]}`);
  for (const m of text.matchAll(/hdr(?:_dom|_beg|_end)?\((?:host|Host)\)(?:,\S+)?\s+(?:-i\s+)?(?:-m\s+\w+\s+)?([^\s}]+(?:\s+[a-z0-9-]+\.[a-z0-9.-]+)*)/g)) parts.push(`host ${m[1]}`);
  const paths = [...text.matchAll(/\b(path(?:_beg)?)\s+(?:-i\s+)?([^\s}]+(?:\s+\/[^\s}]*)*)/g)].map((m) => `${m[1]} ${m[2]}`);
  if (paths.length) parts.push(paths.join(" or "));
  return parts.length ? parts.join(" ") : cond.trim();
}

export function parseHaproxy(path: string, text: string): HaproxyConfig {
  const frontends: { name: string; binds: { address: string; port: number }[]; mode: string; routes: HaproxyRoute[]; line: number; acls: Map<string, string> }[] = [];
  const backends: { name: string; line: number; servers: HaproxyServer[] }[] = [];
  let cur: { kind: string; name: string } | null = null;
  let defaultMode = "tcp";
  text.split("\n").forEach((raw, idx) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    const n = idx + 1;
    if (!line) return;
    const sec = /^(global|defaults|frontend|backend|listen|resolvers|userlist|peers|program|cache|mailers|http-errors|ring)\b\s*(\S*)/.exec(line);
    if (sec && !raw.startsWith(" ") && !raw.startsWith("\t")) {
      cur = { kind: sec[1]!, name: sec[2] || sec[1]! };
      if (cur.kind === "frontend" || cur.kind === "listen") frontends.push({ name: cur.name, binds: [], mode: defaultMode, routes: [], line: n, acls: new Map() });
      if (cur.kind === "backend" || cur.kind === "listen") backends.push({ name: cur.name, line: n, servers: [] });
      return;
    }
    if (!cur) return;
    const c = cur as { kind: string; name: string };
    const words = line.split(/\s+/);
    if (words[0] === "mode") {
      if (c.kind === "defaults") defaultMode = words[1] ?? defaultMode;
      const fe = frontends.find((f) => f.name === c.name);
      if (fe && (c.kind === "frontend" || c.kind === "listen")) fe.mode = words[1] ?? fe.mode;
    }
    if ((c.kind === "frontend" || c.kind === "listen") && words[0] === "bind") {
      const fe = frontends[frontends.length - 1]!;
      const m = /^(\[?[^\]\s]*\]?|[^\s:]*):(\d+)/.exec(words[1] ?? "");
      if (m) fe.binds.push({ address: m[1]!.replace(/^\[|\]$/g, "") || "*", port: Number(m[2]) });
    }
    if ((c.kind === "frontend" || c.kind === "listen") && words[0] === "acl") {
      // Several `acl` lines with one name are ORed by HAProxy.
      const acls = frontends[frontends.length - 1]!.acls;
      const prior = acls.get(words[1]!);
      acls.set(words[1]!, prior ? `${prior} or ${words.slice(2).join(" ")}` : words.slice(2).join(" "));
    }
    if ((c.kind === "frontend" || c.kind === "listen") && words[0] === "use_backend") {
      const fe = frontends[frontends.length - 1]!;
      const m = /^use_backend\s+(\S+)(?:\s+(if|unless)\s+(.*))?$/.exec(line);
      if (m) fe.routes.push({ frontend: fe.name, backend: m[1]!, condition: m[3] ? `${m[2] === "unless" ? "unless " : ""}${describeCondition(m[3], fe.acls)}` : "always", line: n });
    }
    if ((c.kind === "frontend" || c.kind === "listen") && words[0] === "default_backend") {
      const fe = frontends[frontends.length - 1]!;
      fe.routes.push({ frontend: fe.name, backend: words[1]!, condition: "default", line: n });
    }
    if ((c.kind === "backend" || c.kind === "listen") && (words[0] === "server" || words[0] === "server-template")) {
      const be = backends[backends.length - 1]!;
      const addr = words[0] === "server" ? words[2] ?? "" : words[3] ?? "";
      const m = /^(?:ipv4@|ipv6@)?(\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(addr);
      if (m) be.servers.push({ name: words[1]!, host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]), options: words.slice(3).join(" "), line: n });
    }
  });
  // A listen section routes to itself.
  for (const fe of frontends) {
    if (backends.some((b) => b.name === fe.name) && fe.routes.length === 0) fe.routes.push({ frontend: fe.name, backend: fe.name, condition: "always", line: fe.line });
  }
  return {
    path,
    frontends: frontends.map(({ acls: _a, ...f }) => f),
    backends,
  };
}
