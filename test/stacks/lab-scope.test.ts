import { describe, expect, it } from "vitest";
import { labCannotRun } from "../../stacks/lab/site-plan.js";
import { examples } from "../helpers/examples.js";

/* What the lab can bring up: every private-cloud site on a dockerd of its own. A Kubernetes site is refused up front (exit 2 from `lab up`). */
describe.each(examples.map((e) => [e.name, e] as const))("the lab's scope on example %s", (_n, e) => {
  const kube = e.site.sites.filter((s) => s.engine === "kubernetes");
  it(`GIVEN ${e.site.sites.length} site(s), ${kube.length} on Kubernetes WHEN the lab is asked THEN it runs exactly the Docker platforms, one site or several, and names why it refuses a Kubernetes one`, () => {
    const why = labCannotRun(e.site);
    if (kube.length === 0) expect(why).toBeUndefined();
    else expect(why).toMatch(new RegExp(`site ${kube[0]!.id} runs on Kubernetes.*Kubernetes API server`));
  });
});
