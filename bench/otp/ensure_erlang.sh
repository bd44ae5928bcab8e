#!/usr/bin/env bash
# Ensure an Erlang/OTP runtime (erl + erlc) is installed.
# Idempotent and quiet: does nothing if erl/erlc are on PATH; otherwise runs
# `apt-get update` once and installs erlang-base (Debian bookworm -> OTP 25),
# using sudo only when not root. All output goes to stderr, so callers can
# keep stdout clean.
set -euo pipefail

if command -v erl >/dev/null 2>&1 && command -v erlc >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "ensure_erlang: erl not found, not root and no sudo; install erlang-base manually" >&2
  exit 1
fi

echo "ensure_erlang: installing erlang-base via apt-get ..." >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${SUDO[@]}" apt-get update -qq &&
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -qq --no-install-recommends erlang-base; } >"$log" 2>&1; then
  echo "ensure_erlang: apt-get failed:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi

if ! command -v erl >/dev/null 2>&1 || ! command -v erlc >/dev/null 2>&1; then
  echo "ensure_erlang: erlang-base installed but erl/erlc still not on PATH" >&2
  exit 1
fi
echo "ensure_erlang: $(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().') installed" >&2
