import { execFileSync } from "node:child_process";
import { inCI } from "./root.js";

/** Absolute path of a tool on PATH (or in /usr/sbin), or null. */
export function which(tool: string): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin", "/usr/bin"]) {
    try {
      execFileSync("test", ["-x", `${dir}/${tool}`]);
      return `${dir}/${tool}`;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * The path of a real checker/daemon a test needs. Missing: under CI=true that is an error (CI
 * installs it); locally the caller gets null and should `skip` with the message.
 */
export function requireTool(tool: string, debianPackage = tool): { path: string | null; skipReason: string } {
  const path = which(tool);
  const skipReason = `${tool} not installed (apt-get install ${debianPackage})`;
  if (!path && inCI) throw new Error(`${skipReason}; CI must install it in .ci/run`);
  return { path, skipReason };
}
