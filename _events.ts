// Event streams of the supervisor-like modules (DESIGN decision 7): a set of
// listeners called synchronously, in subscription order, for every event. A
// listener that throws is reported on the console and never disturbs the
// emitter or the other listeners (nor crashes the program: an uncaught error
// would end a Node process).
import { formatTerm } from "./_format.ts";
import { reportInternalError } from "./_report.ts";

/** A function called with each event. */
export type Listener<E> = (event: E) => void;

/** One module's event stream. */
export class EventHub<E> {
  #listeners: Listener<E>[] = [];

  /** Whether anyone listens (emitters skip building events otherwise). */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  /**
   * Adds `listener`; returns the function that removes it (idempotent).
   * `op` names the public function, for the error message.
   */
  subscribe(listener: Listener<E>, op: string): () => void {
    if (typeof listener !== "function") {
      throw new TypeError(
        `Cannot ${op}: 'listener' must be a function, got ${
          formatTerm(listener)
        }`,
      );
    }
    // Copy on write: an emit in progress keeps the list it started with.
    this.#listeners = [...this.#listeners, listener];
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) {
        this.#listeners = this.#listeners.toSpliced(i, 1);
      }
    };
  }

  /** Calls every listener with `event`. Never throws. */
  emit(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // Reported as text: the error may be any value (a Proxy, a throwing
        // toString) and the console would inspect it.
        reportInternalError("an event listener threw", error);
      }
    }
  }
}
