"""8042 keyboard controller with PS/2 keyboard and mouse (i8042), ports 0x60/0x64."""
from qtest import QTest

DATA, CMD = 0x60, 0x64
OBF, SYS, AUX_OBF = 0x01, 0x04, 0x20


def read_byte(q):
    st = q.inb(CMD)
    assert st & OBF, 'output buffer empty (status 0x%02x)' % st
    return q.inb(DATA), st


def read_bytes(q, n):
    return [read_byte(q)[0] for _ in range(n)]


def command(q, cmd, data=None):
    q.outb(CMD, cmd)
    if data is not None:
        q.outb(DATA, data)


def test_reset_status_and_self_test():
    with QTest() as q:
        assert q.inb(CMD) == 0x18                    # command last, keyboard unlocked
        command(q, 0xaa)
        val, st = read_byte(q)
        assert val == 0x55
        assert st & SYS
        assert q.inb(CMD) & OBF == 0


def test_interface_tests():
    with QTest() as q:
        command(q, 0xab)
        assert read_bytes(q, 1) == [0x00]
        command(q, 0xa9)
        assert read_bytes(q, 1) == [0x00]


def test_command_byte():
    with QTest() as q:
        command(q, 0x20)
        assert read_bytes(q, 1) == [0x03]            # keyboard and aux interrupts on
        command(q, 0x60, 0x65)
        command(q, 0x20)
        assert read_bytes(q, 1) == [0x65]
        command(q, 0xa7)                             # disable aux -> bit 5
        command(q, 0xad)                             # disable keyboard -> bit 4
        command(q, 0x20)
        assert read_bytes(q, 1) == [0x75]
        command(q, 0xa8)
        command(q, 0xae)
        command(q, 0x20)
        assert read_bytes(q, 1) == [0x45]


def test_keyboard_reset_and_identify():
    with QTest() as q:
        command(q, 0x60, 0x00)                       # no IRQs, no translation
        q.outb(DATA, 0xff)
        assert read_bytes(q, 2) == [0xfa, 0xaa]
        q.outb(DATA, 0xf2)
        assert read_bytes(q, 3) == [0xfa, 0xab, 0x83]
        command(q, 0x60, 0x40)                       # translate to set 1
        q.outb(DATA, 0xf2)
        assert read_bytes(q, 3) == [0xfa, 0xab, 0x41]
        q.outb(DATA, 0xee)                           # echo
        assert read_bytes(q, 1) == [0xee]
        q.outb(DATA, 0xed)                           # set LEDs
        assert read_bytes(q, 1) == [0xfa]
        q.outb(DATA, 0x07)
        assert read_bytes(q, 1) == [0xfa]


def test_scancode_set_query():
    with QTest() as q:
        command(q, 0x60, 0x00)
        q.outb(DATA, 0xf0)
        assert read_bytes(q, 1) == [0xfa]
        q.outb(DATA, 0x00)
        assert read_bytes(q, 2) == [0xfa, 0x02]      # set 2


def test_keyboard_irq1():
    with QTest() as q:
        q.irq_intercept_in('ioapic')
        command(q, 0x60, 0x01)                       # keyboard interrupt enabled
        q.outb(DATA, 0xf4)                           # enable scanning -> ACK
        assert q.get_irq(1)
        assert q.inb(DATA) == 0xfa
        assert not q.get_irq(1)


def test_mouse_reset_and_id_with_irq12():
    with QTest() as q:
        q.irq_intercept_in('ioapic')
        command(q, 0x60, 0x02)                       # aux interrupt enabled
        command(q, 0xd4, 0xff)                       # reset the mouse
        assert q.get_irq(12)
        got = []
        for _ in range(3):
            val, st = read_byte(q)
            assert st & AUX_OBF
            got.append(val)
        assert got == [0xfa, 0xaa, 0x00]
        assert not q.get_irq(12)
        command(q, 0xd4, 0xf2)                       # get device id
        assert read_bytes(q, 2) == [0xfa, 0x00]
        command(q, 0xd4, 0xf4)                       # enable data reporting
        assert read_bytes(q, 1) == [0xfa]
        command(q, 0xd4, 0xe9)                       # status request
        assert read_bytes(q, 4) == [0xfa, 0x20, 0x02, 0x64]


