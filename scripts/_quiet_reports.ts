/**
 * Preloaded by `deno task test` (scripts/test.ts) before the Deno run: the
 * JSDoc examples crash processes on purpose, and the library's default
 * logger would write their reports into the test output. Silenced, not
 * captured: an example fails by its assertions. (The test files capture
 * their reports themselves, in tests/_harness.ts.)
 *
 * @module
 */
import { setLogger } from "../logger.ts";

setLogger(null);
