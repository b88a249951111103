import { createInterface } from "node:readline";
import { spawnRunner, type OutputSink, type Runner } from "./runner.js";
import { defaultVerifyGate, type VerifyGate } from "./verify-gate.js";

/** Everything deploy touches outside its arguments, injectable for tests. */
export interface OpsContext {
  /** Environment of the engines (PATH decides which tools exist). */
  readonly env: NodeJS.ProcessEnv;
  /** Directory the relative paths (site, out, secrets) are resolved against. */
  readonly cwd: string;
  readonly run: Runner;
  readonly io: OutputSink;
  /** One line typed by the operator; null when stdin is not a terminal. */
  readonly ask: (prompt: string) => Promise<string | null>;
  readonly verify: VerifyGate;
}

/** Reads one line from a terminal; null when stdin is not one (CI, pipes): deploy then needs --yes. */
export async function askTerminal(prompt: string): Promise<string | null> {
  if (!process.stdin.isTTY) return null;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<string>((resolve) => rl.question(prompt, resolve));
  } finally {
    rl.close();
  }
}

export function defaultOpsContext(): OpsContext {
  const io: OutputSink = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };
  return { env: process.env, cwd: process.cwd(), run: spawnRunner(io), io, ask: askTerminal, verify: defaultVerifyGate };
}
