// Formats terms (exit reasons, pids, requests) for error messages: short,
// deterministic, and safe on any value. Error messages are built on the
// death, timeout and report paths, so this must never throw and should run no
// user code it can avoid:
// - properties are read through their own property descriptors: a getter is
//   shown as `[Getter]`, never called; `toString`, `valueOf` and
//   `Symbol.toPrimitive` of plain objects are never called;
// - instances of classes with their own `toString` (Pid, Ref, Date, URL...)
//   are printed with it, inside a `try`;
// - a Proxy runs its traps on any inspection (it cannot be detected without
//   them): a trap that throws gives `[Proxy]`, a revoked Proxy
//   `[revoked Proxy]`, anything else that throws
//   `[object throwing on inspect]`;
// - cycles print `[Circular]`; depth, items, string lengths and the whole
//   output are bounded, so a huge or deeply nested value costs little.

const MAX_DEPTH = 3;
const MAX_ITEMS = 8;
const MAX_STRING = 200;
/** Roughly the longest output; past it, values print as `…`. */
const MAX_OUTPUT = 1000;
/** How far up a prototype chain a property is looked for. */
const MAX_PROTO_HOPS = 16;

const THROWING = "[object throwing on inspect]";
const identifier = /^[A-Za-z_$][\w$]*$/;

/** The state of one formatTerm call. */
interface Budget {
  /** Characters left before values print as `…`. */
  left: number;
  /** The objects being printed (on the current path), for cycles. */
  readonly path: Set<object>;
}

/**
 * A readable one-line rendering of any value, for error messages. Never
 * throws, whatever the value (see the file's comment).
 */
export function formatTerm(value: unknown): string {
  try {
    return format(value, 0, { left: MAX_OUTPUT, path: new Set() });
  } catch {
    // Only a bug here or an exotic engine failure (stack overflow) gets this.
    return THROWING;
  }
}

function truncate(s: string): string {
  return s.length > MAX_STRING ? s.slice(0, MAX_STRING) + "…" : s;
}

function spend(budget: Budget, s: string): string {
  budget.left -= s.length;
  return s;
}

function format(value: unknown, depth: number, budget: Budget): string {
  if (budget.left <= 0) return "…";
  switch (typeof value) {
    case "string":
      return spend(budget, JSON.stringify(truncate(value)));
    case "bigint":
      return spend(budget, truncate(`${value}n`));
    case "symbol":
      // String(symbol) reads the description slot: no user code.
      return spend(budget, truncate(String(value)));
    case "function":
      return spend(budget, formatFunction(value));
    case "object":
      if (value === null) return "null";
      return formatObject(value, depth, budget);
    default:
      return String(value);
  }
}

function formatFunction(fn: unknown): string {
  let name: unknown;
  try {
    // A class may define a static `name` getter: not called.
    name = Object.getOwnPropertyDescriptor(fn, "name")?.value;
  } catch {
    return "[Proxy]";
  }
  return `[Function ${
    typeof name === "string" && name !== "" ? truncate(name) : "anonymous"
  }]`;
}

function formatObject(value: object, depth: number, budget: Budget): string {
  let isArray: boolean;
  try {
    isArray = Array.isArray(value);
  } catch {
    // Array.isArray throws for a revoked Proxy and nothing else.
    return "[revoked Proxy]";
  }
  let proto: object | null;
  try {
    proto = Object.getPrototypeOf(value);
  } catch {
    // Only a Proxy's getPrototypeOf trap throws here.
    return "[Proxy]";
  }
  if (budget.path.has(value)) return "[Circular]";
  try {
    if (proto !== Object.prototype && proto !== Array.prototype) {
      if (proto !== null && isError(value)) return formatError(value, budget);
      if (ArrayBuffer.isView(value)) {
        // Typed arrays and DataViews: possibly huge, printed by kind only.
        return spend(budget, `[${Object.prototype.toString.call(value)}]`);
      }
      const own = proto === null ? undefined : ownToString(proto);
      if (own !== undefined) {
        // Pid, Ref, Date and other classes with their own rendering.
        const s = Reflect.apply(own, value, []);
        if (typeof s === "string") return spend(budget, truncate(s));
      }
    }
    if (depth >= MAX_DEPTH) return isArray ? "[…]" : "{…}";
    budget.path.add(value);
    try {
      return isArray
        ? formatArray(value as unknown[], depth, budget)
        : formatRecord(value, depth, budget);
    } finally {
      budget.path.delete(value);
    }
  } catch {
    return THROWING;
  }
}

