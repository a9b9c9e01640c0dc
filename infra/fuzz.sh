#!/usr/bin/env bash
# The long fuzz run (issue 10): each target of services/tidings-fuzz under libFuzzer, through
# cargo-bolero on nightly Rust (installed here if missing), for SECONDS each. New inputs that
# reach new code go into the target's corpus/ (commit the few worth keeping: `cargo bolero
# reduce` shrinks a corpus); a crash goes into its crashes/, which every `cargo test` replays
# from then on: fix the bug, keep the file and add a named regression test.
# Usage: infra/fuzz.sh [SECONDS per target, default 300] [TARGET ...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(
    avro::events cursor::cursor_text cursor::handed_out_cursors_decode_to_themselves
    user_agent::user_agent_text user_agent::versions_read_back_from_among_other_tokens
    tokens::edited_tokens tokens::edited_authorization_headers tokens::edited_claims
    json_bodies::json_bodies frames::gateway_frames datum_allocation
    reach_sketches::reach_sketch_bytes
  )
fi

infra/install-rust.sh
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
# The version that matches the bolero crate in Cargo.lock.
if [ "$(cargo bolero --version 2>/dev/null)" != "cargo-bolero 0.13.4" ]; then
  cargo install cargo-bolero --locked --version 0.13.4
fi

for target in "${targets[@]}"; do
  echo "==> fuzzing $target for ${seconds}s"
  # No sanitizer: the workspace forbids unsafe code, and address sanitizing halves the speed.
  cargo +nightly bolero test -p tidings-fuzz "$target" -T "${seconds}s" --sanitizer NONE
done
