import type { Site } from "../../core/index.js";
import { HclSyntaxError, parseHcl, type HclBlock, type HclBody, type HclValue } from "../openbao/hcl.js";
import { OPENBAO_PATHS, OPENBAO_TLS } from "../openbao/model.js";
import { AUDIT_DEVICES, openbaoDirOf } from "../openbao/render.js";
import type { Finding } from "./report-model.js";

/*
 * OpenBao's server configuration (config.hcl) as the server reads it, judged for what protects the
 * secrets it holds: every listener speaks TLS (1.2 at least) with its certificate and key, the web
 * UI is off, memory is locked (secrets never swap to disk; a Kubernetes pod cannot lock, the
 * renderer says so), the advertised address is https, the storage is the rendered file backend,
 * and every rendered audit device runs, never logging secrets raw, its file readable by its owner
 * only. Booleans as OpenBao parses them (Go's strconv.ParseBool: true/false, 1/0, t/f in any
 * case). Any other attribute, block or option (a plugin directory, the raw storage endpoint,
 * unauthenticated metrics, an audit device's hmac_accessor...) is refused: what is not understood
 * fails. OpenBao itself cannot run here, so this reader has no differential test; its mutations
 * are in test/policies/openbao-config.test.ts.
 */

const TOP_ATTRIBUTES = new Set(["ui", "disable_mlock", "api_addr", "log_level"]);
const LOG_LEVELS = new Set(["trace", "debug", "info", "warn", "warning", "error"]);
const LISTENER_KEYS = new Set(["address", "tls_disable", "tls_cert_file", "tls_key_file", "tls_min_version"]);
const TLS_VERSIONS = new Set(["tls12", "tls13"]);
const AUDIT_KEYS = new Set(["description"]);
const AUDIT_OPTIONS = new Set(["file_path", "log_raw", "mode"]);

/** Go's strconv.ParseBool, as OpenBao's parseutil reads a boolean given as a string, a boolean or a number. */
export function openbaoBool(v: HclValue | undefined): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v === 1 ? true : v === 0 ? false : undefined;
  if (typeof v !== "string") return undefined;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

export function checkOpenBaoServer(files: ReadonlyMap<string, string>, site: Site): Finding[] {
  const path = `${openbaoDirOf(site)}/config.hcl`;
  const out: Finding[] = [];
  const text = files.get(path);
  const lines = (text ?? "").split("\n");
  /** The line of `key` at or after `from` (attributes carry no line in the HCL reader). */
  const lineOf = (key: string, from = 1): number | undefined => {
    const re = new RegExp(`^\\s*"?${key}"?\\s*=`);
    for (let i = from - 1; i < lines.length; i++) if (re.test(lines[i]!)) return i + 1;
    return undefined;
  };
  const finding = (subject: string, message: string, line?: number) =>
    out.push({ id: `openbao-config:${subject}`, kind: "openbao-config", severity: "violation", subject, message, layer: "openbao", artifact: path, ...(line ? { line } : {}) });
  if (text === undefined) {
    finding(path, `OpenBao's server configuration ${path} is not rendered: how it listens, stores and audits is not verified`);
    return out;
  }
  let body: HclBody;
  try {
    body = parseHcl(text);
  } catch (e) {
    finding(`${path} syntax`, `not understood, so not trusted: ${(e as Error).message}`, e instanceof HclSyntaxError ? e.line : undefined);
    return out;
  }
  const attr = body.attributes;
  for (const k of Object.keys(attr).sort()) if (!TOP_ATTRIBUTES.has(k)) finding(`${k}`, `${k} is not modelled (it can change what the server exposes or runs): refused`, lineOf(k));
  const flag = (k: string, v: HclValue | undefined, at?: number): boolean | undefined => {
    const b = v === undefined ? undefined : openbaoBool(v);
    if (v !== undefined && b === undefined) finding(`${k} value`, `${k} = ${JSON.stringify(v)} is no boolean OpenBao reads: refused`, at);
    return b;
  };
  if (flag("ui", attr.ui, lineOf("ui")) === true) finding("ui", "the web UI is on: a login page and the API explorer face every client that reaches the listener", lineOf("ui"));
  // A pod cannot lock memory (the renderer turns mlock off there, and only there).
  const mayUnlock = site.cloud.engine === "kubernetes";
  if (flag("disable_mlock", attr.disable_mlock, lineOf("disable_mlock")) === true && !mayUnlock) finding("disable_mlock", "memory locking is off on a Docker host: unsealed keys and secrets may be swapped to disk", lineOf("disable_mlock"));
  if (attr.api_addr !== undefined && !(typeof attr.api_addr === "string" && attr.api_addr.startsWith("https://"))) finding("api_addr", `api_addr ${JSON.stringify(attr.api_addr)} is not https: clients are redirected to a plaintext address, tokens in clear`, lineOf("api_addr"));
  if (attr.log_level !== undefined && !(typeof attr.log_level === "string" && LOG_LEVELS.has(attr.log_level.toLowerCase()))) finding("log_level", `log_level ${JSON.stringify(attr.log_level)} is not one OpenBao knows: refused`, lineOf("log_level"));

  const listeners = body.blocks.filter((b) => b.type === "listener");
  if (listeners.length === 0) finding("listener", "no listener: the configuration is not the rendered one (OpenBao would serve nothing)");
  for (const l of listeners) judgeListener(l, finding, lineOf);
  const storages = body.blocks.filter((b) => b.type === "storage");
  if (storages.length !== 1 || storages[0]!.labels.join(" ") !== "file" || Object.keys(storages[0]!.body.attributes).join() !== "path" || storages[0]!.body.blocks.length || storages[0]!.body.attributes.path !== OPENBAO_PATHS.data) {
    finding("storage", `the storage is not the rendered file backend at ${OPENBAO_PATHS.data} (${storages.map((s) => `storage ${s.labels.join(" ")}`).join(", ") || "none"}): another backend, or the data elsewhere, is not modelled: refused`, storages[0]?.line);
  }
  const audits = body.blocks.filter((b) => b.type === "audit");
  for (const d of AUDIT_DEVICES) {
    const device = audits.find((a) => a.labels[0] === "file" && a.labels[1] === d.path);
    const filePath = device?.body.blocks.find((b) => b.type === "options")?.body.attributes.file_path;
    // The device is there but writes elsewhere (/dev/null silences it just as well as removing it).
    if (device && filePath !== d.filePath) finding(`audit ${d.path} file_path`, `audit device ${d.path} writes to ${JSON.stringify(filePath ?? "(unset)")}, not the rendered ${d.filePath}: ${d.description.toLowerCase()} is not kept`, lineOf("file_path", device.line) ?? device.line);
    if (!device) finding(`audit ${d.path}`, `audit device ${d.path} (${d.description}) is gone: requests to the secrets ${d.filePath === "stdout" ? "are no longer copied to the container log" : "leave no trace on the audit volume"}`);
  }
  for (const a of audits) judgeAudit(a, finding, lineOf);
  for (const b of body.blocks) {
    if (b.type !== "listener" && b.type !== "storage" && b.type !== "audit") finding(`${b.type} ${b.labels.join(" ")}`.trim(), `block ${b.type} is not modelled (a seal, telemetry, a plugin catalog... can change what the server trusts or exposes): refused`, b.line);
  }
  return out;
}

