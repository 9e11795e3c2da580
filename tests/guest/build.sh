#!/bin/sh
# tests/guest/build.sh <outdir>: build the guest assets the functional tests boot.
#
#   <outdir>/vmlinuz             Debian's stock amd64 kernel (linux-image-amd64 and the versioned
#                                linux-image-*-amd64 it depends on; unpacked with dpkg-deb -x,
#                                never installed)
#   <outdir>/initramfs.cpio.gz   busybox (busybox-static) initramfs, cpio newc + gzip
#
# The initramfs /init mounts proc/sys/dev, prints "KEMU-GUEST-OK <uname -r>" and then acts on the
# kernel command line:
#   kemu.cmd="..."   run the command with sh -c, then print "KEMU-CMD-EXIT <status>"
#   kemu.poweroff=1  poweroff -f (after kemu.cmd, if both are given)
#   otherwise        a shell on the console
#
# Downloads are cached in $KEMU_GUEST_CACHE (default <outdir>/cache) and never fetched twice;
# outputs are rebuilt only when missing or older than this script. Needs apt-get (after
# apt-get update), dpkg-deb, gzip and cpio (or a busybox with cpio -o).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 <outdir>" >&2
    exit 2
fi

mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=${KEMU_GUEST_CACHE:-$out/cache}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

log() { echo "guest/build.sh: $*" >&2; }

# Print the path of the cached .deb of package $1, downloading it if needed.
fetch_deb() {
    set -- "$1" "$(ls "$cache/$1"_*.deb 2>/dev/null | head -n 1)"
    if [ -z "$2" ]; then
        log "downloading $1"
        (cd "$cache" && apt-get download "$1" >&2) || {
            log "apt-get download $1 failed (run apt-get update first?)"
            exit 1
        }
        set -- "$1" "$(ls "$cache/$1"_*.deb | head -n 1)"
    fi
    echo "$2"
}

# --- kernel -----------------------------------------------------------------------------------
if [ ! -s "$out/vmlinuz" ]; then
    meta=$(fetch_deb linux-image-amd64)
    # The meta package depends on exactly one versioned image package.
    image_pkg=$(dpkg-deb -f "$meta" Depends | tr ',|' '\n\n' | sed 's/(.*//; s/ //g' |
                grep '^linux-image-.*-amd64$' | head -n 1)
    if [ -z "$image_pkg" ]; then
        log "cannot find the versioned kernel package in $meta's Depends"
        exit 1
    fi
    deb=$(fetch_deb "$image_pkg")
    rm -rf "$cache/kernel-root"
    dpkg-deb -x "$deb" "$cache/kernel-root"
    vmlinuz=$(ls "$cache"/kernel-root/boot/vmlinuz-* | head -n 1)
    cp "$vmlinuz" "$out/vmlinuz.tmp"
    mv "$out/vmlinuz.tmp" "$out/vmlinuz"
    rm -rf "$cache/kernel-root"
    log "kernel: $out/vmlinuz ($(basename "$vmlinuz"))"
fi

# --- busybox ----------------------------------------------------------------------------------
busybox=""
if dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
    busybox=/bin/busybox
else
    bb_deb=$(fetch_deb busybox-static)
    if [ ! -x "$cache/busybox-root/bin/busybox" ]; then
        rm -rf "$cache/busybox-root"
        dpkg-deb -x "$bb_deb" "$cache/busybox-root"
    fi
    busybox=$cache/busybox-root/bin/busybox
fi

# --- initramfs --------------------------------------------------------------------------------
if [ -s "$out/initramfs.cpio.gz" ] && [ "$out/initramfs.cpio.gz" -nt "$script" ] &&
   [ "$out/initramfs.cpio.gz" -nt "$busybox" ]; then
    exit 0
fi

root="$cache/initramfs-root"
rm -rf "$root"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/proc" "$root/sys" \
         "$root/dev" "$root/tmp" "$root/root" "$root/etc"
cp "$busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# The kernel opens /dev/console before running /init; create it when we can (root), /init
# re-opens it after mounting devtmpfs otherwise.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true

cat > "$root/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec 0</dev/console 1>/dev/console 2>&1
echo "KEMU-GUEST-OK $(uname -r)"

cmdline=$(cat /proc/cmdline)
# kemu.cmd="a command" or kemu.cmd=word
cmd=$(echo "$cmdline" | sed -n 's/.*kemu\.cmd="\([^"]*\)".*/\1/p')
if [ -z "$cmd" ]; then
    cmd=$(echo "$cmdline" | sed -n 's/.*kemu\.cmd=\([^" ][^ ]*\).*/\1/p')
fi
if [ -n "$cmd" ]; then
    sh -c "$cmd"
    echo "KEMU-CMD-EXIT $?"
fi

case " $cmdline " in
*" kemu.poweroff=1 "*)
    echo "KEMU-GUEST-POWEROFF"
    poweroff -f
    sleep 10
    ;;
esac

while true; do
    setsid cttyhack sh
done
INIT
chmod 755 "$root/init"

if command -v cpio >/dev/null 2>&1; then
    (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$out/initramfs.cpio"
else
    (cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc) > "$out/initramfs.cpio"
fi
gzip -9 -n -f "$out/initramfs.cpio"
rm -rf "$root"
log "initramfs: $out/initramfs.cpio.gz"
