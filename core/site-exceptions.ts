import { z } from "zod";

/*
 * The site file's `exceptions:` section: governance for each hardening exception the platform
 * renders (host networking, a root user, an added capability, a network with a route out). The
 * exception itself is a fact of the artifacts, with its reason label; this section says who owns
 * it, under which ticket it was approved and until when. The verifier joins the two and fails
 * the run once an exception has expired.
 */

export const EXCEPTION_KINDS = ["host-network", "root-user", "capability", "egress-network"] as const;

const id = z.string({ error: "expected an id" }).regex(/^[a-z][a-z0-9-]{0,62}$/, "expected an id of lower-case letters, digits and dashes, starting with a letter");
const isoDate = z
  .string({ error: "expected a date YYYY-MM-DD" })
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expected a date YYYY-MM-DD such as 2027-06-30")
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), "expected a real calendar date YYYY-MM-DD");

export const exceptionSchema = z.strictObject({
  /** The service the exception is on (or, for kind egress-network, the network's name as the report lists it). */
  service: id.describe("The service the exception is on (for egress-network: the network's name as the report lists it)."),
  kind: z.enum(EXCEPTION_KINDS, { error: `expected one of ${EXCEPTION_KINDS.join(", ")}` }),
  /** For kind capability: the one capability covered (NET_ADMIN). @default - every capability the service adds */
  capability: z.string().regex(/^[A-Z_]+$/, "expected a capability name such as NET_ADMIN").optional().describe("For kind capability: the one capability covered. default: every capability the service adds"),
  /** Why it is needed, for the auditor (the artifact's own reason label stays the source of truth). */
  reason: z.string().min(1, "expected a reason"),
  /** Who answers for it. */
  owner: z.string().min(1, "expected an owner (a person or team)"),
  /** The approval's reference (ticket, change request). */
  ticket: z.string().min(1, "expected a ticket reference such as SEC-42"),
  /** Last day it is valid; the run fails from the day after (UTC). */
  expires: isoDate.describe("Last day it is valid (UTC); verify fails from the day after."),
});

/** @default - none: every exception is listed without governance (an advisory guardrail says so) */
export const exceptionsSchema = z.array(exceptionSchema).default([]).describe("Governance of hardening exceptions. default: none");

export type ExceptionGovernance = z.output<typeof exceptionSchema>;
