"""Differential tests: the same random register-access scripts run on kemu and on
Debian's QEMU (vCPU stopped, no clock dependence) must read back the same values."""
import os
import random
import shutil

import pytest

from qtest import QTest, is_qemu

pytestmark = pytest.mark.skipif(is_qemu(), reason='compares kemu with QEMU')


def run_script(exe_env, args, ops, irqs=()):
    """Run ops; each read records the value and the levels of the GSIs in `irqs`."""
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
        if irqs:
            q.irq_intercept_in('ioapic')
        for op, addr, val in ops:
            if op in ('outl', 'outw'):
                getattr(q, op)(addr, val)
                out.append(None)
            elif op == 'out':
                q.outb(addr, val)
                out.append(None)
            else:
                v = q.inw(addr) if op == 'inw' else q.inb(addr)
                out.append((v,) + tuple(int(q.get_irq(n)) for n in irqs) if irqs else v)
    finally:
        q.close()
    return out


def compare(args, ops, irqs=()):
    qemu = shutil.which('qemu-system-x86_64')
    assert qemu, 'Debian qemu-system-x86_64 is required for the differential tests'
    kemu_env = {k: v for k, v in os.environ.items() if k != 'KEMU_SYSTEM'}
    want = run_script(dict(os.environ, KEMU_SYSTEM=qemu), args, ops, irqs)
    got = run_script(kemu_env, args, ops, irqs)
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            ctx = ['%s 0x%x %s' % (o, a, '' if v is None else hex(v))
                   for o, a, v in ops[max(0, i - 10):i + 1]]
            pytest.fail('step %d: QEMU read %s, kemu %s (value, IRQ %s levels) after:\n  %s'
                        % (i, w, g, list(irqs), '\n  '.join(ctx)))


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
    compare(['-device', 'isa-serial'], serial_script(seed), irqs=(4,))


def i8042_script(seed, n=120):
    """Commands as a driver issues them: each one, then read status and every reply
    byte until the output buffer is empty (QEMU's PS/2 queue has quirks when replies
    of successive commands collide unread; those are not compared)."""
    r = random.Random(seed)
    ops = []
    ctl_cmds = [0x20, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xad, 0xae, 0xd0, 0xdd, 0xdf, 0xff]
    kbd_cmds = [0xff, 0xf2, 0xee, 0xed, 0xf0, 0xf3, 0xf4, 0xf5, 0xf6, 0xfe, 0x00, 0x01,
                0x02, 0x03, 0x07, 0x41]
    aux_cmds = [0xff, 0xf2, 0xf4, 0xf5, 0xf6, 0xe9, 0xe6, 0xe7, 0xe8, 0xf3, 0xea, 0xf0,
                0xeb, 0x02, 0x03, 0xc8, 0x64, 0x50, 0xc8]
    for _ in range(n):
        x = r.random()
        if x < 0.3:
            ops.append(('out', 0x64, r.choice(ctl_cmds)))
        elif x < 0.55:
            ops.append(('out', 0x60, r.choice(kbd_cmds)))
        elif x < 0.8:
            ops.append(('out', 0x64, 0xd4))
            ops.append(('out', 0x60, r.choice(aux_cmds)))
        elif x < 0.9:
            ops.append(('out', 0x64, 0x60))
            ops.append(('out', 0x60, r.randrange(256) & ~0x40))
        else:
            cmd = r.choice([0xd1, 0xd2, 0xd3])
            val = r.randrange(256) | (1 if cmd == 0xd1 else 0)   # never pull reset low
            ops.append(('out', 0x64, cmd))
            ops.append(('out', 0x60, val))
        for _ in range(5):                           # drain: at most 4 reply bytes
            ops.append(('in', 0x64, None))
            ops.append(('in', 0x60, None))
    return ops


@pytest.mark.parametrize('seed', range(6))
def test_i8042_matches_qemu(seed):
    compare([], i8042_script(seed), irqs=(1, 12))


def cmos_script(seed, n=300):
    """Registers A, B, D and the CMOS RAM (time bytes and register C depend on time)."""
    r = random.Random(seed)
    ops = [('out', 0x70, 0x0b), ('out', 0x71, 0x82)]
    for _ in range(n):
        # Not 0x14/0x37/0x38/0x3d: board policy (rtc_set_pc_misc), set by the machine.
        idx = r.choice([0x0a, 0x0b, 0x0d] + [i for i in range(0x0e, 0x80)
                                              if i not in (0x14, 0x32, 0x37, 0x38, 0x3d)])
        if r.random() < 0.5:
            val = r.randrange(256)
            if idx == 0x0b:
                val = (val & 0x0f) | 0x80            # SET (no UIP to race), no interrupts
            if idx == 0x0a:
                val = (val & 0x0f) | 0x20            # keep the 32 kHz time base
            ops += [('out', 0x70, idx), ('out', 0x71, val)]
        else:
            ops += [('out', 0x70, idx | r.choice([0, 0x80])), ('in', 0x71, None)]
    return ops


@pytest.mark.parametrize('seed', range(4))
def test_cmos_matches_qemu(seed):
    compare(['-m', '512', '-smp', '2'], cmos_script(seed))


def rtc_set_mode_script(seed, n=200):
    """Time bytes while SET holds the clock (deterministic), in every data mode."""
    r = random.Random(seed)
    ops = [('out', 0x70, 0x0b), ('out', 0x71, 0x80 | r.choice([0, 2, 4, 6]))]
    # The two emulators freeze at different instants: start from the same time bytes.
    for reg in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x32):
        ops += [('out', 0x70, reg), ('out', 0x71, r.randrange(256))]
    for _ in range(n):
        x = r.random()
        reg = r.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x32])
        if x < 0.4:
            ops += [('out', 0x70, reg), ('out', 0x71, r.randrange(256))]
        elif x < 0.9:
            ops += [('out', 0x70, reg), ('in', 0x71, None)]
        else:
            ops += [('out', 0x70, 0x0b), ('out', 0x71, 0x80 | r.choice([0, 2, 4, 6])),
                    ('in', 0x71, None)]
    return ops


@pytest.mark.parametrize('seed', range(3))
def test_rtc_set_mode_matches_qemu(seed):
    compare([], rtc_set_mode_script(seed))


def acpi_pm_script(seed, n=200):
    """PM1_EN and PM1_CNT (16-bit, their ACPI access width; never SLP_EN) and GPE0 (bytes)
    after SeaBIOS-style PMBA setup.  PM1_STS and the timer depend on time: left out."""
    r = random.Random(seed)
    ops = [('outl', 0xcf8, 0x80000b40), ('outl', 0xcfc, 0x601),
           ('outl', 0xcf8, 0x80000b80), ('out', 0xcfc, 0x01)]
    for _ in range(n):
        port = r.choice([0x602, 0x604, 0xafe0, 0xafe1, 0xafe2, 0xafe3])
        wide = port < 0x700
        if r.random() < 0.5:
            val = r.randrange(0x10000 if wide else 0x100)
            if port == 0x604:
                val &= ~0x2000                       # SLP_EN would power off
            if port == 0x602:
                # TMR_EN: QEMU reports TMR_STS set from reset (PIIX4: 0 at reset), so
                # enabling it raises SCI at once there; kemu follows the datasheet.
                val &= ~0x0001
            ops.append(('outw' if wide else 'out', port, val))
        else:
            ops.append(('inw' if wide else 'in', port, None))
    return ops


@pytest.mark.parametrize('seed', range(3))
def test_acpi_pm_matches_qemu(seed):
    compare([], acpi_pm_script(seed), irqs=(9,))
