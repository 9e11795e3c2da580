"""Minimal client for the qtest protocol (QEMU docs/devel/qtest.rst).

Starts $KEMU_SYSTEM (default: $KEMU_BUILD_DIR/kemu-system-x86_64) with
`-accel qtest -qtest unix:SOCK`, sends line commands and parses replies.
Asynchronous lines ("IRQ raise N" / "IRQ lower N") are collected in `irq_events`
and folded into `irq_level`.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def system_binary():
    """The emulator under test; a missing kemu binary is a test failure, not a skip."""
    exe = os.environ.get('KEMU_SYSTEM')
    if exe:
        return exe
    build = os.environ.get('KEMU_BUILD_DIR', os.path.join(REPO, 'build'))
    exe = os.path.join(build, 'kemu-system-x86_64')
    if not os.access(exe, os.X_OK):
        raise FileNotFoundError('kemu binary not found: %s (set KEMU_BUILD_DIR or KEMU_SYSTEM)'
                                % exe)
    return exe


def is_qemu():
    """True when the tests run against QEMU (KEMU_SYSTEM=qemu-system-x86_64) to validate them."""
    return 'qemu' in os.path.basename(os.environ.get('KEMU_SYSTEM', ''))


try:
    import pytest
    # Tests that step the virtual clock need the qtest accelerator, which Debian's QEMU
    # lacks: against QEMU they are skipped (the binary under test is kemu in CI).
    needs_clock = pytest.mark.skipif(is_qemu(), reason='needs -accel qtest (clock_step)')
    kemu_only = pytest.mark.skipif(is_qemu(), reason='kemu-specific behaviour')
except ImportError:  # usable as a plain library too
    pass


class QTestError(Exception):
    pass


class QTest:
    def __init__(self, args=(), machine='pc', timeout=10.0):
        self.tmpdir = tempfile.mkdtemp(prefix='kemu-qtest-')
        self.sock_path = os.path.join(self.tmpdir, 'qtest.sock')
        self.timeout = timeout
        self.irq_events = []
        self.irq_level = {}
        self.exe = system_binary()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.sock_path)
        srv.listen(1)
        srv.settimeout(timeout)
        # The test listens and the emulator connects (QEMU's libqtest does the same),
        # so the syntax `-qtest unix:PATH` works for both QEMU and kemu.
        # Debian's QEMU is built without the qtest accelerator: there, drive the
        # devices with the vCPU stopped (-S) so no firmware touches them; the virtual
        # clock does not move, so clock tests only run against kemu (see needs_clock).
        accel = ['-accel', 'tcg', '-S'] if is_qemu() else ['-accel', 'qtest']
        self.log_path = os.path.join(self.tmpdir, 'qtest.log')
        self.cmdline = [self.exe, '-M', machine] + accel + [
                        '-qtest', 'unix:' + self.sock_path, '-qtest-log', self.log_path,
                        '-display', 'none', '-nodefaults'] + list(args)
        # Extra arguments for every run (e.g. a -kernel while the machine insists on one).
        extra = os.environ.get('KEMU_QTEST_EXTRA_ARGS')
        if extra and not is_qemu():
            self.cmdline += extra.split()
        self.stderr_path = os.path.join(self.tmpdir, 'stderr')
        self._stderr = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen(self.cmdline, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)
        try:
            self.sock, _ = srv.accept()
        except socket.timeout:
            self.proc.kill()
            self.proc.wait()
            raise QTestError('emulator did not connect: %s' % self.stderr())
        finally:
            srv.close()
        self.sock.settimeout(timeout)
        self.buf = b''

    # -- transport ---------------------------------------------------------------
    def stderr(self):
        self._stderr.flush()
        with open(self.stderr_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def _readline(self):
        while b'\n' not in self.buf:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                raise QTestError('timeout waiting for reply')
            if not data:
                raise EOFError('qtest connection closed')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return line.decode()

    def _note_irq(self, line):
        words = line.split()
        n = int(words[2], 0)
        self.irq_events.append((words[1], n))
        self.irq_level[n] = words[1] == 'raise'

    def cmd(self, line):
        """Send one command, return the reply words after 'OK' (FAIL raises)."""
        self.sock.sendall((line + '\n').encode())
        while True:
            reply = self._readline()
            if reply.startswith('IRQ '):
                self._note_irq(reply)
                continue
            break
        if reply.startswith('OK'):
            return reply[2:].strip()
        raise QTestError('%s -> %s' % (line, reply))

    def send(self, line):
        """Send a command without waiting for its reply (for commands that end the VM)."""
        self.sock.sendall((line + '\n').encode())

    def raw(self, line):
        """Send one command and return the full reply line (for FAIL tests)."""
        self.sock.sendall((line + '\n').encode())
        while True:
            reply = self._readline()
            if reply.startswith('IRQ '):
                self._note_irq(reply)
                continue
            return reply

    # -- helpers -----------------------------------------------------------------
    def outb(self, a, v): self.cmd('outb 0x%x 0x%x' % (a, v))
    def outw(self, a, v): self.cmd('outw 0x%x 0x%x' % (a, v))
    def outl(self, a, v): self.cmd('outl 0x%x 0x%x' % (a, v))
    def inb(self, a): return int(self.cmd('inb 0x%x' % a), 16)
    def inw(self, a): return int(self.cmd('inw 0x%x' % a), 16)
    def inl(self, a): return int(self.cmd('inl 0x%x' % a), 16)
    def readb(self, a): return int(self.cmd('readb 0x%x' % a), 16)
    def readw(self, a): return int(self.cmd('readw 0x%x' % a), 16)
    def readl(self, a): return int(self.cmd('readl 0x%x' % a), 16)
    def readq(self, a): return int(self.cmd('readq 0x%x' % a), 16)
    def writeb(self, a, v): self.cmd('writeb 0x%x 0x%x' % (a, v))
    def writew(self, a, v): self.cmd('writew 0x%x 0x%x' % (a, v))
    def writel(self, a, v): self.cmd('writel 0x%x 0x%x' % (a, v))
    def writeq(self, a, v): self.cmd('writeq 0x%x 0x%x' % (a, v))

    def memread(self, a, size):
        hexstr = self.cmd('read 0x%x 0x%x' % (a, size))
        assert hexstr.startswith('0x')
        return bytes.fromhex(hexstr[2:])

    def memwrite(self, a, data):
        self.cmd('write 0x%x 0x%x 0x%s' % (a, len(data), data.hex()))

    def memset(self, a, size, v):
        self.cmd('memset 0x%x 0x%x 0x%x' % (a, size, v))

    def clock_step(self, ns=None):
        return int(self.cmd('clock_step' if ns is None else 'clock_step %d' % ns))

    def clock_set(self, ns):
        return int(self.cmd('clock_set %d' % ns))

    def irq_intercept_in(self, path='ioapic'):
        self.cmd('irq_intercept_in ' + path)

    def irq_intercept_out(self, path='ioapic'):
        self.cmd('irq_intercept_out ' + path)

    def get_irq(self, n):
        """Current level of intercepted GSI n, after draining pending events."""
        self.poll_events()
        return self.irq_level.get(n, False)

    def poll_events(self):
        self.sock.setblocking(False)
        try:
            while True:
                try:
                    data = self.sock.recv(4096)
                except (BlockingIOError, socket.timeout):
                    break
                if not data:
                    break
                self.buf += data
        finally:
            self.sock.settimeout(self.timeout)
        while b'\n' in self.buf:
            line, rest = self.buf.split(b'\n', 1)
            text = line.decode()
            if not text.startswith('IRQ '):
                break
            self.buf = rest
            self._note_irq(text)

    # -- PCI configuration mechanism #1 (0xcf8/0xcfc) ----------------------------
    def pci_cfg_write(self, dev, fn, reg, val, size=4, bus=0):
        self.outl(0xcf8, 0x80000000 | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc))
        port = 0xcfc + (reg & 3)
        {1: self.outb, 2: self.outw, 4: self.outl}[size](port, val)

    def pci_cfg_read(self, dev, fn, reg, size=4, bus=0):
        self.outl(0xcf8, 0x80000000 | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc))
        port = 0xcfc + (reg & 3)
        return {1: self.inb, 2: self.inw, 4: self.inl}[size](port)

    # -- process end -------------------------------------------------------------
    def wait_exit(self, timeout=None):
        """Wait for the emulator to end on its own; returns its exit status."""
        try:
            return self.proc.wait(timeout=timeout or self.timeout)
        finally:
            self.close()

    def close(self):
        if self._stderr.closed:
            return
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.stderr()
        self._stderr.close()
        try:
            with open(self.log_path, errors='replace') as f:
                self.log_text = f.read()     # the qtest log, for tests to inspect
        except OSError:
            self.log_text = ''
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        # A sanitizer build reports memory errors and undefined behaviour on stderr.
        for marker in ('runtime error:', 'ERROR: AddressSanitizer', 'ERROR: LeakSanitizer'):
            if marker in err:
                raise QTestError('sanitizer report from %s:\n%s' % (self.exe, err))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