def test_aux_loopback():
    with QTest() as q:
        command(q, 0xd3, 0x5a)                       # write aux output buffer (Linux probe)
        val, st = read_byte(q)
        assert val == 0x5a
        assert st & AUX_OBF


def test_output_port_a20():
    with QTest() as q:
        command(q, 0xd0)
        assert read_bytes(q, 1)[0] & 0x03 == 0x03    # reset line high, A20 on
        command(q, 0xd1, 0xdd)                       # A20 off, keep reset high
        command(q, 0xd0)
        assert read_bytes(q, 1)[0] & 0x03 == 0x01
        command(q, 0xdf)                             # A20 on again
        command(q, 0xd0)
        assert read_bytes(q, 1)[0] & 0x03 == 0x03


def test_pulse_reset_exits_with_no_reboot():
    q = QTest(['-no-reboot'])
    command(q, 0xfe)
    assert q.wait_exit() == 0


def _wait_obf(q, aux=None, tries=100):
    for _ in range(tries):
        st = q.inb(CMD)
        if st & OBF:
            if aux is not None:
                assert bool(st & AUX_OBF) == aux, 'status 0x%02x' % st
            return q.inb(DATA)
    raise AssertionError('no reply (Linux would time out)')


def test_linux_probe_sequence():
    """The sequence of Linux's i8042, atkbd and psmouse probes, each reply in time."""
    with QTest() as q:
        q.irq_intercept_in('ioapic')
        for _ in range(16):                          # i8042_flush
            if not q.inb(CMD) & OBF:
                break
            q.inb(DATA)
        command(q, 0xaa)                             # i8042_controller_selftest
        assert _wait_obf(q) == 0x55
        command(q, 0x20)                             # read CTR
        ctr = _wait_obf(q)
        ctr = (ctr | 0x40 | 0x04) & ~0x03            # XLATE, SYS; interrupts off for now
        command(q, 0x60, ctr)
        command(q, 0x20)
        assert _wait_obf(q) == ctr
        command(q, 0xd3, 0x5a)                       # i8042_check_aux: AUX_LOOP
        assert _wait_obf(q, aux=True) == 0x5a
        command(q, 0xa9)                             # AUX_TEST
        assert _wait_obf(q) == 0x00
        command(q, 0xa7)                             # AUX disable, then enable
        command(q, 0x20)
        assert _wait_obf(q) & 0x20
        command(q, 0xa8)
        command(q, 0x20)
        assert not _wait_obf(q) & 0x20
        command(q, 0x60, ctr | 0x02)                 # AUX IRQ test: loop back with IRQ 12
        command(q, 0xd3, 0xa5)
        assert q.get_irq(12)
        assert _wait_obf(q, aux=True) == 0xa5
        assert not q.get_irq(12)
        command(q, 0x60, ctr | 0x03)                 # both interrupts on
        q.outb(DATA, 0xf2)                           # atkbd_probe: GETID
        assert q.get_irq(1)
        assert [_wait_obf(q, aux=False) for _ in range(3)] == [0xfa, 0xab, 0x41]
        q.outb(DATA, 0xed)                           # SETLEDS 0
        assert _wait_obf(q) == 0xfa
        q.outb(DATA, 0x00)
        assert _wait_obf(q) == 0xfa
        q.outb(DATA, 0xf0)                           # set scan code set 2
        assert _wait_obf(q) == 0xfa
        q.outb(DATA, 0x02)
        assert _wait_obf(q) == 0xfa
        q.outb(DATA, 0xf4)                           # enable
        assert _wait_obf(q) == 0xfa
        command(q, 0xd4, 0xff)                       # psmouse_reset
        assert q.get_irq(12)
        assert [_wait_obf(q, aux=True) for _ in range(3)] == [0xfa, 0xaa, 0x00]
        for rate in (200, 100, 80):                  # IntelliMouse detection
            command(q, 0xd4, 0xf3)
            assert _wait_obf(q, aux=True) == 0xfa
            command(q, 0xd4, rate)
            assert _wait_obf(q, aux=True) == 0xfa
        command(q, 0xd4, 0xf2)
        assert [_wait_obf(q, aux=True) for _ in range(2)] == [0xfa, 0x03]
        command(q, 0xd4, 0xf4)                       # enable reporting
        assert _wait_obf(q, aux=True) == 0xfa
        assert not q.inb(CMD) & OBF
        assert not q.get_irq(1) and not q.get_irq(12)
