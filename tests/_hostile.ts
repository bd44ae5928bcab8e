// Hostile values (issue 11, item 5) and the checks around them, shared by
// hostile_test.ts and hostile_property_test.ts: values that throw when
// printed or inspected, Proxies whose every trap throws, revoked Proxies,
// cycles, deep nesting, null prototypes, huge strings and arrays.

/** The error every hostile trap, getter and method throws. */
export class HostileError extends Error {
  constructor(where: string) {
    super(`hostile ${where}`);
    this.name = "HostileError";
  }
}

function thrower(where: string): () => never {
  return () => {
    throw new HostileError(where);
  };
}

/** A Proxy whose every trap throws, `getPrototypeOf` included. */
export function throwingProxy(target: object = {}): object {
  const handler = new Proxy({}, {
    // Every trap the engine asks the handler for is a function that throws.
    get: (_h, trap) => thrower(`trap ${String(trap)}`),
  });
  return new Proxy(target, handler);
}

/** A revoked Proxy: every operation on it throws a TypeError. */
export function revokedProxy(target: object = {}): object {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

/** An object whose toString, valueOf, toPrimitive and inspect all throw. */
export function throwingPrimitive(): object {
  return {
    toString: thrower("toString"),
    valueOf: thrower("valueOf"),
    [Symbol.toPrimitive]: thrower("toPrimitive"),
    [Symbol.for("nodejs.util.inspect.custom")]: thrower("inspect"),
    toJSON: thrower("toJSON"),
  };
}

/** An object whose getters throw (`then` too). */
export function throwingGetters(): object {
  const o = {};
  for (const key of ["message", "name", "reason", "stack", "then", "id"]) {
    Object.defineProperty(o, key, {
      get: thrower(`getter ${key}`),
      enumerable: true,
    });
  }
  return o;
}

/** An Error whose name, message and stack getters throw. */
export function throwingError(): Error {
  // Armed last: redefining `stack` makes Node format the stack, which reads
  // `name`.
  let armed = false;
  class BadError extends Error {
    override get name(): string {
      if (armed) throw new HostileError("name");
      return "BadError";
    }
  }
  const e = new BadError("x");
  for (const key of ["stack", "message", "cause"]) {
    Object.defineProperty(e, key, { get: thrower(`error ${key}`) });
  }
  armed = true;
  return e;
}

/** A class instance whose own toString throws. */
export function throwingClass(): object {
  class Hostile {
    toString(): string {
      throw new HostileError("class toString");
    }
  }
  return new Hostile();
}

/** An object and an array that contain themselves. */
export function cyclic(): object {
  const o: Record<string, unknown> = { a: 1 };
  const a: unknown[] = [o];
  o.self = o;
  o.list = a;
  a.push(a);
  return o;
}

/** Arrays nested `depth` deep. */
export function deep(depth = 10_000): unknown {
  let v: unknown = "bottom";
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** An object with no prototype: String() of it throws a TypeError. */
export function nullProto(): object {
  const o = Object.create(null);
  o.x = 1;
  return o;
}

/** A string of `n` characters. */
export function hugeString(n = 1_000_000): string {
  return "h".repeat(n);
}

/** An array of `n` elements. */
export function hugeArray(n = 100_000): unknown[] {
  return new Array(n).fill("x");
}

/** One of each class, labelled. Fresh values on each call. */
export function hostiles(): [string, unknown][] {
  return [
    ["an object whose toString/valueOf/toPrimitive throw", throwingPrimitive()],
    ["an object whose getters throw", throwingGetters()],
    ["an Error whose name/message/stack throw", throwingError()],
    ["a class instance whose toString throws", throwingClass()],
    ["a Proxy whose every trap throws", throwingProxy()],
    ["a Proxy of an array whose every trap throws", throwingProxy([1, 2])],
    ["a revoked Proxy", revokedProxy()],
    ["a cyclic object", cyclic()],
    ["a deeply nested array", deep()],
    ["a null-prototype object", nullProto()],
    ["a huge string", hugeString()],
    ["a huge array", hugeArray()],
    ["nested hostile values", [{ a: throwingProxy() }, [revokedProxy()]]],
  ];
}

/**
 * Records unhandled rejections and uncaught exceptions until the returned
 * `stop()`, which removes the listeners and returns what was caught. Works
 * on Deno (window events) and on Node and Bun (process events).
 */
export function watchUncaught(): () => unknown[] {
  const caught: unknown[] = [];
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno !== undefined) {
    const onRejection = (e: { reason: unknown; preventDefault(): void }) => {
      e.preventDefault();
      caught.push(e.reason);
    };
    const onError = (e: { error: unknown; preventDefault(): void }) => {
      e.preventDefault();
      caught.push(e.error);
    };
    g.addEventListener("unhandledrejection", onRejection);
    g.addEventListener("error", onError);
    return () => {
      g.removeEventListener("unhandledrejection", onRejection);
      g.removeEventListener("error", onError);
      return caught;
    };
  }
  const onRejection = (reason: unknown) => caught.push(reason);
  const onError = (error: unknown) => caught.push(error);
  g.process.on("unhandledRejection", onRejection);
  g.process.on("uncaughtException", onError);
  return () => {
    g.process.off("unhandledRejection", onRejection);
    g.process.off("uncaughtException", onError);
    return caught;
  };
}

/**
 * Replaces console.error and console.warn with recorders until the returned
 * `restore()`, which gives back the lines (each call's arguments, as
 * written to the console: strings only, so nothing was inspected).
 */
export function quietConsole(): () => unknown[][] {
  const lines: unknown[][] = [];
  const { error, warn } = console;
  console.error = (...args: unknown[]) => lines.push(args);
  console.warn = (...args: unknown[]) => lines.push(args);
  return () => {
    console.error = error;
    console.warn = warn;
    return lines;
  };
}
