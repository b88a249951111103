import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseSite, type Site } from "../../core/index.js";
import type { OpsContext } from "../../stacks/ops/context.js";
import { ensureKeys, withPublicKeys, type PublicKeySet } from "../../stacks/ops/keys.js";
import { spawnRunner } from "../../stacks/ops/runner.js";
import type { GateResult } from "../../stacks/ops/verify-gate.js";
import { referenceData } from "../helpers/sites.js";

/*
 * Recording stand-ins for `terraform`, `tofu`, `pulumi` and `ssh`: no providers, Docker hosts or
 * Pulumi CLI exist here. Each appends one line per call to $STANDIN_LOG: the tool, its argv, the
 * NAMES of the secret-carrying environment variables it received (never their values) and whether
 * its stdin had data (as a sha256, so a test can tell which value was piped without logging it).
 * It exits with $STANDIN_FAIL_CODE when "tool argv" contains $STANDIN_FAIL_MATCH, else 0.
 */

const STANDIN = `#!/bin/sh
tool=$(/usr/bin/basename "$0")
if [ -t 0 ]; then stdin=tty; else
  data=$(/bin/cat)
  if [ -n "$data" ]; then stdin="data:$(printf %s "$data" | /usr/bin/sha256sum | /usr/bin/cut -c1-64)"; else stdin=empty; fi
fi
names=$(/usr/bin/env | /usr/bin/cut -d= -f1 | /bin/grep -E '^(TF_VAR_|TF_IN_AUTOMATION$|PULUMI_|PALISADE_|VAULT_TOKEN$)' | /usr/bin/sort | /usr/bin/tr '\\n' ' ')
args=$(printf '%s\\037' "$@")
printf '%s\\t%s\\t%s\\t%s\\n' "$tool" "$args" "$names" "$stdin" >> "$STANDIN_LOG"
case "$tool $*" in
  *" plan "*|*" plan") echo "Plan: 2 to add, 0 to change, 0 to destroy." ;;
  *" preview "*) printf 'Resources:\\n    + 13 to create\\n\\n' ;;
esac
echo "stand-in $tool: $1 $2"
case "$tool $*" in
  *"\${STANDIN_FAIL_MATCH:-\\001never}"*) echo "stand-in $tool: failing as asked" >&2; exit "\${STANDIN_FAIL_CODE:-1}" ;;
esac
exit 0
`;

/** A fake OpenBao token in the sandbox's environment (the secrets stack needs one). */
export const TEST_VAULT_TOKEN = "s.palisadeTestToken0123456789abcdef";

export interface Call {
  readonly tool: string;
  readonly args: string[];
  readonly envNames: string[];
  /** "empty" (no stdin data), "tty", or "data:<sha256>". */
  readonly stdin: string;
}

export interface Sandbox {
  readonly root: string;
  readonly bin: string;
  readonly log: string;
  readonly siteFile: string;
  readonly outDir: string;
  readonly secretsDir: string;
  readonly site: Site;
  readonly publicKeys: PublicKeySet;
  calls(): Call[];
  /** What Palisade itself printed (stdout + stderr of the injected sink). */
  output(): string;
  ctx(over?: Partial<OpsContext> & { extraEnv?: Record<string, string>; answer?: string | null; gate?: GateResult | null }): OpsContext;
  /** Every secret value in the secrets directory. */
  secretValues(): string[];
  /** Every file under out/, with its content. */
  outFiles(): { path: string; content: string }[];
}

export function installStandins(bin: string, tools: readonly string[]): void {
  mkdirSync(bin, { recursive: true });
  for (const t of tools) {
    writeFileSync(join(bin, t), STANDIN);
    chmodSync(join(bin, t), 0o755);
  }
}

/**
 * A temp project: stand-ins on PATH (only those given: PATH holds nothing else), keys created,
 * and a site file whose publicKeys are the keys' public halves (as the operator pastes them).
 */
export function sandbox(
  opts: { tools?: readonly string[]; keys?: boolean; pastePublicKeys?: boolean; change?: (s: Record<string, any>) => void; data?: () => Record<string, any> } = {},
): Sandbox {
  const root = mkdtempSync(join(tmpdir(), "palisade-ops-"));
  const bin = join(root, "bin");
  installStandins(bin, opts.tools ?? ["tofu", "terraform", "pulumi", "ssh"]);
  const log = join(root, "standin.log");
  writeFileSync(log, "");
  const secretsDir = join(root, ".palisade", "secrets");
  // The reference unless another platform's site data is given (the two-site example, say).
  const data = (opts.data ?? referenceData)() as Record<string, any>;
  delete data.$schema;
  opts.change?.(data);
  const siteFile = join(root, "palisade.yaml");
  writeFileSync(siteFile, stringify(data));
  let site = parseSite(stringify(data), siteFile);
  let publicKeys: PublicKeySet = { sites: [] };
  if (opts.keys !== false) {
    publicKeys = ensureKeys(site, secretsDir).publicKeys;
    if (opts.pastePublicKeys !== false) {
      const pasted = withPublicKeys(data, publicKeys);
      writeFileSync(siteFile, stringify(pasted));
      site = parseSite(stringify(pasted), siteFile);
    }
  }
  let printed = "";
  const io = { out: (t: string) => void (printed += t), err: (t: string) => void (printed += t) };
  return {
    root,
    bin,
    log,
    siteFile,
    outDir: join(root, "out"),
    secretsDir,
    site,
    publicKeys,
    calls: () =>
      readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [tool, args, names, stdin] = line.split("\t");
          return { tool: tool!, args: args!.split("\x1f").filter((a, i, all) => i < all.length - 1 || a !== ""), envNames: names!.trim().split(" ").filter(Boolean), stdin: stdin! };
        }),
    output: () => printed,
    ctx: (over = {}) => ({
      env: { PATH: bin, STANDIN_LOG: log, HOME: root, VAULT_TOKEN: TEST_VAULT_TOKEN, ...(over.extraEnv ?? {}) },
      cwd: root,
      run: spawnRunner(io),
      io,
      ask: async () => (over.answer === undefined ? null : over.answer),
      verify: async () => (over.gate === undefined || over.gate === null ? null : { gate: over.gate, files: [] }),
      ...over,
    }),
    secretValues: () =>
      readdirSync(secretsDir)
        .filter((f) => f !== ".gitignore")
        .flatMap((f) => {
          const text = readFileSync(join(secretsDir, f), "utf8").trim();
          // Whole value, plus each secret line of multi-line files (PEM body, TSIG secrets).
          const parts = text.split("\n").map((l) => l.replace(/^\s*secret:\s*/, "").trim()).filter((l) => l.length >= 16 && !l.startsWith("#") && !l.startsWith("-----"));
          return [text, ...parts];
        }),
    outFiles: () => {
      const out: { path: string; content: string }[] = [];
      const walk = (d: string) => {
        if (!existsSync(d)) return;
        for (const n of readdirSync(d)) {
          const p = join(d, n);
          if (statSync(p).isDirectory()) walk(p);
          else out.push({ path: p, content: readFileSync(p, "utf8") });
        }
      };
      walk(join(root, "out"));
      return out;
    },
  };
}
