// The wire codec of the cluster (cluster.ts): what a message, a call, a reply
// or an exit reason becomes on its way to another node, and back.
//
// A frame is UTF-8 JSON. Strings, booleans, null and finite numbers (not -0)
// are themselves; everything else is an array whose first element is a tag:
//
//   ["a", x0, x1, ...]        an array (a tuple)
//   ["o", k0, v0, k1, v1...]  a plain object (own enumerable string keys)
//   ["u"]                     undefined
//   ["f", "NaN" | "Infinity" | "-Infinity" | "-0"]
//   ["n", "123"]              a bigint, in decimal
//   ["b", "<base64>"]         a Uint8Array
//   ["m", k0, v0, ...]        a Map
//   ["s", x0, x1, ...]        a Set
//   ["d", ms | "NaN"]         a Date
//   ["e", name, message]      an Error (its name and message only)
//   ["p", node, incarnation, id]   a pid (of that node's incarnation)
//   ["r", node, incarnation, id]   a ref
//
// Encoding refuses, with a TypeError naming the path inside the value
// (`value.users[2].onClick`), what cannot cross: functions, symbols, class
// instances other than the ones above (their methods would not come along),
// cycles, and nesting deeper than MAX_DEPTH. A value whose getter or Proxy
// trap throws is refused the same way: the encoder never throws anything but
// that TypeError.
//
// Decoding trusts nothing: a size limit first, then fatal UTF-8, JSON.parse,
// and a walk that checks every tag and shape, bounds the depth, and builds
// objects with defineProperty, so a key "constructor" or "prototype" is a
// plain own data property and no decoded value can reach Object.prototype;
// a "__proto__" key is refused both ways (a receiver's `Object.assign({},
// value)` or spread would set its copy's prototype from it). Any problem is a WireDecodeError (errors.ts); nothing
// else escapes.

import { Pid, Ref } from "./_runtime.ts";
import { WireDecodeError, type WireProblem } from "./errors.ts";

/** Deepest nesting encoded or decoded (arrays, objects, maps, sets). */
export const MAX_DEPTH = 256;

/** Default largest frame decoded, in bytes. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

/** A pid's or ref's address on the wire: node, incarnation, number. */
export type Address = readonly [node: string, incarnation: string, id: number];

/** How pids and refs cross: the node's own table of them (cluster.ts). */
export interface WirePeer {
  /** The address of `pid` (local or remote). */
  pidOut(pid: Pid): Address;
  /** The pid at `address` (a proxy for a remote one). */
  pidIn(address: Address): Pid;
  /** The address of `ref`. */
  refOut(ref: Ref): Address;
  /** The ref at `address`. */
  refIn(address: Address): Ref;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

// ------------------------------------------------------------- encoding --

/**
 * `value` as a frame's bytes.
 * @throws {TypeError} naming the path of what cannot cross.
 */
export function encode(value: unknown, peer: WirePeer): Uint8Array {
  return encoder.encode(JSON.stringify(toWire(value, peer)));
}

/**
 * `value` as the JSON-ready tagged form (see the file's comment); errors
 * name paths from `root` (`message.user.onClick`).
 */
export function toWire(
  value: unknown,
  peer: WirePeer,
  root = "value",
): unknown {
  return new Encoder(peer, root).put(value, 0);
}

/**
 * A frame's bytes: the `head` values (tags, ids, pids) then `payload`, whose
 * errors name paths from `root`.
 */
export function encodeFrame(
  head: unknown[],
  payload: unknown,
  root: string,
  peer: WirePeer,
): Uint8Array {
  const wire: unknown[] = ["a"];
  for (const x of head) wire.push(toWire(x, peer));
  wire.push(toWire(payload, peer, root));
  return encoder.encode(JSON.stringify(wire));
}

class Encoder {
  /** The objects being encoded, outermost first (cycle detection). */
  readonly stack: object[] = [];
  /**
   * Path to the value being encoded, for error messages: array indexes,
   * object keys, and Map/Set positions (pre-formatted, in an object),
   * formatted only when something fails.
   */
  readonly path: (number | string | { readonly f: string })[] = [];

  constructor(readonly peer: WirePeer, readonly root: string) {}