/** Whether `Error.prototype` is on `value`'s prototype chain. */
function isError(value: object): boolean {
  return Object.prototype.isPrototypeOf.call(Error.prototype, value);
}

/**
 * A data property's value found on `value` or up its prototype chain;
 * undefined for a getter (not called) or a missing property.
 */
function dataProperty(value: object, key: PropertyKey): unknown {
  let o: object | null = value;
  for (let hops = 0; o !== null && hops < MAX_PROTO_HOPS; hops++) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d !== undefined) return "value" in d ? d.value : undefined;
    o = Object.getPrototypeOf(o);
  }
  return undefined;
}

function formatError(error: object, budget: Budget): string {
  const name = dataProperty(error, "name");
  const message = dataProperty(error, "message");
  const n = typeof name === "string" ? truncate(name) : "Error";
  return spend(
    budget,
    `${n}: ${typeof message === "string" ? truncate(message) : ""}`,
  );
}

/**
 * The `toString` method a class defines (a data property between `proto` and
 * `Object.prototype` or `Array.prototype`, whose own ones would print a plain
 * object or join a whole array), or undefined.
 */
function ownToString(proto: object): ((this: unknown) => unknown) | undefined {
  let o: object | null = proto;
  for (let hops = 0; o !== null && hops < MAX_PROTO_HOPS; hops++) {
    if (o === Object.prototype || o === Array.prototype) return undefined;
    const d = Object.getOwnPropertyDescriptor(o, "toString");
    if (d !== undefined) {
      const fn = "value" in d ? d.value : undefined;
      return typeof fn === "function" && fn !== Array.prototype.toString
        ? fn
        : undefined;
    }
    o = Object.getPrototypeOf(o);
  }
  return undefined;
}

/** The value of an own property, or `[Getter]` (not called). */
function item(
  value: object,
  key: PropertyKey,
  depth: number,
  budget: Budget,
): string {
  const d = Object.getOwnPropertyDescriptor(value, key);
  if (d === undefined) return "undefined";
  if (!("value" in d)) return d.get !== undefined ? "[Getter]" : "[Setter]";
  return format(d.value, depth + 1, budget);
}

function formatArray(value: unknown[], depth: number, budget: Budget): string {
  // `length` of a real array is an own data property; a Proxy's may lie.
  const raw = Object.getOwnPropertyDescriptor(value, "length")?.value;
  const length = typeof raw === "number" ? raw : 0;
  const items: string[] = [];
  for (let i = 0; i < length && i < MAX_ITEMS; i++) {
    if (budget.left <= 0) break;
    items.push(item(value, String(i), depth, budget));
  }
  if (items.length < length) items.push("…");
  return `[${items.join(", ")}]`;
}

function formatRecord(value: object, depth: number, budget: Budget): string {
  const keys = Object.keys(value);
  const items: string[] = [];
  for (let i = 0; i < keys.length && i < MAX_ITEMS; i++) {
    if (budget.left <= 0) break;
    const k = keys[i];
    const label = identifier.test(k) ? k : JSON.stringify(truncate(k));
    items.push(`${spend(budget, label)}: ${item(value, k, depth, budget)}`);
  }
  if (items.length < keys.length) items.push("…");
  return items.length === 0 ? "{}" : `{ ${items.join(", ")} }`;
}
