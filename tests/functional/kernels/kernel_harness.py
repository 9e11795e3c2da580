"""Run the freestanding test kernels (tests/kernels/) under an emulator.

The emulator under test is $KEMU_SYSTEM if set (e.g. KEMU_SYSTEM=qemu-system-x86_64 to check
the kernels against Debian's QEMU), else $KEMU_BUILD_DIR/kemu-system-x86_64 with
KEMU_BUILD_DIR defaulting to <repo>/build. A missing kemu binary is a failure, not a skip.
The kernels come from $KEMU_KERNELS_DIR, default $KEMU_BUILD_DIR/tests/kernels.
$KEMU_TEST_ACCEL (default kvm) picks the accelerator; with kvm and no usable /dev/kvm the
tests skip with a loud reason.

    status, output = run_kernel('hello', append='exitcode=5', smp=2)

The command line is QEMU's:
    -M pc -accel kvm -m 128 -smp N -display none -nodefaults -no-reboot -serial stdio
    -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel X [-append ...] [-initrd ...]
A kernel exiting through isa-debug-exit with code c gives status (c << 1) | 1, so a passing
test kernel (code 0) ends with status 1; an ACPI poweroff ends with status 0.
"""
import os
import re
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
DEFAULT_TIMEOUT = float(os.environ.get('KEMU_KERNEL_TIMEOUT', '60'))

# Kernels whose file name is not <name>.elf.
KERNEL_FILES = {'aout_kludge': 'aout_kludge.bin', 'bzimage': 'fake-bzImage'}


class KernelTimeout(AssertionError):
    """The VM did not end within the timeout; .output holds the serial output so far."""

    def __init__(self, cmdline, timeout, output):
        super().__init__('%s: no exit within %.0f s; serial output:\n%s'
                         % (' '.join(cmdline), timeout, output))
        self.output = output


def build_dir():
    return os.environ.get('KEMU_BUILD_DIR', os.path.join(REPO, 'build'))


def system_binary():
    """The emulator under test; a missing kemu binary fails the test."""
    exe = os.environ.get('KEMU_SYSTEM')
    if exe:
        return exe
    exe = os.path.join(build_dir(), 'kemu-system-x86_64')
    if not os.access(exe, os.X_OK):
        pytest.fail('kemu binary not found: %s (build it, or set KEMU_BUILD_DIR or KEMU_SYSTEM)'
                    % exe, pytrace=False)
    return exe


def accel():
    return os.environ.get('KEMU_TEST_ACCEL', 'kvm')


def require_accel():
    """Skip loudly when the accelerator needs /dev/kvm and it is not usable."""
    if accel().split(',')[0].split(':')[0] != 'kvm':
        return
    if not os.path.exists('/dev/kvm'):
        pytest.skip('SKIPPED: /dev/kvm absent: the test kernels run under -accel kvm '
                    '(set KEMU_TEST_ACCEL=tcg to run them without it)')
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        pytest.skip('SKIPPED: /dev/kvm not accessible (permissions): the test kernels run '
                    'under -accel kvm')


def is_pvm_host():
    """KVM here is PVM (kvm_pvm module: virtualisation without VT-x/SVM), which runs guest
    CPL 0 code in KVM's instruction emulator and only supports long-mode paging."""
    return os.path.exists('/sys/module/kvm_pvm')


def software_int_works():
    """False where KVM cannot execute INT n / INT3 (kvm-pvm emulates CPL 0 code and hangs)."""
    return not (uses_kvm() and is_pvm_host())


def is_qemu():
    """The emulator under test is QEMU (KEMU_SYSTEM=qemu-system-x86_64), the reference."""
    return 'qemu' in os.path.basename(os.environ.get('KEMU_SYSTEM', ''))


def uses_kvm():
    return accel().split(',')[0].split(':')[0] == 'kvm'


def require_legacy_paging():
    """Skip loudly where the accelerator cannot run 32-bit (non-long-mode) paging."""
    if uses_kvm() and is_pvm_host():
        pytest.skip('SKIPPED: /dev/kvm is kvm-pvm, which cannot enable 32-bit or PAE paging '
                    'outside long mode (CR0.PG raises #GP); run with KEMU_TEST_ACCEL=tcg')


def require_cpl0_sse():
    """Skip loudly where the accelerator cannot run x87/SSE instructions at CPL 0."""
    if uses_kvm() and is_pvm_host():
        pytest.skip('SKIPPED: /dev/kvm is kvm-pvm, whose instruction emulator (used for all '
                    'CPL 0 code) has no x87/SSE arithmetic; run with KEMU_TEST_ACCEL=tcg')


def kernels_dir():
    return os.environ.get('KEMU_KERNELS_DIR', os.path.join(build_dir(), 'tests', 'kernels'))


def kernel_path(name):
    """Path of a built test kernel by name ('hello', 'aout_kludge', 'bzimage', ...)."""
    path = os.path.join(kernels_dir(), KERNEL_FILES.get(name, name + '.elf'))
    if not os.path.exists(path):
        pytest.fail('test kernel not built: %s (ninja -C <builddir>; needs gcc -m32, meson '
                    'option test_kernels)' % path, pytrace=False)
    return path


def run_kernel(kernel, append=None, initrd=None, smp=1, mem=128, extra_args=(),
               timeout=DEFAULT_TIMEOUT):
    """Boot `kernel` (a name from tests/kernels or a path) and return (exit status, serial
    output with CRs removed). Raises KernelTimeout if the VM is still running after
    `timeout` seconds."""
    require_accel()
    path = kernel if os.sep in kernel else kernel_path(kernel)
    cmdline = [system_binary(), '-M', 'pc', '-accel', accel(), '-m', str(mem),
               '-smp', str(smp), '-display', 'none', '-nodefaults', '-no-reboot',
               '-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
               '-kernel', path]
    if append is not None:
        cmdline += ['-append', append]
    if initrd is not None:
        cmdline += ['-initrd', initrd]
    cmdline += list(extra_args)
    proc = subprocess.Popen(cmdline, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise KernelTimeout(cmdline, timeout, clean(out) + clean(err)) from None
    # Kept for describe(): the command and the emulator's own diagnostics.
    run_kernel.last_cmdline = cmdline
    run_kernel.last_stderr = clean(err)
    return proc.returncode, clean(out)


run_kernel.last_stderr = ''
run_kernel.last_cmdline = []


def clean(data):
    return data.decode('utf-8', errors='replace').replace('\r', '')


def describe(status, output):
    return ('command: %s\nexit status: %s\nserial output:\n%s\nstderr:\n%s'
            % (' '.join(run_kernel.last_cmdline), status, output, run_kernel.last_stderr))


def assert_pass(name, status, output, expect_status=1):
    """The kernel printed 'PASS <name>', no FAIL line, and the VM ended with expect_status
    (1 = isa-debug-exit code 0)."""
    lines = output.splitlines()
    fails = [line for line in lines if line.startswith('FAIL')]
    assert not fails, describe(status, output)
    assert any(re.match(r'PASS %s(\s|$)' % re.escape(name), line) for line in lines), \
        describe(status, output)
    assert status == expect_status, describe(status, output)
