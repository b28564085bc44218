#!/usr/bin/env bash
# Runs every <dir>/*/run.sh (default bench/), each to its end even when one before it failed or was
# skipped, then says which passed, which were skipped and why, and which failed.
# A bench skips by printing "SKIP: <reason>" and exiting 77 (e.g. the install bench when not root).
# Exit: 0 when none failed (skips are reported, not failures), 1 when any failed.
set -uo pipefail
dir=${1:-bench}
SKIP_EXIT=77

passed=()
skipped=()
failed=()
log=$(mktemp /tmp/airstrap-bench-log.XXXXXX)
trap 'rm -f "$log"' EXIT

for script in "$dir"/*/run.sh; do
  [ -e "$script" ] || continue
  echo "== $script"
  bash "$script" 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  if [ "$code" -eq 0 ]; then
    passed+=("$script")
  elif [ "$code" -eq "$SKIP_EXIT" ]; then
    reason=$(grep '^SKIP: ' "$log" | tail -n 1 | sed 's/^SKIP: //')
    skipped+=("$script: ${reason:-no reason given}")
  else
    failed+=("$script: exit $code")
  fi
done

echo "== benches: ${#passed[@]} ran, ${#skipped[@]} skipped, ${#failed[@]} failed"
for line in "${skipped[@]}"; do echo "skipped $line"; done
for line in "${failed[@]}"; do echo "failed $line"; done
[ "${#failed[@]}" -eq 0 ]
