// The lab's and deploy's command helpers run through zx: same results and error messages as the
// child_process versions, arguments never parsed by the shell, and a timeout kills the command.
import { describe, expect, it } from "vitest";
import { execAsync, mustAsync } from "../../stacks/lab/proc.js";
import { spawnRunner } from "../../stacks/ops/runner.js";

const tricky = ["a b", "$HOME", "`id`", "$(id)", "'x\"", "a;b|c&&d", "*", "\\n"];

describe("lab proc helpers (zx)", () => {
  it("passes each argument as one word, unexpanded", async () => {
    const r = await execAsync(["printf", "%s\\n", ...tricky]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(tricky.map((t) => `${t}\n`).join(""));
  });

  it("feeds input on stdin and reports the exit code", async () => {
    expect(await execAsync(["cat"], { input: "hello\n" })).toMatchObject({ code: 0, stdout: "hello\n" });
    expect((await execAsync(["sh", "-c", "exit 3"])).code).toBe(3);
    expect((await execAsync(["palisade-no-such-command-zz"])).code).toBe(127);
  });

  it("mustAsync names the command, the code and stderr on failure", async () => {
    await expect(mustAsync(["sh", "-c", "echo boom >&2; exit 5"])).rejects.toThrow("sh -c echo boom >&2; exit 5 failed (5): boom");
    await expect(mustAsync(["true"])).resolves.toBe("");
  });

  it("kills a command that exceeds its timeout; the message names the command and the timeout", async () => {
    const marker = `${process.pid}${Date.now() % 1000}`;
    const start = Date.now();
    await expect(mustAsync(["sleep", `60.${marker}`], { timeoutMs: 300 })).rejects.toThrow(`sleep 60.${marker} timed out after 300 ms and was killed`);
    expect(Date.now() - start).toBeLessThan(5000);
    const left = await execAsync(["pgrep", "-f", `sleep 60.${marker}`]);
    expect(left.stdout).toBe("");
    // a command within its timeout is not affected
    await expect(mustAsync(["sleep", "0.05"], { timeoutMs: 2000 })).resolves.toBe("");
  });
});

describe("deploy runner (zx)", () => {
  const quiet = { out: () => undefined, err: () => undefined };

  it("streams stdout and stderr, keeps stdin off argv, returns the exit code", async () => {
    const seen: string[] = [];
    const run = spawnRunner({ out: (t) => seen.push(`out:${t}`), err: (t) => seen.push(`err:${t}`) });
    const r = await run({ cmd: "sh", args: ["-c", "echo a; echo b >&2; cat; exit 4"], env: process.env, cwd: "/tmp", stdin: "from-stdin\n" });
    expect(r.code).toBe(4);
    expect(r.output).toContain("from-stdin");
    expect(seen.join("")).toContain("out:a\n");
    expect(seen.join("")).toContain("err:b\n");
  });

  it("does not let the shell interpret arguments", async () => {
    const r = await spawnRunner(quiet)({ cmd: "printf", args: ["%s|", ...tricky], env: { PATH: process.env.PATH }, cwd: "/tmp", stream: false });
    expect(r).toEqual({ code: 0, output: tricky.map((t) => `${t}|`).join("") });
  });

  it("reports a missing program as 127 with the program's name, and a signal as 128+N", async () => {
    expect(await spawnRunner(quiet)({ cmd: "palisade-no-such-tool-zz", args: [], env: process.env, cwd: "/tmp" })).toEqual({ code: 127, output: "palisade-no-such-tool-zz: spawn palisade-no-such-tool-zz ENOENT\n" });
    expect((await spawnRunner(quiet)({ cmd: "sh", args: ["-c", "kill -TERM $$"], env: process.env, cwd: "/tmp" })).code).toBe(143);
  });
});
