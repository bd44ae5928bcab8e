/**
 * The chat service's wire protocol: JSON text frames over one WebSocket per
 * client (`ws://host:port/ws?user=NAME`).
 *
 * Client to server:
 * - `{type: "join", room, since?}`: become a member of `room`; the server
 *   answers `joined` with the room's last seq, after sending as `msg` frames
 *   the messages after `since` (none if `since` is absent).
 * - `{type: "send", room, id, text}`: post a message with an id the client
 *   chose. Answered by `ack` once the message is in the room's history (a
 *   table that outlives the room process), or by `error` (nothing was
 *   stored, or it was and the retry will say so): retry with the same id.
 *   A retried id is acknowledged again with the same seq, never stored
 *   twice (for the last {@linkcode HISTORY_LIMIT} messages of the room).
 * - `{type: "history", room, since}`: the messages after `since` as `msg`
 *   frames, then `synced` with the room's last seq.
 *
 * Server to client: `joined`, `ack`, `msg`, `synced`, `error` (see
 * {@linkcode ServerFrame}). Every `msg` of a room carries its seq (1, 2,
 * 3...): a client keeps the last seq it has seen per room, drops a `msg` it
 * already has (a message may come twice around a reconnect: at least once
 * plus the seq = exactly once) and asks for history since that seq after a
 * reconnect.
 *
 * @module
 */

/** Messages kept per room (older ones, and their ids, are trimmed). */
export const HISTORY_LIMIT = 2_000;

/** One stored message. */
export interface ChatMessage {
  /** The room's sequence number: 1, 2, 3... with no gap. */
  readonly seq: number;
  /** The sender's user name. */
  readonly from: string;
  /** The id the sender chose (unique per sender and room). */
  readonly id: string;
  /** The text. */
  readonly text: string;
}

/** A frame a client sends. */
export type ClientFrame =
  | { readonly type: "join"; readonly room: string; readonly since?: number }
  | {
    readonly type: "send";
    readonly room: string;
    readonly id: string;
    readonly text: string;
  }
  | { readonly type: "history"; readonly room: string; readonly since: number };

/** A frame the server sends. */
export type ServerFrame =
  | { readonly type: "joined"; readonly room: string; readonly seq: number }
  | { readonly type: "ack"; readonly id: string; readonly seq: number }
  | { readonly type: "msg"; readonly room: string } & ChatMessage
  | { readonly type: "synced"; readonly room: string; readonly seq: number }
  | {
    readonly type: "error";
    readonly id?: string;
    readonly room?: string;
    readonly reason: string;
  };

const NAME = /^[\w.:-]{1,64}$/;

/** Whether `s` is a valid user, room or message id: 1-64 of `[\w.:-]`. */
export function isName(s: unknown): s is string {
  return typeof s === "string" && NAME.test(s);
}

/**
 * Parses a client's frame; a string saying what is wrong if it is not one.
 */
export function parseClientFrame(text: string): ClientFrame | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (typeof v !== "object" || v === null) return "not an object";
  const f = v as Record<string, unknown>;
  if (!isName(f.room)) return "bad room";
  const since = f.since;
  const okSince = since === undefined ||
    (Number.isSafeInteger(since) && (since as number) >= 0);
  switch (f.type) {
    case "join":
      if (!okSince) return "bad since";
      return { type: "join", room: f.room, since: since as number | undefined };
    case "history":
      if (!okSince || since === undefined) return "bad since";
      return { type: "history", room: f.room, since: since as number };
    case "send":
      if (!isName(f.id)) return "bad id";
      if (typeof f.text !== "string" || f.text.length > 4096) {
        return "bad text";
      }
      return { type: "send", room: f.room, id: f.id, text: f.text };
    default:
      return "unknown type";
  }
}
