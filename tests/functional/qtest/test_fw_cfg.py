"""fw_cfg (QEMU docs/specs/fw_cfg.txt): selector 0x510, data 0x511, DMA 0x514."""
import struct

from qtest import QTest

SEL, DATA, DMA = 0x510, 0x511, 0x514
CTL_ERROR, CTL_READ, CTL_SKIP, CTL_SELECT, CTL_WRITE = 0x01, 0x02, 0x04, 0x08, 0x10


def read_item(q, key, n):
    q.outw(SEL, key)
    return bytes(q.inb(DATA) for _ in range(n))


def read_dir(q):
    count = struct.unpack('>I', read_item(q, 0x19, 4))[0]
    q.outw(SEL, 0x19)
    raw = bytes(q.inb(DATA) for _ in range(4 + 64 * count))[4:]
    files = []
    for i in range(count):
        size, select, _ = struct.unpack('>IHH', raw[64 * i:64 * i + 8])
        name = raw[64 * i + 8:64 * i + 64].split(b'\0')[0].decode()
        files.append((name, size, select))
    return files


def dma(q, control, length, address, desc=0x1000):
    q.memwrite(desc, struct.pack('>IIQ', control, length, address))
    q.outl(DMA, 0)                                   # high half of the address (BE)
    q.outl(DMA + 4, int.from_bytes(struct.pack('>I', desc), 'little'))
    return struct.unpack('>I', q.memread(desc, 4))[0]


def test_signature_and_id():
    with QTest() as q:
        assert read_item(q, 0x00, 4) == b'QEMU'
        assert read_item(q, 0x01, 4) == struct.pack('<I', 3)   # traditional + DMA


def test_reads_past_end_are_zero():
    with QTest() as q:
        assert read_item(q, 0x00, 8) == b'QEMU\0\0\0\0'
        assert read_item(q, 0x3fff, 4) == b'\0\0\0\0'          # no such item


def test_selector_resets_offset():
    with QTest() as q:
        q.outw(SEL, 0)
        assert q.inb(DATA) == ord('Q')
        assert q.inb(DATA) == ord('E')
        q.outw(SEL, 0)
        assert q.inb(DATA) == ord('Q')


def test_ram_size_and_cpus():
    with QTest(['-m', '256', '-smp', '2']) as q:
        assert struct.unpack('<Q', read_item(q, 0x03, 8))[0] == 256 << 20
        assert struct.unpack('<H', read_item(q, 0x05, 2))[0] == 2


def test_file_directory_sorted():
    with QTest() as q:
        files = read_dir(q)
        assert files, 'the pc machine exposes at least one file'
        names = [f[0] for f in files]
        assert names == sorted(names)
        for name, size, select in files:
            assert select >= 0x20
            q.outw(SEL, select)
            data = bytes(q.inb(DATA) for _ in range(min(size, 64)))
            assert len(data) == min(size, 64)


def test_dma_signature_register():
    with QTest() as q:
        assert q.inl(DMA) == struct.unpack('<I', b'QEMU')[0]
        assert q.inl(DMA + 4) == struct.unpack('<I', b' CFG')[0]


def test_dma_read_into_ram():
    with QTest() as q:
        q.memset(0x2000, 16, 0xee)
        assert dma(q, CTL_SELECT | CTL_READ | (0x00 << 16), 4, 0x2000) == 0
        assert q.memread(0x2000, 5) == b'QEMU\xee'
        # Continue from the current offset: past the end reads as zeros.
        assert dma(q, CTL_READ, 4, 0x2004) == 0
        assert q.memread(0x2004, 4) == b'\0\0\0\0'
        # Skip, then read the rest.
        assert dma(q, CTL_SELECT | CTL_SKIP, 2, 0) == 0
        assert dma(q, CTL_READ, 2, 0x2010) == 0
        assert q.memread(0x2010, 2) == b'MU'


def test_dma_directory_matches_port_io():
    with QTest() as q:
        files = read_dir(q)
        n = 4 + 64 * len(files)
        assert dma(q, CTL_SELECT | CTL_READ | (0x19 << 16), n, 0x3000) == 0
        q.outw(SEL, 0x19)
        assert q.memread(0x3000, n) == bytes(q.inb(DATA) for _ in range(n))


def test_dma_errors():
    with QTest(['-m', '256']) as q:
        # Destination outside RAM.
        assert dma(q, CTL_SELECT | CTL_READ, 4, 0x20000000) == CTL_ERROR
        assert dma(q, CTL_SELECT | CTL_READ, 4, 0xfffffffff000) == CTL_ERROR
        # Items are read-only.
        assert dma(q, CTL_SELECT | CTL_WRITE | (0x05 << 16), 2, 0x2000) == CTL_ERROR
        assert struct.unpack('<H', read_item(q, 0x05, 2))[0] == 1
        # No operation: nothing happens, no error.
        assert dma(q, 0, 4, 0x2000) == 0
