#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS_PER_TARGET seconds
# (default 20, at most 60); fails on the first crash, whose input is left
# in fuzz/artifacts/TARGET/. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`).
#
#   fuzz/run.sh            # 20 s per target
#   fuzz/run.sh 5          # a quick pass
#   FUZZ_TARGETS="key_id config" fuzz/run.sh 60
#
# Each run starts from fuzz/corpus/TARGET (kept between runs, not in git),
# fuzz/seeds/TARGET/ (hand-written valid inputs) and fuzz/regressions/TARGET/
# (past crashes, replayed on their own first: each must pass), with the
# dictionary fuzz/dicts/TARGET.dict when there is one.
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-20}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ] || [ "$secs" -gt 60 ]; then
  echo "usage: fuzz/run.sh [SECONDS_PER_TARGET], 1 to 60 (got $secs)" >&2
  exit 2
fi

# Outside the clone, like the main build's, so repeated runs are quick.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/lg-fuzz-target}"

targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"

echo "==> building the fuzz targets"
cargo +nightly fuzz build -O

failed=()
for target in $targets; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  [ -d "seeds/$target" ] && seeds+=("seeds/$target")
  dict=()
  [ -f "dicts/$target.dict" ] && dict+=("-dict=dicts/$target.dict")
  if [ -d "regressions/$target" ]; then
    seeds+=("regressions/$target")
    # Every past crash first, on its own: each must pass.
    echo "==> $target: replaying regressions/$target"
    if ! cargo +nightly fuzz run -O "$target" "regressions/$target"/* -- -runs=1 >"/tmp/fuzz-$target.log" 2>&1; then
      tail -n 40 "/tmp/fuzz-$target.log"
      failed+=("$target (regression)")
      continue
    fi
  fi
  echo "==> $target: fuzzing for ${secs}s"
  if cargo +nightly fuzz run -O "$target" "$corpus" "${seeds[@]}" -- "${dict[@]}" \
      -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"/tmp/fuzz-$target.log" 2>&1; then
    # No final stats: the fuzzer was stopped from outside (a signal).
    if ! grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
        "/tmp/fuzz-$target.log" | sed "s/^/    /"; then
      tail -n 5 "/tmp/fuzz-$target.log"
      echo "    $target stopped before the end of its run (interrupted?)"
      failed+=("$target (interrupted)")
    fi
  else
    tail -n 40 "/tmp/fuzz-$target.log"
    echo "    crash input: fuzz/artifacts/$target/ (add it to fuzz/regressions/$target/)"
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: every target ran ${secs}s without a crash"
