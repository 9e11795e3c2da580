"""port92, ioport80, isa-debug-exit, isa-debugcon and the boot-timer port."""
import re
import time

from qtest import QTest, kemu_only


def test_port92_readback_and_a20():
    with QTest() as q:
        assert q.inb(0x92) == 0x00
        q.outb(0x92, 0x02)                           # fast A20 on
        assert q.inb(0x92) == 0x02
        q.outb(0x92, 0xf2)
        assert q.inb(0x92) == 0xf2
        q.outb(0x92, 0x00)
        assert q.inb(0x92) == 0x00


def test_port92_fast_reset_exits_with_no_reboot():
    q = QTest(['-no-reboot'])
    q.outb(0x92, 0x01)
    assert q.wait_exit() == 0


def test_ioport80_reads_all_ones():
    with QTest() as q:
        q.outb(0x80, 0x12)                           # POST code: ignored
        assert q.inb(0x80) == 0xff
        assert q.inl(0x80) == 0xffffffff


def test_debug_exit_status():
    q = QTest(['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'])
    q.send('outb 0xf4 0x10')                         # no reply: it exits
    assert q.wait_exit() == (0x10 << 1) | 1


def test_debug_exit_reads_zero():
    with QTest(['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']) as q:
        assert q.inb(0xf4) == 0x00
        assert q.inl(0xf4) == 0x00000000


def test_debug_exit_default_port():
    q = QTest(['-device', 'isa-debug-exit'])
    q.send('outb 0x501 0x00')
    assert q.wait_exit() == 1


def test_debugcon_output_and_readback(tmp_path):
    out = tmp_path / 'debugcon.out'
    with QTest(['-chardev', 'file,id=dc,path=%s' % out,
                '-device', 'isa-debugcon,chardev=dc']) as q:
        assert q.inb(0xe9) == 0xe9
        for b in b'kemu\n':
            q.outb(0xe9, b)
        deadline = time.time() + 5
        while time.time() < deadline and out.read_bytes() != b'kemu\n':
            time.sleep(0.05)
        assert out.read_bytes() == b'kemu\n'


def test_debugcon_readback_property():
    with QTest(['-chardev', 'null,id=n',
                '-device', 'isa-debugcon,iobase=0x402,readback=0x42,chardev=n']) as q:
        assert q.inb(0x402) == 0x42


@kemu_only
def test_boot_timer_logs_time_since_start():
    with QTest() as q:
        q.outb(0x440, 0x01)                          # not the magic value: ignored
        q.outb(0x440, 123)
        q.inb(0x80)                                  # round trip: the line is flushed
        lines = [l for l in q.stderr().splitlines() if 'boot-timer' in l]
        assert len(lines) == 1, q.stderr()
        m = re.fullmatch(r'kemu: boot-timer: (\d+)\.(\d{3}) ms', lines[0])
        assert m, lines[0]
        ms = int(m.group(1)) + int(m.group(2)) / 1000
        assert 0 < ms < 10000
