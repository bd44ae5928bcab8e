// The path from sys.ts to gen_server.ts's private machinery (STYLE: an
// internals file, filled by the module that owns the machinery): sys.ts
// sends system requests through `sysHooks.request`, which gen_server.ts sets
// when it loads.

import type { Dest } from "./process.ts";
import type { SysOperation } from "./errors.ts";

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
