// Formats terms (exit reasons, pids, requests) for error messages: short,
// deterministic, and safe on any value (cycles, getters that throw, proxies
// are out of scope: we only read own enumerable data properties).

const MAX_DEPTH = 3;
const MAX_ITEMS = 8;
const MAX_STRING = 200;

/** A readable one-line rendering of any value, for error messages. */
export function formatTerm(value: unknown): string {
  return format(value, 0);
}

function format(value: unknown, depth: number): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(
        value.length > MAX_STRING ? value.slice(0, MAX_STRING) + "…" : value,
      );
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "function":
      return `[Function ${value.name || "anonymous"}]`;
    case "object":
      break;
    default:
      return String(value);
  }
  if (value === null) return "null";
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  const proto = Object.getPrototypeOf(value);
  if (
    proto !== Object.prototype && proto !== Array.prototype && proto !== null &&
    typeof (value as { toString?: unknown }).toString === "function" &&
    (value as { toString: unknown }).toString !== Object.prototype.toString
  ) {
    // Pid, Ref and other classes with their own rendering.
    return String(value);
  }
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[…]" : "{…}";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => format(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push("…");
    return `[${items.join(", ")}]`;
  }
  const keys = Object.keys(value as object);
  const items = keys.slice(0, MAX_ITEMS).map((k) =>
    `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${
      format((value as Record<string, unknown>)[k], depth + 1)
    }`
  );
  if (keys.length > MAX_ITEMS) items.push("…");
  return `{ ${items.join(", ")} }`.replace("{  }", "{}");
}
