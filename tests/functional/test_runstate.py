"""Run-state behaviour: reset reloads the boot images, -no-reboot turns a reset into an exit,
-daemonize detaches only after a successful start-up.  Driven over qtest so no guest code is
needed to cause the reset."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'qtest'))
from qtest import QTest  # noqa: E402

KERNEL_LOAD = 0x100000  # the test kernels' multiboot load address


def test_reset_reloads_kernel_and_keeps_cmos(kernels_dir):
    """A guest-requested reset re-places the boot images (the guest overwrote them) but is not
    a power cycle: CMOS RAM survives."""
    kernel = os.path.join(kernels_dir, 'hello.elf')
    with QTest(['-kernel', kernel]) as qt:
        original = qt.memread(KERNEL_LOAD, 64)
        assert original != bytes(64), 'the kernel should be loaded at 1 MiB'
        qt.memset(KERNEL_LOAD, 64, 0)
        assert qt.memread(KERNEL_LOAD, 64) == bytes(64)
        qt.outb(0x70, 0x40)
        qt.outb(0x71, 0x5a)
        # PIIX3 reset control register: RST_CPU | SYS_RST
        qt.outb(0xcf9, 0x06)
        deadline = time.monotonic() + 5
        while qt.memread(KERNEL_LOAD, 64) != original and time.monotonic() < deadline:
            time.sleep(0.02)
        assert qt.memread(KERNEL_LOAD, 64) == original
        qt.outb(0x70, 0x40)
        assert qt.inb(0x71) == 0x5a


def test_no_reboot_exits_on_reset(kernels_dir):
    kernel = os.path.join(kernels_dir, 'hello.elf')
    qt = QTest(['-kernel', kernel, '-no-reboot'])
    try:
        qt.send('outb 0xcf9 0x6')
        assert qt.wait_exit(timeout=10) == 0
    finally:
        qt.close()


def test_daemonize(kemu, kernels_dir):
    kernel = os.path.join(kernels_dir, 'hello.elf')
    with tempfile.TemporaryDirectory() as d:
        pidfile = os.path.join(d, 'pid')
        p = subprocess.run([kemu, '-daemonize', '-S', '-pidfile', pidfile, '-display', 'none',
                            '-nodefaults', '-kernel', kernel], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=20)
        assert p.returncode == 0, p.stderr
        pid = int(open(pidfile).read())
        os.kill(pid, 0)  # the daemon is alive after the parent returned
        os.kill(pid, 15)
        for _ in range(100):
            if not os.path.exists(pidfile):
                break
            time.sleep(0.05)
        assert not os.path.exists(pidfile)
        # A failing start-up makes the parent fail too
        p = subprocess.run([kemu, '-daemonize', '-display', 'none', '-nodefaults', '-kernel',
                            '/nonexistent'], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=20)
        assert p.returncode == 1
        assert b'could not open kernel file' in p.stderr
