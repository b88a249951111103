import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command-line problem: exit code 2, message on stderr, nothing written. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One command's behaviour; its one-line summary is in main.ts's list, which `--help` prints without loading it. */
export interface Command {
  readonly name: string;
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

/** What `parseOptions` returns: each option's value by name (the caller knows its type), and the positionals. */
export interface ParsedOptions {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: string[];
}

/** `parseArgs` that turns its errors into `UsageError` with the command's name. */
export function parseOptions<T extends NonNullable<ParseArgsConfig["options"]>>(command: string, argv: string[], options: T, allowPositionals = false): ParsedOptions {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(`palisade ${command}: ${(e as Error).message.replace(/\. To specify.*$/s, "")}; see palisade ${command} --help`);
  }
}

/** The answer to `-h`/`--help` (which `parseOptions` adds to every command): the command's help on stdout, exit 0. */
export function printHelp(help: string): number {
  console.log(help);
  return 0;
}

export function oneOf<T extends string>(command: string, flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`palisade ${command}: --${flag} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
  }
  return value as T;
}
