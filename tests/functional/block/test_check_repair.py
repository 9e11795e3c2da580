"""`kemu-img check [-r leaks|all]` on corrupted qcow2 images, against Debian's qemu-img 7.2.

Each case builds a small image with qemu-img/qemu-io, damages one metadata structure (offsets
computed from the header, L1/L2 tables and refcount structures as docs/interop/qcow2.txt
describes them), and checks an identical copy with each tool.  Asserted: the same exit code,
stdout and stderr (tool name and file name aside); afterwards Debian's `qemu-img check` gives
the same verdict on both repaired images (0 where qemu-img repairs fully) and the repaired
images read back the same guest data.
"""
import json
import os
import shutil
import struct

import pytest

from conftest import run

L1E_OFFSET_MASK = 0x00fffffffffffe00
COPIED = 1 << 63


class Qcow2:
    """Just enough of the on-disk format to find and poke metadata."""

    def __init__(self, path):
        self.path = path
        with open(path, 'rb') as f:
            h = f.read(104)
        (self.version, self.cluster_bits, self.l1_size, self.l1_offset, self.rt_offset,
         self.rt_clusters, self.nb_snapshots, self.snapshots_offset) = (
            struct.unpack('>I', h[4:8])[0], struct.unpack('>I', h[20:24])[0],
            struct.unpack('>I', h[36:40])[0], struct.unpack('>Q', h[40:48])[0],
            struct.unpack('>Q', h[48:56])[0], struct.unpack('>I', h[56:60])[0],
            struct.unpack('>I', h[60:64])[0], struct.unpack('>Q', h[64:72])[0])
        self.refcount_order = struct.unpack('>I', h[96:100])[0] if self.version >= 3 else 4
        self.cs = 1 << self.cluster_bits

    def u64(self, off, value=None):
        with open(self.path, 'r+b') as f:
            f.seek(off)
            if value is None:
                return struct.unpack('>Q', f.read(8))[0]
            f.write(struct.pack('>Q', value))
        return value

    def l1(self, i, value=None):
        return self.u64(self.l1_offset + 8 * i, value)

    def l2_addr(self, l1i, l2i):
        return (self.l1(l1i) & L1E_OFFSET_MASK) + 8 * l2i

    def l2(self, l1i, l2i, value=None):
        return self.u64(self.l2_addr(l1i, l2i), value)

    def rt(self, i, value=None):
        return self.u64(self.rt_offset + 8 * i, value)

    def refcount(self, cluster, value=None):
        bits = 1 << self.refcount_order
        per_block = self.cs * 8 // bits
        block = self.rt(cluster // per_block) & ~0x1ff
        bit = (cluster % per_block) * bits
        with open(self.path, 'r+b') as f:
            if bits >= 8:
                n = bits // 8
                f.seek(block + bit // 8)
                if value is None:
                    return int.from_bytes(f.read(n), 'big')
                f.write(value.to_bytes(n, 'big'))
                return value
            f.seek(block + bit // 8)
            byte = f.read(1)[0]
            shift, mask = bit % 8, (1 << bits) - 1
            if value is None:
                return (byte >> shift) & mask
            f.seek(block + bit // 8)
            f.write(bytes([(byte & ~(mask << shift)) | (value << shift)]))
            return value

    def data_cluster(self, l2i, l1i=0):
        """Host cluster of a guest cluster (standard or compressed)."""
        e = self.l2(l1i, l2i)
        if e & (1 << 62):
            return (e & ((1 << (62 - (self.cluster_bits - 8))) - 1)) >> self.cluster_bits
        return (e & L1E_OFFSET_MASK) >> self.cluster_bits


# Image layouts: (compat, cluster size, refcount bits, snapshot, compressed).  Data: 0x11 in
# guest clusters 0-2 (compressed if asked), 0x22 in guest cluster 8; with a snapshot, 0x33 is
# then written to guest cluster 1.
CONFIGS = {
    'v3-64k': ('1.1', 65536, 16, False, False),
    'v2-64k': ('0.10', 65536, 16, False, False),
    'v3-512': ('1.1', 512, 16, False, False),
    'v3-2M': ('1.1', 2 << 20, 16, False, False),
    'v3-64k-snap': ('1.1', 65536, 16, True, False),
    'v2-512-snap': ('0.10', 512, 16, True, False),
    'v3-64k-comp': ('1.1', 65536, 16, False, True),
    'v3-64k-rc1': ('1.1', 65536, 1, False, False),
    'v3-4k-rc64': ('1.1', 4096, 64, True, False),
}


@pytest.fixture(scope='module')
def bases(qemu_img, qemu_io, tmp_path_factory):
    d = tmp_path_factory.mktemp('bases')
    out = {}
    for name, (compat, cs, bits, snap, comp) in CONFIGS.items():
        img = str(d / f'{name}.qcow2')
        opts = f'compat={compat},cluster_size={cs}'
        if bits != 16:
            opts += f',refcount_bits={bits}'
        run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', opts, img, str(16 * cs))
        c = '-c ' if comp else ''
        run(qemu_io, '-c', f'write {c}-P 0x11 0 {3 * cs}', '-c', f'write -P 0x22 {8 * cs} {cs}',
            img)
        if snap:
            run(qemu_img, 'snapshot', '-c', 's1', img)
            run(qemu_io, '-c', f'write -P 0x33 {cs} {cs}', img)
        assert run(qemu_img, 'check', img)[0] == 0
        out[name] = img
    return out


def tool_output(tool, args, img, name):
    rc, out, err = run(tool, 'check', *args, img)
    name_of = os.path.basename(tool)
    return rc, out.replace(img, 'IMG'), err.replace(name_of, 'TOOL').replace(img, 'IMG')


def compare_check(kemu_img, qemu_img, tmp_path, corrupt_img, args):
    """Run `check args` with both tools on copies; assert identical; return the copies."""
    q, k = str(tmp_path / 'q.qcow2'), str(tmp_path / 'k.qcow2')
    shutil.copyfile(corrupt_img, q)
    shutil.copyfile(corrupt_img, k)
    qres = tool_output(qemu_img, args, q, 'qemu-img')
    kres = tool_output(kemu_img, args, k, 'kemu-img')
    assert kres == qres, f'kemu {kres}\nqemu {qres}'
    return q, k, qres[0]


def assert_same_result(qemu_img, q, k):
    """Debian's qemu-img sees both repaired images alike, and they hold the same data."""
    qrc = run(qemu_img, 'check', q)
    krc = run(qemu_img, 'check', k)
    assert (krc[0], krc[1].replace(k, q)) == (qrc[0], qrc[1]), krc[2]
    if qrc[0] == 0:
        rc, out, err = run(qemu_img, 'compare', '-f', 'qcow2', '-F', 'qcow2', q, k)
        assert rc == 0, out + err
    return qrc[0]


def corrupt(img, fn):
    q = Qcow2(img)
    fn(q)


# Corruption classes: name -> (function of Qcow2, configs to run, guest data intact after -r all)
def leak_refcount_high(q):
    q.refcount(q.data_cluster(0), 2)


def leak_unreferenced(q):
    q.l2(0, 2, 0)


def shared_cluster(q):
    q.l2(0, 2, q.l2(0, 0))


def refcount_zero(q):
    q.refcount(q.data_cluster(1), 0)


def oflag_l1(q):
    q.l1(0, q.l1(0) & ~COPIED)


def oflag_l2(q):
    q.l2(0, 8, q.l2(0, 8) & ~COPIED)


def oflag_l2_set_on_shared(q):
    q.l2(0, 0, q.l2(0, 0) | COPIED)


def refblock_beyond_eof(q):
    q.rt(0, 256 * q.cs)


def refblock_beyond_eof_counted(q):
    # A second refcount block beyond the end of the file whose own refcount is right:
    # growing the file is the whole repair (no rebuild).
    q.rt(1, 200 * q.cs)
    q.refcount(200, 1)


def refblock_unaligned(q):
    q.rt(0, q.rt(0) + 0x200)


def refblock_unaligned_far(q):
    # Unaligned and far away: the rebuild succeeds, but the image was marked corrupt.
    q.rt(0, 4096 * q.cs + 0x200)


def reftable_on_l2(q):
    q.u64(48, q.l1(0) & L1E_OFFSET_MASK)


def refblock_on_l2(q):
    q.rt(0, q.l1(0) & L1E_OFFSET_MASK)


def refblock_on_data(q):
    q.rt(0, q.data_cluster(0) << q.cluster_bits)


def refblock_on_l1(q):
    q.rt(0, q.l1_offset)


def refblock_missing(q):
    q.rt(0, 0)


def refblock_reserved_bits(q):
    q.rt(0, q.rt(0) | 1)


# (With 512-byte clusters no offset can be unaligned: those cases use larger clusters.)
def l2_unaligned_data(q):
    q.l2(0, 0, q.l2(0, 0) + 0x200)


def l2_unaligned_prealloc(q):
    q.l2(0, 0, q.l2(0, 0) + 0x201)


def l2_beyond_eof(q):
    q.l2(0, 0, COPIED | (4096 * q.cs))


def l2_just_beyond_eof(q):
    q.l2(0, 0, COPIED | (os.path.getsize(q.path) // q.cs * q.cs))


def l2_reserved_bits(q):
    q.l2(0, 0, q.l2(0, 0) | 2)


def l1_unaligned(q):
    q.l1(0, q.l1(0) + 0x200)


def l1_beyond_eof(q):
    q.l1(0, COPIED | (4096 * q.cs))


def l1_points_at_l1(q):
    # The "L2 table" is the L1 table: repairing its COPIED flags would overwrite the L1.
    q.l1(0, COPIED | q.l1_offset)


def l1_points_at_refblock(q):
    q.l1(0, COPIED | (q.rt(0) & ~0x1ff))


def l2_points_at_reftable(q):
    q.l2(0, 1, q.rt_offset)


def l2_prealloc_at_l2(q):
    q.l2(0, 1, COPIED | (q.l1(0) & L1E_OFFSET_MASK) | 1)


def compressed_copied(q):
    q.l2(0, 0, q.l2(0, 0) | COPIED)


def compressed_refcount_zero(q):
    q.refcount(q.data_cluster(0), 0)


def compressed_leak(q):
    c = q.data_cluster(0)
    q.refcount(c, q.refcount(c) + 5)


def huge_refcount_leak(q):
    q.refcount(q.data_cluster(0), 0xffffffffffff0000)


def dirty_bit(q):
    q.u64(72, 1)


def corrupt_bit(q):
    q.u64(72, 2)


def dirty_and_leak(q):
    q.u64(72, 1)
    q.refcount(q.data_cluster(0), 2)


def corrupt_and_oflag(q):
    q.u64(72, 2)
    oflag_l2(q)


def snapshot_shared_low(q):
    q.refcount(q.data_cluster(0), 1)


ALL = list(CONFIGS)
NOSNAP = ['v3-64k', 'v2-64k', 'v3-512', 'v3-2M', 'v3-64k-rc1']
SNAP = ['v3-64k-snap', 'v2-512-snap', 'v3-4k-rc64']
FEW = ['v3-64k', 'v2-512-snap']

CASES = [
    (leak_refcount_high, [c for c in ALL if c != 'v3-64k-rc1'], True),
    (leak_unreferenced, ['v3-64k', 'v3-512', 'v2-512-snap'], False),
    (shared_cluster, NOSNAP, False),
    (refcount_zero, ALL, True),
    (oflag_l1, NOSNAP, True),
    (oflag_l2, ALL, True),
    (oflag_l2_set_on_shared, SNAP, True),
    (snapshot_shared_low, SNAP, True),
    (refblock_beyond_eof, ['v3-64k', 'v2-64k', 'v3-2M', 'v3-64k-snap'], True),
    (refblock_on_l2, ALL, True),
    (refblock_on_data, ALL, True),
    (refblock_on_l1, FEW, True),
    (refblock_beyond_eof_counted, ['v3-64k', 'v3-512'], True),
    (refblock_unaligned, ['v3-64k', 'v3-4k-rc64'], False),
    (refblock_unaligned_far, ['v3-64k', 'v3-4k-rc64'], True),
    (reftable_on_l2, FEW, True),
    (refblock_missing, ALL, True),
    (refblock_reserved_bits, FEW, True),
    (l2_unaligned_data, ['v3-64k', 'v3-2M', 'v3-4k-rc64'], False),
    (l2_unaligned_prealloc, ['v3-64k', 'v3-64k-snap', 'v3-4k-rc64'], False),
    (l2_beyond_eof, FEW, False),
    (l2_just_beyond_eof, FEW, False),
    (l2_reserved_bits, FEW, False),
    (l1_unaligned, ['v3-64k', 'v3-4k-rc64'], False),
    (l1_beyond_eof, FEW, False),
    (l1_points_at_l1, FEW, False),
    (l1_points_at_refblock, FEW, False),
    (l2_points_at_reftable, FEW, False),
    (l2_prealloc_at_l2, ['v3-64k'], False),
    (compressed_copied, ['v3-64k-comp'], True),
    (compressed_refcount_zero, ['v3-64k-comp'], True),
    (compressed_leak, ['v3-64k-comp'], True),
    (huge_refcount_leak, ['v3-4k-rc64'], True),
    (dirty_bit, ['v3-64k'], True),
    (corrupt_bit, ['v3-64k'], True),
    (dirty_and_leak, ['v3-64k', 'v3-64k-snap'], True),
    (corrupt_and_oflag, ['v3-64k'], True),
]

PARAMS = [pytest.param(fn, cfg, intact, id=f'{fn.__name__}-{cfg}')
          for fn, cfgs, intact in CASES for cfg in cfgs]


@pytest.mark.parametrize('fn,cfg,intact', PARAMS)
def test_repair_all(kemu_img, qemu_img, bases, tmp_path, fn, cfg, intact):
    img = str(tmp_path / 'bad.qcow2')
    shutil.copyfile(bases[cfg], img)
    corrupt(img, fn)
    compare_check(kemu_img, qemu_img, tmp_path, img, [])
    q, k, rc = compare_check(kemu_img, qemu_img, tmp_path, img, ['-r', 'all'])
    after = assert_same_result(qemu_img, q, k)
    if intact and after == 0:
        rc, out, err = run(qemu_img, 'compare', '-f', 'qcow2', '-F', 'qcow2', bases[cfg], k)
        assert rc == 0, out + err


@pytest.mark.parametrize('fn,cfg', [
    pytest.param(fn, 'v3-64k', id=fn.__name__)
    for fn in (leak_refcount_high, leak_unreferenced, refcount_zero, oflag_l2, refblock_on_l2,
               corrupt_bit, dirty_and_leak)])
def test_repair_leaks(kemu_img, qemu_img, bases, tmp_path, fn, cfg):
    img = str(tmp_path / 'bad.qcow2')
    shutil.copyfile(bases[cfg], img)
    corrupt(img, fn)
    q, k, rc = compare_check(kemu_img, qemu_img, tmp_path, img, ['-r', 'leaks'])
    assert_same_result(qemu_img, q, k)


@pytest.mark.parametrize('fn', [leak_refcount_high, l2_unaligned_data, shared_cluster])
def test_repair_json(kemu_img, qemu_img, bases, tmp_path, fn):
    img = str(tmp_path / 'bad.qcow2')
    shutil.copyfile(bases['v3-64k'], img)
    corrupt(img, fn)
    q, k = str(tmp_path / 'q.qcow2'), str(tmp_path / 'k.qcow2')
    shutil.copyfile(img, q)
    shutil.copyfile(img, k)
    qres = tool_output(qemu_img, ['--output=json', '-r', 'all'], q, 'qemu-img')
    kres = tool_output(kemu_img, ['--output=json', '-r', 'all'], k, 'kemu-img')
    assert (kres[0], json.loads(kres[1]), kres[2]) == (qres[0], json.loads(qres[1]), qres[2])
    assert kres[1] == qres[1]   # key order too: scripts may compare the text


def test_rebuild_grows_reftable(kemu_img, qemu_img, qemu_io, tmp_path):
    """A rebuild whose new refcount table lands in a range without a refcount block: the
    table needs one more block, grows, and is placed again; the first place is freed."""
    img = str(tmp_path / 'big.qcow2')
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512', img, '64M')
    # 15972 data clusters make a file of exactly 16320 clusters, every one in use: the 64 new
    # refcount blocks end at cluster 16384, where the table then starts (block range 64).
    run(qemu_io, '-c', f'write -P 0x44 0 {15972 * 512}', img)
    assert os.path.getsize(img) == 16320 * 512
    corrupt(img, refcount_zero)
    q, k, rc = compare_check(kemu_img, qemu_img, tmp_path, img, ['-r', 'all'])
    assert rc == 0
    assert assert_same_result(qemu_img, q, k) == 0
    assert Qcow2(k).rt_offset == 16386 * 512
