/**
 * The naming check of `npm test` (scripts/test.ts), {@linkcode checkNames}:
 * the library's one policy for OTP words (issue 12, written in mod.ts's
 * guide): strategies, restart types, reasons' tags, event types, report
 * kinds, error codes and states are snake_case strings, as OTP's atoms
 * (`"one_for_all"`, `"child_exited"`, `"already_started"`), never camelCase
 * (`"alreadyStarted"`). Checked in the published sources: every string
 * literal of an exported type alias whose name says it holds such words
 * (`...Code`, `...Kind`, `...Event`, `Strategy`, `...Type`, `...Status`...),
 * and every `code`, `kind` and `type` a module's source sets to a literal.
 *
 * @module
 */
import { header, ROOT_URL } from "./_util.ts";

/** An OTP word: lower case, words joined by `_`. */
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Exported type aliases whose string literals are OTP words. */
const WORD_TYPE =
  /export type (\w*(?:Code|Kind|Event|Strategy|Type|Status|Level|Phase|Form))\b(?:<[^=]*>)?\s*=([\s\S]*?);\n/g;

/** `code: "x"`, `kind: "x"`, `type: "x"` (a literal set in a source). */
const FIELD = /\b(code|kind|type)\??: "([^"\n]*)"/g;

/** The published library sources (the root's .ts files). */
function sources(): string[] {
  return [...Deno.readDirSync(ROOT_URL)]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => e.name)
    .sort();
}

/** Runs the check; one passed test per file, one failure per bad word. */
export function checkNames(): { ok: boolean; passed: number; failed: number } {
  header("names: OTP words are snake_case");
  const problems: string[] = [];
  let passed = 0;
  let words = 0;
  for (const file of sources()) {
    const text = Deno.readTextFileSync(new URL(file, ROOT_URL));
    const bad = new Set<string>();
    for (const m of text.matchAll(WORD_TYPE)) {
      for (const lit of m[2].matchAll(/"([^"\n]*)"/g)) {
        words++;
        if (!SNAKE.test(lit[1])) bad.add(`${m[1]}: "${lit[1]}"`);
      }
    }
    for (const m of text.matchAll(FIELD)) {
      words++;
      if (!SNAKE.test(m[2])) bad.add(`${m[1]}: "${m[2]}"`);
    }
    if (bad.size === 0) passed++;
    for (const b of bad) problems.push(`${file}: ${b} is not snake_case`);
  }
  if (problems.length > 0) console.error(`names:\n  ${problems.join("\n  ")}`);
  console.log(
    `names: ${words} words in ${
      passed + problems.length
    } checks, ${problems.length} not snake_case`,
  );
  return { ok: problems.length === 0, passed, failed: problems.length };
}
