import { describe, expect, it } from "vitest";
import { secretGuardrails } from "../../policies/guardrails.js";
import { parseJsonWithLines, JsonSyntaxError } from "../../policies/verifier/json-lines.js";
import { utf8 } from "../../stacks/output.js";

/* The fast paths of verify at scale give what the plain code gave: lines, findings, bytes. */

const WG = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
/** One line per secret pattern, with the kind it must be reported as. */
const SECRETS: [string, string][] = [
  ["-----BEGIN OPENSSH PRIVATE KEY-----", "PEM private key block"],
  ["  PrivateKey = abcdefghij", "WireGuard PrivateKey line"],
  [`x private_key: "${WG}"`, "WireGuard private key (44-character base64 in a private-key position)"],
  ['  "db_password": "hunter2hunter2",', "password/secret/token value"],
  ["id AKIAABCDEFGHIJKLMNOP", "AWS access key id"],
  // The earlier password/secret pattern matches it first (and a line gives one finding).
  ["aws_secret_access_key = abcdefghijabcdefghijabcdefghijabcdefghij", "password/secret/token value"],
  [`t ghp_${"a".repeat(36)}`, "token"],
  ["eyJabcdefghij.eyJabcdefghij.abcdefghijk", "JSON web token"],
  ["https://hooks.slack.com/services/T123/B456/xyz", "Slack webhook"],
  ["url postgres://user:s3cretpass@db", "password in a URL"],
  ["Authorization: Bearer abcdefghijklmnop", "credential in an HTTP header"],
  [`PresharedKey ${WG}`, "WireGuard key in a key position (private-key, PresharedKey)"],
];

describe("secretGuardrails' prefilter", () => {
  it("GIVEN each kind of secret among many clean lines, alone or in a \\n segment WHEN scanned THEN each is found, at its line, as its kind", () => {
    const clean = Array.from({ length: 50 }, (_, i) => `  "name${i}": "value ${i}",`);
    for (const [secret, kind] of SECRETS) {
      for (const embed of [secret, `"command": "a\\n${secret.trim()}\\nb"`]) {
        const lines = [...clean, embed, ...clean];
        const found = secretGuardrails(new Map([["hosts/x/app.conf", lines.join("\n")]]));
        expect(found.map((f) => [f.line, f.construct]), `${embed}`).toEqual([[51, kind]]);
      }
    }
  });

  it("GIVEN placeholders and names where values go WHEN scanned THEN nothing is found, as before", () => {
    const text = ['password: "${var.db}"', "secret = <redacted>", "token: file:/run/secrets/x", 'db_password = "db_password_name"', "password=\r"].join("\n");
    expect(secretGuardrails(new Map([["hosts/x/app.conf", text]]))).toEqual([]);
  });

  it("GIVEN a secret on the last line, without a final line break WHEN scanned THEN its line is the last", () => {
    expect(secretGuardrails(new Map([["hosts/x/a.conf", "a\nb\nid AKIAABCDEFGHIJKLMNOP"]])).map((f) => f.line)).toEqual([3]);
  });
});

describe("parseJsonWithLines", () => {
  const text = '{\n  "a": {\n    "b": [\n      1,\n      {\n        "c/d": "x"\n      }\n    ],\n    "~": true\n  },\n  "e": "s"\n}\n';
  it("GIVEN a pointer WHEN asked for its line THEN it is the value's line, else its nearest present parent's", () => {
    const j = parseJsonWithLines(text);
    expect(j.lineOf([])).toBe(1);
    expect(j.lineOf(["a"])).toBe(2);
    expect(j.lineOf(["a", "b", 0])).toBe(4);
    expect(j.lineOf(["a", "b", "1", "c/d"])).toBe(6);
    expect(j.lineOf(["a", "b", "01"])).toBe(3); // not an index: the list's line
    expect(j.lineOf(["a", "b", 7, "x"])).toBe(3);
    expect(j.lineOf(["a", "~"])).toBe(9);
    expect(j.lineOf(["e", "deeper"])).toBe(11);
    expect(j.lineOf(["nope"])).toBe(1);
  });

  it("GIVEN the same large text twice WHEN parsed THEN the value is the same object (one parse per artifact)", () => {
    const large = JSON.stringify({ items: Array.from({ length: 10_000 }, (_, i) => ({ i })) }, null, 2);
    expect(parseJsonWithLines(large).value).toBe(parseJsonWithLines(large).value);
    expect(parseJsonWithLines(large).lineOf(["items", 2, "i"])).toBe(10);
  });

  it("GIVEN a repeated key WHEN parsed THEN it is a JsonSyntaxError at the repeat's line (JSON.parse alone would keep the last)", () => {
    expect(() => parseJsonWithLines('{\n"a": 1,\n"a": 2}')).toThrow(JsonSyntaxError);
    expect(() => parseJsonWithLines('{\n"a": 1,\n"a": 2}')).toThrow(/duplicate key "a".* at line 3/);
  });
});

describe("utf8", () => {
  it("GIVEN long text with non-ASCII characters, surrogate pairs on chunk edges and lone surrogates WHEN encoded THEN the bytes are Buffer.from's", () => {
    const chunk = 1 << 16;
    const texts = [
      "a".repeat(chunk * 3 + 5),
      `${"a".repeat(chunk - 1)}\u{1F600}${"b".repeat(chunk)}é`,
      `${"a".repeat(chunk - 1)}\ud83d${"b".repeat(chunk)}\ude00x`,
      `é${"x".repeat(chunk * 2)}→${"y".repeat(100)}\ud83d`,
    ];
    for (const t of texts) expect(utf8(t).equals(Buffer.from(t))).toBe(true);
  });
});
