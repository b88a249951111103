import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Site } from "../../core/index.js";
import { RSPAMD_DIR, RSPAMD_FILES } from "../../policies/verifier/rspamd.js";
import { editText, type SuiteMutation } from "./support.js";

/*
 * Edits of the edge's rspamd files (local.d: DKIM signing, the spam actions, the milter), as a
 * hand edit would make them: `MUTATIONS` sign mail from the internet or for another domain, turn
 * signing off, raise a threshold, open the milter beyond loopback or hand scanning elsewhere, or
 * add what the reader does not model (a key given twice, a macro, another file rspamd reads),
 * each expecting a mail-weakened finding in the edited file; `NEUTRAL` change only how the files
 * are written and must pass. Domains and selectors come from the planned site. Used by the
 * verifier's mutation test and by the differential test against rspamadm configdump.
 */

const edit = (file: string, f: (x: string) => string) => (d: string) => editText(d, file, f);
const dkim = (f: (x: string) => string) => edit(RSPAMD_FILES.dkim, f);
const actions = (f: (x: string) => string) => edit(RSPAMD_FILES.actions, f);
const proxy = (f: (x: string) => string) => edit(RSPAMD_FILES.proxy, f);
const add = (line: string) => (x: string) => `${x}${line}\n`;
const addFile = (path: string, text: string) => (d: string) => {
  mkdirSync(dirname(join(d, path)), { recursive: true });
  writeFileSync(join(d, path), text);
};

type Mutation = SuiteMutation & { readonly apply: (dir: string, site: Site) => void };

