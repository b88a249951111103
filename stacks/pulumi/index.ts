// Entry point for `pulumi preview` / `pulumi up` (Pulumi.yaml): the stack name picks the host.
import * as pulumi from "@pulumi/pulumi";
import { loadSite } from "../../core/index.js";
import { stackSpec } from "../docker-spec.js";
import { buildTopology } from "../platform.js";
import { DockerHostComponent } from "./program.js";

const site = loadSite(process.env.PALISADE_SITE ?? "palisade.yaml");
const spec = stackSpec(buildTopology(site), pulumi.getStack());
new DockerHostComponent(spec, new pulumi.Config("palisade"));
