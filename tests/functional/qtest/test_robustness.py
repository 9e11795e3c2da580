"""Guest misuse must never crash kemu: random accesses of every width to the ports of the
devices here, random fw_cfg DMA descriptors, and random clock steps.  Run it on a
sanitizer build (KEMU_BUILD_DIR=build-asan) to catch memory errors and undefined
behaviour; the harness fails on any sanitizer report."""
import random
import struct

import pytest

from qtest import QTest, kemu_only

PORTS = (list(range(0x3f8, 0x400)) + [0x70, 0x71, 0x60, 0x64, 0x92, 0x80, 0xe9, 0x440] +
         list(range(0x510, 0x51c)) + list(range(0x600, 0x60c)) + list(range(0xafe0, 0xafe4)))


def safe_write(port, val, width):
    """Drop the writes that legitimately end or reset the machine."""
    lo, hi = port, port + width
    def covers(p):
        return lo <= p < hi
    byte = lambda p: (val >> (8 * (p - lo))) & 0xff
    if covers(0x92) and byte(0x92) & 1:
        return False                                  # fast reset
    if covers(0x64) and (byte(0x64) >= 0xf0 or byte(0x64) == 0xd1):
        return False                                  # pulse reset / output port
    if covers(0x605) and byte(0x605) & 0x20:
        return False                                  # SLP_EN
    return True


@kemu_only
@pytest.mark.parametrize('seed', range(3))
def test_random_port_and_dma_abuse(seed):
    r = random.Random(seed)
    with QTest(['-m', '64', '-chardev', 'null,id=n', '-device', 'isa-serial,chardev=n',
                '-chardev', 'null,id=d', '-device', 'isa-debugcon,chardev=d']) as q:
        q.irq_intercept_in('ioapic')
        q.pci_cfg_write(1, 3, 0x40, 0x601)           # PM block at 0x600
        q.pci_cfg_write(1, 3, 0x80, 0x01, size=1)
        for _ in range(3000):
            x = r.random()
            width = r.choice((1, 1, 1, 2, 4))
            port = r.choice(PORTS)
            if x < 0.45:
                val = r.randrange(1 << (8 * width))
                if safe_write(port, val, width):
                    q.cmd('out%s 0x%x 0x%x' % ({1: 'b', 2: 'w', 4: 'l'}[width], port, val))
            elif x < 0.9:
                q.cmd('in%s 0x%x' % ({1: 'b', 2: 'w', 4: 'l'}[width], port))
            elif x < 0.97:
                # A DMA descriptor with random control, length and address (often
                # outside the 64 MiB of RAM, or overlapping the descriptor itself).
                desc = r.choice((0x1000, 0x3fffff0, 0x3fffffc, 0xfffffff0))
                ctl = r.randrange(1 << 32)
                length = r.choice((0, 1, 7, 4096, r.randrange(1 << 32)))
                addr = r.choice((0x2000, 0x3ffff00, 0x4000000, desc, r.randrange(1 << 64)))
                if desc < 0x4000000 - 16:
                    q.memwrite(desc, struct.pack('>IIQ', ctl, length, addr))
                q.outl(0x514, int.from_bytes(struct.pack('>I', desc >> 32), 'little'))
                q.outl(0x518, int.from_bytes(struct.pack('>I', desc & 0xffffffff), 'little'))
            else:
                q.clock_step(r.choice((1, 1000, 1000000, 1000000000, 100000000000)))
        assert q.proc.poll() is None                 # still alive
        assert q.cmd('inb 0x80') == '0x00ff'
