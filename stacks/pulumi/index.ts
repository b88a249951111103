// Entry point for `pulumi preview` / `pulumi up` (Pulumi.yaml): the stack name picks what to
// deploy: `edge` or `cloud` (a Docker host, or the cloud's cluster when its engine is kubernetes), or `secrets` (OpenBao, the second phase).
import * as pulumi from "@pulumi/pulumi";
import { loadSite } from "../../core/index.js";
import { stackSpec } from "../docker-spec.js";
import { buildTopology } from "../platform.js";
import { secretsStackSpec } from "../secrets-spec.js";
import { DockerHostComponent } from "./program.js";
import { SecretsComponent } from "./secrets-program.js";
import { siteKubeSpec, isKubeStack } from "../kube-spec.js";
import { KubeSiteComponent } from "./kube-program.js";

const site = loadSite(process.env.PALISADE_SITE ?? "palisade.yaml");
const stack = pulumi.getStack();
const config = new pulumi.Config("palisade");
if (stack === "secrets") new SecretsComponent(secretsStackSpec(site), config);
else {
  const t = buildTopology(site);
  if (isKubeStack(t, stack)) new KubeSiteComponent(siteKubeSpec(t, stack));
  else new DockerHostComponent(stackSpec(t, stack), config);
}
