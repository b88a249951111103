import { readFileSync } from "node:fs";
import { parseSite, SiteError, type Artifact, type Site } from "../core/index.js";
import { intentOf } from "../policies/intent.js";
import type { TrustedInputs, UntrustedInputs } from "../policies/verifier/trusted-inputs.js";
import { sha256 } from "./output.js";
import { buildTopology } from "./platform.js";

/** Where plan keeps a copy of the site it planned from (listed, with its hash, in manifest.json). */
export const SITE_COPY_PATH = "inputs/site.yaml";

/** The site copy that goes into out/: the input of the plan, so verify can recompute the intent from it. */
export function siteCopyArtifact(siteText: string): Artifact {
  return { path: SITE_COPY_PATH, content: siteText };
}

/** The trusted inputs of a plan that has the site in hand. */
export function inputsFromSite(site: Site, source: string): TrustedInputs {
  return { site, intent: intentOf(buildTopology(site)), source, problems: [] };
}

/**
 * The inputs verify checks against, from the site (the file given with --site, else the copy in
 * inputs/site.yaml), never from intent.json. The site's sha256 must be the one manifest.json
 * records: a site copy edited after plan, or a --site that is not the planned one, is a finding.
 */
export function deriveInputs(files: ReadonlyMap<string, string>, siteFile?: string): TrustedInputs | UntrustedInputs {
  let text: string | undefined;
  let source: string;
  if (siteFile !== undefined) {
    source = `--site ${siteFile}`;
    try {
      text = readFileSync(siteFile, "utf8");
    } catch (e) {
      return { reason: `${siteFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})` };
    }
  } else {
    source = SITE_COPY_PATH;
    text = files.get(SITE_COPY_PATH);
    if (text === undefined) return { reason: `${SITE_COPY_PATH} is missing and no --site was given: re-run palisade plan, or pass the site file with --site` };
  }
  let site: Site;
  try {
    site = parseSite(text, siteFile ?? SITE_COPY_PATH);
  } catch (e) {
    if (e instanceof SiteError) return { reason: `${source} is not a valid site: ${e.message.split("\n").slice(0, 3).join(" ")}` };
    throw e;
  }
  const problems: { message: string; artifact: string; line?: number }[] = [];
  const manifestText = files.get("manifest.json");
  if (manifestText !== undefined) {
    let recorded: unknown;
    try {
      recorded = (JSON.parse(manifestText) as { inputs?: { site?: unknown } }).inputs?.site;
    } catch {
      recorded = undefined;
    }
    const actual = sha256(text);
    if (recorded !== actual) {
      const line = manifestText.split("\n").findIndex((l) => l.includes('"site"')) + 1;
      problems.push({
        message: `manifest.json records the site's sha256 as ${JSON.stringify(recorded)} but ${source} hashes to ${actual}: these artifacts were not planned from this site`,
        artifact: "manifest.json",
        ...(line > 0 ? { line } : {}),
      });
    }
  }
  return { ...inputsFromSite(site, source), problems };
}
