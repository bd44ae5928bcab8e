/**
 * Type-checks the TypeScript code blocks of the Markdown docs (README.md):
 * `deno check --doc-only`, which resolves `@steward/steward/...` to this
 * package's own exports (deno.json's name), as the JSDoc examples do. The
 * blocks are type-checked, not run: several start servers on a port or end
 * the program (`application.run`).
 *
 * Before that, the fences themselves are read (CommonMark rules): a fence
 * that never closes, or a fence line with a language inside another block (a
 * block that swallowed the next section), is a failure; and every `ts`
 * block must be one that `deno check` reported checking, so a block Deno
 * did not see cannot pass silently.
 *
 * Used by scripts/test.ts (so `npm test` fails on a broken block) and
 * scripts/check.ts.
 *
 * @module
 */
import { header, ROOT_URL, run } from "./_util.ts";

/** Markdown files (relative to the root) whose code blocks must type-check. */
export const MARKDOWN_DOCS = ["README.md"];

/** Languages Deno type-checks in Markdown, as the info string names them. */
const CHECKED_LANGS = new Set([
  "ts",
  "typescript",
  "mts",
  "tsx",
  "js",
  "javascript",
  "mjs",
  "jsx",
]);

/** A fenced code block: its language and the line of its opening fence. */
interface Block {
  lang: string;
  line: number;
}

/**
 * The fenced code blocks of `text` (named `file` in messages), and what is
 * wrong with its fences.
 */
export function readFences(
  file: string,
  text: string,
): { blocks: Block[]; problems: string[] } {
  const blocks: Block[] = [];
  const problems: string[] = [];
  let open: (Block & { char: string; length: number }) | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (m === null) continue;
    const [, fence, rest] = m;
    const info = rest.trim();
    if (open === undefined) {
      open = {
        char: fence[0],
        length: fence.length,
        lang: info.split(/\s+/)[0].toLowerCase(),
        line: i + 1,
      };
    } else if (
      fence[0] === open.char && fence.length >= open.length && info === ""
    ) {
      blocks.push({ lang: open.lang, line: open.line });
      open = undefined;
    } else if (info !== "") {
      problems.push(
        `${file}:${
          i + 1
        }: a fence with a language (${fence}${info}) inside the block opened at line ${open.line}: that block is not closed where it should be`,
      );
    }
  }
  if (open !== undefined) {
    problems.push(
      `${file}:${open.line}: the ${
        open.char.repeat(open.length)
      } fence opened here never closes`,
    );
  }
  return { blocks, problems };
}

/**
 * Checks the fences and type-checks the code blocks of {@linkcode
 * MARKDOWN_DOCS}, printing what it does. Returns the number of blocks
 * checked and whether all is well (after saying what is not).
 */
export async function checkMarkdown(): Promise<
  { ok: boolean; blocks: number }
> {
  header(
    `deno check --doc-only ${
      MARKDOWN_DOCS.join(" ")
    }: every code block type-checks`,
  );
  const problems: string[] = [];
  const wanted: string[] = [];
  for (const file of MARKDOWN_DOCS) {
    const read = readFences(
      file,
      Deno.readTextFileSync(new URL(file, ROOT_URL)),
    );
    problems.push(...read.problems);
    for (const block of read.blocks) {
      if (CHECKED_LANGS.has(block.lang)) wanted.push(`${file}#${block.line}-`);
    }
  }
  const check = await run(Deno.execPath(), [
    "check",
    "--doc-only",
    ...MARKDOWN_DOCS,
  ]);
  if (check.code !== 0) {
    problems.push(`deno check --doc-only failed (exit ${check.code})`);
  } else {
    for (const block of wanted) {
      if (!check.output.includes(`${block}`)) {
        problems.push(
          `${block.slice(0, -1)}: deno check did not check this block`,
        );
      }
    }
  }
  if (problems.length > 0) {
    console.error(`Markdown code blocks:\n  ${problems.join("\n  ")}`);
    return { ok: false, blocks: wanted.length };
  }
  console.log(`${wanted.length} code blocks type-check`);
  return { ok: true, blocks: wanted.length };
}
