#!/usr/bin/env bash
# Opt-in: the C core (spouge._core) under AddressSanitizer + UndefinedBehaviorSanitizer (issue 11, item 5).
#
#     bench/core_sanitize.sh [pytest args...]      # default: the core's agreement and fuzz tests
#     SPOUGE_CORE_FUZZ_EXAMPLES=100000 SPOUGE_SLOW=1 bench/core_sanitize.sh   # the long fuzz, sanitized
#
# Builds a sanitized copy of the extension into a temporary copy of the package (the
# in-place build is left alone), preloads libasan into the (unsanitized) Python, and
# runs the tests from that directory so `import spouge` finds the copy.  Any ASan/UBSan
# report aborts the run with a non-zero status.  Leak checking is off: CPython and
# FLINT's caches keep memory until exit by design.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
orig="$PWD"
args=()
for a in "$@"; do  # test paths given relative to the caller's directory
    if [ -e "$orig/$a" ]; then args+=("$(cd "$(dirname "$orig/$a")" && pwd)/$(basename "$a")"); else args+=("$a"); fi
done
set -- "${args[@]+"${args[@]}"}"
work="$(mktemp -d /tmp/spouge-sanitize-XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp -r "$repo/spouge" "$work/spouge"
rm -f "$work"/spouge/_core*.so
cd "$repo"
CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1" \
LDFLAGS="-fsanitize=address,undefined" \
SPOUGE_CORE_LIBS="$(python3 -c 'import spouge._core' 2>/dev/null && ldd "$(python3 -c 'import spouge._core as c; print(c.__file__)')" | grep -q libflint-arb && echo flint-arb,flint,gmp || echo flint,gmp)" \
    python3 setup.py -q build_ext --build-lib "$work/lib" --build-temp "$work/tmp" --force 2>&1 | grep -v "^$" | grep -iv "warn" || true
so="$(ls "$work"/lib/spouge/_core*.so)"
nm -D "$so" | grep __asan_init >/dev/null || { echo "the extension was not built with ASan" >&2; exit 1; }
cp "$so" "$work/spouge/"
asan="$(gcc -print-file-name=libasan.so)"
ubsan="$(gcc -print-file-name=libubsan.so)"
cd "$work"
if [ "$#" -eq 0 ]; then
    set -- "$repo/tests/test_core_agreement.py" "$repo/tests/test_core_fuzz.py"
fi
echo "sanitized core: $so" >&2
LD_PRELOAD="$asan:$ubsan" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
SPOUGE_CORE_CASES="${SPOUGE_CORE_CASES:-600}" \
    python3 -c 'import spouge._core as c, sys; print("core from", c.__file__, file=sys.stderr)' 
LD_PRELOAD="$asan:$ubsan" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
SPOUGE_CORE_CASES="${SPOUGE_CORE_CASES:-600}" \
    python3 -m pytest -q -p no:cacheprovider -W ignore "$@"
