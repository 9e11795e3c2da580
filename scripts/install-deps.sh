#!/bin/sh
# Install the Debian packages kemu needs to build (and, with --test, to run its
# tests) when any are missing.  Safe to run repeatedly; needs root or sudo only
# when something is missing.
set -e

BUILD_PKGS="gcc make meson ninja-build pkg-config libglib2.0-dev libpixman-1-dev zlib1g-dev
libzstd-dev libaio-dev liburing-dev libcap-ng-dev"
TEST_PKGS="python3 python3-pytest qemu-system-x86 qemu-utils busybox-static cpio socat
acpica-tools strace"

want="$BUILD_PKGS"
[ "$1" = "--test" ] && want="$BUILD_PKGS $TEST_PKGS"

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: need root (or sudo) to install:$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
