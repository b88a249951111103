import { describe, expect, it } from "vitest";
import { HclSyntaxError, allows, comparePriority, governingRule, parseHcl, parsePolicy, pathMatches } from "../../policies/openbao/index.js";

describe("parseHcl", () => {
  it("GIVEN attributes, labelled and nested blocks, lists and comments WHEN parsed THEN each lands where it was written", () => {
    const body = parseHcl(`
      # comment
      ui = false   // trailing comment
      port = 8200
      /* block
         comment */
      listener "tcp" {
        address = "0.0.0.0:8200"
        tags    = ["a", "b",]
      }
      audit "file" "one" {
        options {
          file_path = "stdout"
        }
      }
      meta = { a = "x", "b": 2 }
    `);
    expect(body.attributes).toEqual({ ui: false, port: 8200, meta: { a: "x", b: 2 } });
    expect(body.blocks.map((b) => [b.type, ...b.labels])).toEqual([["listener", "tcp"], ["audit", "file", "one"]]);
    expect(body.blocks[0]!.body.attributes).toEqual({ address: "0.0.0.0:8200", tags: ["a", "b"] });
    expect(body.blocks[1]!.body.blocks[0]!.body.attributes).toEqual({ file_path: "stdout" });
  });

  it("GIVEN escapes in a string WHEN parsed THEN they are decoded", () => {
    expect(parseHcl(`a = "q\\"uote\\\\"`).attributes.a).toBe('q"uote\\');
  });

  it.each([
    ['path "x" {\n  capabilities = ["read"]\n', 'expected "}"'],
    ['a = "unterminated\n', "unterminated string"],
    ['a = "${var.x}"', "interpolation"],
    ["a = 1\na = 2", "set twice"],
    ["a = b", "expressions are not supported"],
    ["a = 1 b = 2", "new line"],
  ])("GIVEN malformed HCL %j WHEN parsed THEN it fails with a located error", (text, message) => {
    expect(() => parseHcl(text)).toThrow(HclSyntaxError);
    expect(() => parseHcl(text)).toThrow(message);
  });
});

describe("parsePolicy", () => {
  it("GIVEN path blocks WHEN parsed THEN each path carries its capabilities", () => {
    expect(parsePolicy('path "kv/data/a/*" {\n capabilities = ["read", "list"]\n}\n')).toEqual([{ path: "kv/data/a/*", capabilities: ["read", "list"] }]);
  });

  it.each([
    ['path "a" {\n capabilities = ["fly"]\n}', "capabilities must be"],
    ['path "a" {\n capabilities = ["read"]\n}\npath "a" {\n capabilities = ["read"]\n}', "appears twice"],
    ['path "a" {\n capabilities = ["read"]\n allowed_parameters = { x = [] }\n}', "may only set capabilities"],
    ['name = "x"', "only path blocks"],
    ['key "a" {\n}', "expected path"],
  ])("GIVEN a policy outside what Palisade renders %j WHEN parsed THEN it is refused", (text, message) => {
    expect(() => parsePolicy(text)).toThrow(message);
  });
});

describe("OpenBao path matching and priority", () => {
  it.each([
    ["database/creds/tenant-*", "database/creds/tenant-acme", true],
    ["database/creds/tenant-*", "database/creds/other", false],
    ["database/creds/tenant-*", "database/roles/tenant-acme", false],
    ["kv/data/api/*", "kv/data/api/db/url", true],
    ["kv/data/api/*", "kv/data/apix", false],
    ["secret/+/config", "secret/a/config", true],
    ["secret/+/config", "secret/a/b/config", false],
    ["sys/leases/renew", "sys/leases/renew", true],
    ["sys/leases/renew", "sys/leases/renew/x", false],
  ])("GIVEN pattern %s WHEN matched against %s THEN %s", (pattern, path, expected) => {
    expect(pathMatches(pattern, path)).toBe(expected);
  });

  it("GIVEN overlapping rules WHEN a path is requested THEN the more specific one governs and deny wins", () => {
    const rules = [
      { path: "kv/*", capabilities: ["read" as const] },
      { path: "kv/data/secret", capabilities: ["deny" as const] },
      { path: "kv/data/+/x", capabilities: ["update" as const] },
    ];
    expect(comparePriority("kv/*", "kv/data/secret")).toBeLessThan(0);
    expect(governingRule(rules, "kv/data/secret")?.path).toBe("kv/data/secret");
    expect(allows(rules, "kv/data/secret", "read")).toBe(false);
    expect(allows(rules, "kv/data/a/x", "update")).toBe(true);
    expect(allows(rules, "kv/data/a/x", "read")).toBe(false);
    expect(allows(rules, "other", "read")).toBe(false);
  });
});
