/**
 * Preloaded by `deno task test` (scripts/test.ts) on every runtime: the
 * whole suite runs with the cluster module loaded and not connected (issue
 * 15: "every local test keeps passing with the cluster module loaded").
 * Loading it must start nothing (no timer, no connection):
 * tests/cluster_loaded_test.ts checks that a program that imports it ends
 * on its own. (Node and Bun preload the built dist/npm/cluster.js instead.)
 *
 * @module
 */
import "../cluster.ts";
