"""Boot Debian's stock kernel with the busybox initramfs from tests/guest/build.sh.

The assets are built (downloaded once, then cached) into $KEMU_GUEST_DIR, default
$KEMU_BUILD_DIR/tests/guest. The guest runs under $KEMU_GUEST_ACCEL if set; otherwise under kvm
when /dev/kvm is hardware-backed, else under tcg when the emulator has it.  A KVM without
VT-x/SVM (kvm-pvm) emulates all guest kernel code and would take far too long to boot Linux;
on such a host, an emulator without the software CPU cannot run this test and it is skipped
with that reason.  $KEMU_GUEST_TIMEOUT (default 300 s) bounds each boot.
"""
import os
import re
import subprocess

import pytest

from kernel_harness import REPO, build_dir, clean, system_binary

GUEST_TIMEOUT = float(os.environ.get('KEMU_GUEST_TIMEOUT', '300'))


def guest_dir():
    return os.environ.get('KEMU_GUEST_DIR', os.path.join(build_dir(), 'tests', 'guest'))


@pytest.fixture(scope='module')
def guest_assets():
    # Decide (or skip) before downloading anything.
    os.environ.get('KEMU_GUEST_ACCEL') or default_accel()
    out = guest_dir()
    script = os.path.join(REPO, 'tests', 'guest', 'build.sh')
    try:
        proc = subprocess.run(['sh', script, out], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    except subprocess.TimeoutExpired:
        pytest.fail('tests/guest/build.sh timed out', pytrace=False)
    if proc.returncode != 0:
        pytest.fail('tests/guest/build.sh %s failed:\n%s' % (out, clean(proc.stdout)),
                    pytrace=False)
    return os.path.join(out, 'vmlinuz'), os.path.join(out, 'initramfs.cpio.gz')


def has_tcg():
    out = subprocess.run([system_binary(), '-accel', 'help'], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=30).stdout
    return 'tcg' in out.split()


def default_accel():
    hardware_kvm = (os.access('/dev/kvm', os.R_OK | os.W_OK) and
                    not os.path.exists('/sys/module/kvm_pvm'))
    if hardware_kvm:
        return 'kvm'
    if has_tcg():
        return 'tcg'
    pytest.skip('SKIPPED: no way to boot Linux here: /dev/kvm is %s and %s has no software CPU '
                '(-accel tcg) yet' % ('kvm-pvm (guest kernel code is emulated, far too slow)'
                                      if os.path.exists('/dev/kvm') else 'absent',
                                      system_binary()))


def boot_guest(assets, append, smp=1):
    vmlinuz, initrd = assets
    accel = os.environ.get('KEMU_GUEST_ACCEL') or default_accel()
    kvm = accel.split(',')[0].split(':')[0] == 'kvm'
    if kvm and not os.access('/dev/kvm', os.R_OK | os.W_OK):
        pytest.skip('SKIPPED: /dev/kvm absent or not accessible (KEMU_GUEST_ACCEL=%s)' % accel)
    cmd = [system_binary(), '-M', 'pc', '-accel', accel, '-m', '256', '-smp', str(smp),
           '-display', 'none', '-nodefaults', '-no-reboot', '-serial', 'stdio',
           '-kernel', vmlinuz, '-initrd', initrd, '-append', 'console=ttyS0 ' + append]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=GUEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail('%s: guest still running after %.0f s; console:\n%s'
                    % (' '.join(cmd), GUEST_TIMEOUT, clean(out)[-4000:]), pytrace=False)
    return proc.returncode, clean(out), cmd


def test_guest_boot_poweroff(guest_assets):
    status, out, cmd = boot_guest(guest_assets, 'kemu.poweroff=1')
    msg = '%s\nexit status %s, console:\n%s' % (' '.join(cmd), status, out[-4000:])
    assert re.search(r'^KEMU-GUEST-OK \d+\.\d+\S*-amd64$', out, re.M), msg
    assert 'KEMU-GUEST-POWEROFF' in out, msg
    assert status == 0, msg


def test_guest_cmd(guest_assets):
    status, out, cmd = boot_guest(
        guest_assets, 'kemu.cmd="grep -c ^processor /proc/cpuinfo; echo kemu-$((6*7))" '
                      'kemu.poweroff=1', smp=2)
    msg = '%s\nexit status %s, console:\n%s' % (' '.join(cmd), status, out[-4000:])
    lines = out.splitlines()
    assert 'KEMU-CMD-EXIT 0' in lines, msg
    assert 'kemu-42' in lines, msg
    assert lines[lines.index('kemu-42') - 1] == '2', msg
    assert status == 0, msg