export const MUTATIONS: readonly Mutation[] = [
  { name: "inbound mail signed (sign_inbound)", apply: dkim((x) => x.replace("sign_inbound = false;", "sign_inbound = true;")), expected: /sign_inbound signs mail arriving from the internet/, marker: "sign_inbound = true", artifact: RSPAMD_FILES.dkim },
  { name: "sign_inbound given again, true (UCL keeps both)", apply: dkim(add("sign_inbound = yes;")), expected: /sign_inbound given twice/, marker: "sign_inbound = yes", artifact: RSPAMD_FILES.dkim },
  { name: "a From: of another domain signed (allow_hdrfrom_mismatch)", apply: dkim((x) => x.replace("allow_hdrfrom_mismatch = false;", "allow_hdrfrom_mismatch = yes;")), expected: /allow_hdrfrom_mismatch signs a message whose From:/, marker: "allow_hdrfrom_mismatch = yes", artifact: RSPAMD_FILES.dkim },
  { name: "DKIM signing off", apply: dkim((x) => x.replace("enabled = true;", "enabled = off;")), expected: /DKIM signing is off/, marker: "enabled = off", artifact: RSPAMD_FILES.dkim },
  { name: "every network allowed to have its mail signed", apply: dkim(add('sign_networks = ["0.0.0.0/0", "::/0"];')), expected: /sign_networks 0\.0\.0\.0\/0: mail from that network is signed/, marker: "sign_networks", artifact: RSPAMD_FILES.dkim },
  { name: "signing by the envelope's domain", apply: dkim((x) => x.replace('use_domain = "header";', 'use_domain = "envelope";')), expected: /use_domain envelope/, marker: "use_domain", artifact: RSPAMD_FILES.dkim },
  { name: "another domain signed", apply: dkim((x) => x.replace(/^domain \{$/m, 'domain {\n  evil.example {\n    selector = "x";\n    path = "/tmp/evil.key";\n  }')), expected: /rspamd signs mail of evil\.example, which is not the site's mail domain/, marker: "domain {", artifact: RSPAMD_FILES.dkim },
  { name: "the site's domain signed with another key", apply: dkim((x) => x.replace(/path = "[^"]*";/, 'path = "/tmp/evil.key";')), expected: /is signed with selector \S+ and key \/tmp\/evil\.key/, marker: "domain {", artifact: RSPAMD_FILES.dkim },
  { name: "keys from Redis (use_redis)", apply: dkim(add("use_redis = true;")), expected: /use_redis is not modelled/, marker: "use_redis", artifact: RSPAMD_FILES.dkim },
  { name: "another file included (.include)", apply: dkim(add('.include "/etc/rspamd/extra.conf"')), expected: /the macro \.include is not modelled/, marker: ".include", artifact: RSPAMD_FILES.dkim },
  { name: "the reject threshold raised", apply: actions((x) => x.replace(/^reject = \d+;$/m, "reject = 1000;")), expected: /reject at 1000: the rendered threshold is/, marker: "reject = 1000", artifact: RSPAMD_FILES.actions },
  { name: "the spam header threshold raised", apply: actions((x) => x.replace(/^add_header = \d+;$/m, "add_header = 50;")), expected: /add_header at 50/, marker: "add_header = 50", artifact: RSPAMD_FILES.actions },
  { name: "rejection disabled (reject = null)", apply: actions((x) => x.replace(/^reject = \d+;$/m, "reject = null;")), expected: /reject at a value that is no score/, marker: "reject = null", artifact: RSPAMD_FILES.actions },
  { name: "the milter on every address", apply: proxy((x) => x.replace(/^bind_socket = .*$/m, 'bind_socket = "*:11332";')), expected: /the milter listens on \*:11332/, marker: "bind_socket", artifact: RSPAMD_FILES.proxy },
  { name: "the proxy not a milter", apply: proxy((x) => x.replace("milter = yes;", "milter = no;")), expected: /the proxy is not a milter/, marker: "milter = no", artifact: RSPAMD_FILES.proxy },
  { name: "scanning handed elsewhere (self_scan off)", apply: proxy((x) => x.replace("self_scan = yes;", "self_scan = no;")), expected: /the proxy does not scan itself/, marker: "upstream", artifact: RSPAMD_FILES.proxy },
  { name: "an upstream scanner host", apply: proxy((x) => x.replace("  default = yes;", '  default = yes;\n  hosts = "scanner.attacker.example:11333";')), expected: /upstream local hosts is not modelled/, marker: "hosts =", artifact: RSPAMD_FILES.proxy },
  { name: "an override.d file added", apply: addFile(`${RSPAMD_DIR}/override.d/dkim_signing.conf`, "sign_inbound = true;\n"), expected: /rspamd reads override\.d\/dkim_signing\.conf too/, marker: "", artifact: `${RSPAMD_DIR}/override.d/dkim_signing.conf` },
  { name: "a settings file added (a whitelist)", apply: addFile(`${RSPAMD_DIR}/local.d/settings.conf`, 'trusted { from = "@evil.example"; apply { actions { reject = null; } } }\n'), expected: /rspamd reads local\.d\/settings\.conf too/, marker: "", artifact: `${RSPAMD_DIR}/local.d/settings.conf` },
];

export const NEUTRAL: readonly { readonly name: string; readonly apply: (dir: string, site: Site) => void }[] = [
  { name: "booleans spelled on/off and true/false, ':' as the separator", apply: (d) => { dkim((x) => x.replace("enabled = true;", "enabled: on;").replace("sign_inbound = false;", "sign_inbound: off;"))(d); proxy((x) => x.replace("milter = yes;", "milter = true;"))(d); } },
  { name: "comments of both kinds, blank lines, no semicolons", apply: (d) => { actions((x) => x.replace(/;$/gm, "").replace(/^(reject .*)$/m, "/* the rendered limit */\n\n$1 # reject"))(d); } },
  { name: "the upstream written as nested objects", apply: proxy((x) => x.replace('upstream "local" {', "upstream {\n local {").replace(/^}$/m, "}\n}")) },
  { name: "a loopback network allowed to have its mail signed", apply: dkim(add('sign_networks = ["127.0.0.1", "::1"];')) },
  { name: "the greylist threshold left to rspamd's default (the same)", apply: actions((x) => x.replace(/^greylist = \d+;\n/m, "")) },
];