type Report = (subject: string, message: string, line?: number) => void;
type LineOf = (key: string, from?: number) => number | undefined;

function judgeListener(l: HclBlock, finding: Report, lineOf: LineOf): void {
  const name = `listener ${l.labels.join(" ")} ${JSON.stringify(l.body.attributes.address ?? "")}`;
  if (l.labels.join(" ") !== "tcp") return finding(name, `a ${l.labels.join(" ") || "unlabelled"} listener is not modelled: refused`, l.line);
  const a = l.body.attributes;
  for (const k of Object.keys(a).sort()) if (!LISTENER_KEYS.has(k)) finding(`${name} ${k}`, `${k} is not modelled (it can loosen what the listener accepts): refused`, lineOf(k, l.line));
  for (const b of l.body.blocks) finding(`${name} ${b.type}`, `block ${b.type} in a listener is not modelled: refused`, b.line);
  const off = a.tls_disable === undefined ? false : openbaoBool(a.tls_disable);
  if (off !== false) finding(`${name} tls_disable`, `tls_disable = ${JSON.stringify(a.tls_disable)}: ${off === undefined ? "no boolean OpenBao reads, refused" : "the listener speaks plaintext, tokens and secrets in clear on the network"}`, lineOf("tls_disable", l.line));
  else {
    for (const [k, want] of [["tls_cert_file", OPENBAO_TLS.cert], ["tls_key_file", OPENBAO_TLS.key]] as const) {
      if (a[k] !== want) finding(`${name} ${k}`, `${k} ${JSON.stringify(a[k] ?? "(unset)")}: the listener's ${k === "tls_cert_file" ? "certificate" : "key"} is not the rendered ${want}`, lineOf(k, l.line) ?? l.line);
    }
    const v = a.tls_min_version;
    if (v !== undefined && !(typeof v === "string" && TLS_VERSIONS.has(v))) finding(`${name} tls_min_version`, `tls_min_version ${JSON.stringify(v)}: at least tls12`, lineOf("tls_min_version", l.line));
  }
}

function judgeAudit(a: HclBlock, finding: Report, lineOf: LineOf): void {
  const name = `audit ${a.labels.join(" ")}`;
  if (a.labels[0] !== "file" || a.labels.length !== 2) return finding(name, `an audit device of type ${a.labels[0] ?? "(none)"} is not modelled: refused`, a.line);
  for (const k of Object.keys(a.body.attributes).sort()) if (!AUDIT_KEYS.has(k)) finding(`${name} ${k}`, `${k} is not modelled: refused`, lineOf(k, a.line));
  const options = a.body.blocks.filter((b) => b.type === "options");
  for (const b of a.body.blocks) if (b.type !== "options" || options.length > 1) finding(`${name} ${b.type}`, `block ${b.type} in an audit device is not modelled (one options block is): refused`, b.line);
  const o = options[0]?.body.attributes ?? {};
  for (const k of Object.keys(o).sort()) if (!AUDIT_OPTIONS.has(k)) finding(`${name} ${k}`, `option ${k} is not modelled (hmac_accessor, format, filters... change what the log holds): refused`, lineOf(k, a.line));
  if (typeof o.file_path !== "string" || !o.file_path) finding(`${name} file_path`, "the device writes nowhere the verifier knows (no file_path)", options[0]?.line ?? a.line);
  const raw = o.log_raw === undefined ? false : openbaoBool(o.log_raw);
  if (raw !== false) finding(`${name} log_raw`, `log_raw = ${JSON.stringify(o.log_raw)}: ${raw === undefined ? "no boolean OpenBao reads, refused" : "the audit log holds every token and secret in clear, not HMAC'd"}`, lineOf("log_raw", a.line));
  if (o.mode !== undefined) {
    const mode = typeof o.mode === "string" && /^0?[0-7]{3}$/.test(o.mode) ? parseInt(o.mode, 8) : undefined;
    if (mode === undefined || (mode & 0o077) !== 0) finding(`${name} mode`, `mode ${JSON.stringify(o.mode)}: ${mode === undefined ? "not an octal file mode, refused" : "the audit log is readable or writable beyond its owner"}`, lineOf("mode", a.line));
  }
}
