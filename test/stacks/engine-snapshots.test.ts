import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planOnce } from "../helpers/plan-once.js";

/*
 * Whole-file snapshots of what each engine would apply, per stack. A change to any resource shows
 * up as a reviewable diff of test/stacks/__snapshots__/*.json (update with `vitest -u`).
 */
const plan = await planOnce();
const STACKS = readdirSync(join(plan.dir, "cdktf/stacks")).sort();

/**
 * cdktf's default local backend would write the state path as `<cwd>/terraform.<stack>.tfstate`,
 * an absolute path of this checkout; should that come back, the snapshot stands the checkout in as
 * `<cwd>` so that it does not depend on where the repository is cloned (the determinism test fails
 * on it instead).
 */
const portable = (text: string) => text.replaceAll(`${process.cwd()}/`, "<cwd>/");

describe("the engines' output snapshots", () => {
  it.each(STACKS)("GIVEN the reference site WHEN planned THEN the %s stack's Terraform JSON matches its snapshot", async (stack) => {
    await expect(portable(plan.text(`cdktf/stacks/${stack}/cdk.tf.json`))).toMatchFileSnapshot(`__snapshots__/${stack}.cdk.tf.json`);
  });

  it.each(STACKS)("GIVEN the reference site WHEN planned THEN the %s stack's Pulumi capture matches its snapshot", async (stack) => {
    await expect(plan.text(`pulumi/${stack}.json`)).toMatchFileSnapshot(`__snapshots__/${stack}.pulumi.json`);
  });
});
