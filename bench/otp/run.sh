#!/usr/bin/env bash
# Run the Erlang/OTP half of the Steward benchmarks.
#
#   bash bench/otp/run.sh                 # all workloads, median of 5 runs
#   bash bench/otp/run.sh quick           # 1 run per workload (smoke test)
#   bash bench/otp/run.sh runs=3 pingpong_rt_per_s gen_server_call_per_s
#
# Stdout: exactly one JSON object (one line), e.g.
#   {"otp":"25","erts":"13.1.5","schedulers":2,"runs":5,"spawn_down_per_s":...}
# Stderr: install/compile messages and per-run diagnostics.
# Exit status: 0 ok, 1 benchmark/compile failure, 2 bad arguments.
#
# Extra emulator flags can be passed through ERL_FLAGS (e.g. ERL_FLAGS="+S 1").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

bash "$here/ensure_erlang.sh" >&2

# Compile into a throw-away directory on every run (takes well under a second).
build="$(mktemp -d "${TMPDIR:-/tmp}/steward_bench.XXXXXX")"
trap 'rm -rf "$build"' EXIT
erlc -o "$build" "$here"/*.erl >&2

# -noshell: no shell, so the VM writes nothing to stdout except the JSON.
# main/1 halts the VM itself with the proper exit status.
erl -noshell -pa "$build" -run steward_bench main "$@" </dev/null
