"""Hostile or broken images are refused with a clear message, never a crash.

Run under an ASan/UBSan build (KEMU_BUILD_DIR=build-asan) to also catch memory errors:
a sanitizer report makes the tool exit non-zero with its report on stderr, which these
tests reject.
"""
import os
import struct

import pytest

from conftest import run


def make(qemu_img, qemu_io, path, size='1M', opts=()):
    run(qemu_img, 'create', '-q', '-f', 'qcow2', *opts, path, size)
    run(qemu_io, '-c', 'write -P 1 0 64k', path)


def patch(path, offset, data):
    with open(path, 'r+b') as f:
        f.seek(offset)
        f.write(data)


def header_u64(path, off):
    with open(path, 'rb') as f:
        f.seek(off)
        return struct.unpack('>Q', f.read(8))[0]


def assert_refused(kemu_img, kemu_io, path, message):
    rc, out, err = run(kemu_img, 'info', '-f', 'qcow2', path)
    assert rc == 1
    assert err == f"kemu-img: Could not open '{path}': {message}\n"
    rc, out, err = run(kemu_io, '-f', 'qcow2', '-c', 'read 0 512', path)
    assert rc == 1
    assert err == f"kemu-io: can't open device {path}: {message}\n"


CASES = {
    'bad_magic': (0, b'QFI\xfa', 'Image is not in qcow2 format'),
    'bad_version': (4, struct.pack('>I', 7), 'Unsupported qcow2 version 7'),
    'huge_l1': (36, struct.pack('>I', 0x10000000), 'Active L1 table too large'),
    'l1_beyond_file': (40, struct.pack('>Q', 1 << 40),
                       'Active L1 table is beyond the end of the image file'),
    'l1_unaligned': (40, struct.pack('>Q', 0x30001), 'Active L1 table offset invalid'),
    'reftable_over_header': (48, struct.pack('>Q', 0),
                             'Reference count table overlaps with the image header'),
    'reftable_beyond_file': (48, struct.pack('>Q', 1 << 45),
                             'Reference count table is beyond the end of the image file'),
    'reftable_huge': (56, struct.pack('>I', 0x7fffffff), 'Reference count table too large'),
    'cluster_bits': (20, struct.pack('>I', 31), 'Unsupported cluster size: 2^31'),
    'refcount_order': (96, struct.pack('>I', 7),
                       'Reference count entry width too large; may not exceed 64 bits'),
    'refcount_order_negative': (96, struct.pack('>I', 0xfffffff0),
                                'Reference count entry width too large; may not exceed 64 bits'),
    'unknown_feature': (72, struct.pack('>Q', 1 << 40),
                        'Unsupported qcow2 feature(s): Unknown incompatible feature: '
                        '10000000000'),
    'snapshot_table_beyond_file': (60, struct.pack('>IQ', 3, 1 << 40),
                                   'Snapshot table is beyond the end of the image file'),
    'too_many_snapshots': (60, struct.pack('>I', 1 << 20), 'Too many snapshots'),
    'l1_too_small': (24, struct.pack('>Q', 1 << 50), 'L1 table is too small'),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_refused(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, case):
    img = str(tmp_path / 'bad.qcow2')
    make(qemu_img, qemu_io, img)
    off, data, msg = CASES[case]
    patch(img, off, data)
    assert_refused(kemu_img, kemu_io, img, msg)


def test_bad_magic_probes_as_raw(kemu_img, qemu_img, qemu_io, tmp_path):
    img = str(tmp_path / 'bad.qcow2')
    make(qemu_img, qemu_io, img)
    patch(img, 0, b'QFI\xfa')
    rc, out, err = run(kemu_img, 'info', img)
    assert rc == 0
    assert 'file format: raw' in out


def test_refcount_table_overlapping_l1(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    img = str(tmp_path / 'bad.qcow2')
    make(qemu_img, qemu_io, img)
    patch(img, 48, struct.pack('>Q', header_u64(img, 40)))
    assert_refused(kemu_img, kemu_io, img,
                   'Reference count table overlaps with the active L1 table')


def test_truncated_image(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    img = str(tmp_path / 'bad.qcow2')
    make(qemu_img, qemu_io, img)
    os.truncate(img, 50)
    assert_refused(kemu_img, kemu_io, img, 'qcow2 header too short')
    # Truncated inside the data: the metadata is still there, data past EOF reads as zeroes.
    make(qemu_img, qemu_io, img)
    os.truncate(img, os.path.getsize(img) - 4096)
    rc, out, err = run(kemu_io, '-c', 'read -P 1 0 61440', '-c', 'read -P 0 61440 4096', img)
    assert rc == 0, out + err


def test_l2_entry_beyond_file_and_unaligned(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    img = str(tmp_path / 'bad.qcow2')
    make(qemu_img, qemu_io, img)
    l1 = header_u64(img, 40)
    l2 = header_u64(img, l1) & 0x00fffffffffffe00
    patch(img, l2 + 8, struct.pack('>Q', (1 << 63) | 0x12340))  # unaligned cluster
    rc, out, err = run(kemu_io, '-r', '-c', 'read 64k 512', img)
    assert rc == 1
    assert 'read failed: Input/output error' in out
    assert 'Cluster allocation offset 0x12200 unaligned' in err
    # kemu-img check reports it instead of following it, in qemu-img 7.2's words.
    rc, out, err = run(kemu_img, 'check', img)
    assert rc == 2
    assert 'ERROR offset=12200: Data cluster is not properly aligned; L2 entry corrupted.' in err
    qrc, qout, qerr = run(qemu_img, 'check', img)
    assert (rc, out, err) == (qrc, qout, qerr)


def test_l1_entry_pointing_at_header(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    img = str(tmp_path / 'bad.qcow2')
    make(qemu_img, qemu_io, img)
    l1 = header_u64(img, 40)
    patch(img, l1, struct.pack('>Q', (1 << 63) | 0))
    patch(img, l1, struct.pack('>Q', (1 << 63) | 0x200))
    rc, out, err = run(kemu_io, '-c', 'write -P 2 0 512', img)
    assert rc == 1
    assert 'write failed: Input/output error' in out
    # The image was marked corrupt and is now refused read-write.
    rc, out, err = run(kemu_io, '-c', 'read 0 512', img)
    assert rc == 1
    assert 'qcow2: Image is corrupt; cannot be opened read/write' in err
    rc, out, err = run(qemu_img, 'info', '--output=json', img)
    assert '"corrupt": true' in out


def test_backing_loop_and_missing(kemu_img, kemu_io, qemu_img, tmp_path):
    a, b = str(tmp_path / 'a.qcow2'), str(tmp_path / 'b.qcow2')
    run(qemu_img, 'create', '-q', '-f', 'qcow2', a, '1M')
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-b', a, '-F', 'qcow2', b)
    run(qemu_img, 'rebase', '-u', '-F', 'qcow2', '-b', b, a)
    rc, out, err = run(kemu_img, 'info', '--backing-chain', b)
    q = run(qemu_img, 'info', '--backing-chain', b)
    assert rc == q[0] == 1
    assert err == q[2].replace('qemu-img', 'kemu-img')
    rc, out, err = run(kemu_io, '-c', 'read 0 512', b)
    assert rc == 1
    assert 'creates an infinite loop' in err
    m = str(tmp_path / 'm.qcow2')
    run(qemu_img, 'create', '-q', '-u', '-f', 'qcow2', '-b', '/nonexistent.qcow2', '-F', 'qcow2',
        m, '1M')
    rc, out, err = run(kemu_io, '-c', 'read 0 512', m)
    assert rc == 1
    assert err == (f"kemu-io: can't open device {m}: Could not open backing file: Could not "
                   "open '/nonexistent.qcow2': No such file or directory\n")


def test_compressed_garbage(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    src, img = str(tmp_path / 's.qcow2'), str(tmp_path / 'c.qcow2')
    run(qemu_img, 'create', '-q', '-f', 'qcow2', src, '1M')
    run(qemu_io, '-c', 'write -P 3 0 1M', src)
    run(qemu_img, 'convert', '-c', '-O', 'qcow2', src, img)
    l1 = header_u64(img, 40)
    l2 = header_u64(img, l1) & 0x00fffffffffffe00
    coff = header_u64(img, l2) & ((1 << 54) - 1)
    patch(img, coff, b'\xff' * 64)                       # not a deflate stream any more
    rc, out, err = run(kemu_io, '-r', '-c', 'read 0 512', '-c', 'read -P 3 64k 64k', img)
    assert rc == 1
    assert 'read failed: Input/output error' in out
    assert 'read 65536/65536 bytes at offset 65536' in out


def l2_slot(path, index):
    """File offset of entry `index` of the first L2 table."""
    l1 = header_u64(path, 40)
    return (header_u64(path, l1) & 0x00fffffffffffe00) + 8 * index


def test_discard_of_unaligned_entry_frees_nothing(kemu_io, qemu_img, qemu_io, tmp_path):
    """Freeing the cluster of an unaligned entry would drop the refcount of whatever cluster
    its offset falls into (here the refcount table): it is reported, as qemu reports it
    (without marking the image corrupt), and nothing is freed."""
    outs = []
    for tool in (qemu_io, kemu_io):
        img = str(tmp_path / f'{os.path.basename(tool)}.qcow2')
        run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '1M')
        run(qemu_io, '-c', 'write -P 1 0 128k', img)
        patch(img, l2_slot(img, 1), struct.pack('>Q', (1 << 63) | 0x10200))
        rc, out, err = run(tool, '-c', 'discard 64k 64k', img)
        check = run(qemu_img, 'check', img)
        info = run(qemu_img, 'info', img)[1]
        outs.append((rc, err, check[0], check[1].replace(img, 'IMG'), check[2],
                     'corrupt: false' in info))
    assert outs[0] == outs[1]
    assert 'Cannot free unaligned cluster 0x10200' in outs[1][1]
    assert 'refcount=0' not in outs[1][4]      # no metadata cluster lost its reference


def test_data_file_entry_must_match_guest_offset(kemu_io, qemu_img, qemu_io, tmp_path):
    """With an external data file the host offset equals the guest offset (incompatible
    bit 2); an entry that points elsewhere is corruption, never followed: a read is refused
    with qemu's message, and so is a write (qemu 7.2 checks reads only)."""
    errs = []
    for tool in (qemu_io, kemu_io):
        img = str(tmp_path / f'{os.path.basename(tool)}.qcow2')
        data = str(tmp_path / f'{os.path.basename(tool)}.raw')
        run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', f'data_file={data}', img, '1M')
        run(qemu_io, '-c', 'write -P 1 0 128k', img)
        patch(img, l2_slot(img, 1), struct.pack('>Q', (1 << 63) | 0x20000))
        rc, out, err = run(tool, '-c', 'read 64k 4k', img)
        errs.append((rc, out, err.replace(os.path.basename(tool), 'TOOL')))
        assert 'corrupt: true' in run(qemu_img, 'info', img)[1]
    assert errs[0] == errs[1]
    assert 'does not match guest cluster offset: 0x10000' in errs[1][2]
    # A write through such an entry: refused, and nothing lands where it points.
    img, data = str(tmp_path / 'w.qcow2'), str(tmp_path / 'w.raw')
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', f'data_file={data}', img, '1M')
    run(qemu_io, '-c', 'write -P 1 0 128k', img)
    patch(img, l2_slot(img, 1), struct.pack('>Q', (1 << 63) | 0x20000))
    rc, out, err = run(kemu_io, '-c', 'write -P 9 64k 4k', img)
    assert rc == 1 and 'write failed: Input/output error' in out, out + err
    assert 'does not match guest cluster offset: 0x10000' in err
    with open(data, 'rb') as f:
        f.seek(0x20000)
        assert f.read(4096) == bytes(4096)


def _map_image(qemu_img, qemu_io, path, broken):
    """Data at 0, 128k and 512k (the last compressed); `broken` corrupts one table entry."""
    run(qemu_img, 'create', '-q', '-f', 'qcow2', path, '2G')
    run(qemu_io, '-c', 'write -P 1 0 64k', '-c', 'write -P 2 128k 64k',
        '-c', 'write -c -P 3 512k 64k', path)
    l1 = header_u64(path, 40)
    if broken == 'l2_entry_unaligned':          # the entry of 128k
        patch(path, l2_slot(path, 2), struct.pack('>Q', (1 << 63) | 0x50200))
    elif broken == 'first_entry_unaligned':     # the very first extent fails
        patch(path, l2_slot(path, 0), struct.pack('>Q', (1 << 63) | 0x50200))
    elif broken == 'l2_table_unaligned':        # the L1 entry of 1G
        patch(path, l1 + 16, struct.pack('>Q', (1 << 63) | 0x50200))


@pytest.mark.parametrize('broken', ['l2_entry_unaligned', 'first_entry_unaligned',
                                    'l2_table_unaligned', 'none'])
@pytest.mark.parametrize('args', [['--output=json'], ['--output=human'],
                                  ['--output=json', '-s', '64k', '-l', '1M'],
                                  ['--output=json', '-s', '3G'], ['--output=json', '-l', '0']],
                         ids=' '.join)
def test_map_error_part_way(kemu_img, qemu_img, qemu_io, tmp_path, broken, args):
    """An error part way leaves qemu-img's JSON array open (no closing ']'): every entry
    printed so far ends with ",\\n"; the human format stops after its last line, or on a
    compressed cluster.  An empty range still prints one zero-length entry."""
    outs = []
    for tool, name in ((kemu_img, 'k'), (qemu_img, 'q')):
        img = str(tmp_path / f'{name}.qcow2')
        _map_image(qemu_img, qemu_io, img, broken)
        rc, out, err = run(tool, 'map', *args, img)
        outs.append((rc, out.replace(img, 'IMG'),
                     err.replace(img, 'IMG').replace(os.path.basename(tool), 'TOOL')))
    assert outs[0] == outs[1]
