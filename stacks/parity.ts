// Engine parity lives with the verifier (policies/verifier/parity.ts), which reports drift from it.
export * from "../policies/verifier/parity.js";
