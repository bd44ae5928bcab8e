/**
 * `deno run -A scripts/build_examples.ts`: the examples for Node (which
 * cannot run .ts): builds the npm package (dist/npm), then transpiles
 * examples/**\/*.ts into dist/node-examples/examples/**\/*.js with library
 * imports pointing at dist/npm. `node dist/node-examples/examples/x.js` then
 * runs an example on the built package, as a user of the npm package would.
 *
 * @module
 */
import { buildNpm } from "./build_npm.ts";
import { transpileForNode } from "./test.ts";
import { header, remove, ROOT, walk } from "./_util.ts";

/** Where the transpiled examples go, relative to the root. */
export const NODE_EXAMPLES_DIR = "dist/node-examples";

/** Builds dist/npm and the transpiled examples; whether it worked. */
export async function buildExamples(): Promise<boolean> {
  Deno.chdir(ROOT);
  if (!await buildNpm()) return false;
  header(`transpile examples/ -> ${NODE_EXAMPLES_DIR}`);
  remove(NODE_EXAMPLES_DIR);
  const sources = walk("examples").filter((f) => f.endsWith(".ts"));
  return await transpileForNode(sources, NODE_EXAMPLES_DIR);
}

if (import.meta.main) Deno.exit(await buildExamples() ? 0 : 1);
