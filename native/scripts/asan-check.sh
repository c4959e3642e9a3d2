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
LD_PRELOAD="$libasan" FRAMEWIRE_NATIVE_ADDON="$addon" node --import tsx "${1:-native/scripts/asan-run.ts}"
echo "asan-check: no invalid access, no leak"
