// What the cluster (cluster.ts) needs of gen_server's private request
// classes, without making them public: gen_server.ts fills `genServerRemote`
// when it loads; cluster.ts imports gen_server.ts, so it is filled before a
// node connects. (A program without gen_server has no request to carry.)

import type { Pid, Proc } from "./_runtime.ts";

/** A request or cast found in a remote pid's stand-in mailbox. */
export type Outgoing =
  | { readonly type: "call"; readonly caller: Pid; readonly request: unknown }
  | { readonly type: "stop"; readonly caller: Pid; readonly reason: unknown }
  | { readonly type: "cast"; readonly message: unknown };

/** gen_server's side of remote calls. */
export interface GenServerRemote {
  /** What `message` is, if it is a gen_server request or cast. */
  outgoing(message: unknown): Outgoing | undefined;
  /** Answers a pending call (a `From`) with `value`. */
  settle(request: unknown, value: unknown): void;
  /** Ends a pending call or stop as if its server died with `reason`. */
  fail(request: unknown, target: Proc, reason: unknown): void;
  /** Whether a pending request has ended (answered, timed out...). */
  done(request: unknown): boolean;
  /**
   * Serves a call from a remote caller (`caller` is its stand-in): the
   * server gets a `From` like any; `onReply` gets the reply, `onDown` the
   * server's exit reason if it dies first (`"noproc"` if it is dead).
   */
  serve(
    server: Proc,
    caller: Proc,
    request: unknown,
    onReply: (value: unknown) => void,
    onDown: (reason: unknown) => void,
  ): void;
  /** Delivers a cast from another node to `server`. */
  cast(server: Proc, message: unknown): void;
}

/** Filled by gen_server.ts. */
export const genServerRemote: { current: GenServerRemote | null } = {
  current: null,
};
