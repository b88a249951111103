import { describe, expect, it } from "vitest";
import { labCannotRun } from "../../stacks/lab/site-plan.js";
import { examples } from "../helpers/examples.js";

/* What the lab can bring up: one private-cloud site on dockerd. Everything else is refused up front (exit 2 from `lab up`). */
describe.each(examples.map((e) => [e.name, e] as const))("the lab's scope on example %s", (_n, e) => {
  const kube = e.site.sites.filter((s) => s.engine === "kubernetes");
  it(`GIVEN ${e.site.sites.length} site(s), ${kube.length} on Kubernetes WHEN the lab is asked THEN it runs exactly the one-site Docker platforms and names why it refuses the others`, () => {
    const why = labCannotRun(e.site);
    if (e.site.sites.length === 1 && kube.length === 0) expect(why).toBeUndefined();
    else expect(why).toMatch(kube.length && e.site.sites.length === 1 ? /Kubernetes API server/ : /one private-cloud site/);
  });
});
