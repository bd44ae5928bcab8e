// The path from sys.ts to gen_server.ts's private machinery (STYLE: an
// internals file, filled by the module that owns the machinery): sys.ts
// sends system requests through `sysHooks.request`, which gen_server.ts sets
// when it loads. Also the registry that says which kind of server a
// behaviour makes (supervisor, director...), for getStatus.

import type { Dest } from "./process.ts";
import type { SysOperation } from "./errors.ts";
import type { ServerKind } from "./sys.ts";

/** What a system request asks, as gen_server's loop reads it. */
export type SysBody =
  | readonly ["getState"]
  | readonly ["getStatus"]
  | readonly ["suspend"]
  | readonly ["resume"]
  | readonly ["statistics", "enable" | "disable" | "get"];

/** Filled by gen_server.ts. */
export const sysHooks: {
  /**
   * Sends `body` to `server` as a system request and waits for the answer
   * (options: `timeout`, `signal`, checked there).
   */
  request:
    | ((
      operation: SysOperation,
      server: Dest,
      body: SysBody,
      options: unknown,
    ) => Promise<unknown>)
    | null;
} = { request: null };

const kinds = new WeakMap<object, (state: unknown) => ServerKind>();

/**
 * Declares that servers running `behaviour` are of the kind `kindOf(state)`
 * returns (a function: one behaviour may make two kinds, as the supervisor's
 * makes supervisors and dynamic supervisors). Called once per behaviour, at
 * module load.
 */
export function setServerKind<S>(
  behaviour: object,
  kindOf: (state: S) => ServerKind,
): void {
  kinds.set(behaviour, kindOf as (state: unknown) => ServerKind);
}

/** The kind of a server running `behaviour` with `state`; never throws. */
export function serverKind(behaviour: object, state: unknown): ServerKind {
  const kindOf = kinds.get(behaviour);
  if (kindOf === undefined) return "gen_server";
  try {
    return kindOf(state);
  } catch {
    return "gen_server";
  }
}
