// A reply that is a rejection: a server answers `new Failure(error)` (as the
// reply of handleCall, or through reply()) and gen_server's call rejects the
// caller with `error` instead of resolving; the server lives on. Private: the
// library's servers (supervisor, director, tracker, table manager) use it for
// a request's failure, so every caller sees the same typed error, whether it
// called through the module's functions or with a bare GenServer.call. The
// check costs one brand check per reply (gen_server's settle): `#brand in v`
// runs no user code (a Proxy's traps are not called), so it needs no guard.

/** A request's failure, replied as a value and thrown at the caller. */
export class Failure {
  readonly #brand = true;
  constructor(readonly error: Error) {}

  /** Whether `v` is a Failure; never runs user code, never throws. */
  static is(v: unknown): v is Failure {
    return typeof v === "object" && v !== null && #brand in v;
  }
}
