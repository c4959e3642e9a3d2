#!/usr/bin/env bash
# AddressSanitizer + LeakSanitizer job for the native addon (npm run test:asan).
#
# Builds an ASan copy of the addon into native/build-asan/ (never touching native/build/), then
# runs native/scripts/asan-run.ts in one Node process with libasan preloaded: a short
# multi-output transcode, the whole bad-media corpus (truncated, bit-flipped, garbage), a cancel
# and a stall. Fails on any invalid access (ASan aborts), any leak at exit (LSan; only the
# third-party entries in lsan.supp are suppressed) or any run that ends in something other than an
# output or an EngineError.
set -euo pipefail
native="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$native/.." && pwd)"
work="$native/build-asan/pkg"

mkdir -p "$work"
# Mirror the sources; node-gyp resolves node-addon-api from native/node_modules by walking up.
rm -rf "$work/src"
cp -r "$native/src" "$native/binding.gyp" "$work/"
nodedir="$(node -p "require('path').resolve(process.execPath, '../..')")"
gyp="$root/node_modules/node-gyp/bin/node-gyp.js"
if [[ -f "$work/build/Makefile" ]]; then
  # Incremental: make rebuilds only what changed (the configure step already has -Dframewire_asan=1).
  (cd "$work" && node "$gyp" build --nodedir="$nodedir" -j 2 >/dev/null)
else
  (cd "$work" && node "$gyp" rebuild --nodedir="$nodedir" -j 2 -- -Dframewire_asan=1 >/dev/null)
fi
addon="$work/build/Release/framewire_native.node"

libasan="$(gcc -print-file-name=libasan.so)"
# detect_leaks=1: leaks fail the job. fast_unwind_on_malloc=0: full stacks through libav*, which
# is built without frame pointers. abort_on_error: a report ends the process with a failure.
export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=30:abort_on_error=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$native/scripts/lsan.supp:print_suppressions=1"
cd "$root"
# A workload script may be named (e.g. native/scripts/asan-tracks.ts); default: the whole job.
workload="${1:-native/scripts/asan-run.ts}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for attempt in 1 2; do
  status=0
  LD_PRELOAD="$libasan" FRAMEWIRE_NATIVE_ADDON="$addon" node --import tsx "$workload" 2>&1 | tee "$log" || status=$?
  if [[ $status -eq 0 ]]; then
    echo "asan-check: no invalid access, no leak"
    exit 0
  fi
  # LSan's stop-the-world tracer sometimes crashes at exit while Node's threads wind down ("Tracer
  # caught signal 11", google/sanitizers#1353). That is the tool failing, not a finding: when it
  # is the only thing wrong (every run ok, no ASan or leak report), the whole job runs once more
  # and must then end clean. Any other failure fails at once.
  if [[ $attempt -eq 1 ]] && grep -q "LeakSanitizer has encountered a fatal error" "$log" &&
    ! grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|^FAIL " "$log"; then
    echo "asan-check: LeakSanitizer's own tracer crashed at exit (not a leak report); running the job once more"
    continue
  fi
  exit "$status"
done
