"""Differential tests: the same random register-access scripts run on kemu and on
Debian's QEMU (vCPU stopped, no clock dependence) must read back the same values."""
import os
import random
import shutil

import pytest

from qtest import QTest, is_qemu

pytestmark = pytest.mark.skipif(is_qemu(), reason='compares kemu with QEMU')


def run_script(exe_env, args, ops):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(exe_env)
    try:
        q = QTest(args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out = []
    try:
        for op, addr, val in ops:
            if op == 'out':
                q.outb(addr, val)
                out.append(None)
            else:
                out.append(q.inb(addr))
    finally:
        q.close()
    return out


def compare(args, ops):
    qemu = shutil.which('qemu-system-x86_64')
    assert qemu, 'Debian qemu-system-x86_64 is required for the differential tests'
    kemu_env = {k: v for k, v in os.environ.items() if k != 'KEMU_SYSTEM'}
    want = run_script(dict(os.environ, KEMU_SYSTEM=qemu), args, ops)
    got = run_script(kemu_env, args, ops)
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            ctx = ['%s 0x%x %s' % (o, a, '' if v is None else hex(v))
                   for o, a, v in ops[max(0, i - 10):i + 1]]
            pytest.fail('step %d: QEMU read 0x%x, kemu 0x%x after:\n  %s'
                        % (i, w, g, '\n  '.join(ctx)))


def serial_script(seed, n=400):
    r = random.Random(seed)
    ops = [('out', 0x3fc, 0x10)]                     # loopback: no line input
    for _ in range(n):
        reg = r.randrange(8)
        if r.random() < 0.5:
            val = r.randrange(256)
            if reg == 4 and r.random() < 0.8:
                val |= 0x10                          # mostly stay in loopback
            if reg == 3:
                val &= 0xbf                          # no break condition
            ops.append(('out', 0x3f8 + reg, val))
        else:
            ops.append(('in', 0x3f8 + reg, None))
    return ops


@pytest.mark.parametrize('seed', range(6))
def test_serial_registers_match_qemu(seed):
    compare(['-device', 'isa-serial'], serial_script(seed))
