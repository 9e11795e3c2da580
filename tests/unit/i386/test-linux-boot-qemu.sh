#!/bin/sh
# End-to-end check of the Linux loader and ACPI tables with a real kernel: boot-dump builds
# the blobs kemu would place in guest RAM; Debian's QEMU (TCG) loads them through the
# Multiboot shim, which enters Linux in kemu's 64-bit entry state.  The guest must find its
# e820 map, command line, initrd and ACPI tables, run /init and power off through \_S5.
# Skips (77) without the guest assets (tests/guest/build.sh into $KEMU_GUEST_DIR, default
# BUILD/tests/guest), qemu-system-x86_64, or a gcc that builds -m32 code.
set -u
dump=$1
srcdir=$2
builddir=$3
guest=${KEMU_GUEST_DIR:-$builddir/tests/guest}

if [ ! -f "$guest/vmlinuz" ] || [ ! -f "$guest/initramfs.cpio.gz" ]; then
    echo "SKIP: no guest kernel in $guest (build it with tests/guest/build.sh)"
    exit 77
fi
qemu=$(command -v qemu-system-x86_64) || { echo "SKIP: no qemu-system-x86_64"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
if ! gcc -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -O1 -nostdlib \
        -static -no-pie -Wl,-T,"$srcdir/qemu-shim/shim.ld" -Wl,--build-id=none \
        -o "$tmp/shim.elf" "$srcdir/qemu-shim/shim.c" 2> "$tmp/cc.log"; then
    echo "SKIP: gcc -m32 cannot build the shim"
    cat "$tmp/cc.log"
    exit 77
fi
fail=0
# boot MODE: MODE is 64 (the default entry) or 32 (the 32-bit boot protocol path).
boot() {
    rm -f "$tmp"/b*_*
    if [ "$1" = 32 ]; then
        list=$("$dump" "$guest/vmlinuz" "$guest/initramfs.cpio.gz" \
               'console=ttyS0 kemu.poweroff=1 kemu.cmd=cat${IFS}/proc/cmdline' "$tmp" 32) || exit 1
    else
        list=$("$dump" "$guest/vmlinuz" "$guest/initramfs.cpio.gz" \
               'console=ttyS0 kemu.poweroff=1 kemu.cmd=cat${IFS}/proc/cmdline' "$tmp") || exit 1
    fi
    timeout 280 "$qemu" -M pc -m 512 -smp 2 -display none -nodefaults -serial stdio -no-reboot \
        -kernel "$tmp/shim.elf" -append "mode$1" -initrd "$list" > "$tmp/log" 2>&1
    rc=$?
    check "shim: blobs copied, entering $1-bit Linux"
    check "BIOS-e820: [mem 0x0000000000000000-0x000000000007ffff] usable"
    check "BIOS-e820: [mem 0x0000000000080000-0x000000000008ffff] ACPI data"
    check "BIOS-e820: [mem 0x0000000000100000-0x000000001fffffff] usable"
    check "Kernel command line: console=ttyS0 kemu.poweroff=1 kemu.cmd=cat\${IFS}/proc/cmdline"
    check "ACPI: RSDP 0x000000000008F000 000024 (v02 KEMU  )"
    check "ACPI: INT_SRC_OVR (bus 0 bus_irq 9 global_irq 9 high level)"
    check "smpboot: Allowing 2 CPUs, 0 hotplug CPUs"
    check "ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])"
    check "ACPI: PCI: Interrupt link LNKA configured for IRQ 10"
    check "pnp: PnP ACPI: found 4 devices"
    check "Freeing initrd memory"
    check "KEMU-GUEST-OK"
    check "KEMU-CMD-EXIT 0"
    check "ACPI: PM: Preparing to enter system sleep state S5"
    if [ "$rc" -ne 0 ]; then
        echo "$1-bit entry: qemu exited with status $rc (124: the guest did not power off)"
        fail=1
    fi
    if grep -qiE "ACPI (Error|Warning)|Firmware Bug|Kernel panic" "$tmp/log"; then
        echo "$1-bit entry: the guest complained:"
        grep -iE "ACPI (Error|Warning)|Firmware Bug|Kernel panic" "$tmp/log"
        fail=1
    fi
    if [ "$fail" -ne 0 ]; then
        echo "---- guest log, $1-bit entry (last 60 lines) ----"
        tail -n 60 "$tmp/log"
        exit 1
    fi
}
check() {
    if ! grep -qF -- "$1" "$tmp/log"; then
        echo "missing from the guest log: $1"
        fail=1
    fi
}
boot 64
boot 32
echo "Linux booted from kemu's blobs and ACPI tables (64- and 32-bit entry), powered off through \\_S5"
exit 0
