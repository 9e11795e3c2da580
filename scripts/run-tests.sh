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

echo "== functional tests (pytest)"
"$PY" -m pytest -q -rs -p no:cacheprovider --junitxml="$RESULTS/pytest.xml" tests/functional
pytest_rc=$?

"$PY" - "$BUILD/meson-logs/testlog.json" "$RESULTS/pytest.xml" "$meson_rc" "$pytest_rc" <<'PYEOF'
import json, sys, xml.etree.ElementTree as ET
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
try:
    root = ET.parse(sys.argv[2]).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for s in suites:
        t = int(s.get("tests", 0)); fl = int(s.get("failures", 0)); er = int(s.get("errors", 0))
        sk = int(s.get("skipped", 0))
        passed += t - fl - er - sk; failed += fl + er; skipped += sk
except (FileNotFoundError, ET.ParseError):
    if sys.argv[4] not in ("0", "5"):
        failed += 1
# A runner that failed without recording a failing test still counts as a failure.
if sys.argv[3] != "0" and failed == 0:
    failed += 1
if sys.argv[4] not in ("0", "5") and failed == 0:
    failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PYEOF