  fail(what: string): never {
    const path = this.path.map((p) =>
      typeof p === "number"
        ? `[${p}]`
        : typeof p === "string"
        ? /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`
        : p.f
    ).join("");
    throw new TypeError(`Cannot send ${this.root}${path}: ${what}`);
  }

  put(x: unknown, depth: number): unknown {
    switch (typeof x) {
      case "string":
      case "boolean":
        return x;
      case "number":
        if (Number.isFinite(x) && !Object.is(x, -0)) return x;
        return ["f", Object.is(x, -0) ? "-0" : String(x)];
      case "bigint":
        return ["n", x.toString()];
      case "undefined":
        return ["u"];
      case "function":
        return this.fail("a function cannot cross to another node");
      case "symbol":
        return this.fail("a symbol cannot cross to another node");
    }
    if (x === null) return null;
    if (depth >= MAX_DEPTH) {
      return this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    }
    const obj = x as object;
    if (this.stack.includes(obj)) {
      return this.fail("a cycle (the value contains itself)");
    }
    this.stack.push(obj);
    try {
      return this.object(obj, depth + 1);
    } catch (error) {
      if (
        error instanceof TypeError && error.message.startsWith("Cannot send ")
      ) {
        throw error;
      }
      // A getter or a Proxy trap threw: refused, never rethrown as is.
      return this.fail("reading it threw");
    } finally {
      this.stack.pop();
    }
  }

  object(x: object, depth: number): unknown {
    if (x instanceof Pid) return ["p", ...this.peer.pidOut(x)];
    if (x instanceof Ref) return ["r", ...this.peer.refOut(x)];
    if (Array.isArray(x)) {
      const out: unknown[] = ["a"];
      for (let i = 0; i < x.length; i++) {
        this.path.push(i);
        out.push(this.put(x[i], depth));
        this.path.pop();
      }
      return out;
    }
    if (x instanceof Uint8Array) {
      if (x.constructor !== Uint8Array) {
        return this.fail(`an instance of ${className(x)} cannot cross`);
      }
      return ["b", toBase64(x)];
    }
    if (x instanceof Map) {
      const out: unknown[] = ["m"];
      let i = 0;
      for (const [k, v] of x) {
        this.path.push({ f: `.<map key ${i}>` });
        out.push(this.put(k, depth));
        this.path.pop();
        this.path.push({ f: `.<map value ${i++}>` });
        out.push(this.put(v, depth));
        this.path.pop();
      }
      return out;
    }
    if (x instanceof Set) {
      const out: unknown[] = ["s"];
      let i = 0;
      for (const v of x) {
        this.path.push({ f: `.<set element ${i++}>` });
        out.push(this.put(v, depth));
        this.path.pop();
      }
      return out;
    }
    if (x instanceof Date) {
      const t = x.getTime();
      return ["d", Number.isNaN(t) ? "NaN" : t];
    }
    if (x instanceof Error) {
      return ["e", String(x.name), String(x.message)];
    }
    const proto = Object.getPrototypeOf(x);
    if (proto !== Object.prototype && proto !== null) {
      return this.fail(
        `an instance of ${
          className(x)
        } cannot cross (only plain objects, arrays, Map, Set, Date, Error, Uint8Array, pids and refs do)`,
      );
    }
    if (Object.getOwnPropertySymbols(x).length > 0) {
      return this.fail("an object with symbol keys cannot cross");
    }
    const out: unknown[] = ["o"];
    for (const k of Object.keys(x)) {
      if (k === "__proto__") {
        // Refused both ways: a receiver's Object.assign or spread would set
        // its copy's prototype from it.
        return this.fail('an own "__proto__" key cannot cross');
      }
      out.push(k);
      this.path.push(k);
      out.push(this.put((x as Record<string, unknown>)[k], depth));
      this.path.pop();
    }
    return out;
  }
}

/** A class name for messages; never throws. */
function className(x: object): string {
  try {
    const name = (x.constructor as { name?: unknown } | undefined)?.name;
    return typeof name === "string" && name !== "" ? name : "a class";
  } catch {
    return "a class";
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// ------------------------------------------------------------- decoding --

/** Limits of {@linkcode decode}. */
export interface DecodeLimits {
  /** Largest frame, in bytes. @default {DEFAULT_MAX_BYTES} */
  maxBytes?: number;
}

/**
 * The value of a frame.
 * @throws {WireDecodeError} for anything but a well-formed frame; nothing
 *   else.
 */
export function decode(
  bytes: Uint8Array,
  peer: WirePeer,
  limits: DecodeLimits = {},
): unknown {
  const max = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(bytes instanceof Uint8Array)) bad("bad_shape", "not bytes");
  if (bytes.length > max) {
    bad("too_large", `${bytes.length} bytes, more than ${max}`);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return bad("bad_utf8", "not UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return bad("bad_json", "not JSON");
  }
  return fromWire(json, peer);
}

/** The value of a parsed frame (see {@linkcode decode}). */
export function fromWire(json: unknown, peer: WirePeer): unknown {
  return get(json, peer, 0);
}

function bad(problem: WireProblem, detail: string): never {
  throw new WireDecodeError(problem, detail);
}

function get(x: unknown, peer: WirePeer, depth: number): unknown {
  switch (typeof x) {
    case "string":
    case "boolean":
      return x;
    case "number":
      return x;
  }
  if (x === null) return null;
  if (!Array.isArray(x) || x.length === 0 || typeof x[0] !== "string") {
    return bad(
      "bad_shape",
      "a value is neither a JSON scalar nor a tagged array",
    );
  }
  if (depth >= MAX_DEPTH) bad("too_deep", `nested deeper than ${MAX_DEPTH}`);
  const d = depth + 1;
  const n = x.length;
  switch (x[0]) {
    case "a": {
      const out = new Array(n - 1);
      for (let i = 1; i < n; i++) out[i - 1] = get(x[i], peer, d);
      return out;
    }
    case "o": {
      if (n % 2 === 0) bad("bad_shape", "an object with an odd entry list");
      const out: Record<string, unknown> = {};
      for (let i = 1; i < n; i += 2) {
        const k = x[i];
        if (typeof k !== "string") {
          bad("bad_shape", "an object key is not a string");
        }
        // "__proto__" is refused (a receiver's Object.assign or spread of
        // the result would set its copy's prototype); the rest are own data
        // ("constructor", "toString": see below).
        if (k === "__proto__") bad("bad_shape", 'a "__proto__" key');
        const v = get(x[i + 1], peer, d);
        // A plain assignment makes an own data property unless
        // Object.prototype has that key (a setter, or a read-only property
        // once intrinsics are frozen): those few keys are defined instead.
        // (defineProperty for every key made decoding ~5x slower.)
        if (k in Object.prototype) {
          Object.defineProperty(out, k, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else out[k] = v;
      }
      return out;
    }
    case "u":
      if (n !== 1) bad("bad_shape", "a malformed undefined");
      return undefined;
    case "f": {
      const s = n === 2 ? x[1] : undefined;
      if (s === "NaN") return NaN;
      if (s === "Infinity") return Infinity;
      if (s === "-Infinity") return -Infinity;
      if (s === "-0") return -0;
      return bad("bad_shape", "a malformed number");
    }
    case "n": {
      const s = x[1];
      if (n !== 2 || typeof s !== "string" || !/^-?\d{1,10000}$/.test(s)) {
        bad("bad_shape", "a malformed bigint");
      }
      return BigInt(s);
    }
    case "b": {
      const s = x[1];
      if (
        n !== 2 || typeof s !== "string" ||
        !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0
      ) {
        bad("bad_shape", "malformed bytes");
      }
      try {
        return fromBase64(s);
      } catch {
        return bad("bad_shape", "malformed bytes");
      }
    }
    case "m": {
      if (n % 2 === 0) bad("bad_shape", "a map with an odd entry list");
      const out = new Map();
      for (let i = 1; i < n; i += 2) {
        out.set(get(x[i], peer, d), get(x[i + 1], peer, d));
      }
      return out;
    }
    case "s": {
      const out = new Set();
      for (let i = 1; i < n; i++) out.add(get(x[i], peer, d));
      return out;
    }
    case "d": {
      const t = x[1];
      if (n !== 2 || !(typeof t === "number" || t === "NaN")) {
        bad("bad_shape", "a malformed date");
      }
      return new Date(t === "NaN" ? NaN : t);
    }
    case "e": {
      if (n !== 3 || typeof x[1] !== "string" || typeof x[2] !== "string") {
        bad("bad_shape", "a malformed error");
      }
      const e = new Error(x[2]);
      Object.defineProperty(e, "name", {
        value: x[1],
        writable: true,
        configurable: true,
      });
      return e;
    }
    case "p":
      return peer.pidIn(address(x));
    case "r":
      return peer.refIn(address(x));
    default:
      return bad(
        "unknown_tag",
        `unknown tag ${JSON.stringify(x[0].slice(0, 20))}`,
      );
  }
}

function address(x: unknown[]): Address {
  const [, node, incarnation, id] = x;
  if (
    x.length !== 4 || typeof node !== "string" || node.length === 0 ||
    node.length > 256 || typeof incarnation !== "string" ||
    incarnation.length > 64 || typeof id !== "number" ||
    !Number.isSafeInteger(id) || id < 0
  ) {
    bad("bad_shape", "a malformed pid or ref");
  }
  return [node, incarnation, id];
}
