/**
 * The docs checks of `npm test` (scripts/test.ts) and `deno task check`
 * (scripts/check.ts), {@linkcode checkDocs}:
 *
 * 1. The TypeScript code blocks of the Markdown docs (README.md) type-check:
 *    `deno check --doc-only`, which resolves `@steward/steward/...` to this
 *    package's own exports (deno.json's name), as the JSDoc examples do. The
 *    blocks are type-checked, not run: several start servers on a port or
 *    end the program (`application.run`). Before that, the fences
 *    themselves are read (CommonMark rules): a fence that never closes, or a
 *    fence line with a language inside another block (a block that
 *    swallowed the next section), is a failure; and every `ts` block must be
 *    one that `deno check` reported checking, so a block Deno did not see
 *    cannot pass silently.
 * 1b. The README has an "Install" section with the JSR commands for Deno,
 *    Node and Bun, and npm's.
 * 2. The published .ts files (what deno.json's `exclude` and
 *    `publish.exclude` leave in, `_` files included) cite no file the
 *    package does not hold: no `x.md` that is not published, no path into an
 *    excluded directory (bench/, tests/, scripts/...) or the project's
 *    reference notes, no `§` section of such a document. A doc says the
 *    rule where it is used instead.
 *
 * @module
 */
import { header, ROOT_URL, run, walk } from "./_util.ts";

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

/** What a check found: passed units (blocks, files) and problems. */
interface Outcome {
  passed: number;
  problems: string[];
}

/**
 * Checks the fences and type-checks the code blocks of {@linkcode
 * MARKDOWN_DOCS}, printing what it does.
 */
export async function checkMarkdown(): Promise<Outcome> {
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
      if (!check.output.includes(block)) {
        problems.push(
          `${block.slice(0, -1)}: deno check did not check this block`,
        );
      }
    }
  }
  if (problems.length === 0) {
    console.log(`${wanted.length} code blocks type-check`);
  }
  return { passed: problems.length === 0 ? wanted.length : 0, problems };
}

/** Directories of notes that were never part of the package. */
const NOTES_DIRS = ["shared", "reference", "anchors"];

/**
 * The files `deno publish` and `deno pack` take (relative to the root):
 * everything but hidden files and what deno.json excludes.
 */
export function publishedFiles(): string[] {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("deno.json", ROOT_URL)),
  );
  const excluded: string[] = [
    ...(config.exclude ?? []),
    ...(config.publish?.exclude ?? []),
  ].map((e: string) => e.replace(/^\.\//, ""));
  const out: string[] = [];
  for (const entry of Deno.readDirSync(ROOT_URL)) {
    if (entry.name.startsWith(".")) continue;
    if (entry.isDirectory) {
      if (!excluded.includes(`${entry.name}/`)) out.push(...walk(entry.name));
    } else if (entry.isFile && !excluded.includes(entry.name)) {
      out.push(entry.name);
    }
  }
  return out.filter((f) => !excluded.some((e) => f.startsWith(e))).sort();
}

/**
 * Problems in one published file's text: citations of files the package does
 * not hold. `published` is the set of published paths.
 */
export function citationProblems(
  file: string,
  text: string,
  excludedDirs: readonly string[],
  published: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  const dirs = [...excludedDirs, ...NOTES_DIRS].map((d) =>
    d.replace(/\/$/, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  const dirPath = new RegExp(
    `(?:^|[^\\w.-])((?:\\.\\.?/)*(?:${dirs.join("|")})/[\\w./-]*)`,
    "g",
  );
  for (let i = 0; i < lines.length; i++) {
    const at = `${file}:${i + 1}`;
    for (const [md] of lines[i].matchAll(/[\w.-]+\.md\b/g)) {
      if (!published.has(md)) {
        problems.push(`${at}: cites ${md}, which is not in the package`);
      }
    }
    for (const m of lines[i].matchAll(dirPath)) {
      problems.push(`${at}: cites ${m[1]}, which is not in the package`);
    }
    if (/§\s*\d/.test(lines[i])) {
      problems.push(
        `${at}: cites a section (§) of a document that is not in the package`,
      );
    }
  }
  return problems;
}

/**
 * Checks that no published .ts file cites a file left out of the package,
 * printing what it does.
 */
export function checkCitations(): Outcome {
  header("published files cite no file left out of the package");
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("deno.json", ROOT_URL)),
  );
  const excludedDirs = [
    ...(config.exclude ?? []),
    ...(config.publish?.exclude ?? []),
  ].filter((e: string) => e.endsWith("/"));
  const published = publishedFiles();
  const sources = published.filter((f) => f.endsWith(".ts"));
  const problems = sources.flatMap((f) =>
    citationProblems(
      f,
      Deno.readTextFileSync(new URL(f, ROOT_URL)),
      excludedDirs,
      new Set(published),
    )
  );
  if (problems.length === 0) {
    console.log(`${sources.length} published .ts files checked`);
  }
  return { passed: problems.length === 0 ? sources.length : 0, problems };
}

/**
 * Both checks. `passed`: blocks and files checked; `failed`: one per
 * problem (printed).
 */
/** The README's install commands, one per way to get the package. */
export const INSTALL_COMMANDS = [
  "deno add jsr:@steward/steward",
  "npx jsr add @steward/steward",
  "bunx jsr add @steward/steward",
  "npm install @steward/steward",
];

/** The README has an "Install" section with every install command. */
export function checkInstall(): Outcome {
  header("README: an Install section for users");
  const text = Deno.readTextFileSync(new URL("README.md", ROOT_URL));
  const section = /^## Install\n([\s\S]*?)(?=^## )/m.exec(text)?.[1];
  const problems = section === undefined
    ? ['README.md: no "## Install" section']
    : INSTALL_COMMANDS.filter((c) => !section.includes(c)).map((c) =>
      `README.md: the Install section lacks \`${c}\``
    );
  return { passed: problems.length === 0 ? 1 : 0, problems };
}

export async function checkDocs(): Promise<
  { ok: boolean; passed: number; failed: number }
> {
  const results = [await checkMarkdown(), checkCitations(), checkInstall()];
  const problems = results.flatMap((r) => r.problems);
  if (problems.length > 0) {
    console.error(`docs:\n  ${problems.join("\n  ")}`);
  }
  return {
    ok: problems.length === 0,
    passed: results.reduce((n, r) => n + r.passed, 0),
    failed: problems.length,
  };
}
