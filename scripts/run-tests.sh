#!/bin/sh
# Run every test suite (meson's unit tests, then the pytest functional suites)
# against build directory $1 and print one closing line
#   "N passed, N failed, N skipped"
# totalling them all.  Exits non-zero if anything failed.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export KEMU_BUILD_DIR="$ROOT/$BUILD"
RESULTS=$(mktemp -d)
trap 'rm -rf "$RESULTS"' EXIT

[ -e /dev/kvm ] || echo "run-tests: WARNING: /dev/kvm is absent: tests that need KVM will be SKIPPED"

echo "== unit tests (meson test)"
meson test -C "$BUILD" --print-errorlogs --num-processes 2 > "$RESULTS/meson.txt" 2>&1
meson_rc=$?
grep -E "^ *[0-9]+/[0-9]+ " "$RESULTS/meson.txt"
[ $meson_rc -ne 0 ] && tail -50 "$RESULTS/meson.txt"

# Each suite runs in its own pytest process: suites keep helper modules of their own, and a
# hung suite is stopped by its time limit without losing the others' results.
pytest_rc=0
n=0
for suite in tests/functional/test_*.py tests/functional/*/; do
    case "$suite" in */__pycache__/) continue ;; esac
    [ -e "$suite" ] || continue
    n=$((n + 1))
    echo "== functional: $suite"
    timeout 1500 "$PY" -m pytest -q -rs -p no:cacheprovider \
        --junitxml="$RESULTS/pytest-$n.xml" "$suite"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then
        pytest_rc=$rc
        [ $rc -eq 124 ] && echo "run-tests: $suite timed out" && touch "$RESULTS/timeout-$n"
    fi
done

"$PY" - "$BUILD/meson-logs/testlog.json" "$RESULTS" "$meson_rc" "$pytest_rc" <<'PYEOF'
import glob, json, os, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:
                failed += 1
except FileNotFoundError:
    failed += 1
for xml in sorted(glob.glob(os.path.join(sys.argv[2], "pytest-*.xml"))):
    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError:
        failed += 1
        continue
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for s in suites:
        t = int(s.get("tests", 0)); fl = int(s.get("failures", 0)); er = int(s.get("errors", 0))
        sk = int(s.get("skipped", 0))
        passed += t - fl - er - sk; failed += fl + er; skipped += sk
# A suite killed by its time limit wrote no report: count it as a failure.
failed += len(glob.glob(os.path.join(sys.argv[2], "timeout-*")))
# A runner that failed without recording a failing test still counts as a failure.
if sys.argv[3] != "0" and failed == 0:
    failed += 1
if sys.argv[4] not in ("0", "5") and failed == 0:
    failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PYEOF
