/**
 * Loading `@pulumi/pulumi` loads, at its top level, what only its closure serialization uses
 * (turning a JavaScript callback into a deployable function): npm's dependency-tree reader
 * `@npmcli/arborist` with its ~800 modules, and the TypeScript compiler. The offline capture never
 * serializes a closure, yet those modules were most of the time `palisade plan` spent loading the
 * SDK. This puts a stand-in for each into Node's module cache (`require.cache`, which Node documents
 * as writable) before the SDK loads: the stand-in loads the real module on first use, so nothing
 * changes if the SDK ever needs one. A module the SDK no longer requires from where we look is
 * simply not deferred.
 */
import { createRequire, Module } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** Modules `@pulumi/pulumi` requires eagerly for closure serialization, by the file that requires them. */
const CLOSURE_ONLY: readonly { readonly from: string; readonly request: string }[] = [
  { from: "runtime/closure/codePaths.js", request: "@npmcli/arborist" },
  { from: "runtime/closure/codePaths.js", request: "normalize-package-data" },
  { from: "runtime/closure/codePaths.js", request: "fdir" },
  { from: "runtime/closure/parseFunction.js", request: "../../typescript-shim" },
];

type ModuleWithInternals = Module & { filename: string; loaded: boolean };

/** A cache entry whose exports load `file` on first access (and then stand aside). */
function deferModule(file: string): void {
  if (require.cache[file]) return;
  let real: Record<string | symbol, unknown> | undefined;
  const stub = new Module(file) as ModuleWithInternals;
  const load = (): Record<string | symbol, unknown> => {
    if (!real) {
      delete require.cache[file];
      real = require(file) as Record<string | symbol, unknown>;
    }
    return real;
  };
  stub.filename = file;
  stub.loaded = true;
  // `__esModule` keeps TypeScript's import helpers from enumerating the exports (which would load
  // them now); `default` then answers what `__importDefault` would have given: the module itself.
  stub.exports = new Proxy(
    {},
    {
      get: (_, key) => {
        if (key === "__esModule") return true;
        const m = load();
        return key === "default" && !m.__esModule ? m : m[key];
      },
      has: (_, key) => key in load(),
    },
  );
  require.cache[file] = stub;
}

let done = false;

/** Defers the closure-only modules of the `@pulumi/pulumi` this project resolves. Idempotent. */
export function deferPulumiClosureModules(): void {
  if (done) return;
  done = true;
  const sdk = dirname(require.resolve("@pulumi/pulumi/package.json"));
  for (const { from, request } of CLOSURE_ONLY) {
    try {
      deferModule(createRequire(join(sdk, from)).resolve(request));
    } catch {
      // Not resolvable from there (another SDK version): nothing to defer.
    }
  }
}
