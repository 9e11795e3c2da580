"""Compressed writes (kemu-io write -c, kemu-img convert -c -n) against Debian's qemu-io and
qemu-img 7.2, on identical starting images:

* into a guest cluster that has a host cluster (normal, allocated zero, compressed, shared
  with a snapshot) qemu fails the write with EIO and leaves the data alone; unallocated and
  plain zero clusters (with or without a backing file) take the compressed data;
* a request of several clusters writes each of them (one failing does not stop the others),
  one that does not start and end on cluster boundaries (or the disk end) is EINVAL;
* the byte allocator packs compressed clusters where qemu does (qcow2 spec "Compressed
  Clusters Descriptor"): right after the previous one, also in a host cluster whose
  refcount dropped to 0 meanwhile; the L2 entries and refcounts come out identical.
"""
import filecmp
import random
import shutil
import struct

import pytest

from conftest import io_args, run, untimed

CL = 65536


def image_layout(path):
    """L2 entries ({(l1 index, l2 index): (descriptor, bitmap)}) and non-zero refcounts
    ({host cluster: refcount}) of a qcow2 image, read with struct from the file."""
    with open(path, 'rb') as f:
        h = f.read(112)
        version, = struct.unpack('>I', h[4:8])
        cluster_bits, = struct.unpack('>I', h[20:24])
        cs = 1 << cluster_bits
        l1_size, l1_offset, rt_offset = struct.unpack('>IQQ', h[36:56])
        rt_clusters, = struct.unpack('>I', h[56:60])
        incompat = struct.unpack('>Q', h[72:80])[0] if version >= 3 else 0
        order = struct.unpack('>I', h[96:100])[0] if version >= 3 else 4
        esize = 16 if incompat & 16 else 8
        f.seek(l1_offset)
        l1 = struct.unpack(f'>{l1_size}Q', f.read(8 * l1_size))
        l2 = {}
        for i, e in enumerate(l1):
            if not e & 0x00fffffffffffe00:
                continue
            f.seek(e & 0x00fffffffffffe00)
            table = f.read(cs)
            for j in range(cs // esize):
                d = struct.unpack('>Q', table[j * esize:j * esize + 8])[0]
                b = struct.unpack('>Q', table[j * esize + 8:j * esize + 16])[0] if esize == 16 \
                    else 0
                if d or b:
                    l2[(i, j)] = (d, b)
        f.seek(rt_offset)
        rt = struct.unpack(f'>{rt_clusters * cs // 8}Q', f.read(rt_clusters * cs))
        bits = 1 << order
        per_block = cs * 8 // bits
        refs = {}
        for i, off in enumerate(rt):
            if not off:
                continue
            f.seek(off)
            block = f.read(cs)
            if bits >= 8:
                values = struct.unpack(f'>{per_block}{"BHIQ"[order - 3]}', block)
            else:
                # Sub-byte entries: entry k is bits (k % per byte) * bits up from the low
                # end of byte k // per byte.
                per_byte = 8 // bits
                values = [(block[k // per_byte] >> (k % per_byte * bits)) & ((1 << bits) - 1)
                          if block[k // per_byte] else 0 for k in range(per_block)]
            refs.update((i * per_block + k, v) for k, v in enumerate(values) if v)
    return {'l2': l2, 'refcounts': refs}


@pytest.fixture
def data(tmp_path):
    """64 KiB data files that compress to about the given share of a cluster, and one that
    does not compress (stored as a normal cluster)."""
    r = random.Random(7)
    for name, n in (('r10', 10000), ('r20', 20000), ('r40', 40000), ('r50', 50000),
                    ('rand', CL)):
        (tmp_path / name).write_bytes(bytes(r.getrandbits(8) for _ in range(n)) +
                                      bytes(CL - n))
    return tmp_path


def make_pair(qemu_img, qemu_io, d, opts='', size='1M', prep=(), backing=None, snapshot=False):
    """q.qcow2 made and prepared with qemu-img/qemu-io, k.qcow2 a copy of it."""
    args = ['create', '-q', '-f', 'qcow2'] + (['-o', opts] if opts else [])
    if backing:
        args += ['-b', backing, '-F', 'qcow2']
    assert run(qemu_img, *args, 'q.qcow2', *([] if backing else [size]), cwd=d)[0] == 0
    if prep:
        assert run(qemu_io, *io_args(prep), 'q.qcow2', cwd=d)[0] == 0
    if snapshot:
        assert run(qemu_img, 'snapshot', '-c', 's1', 'q.qcow2', cwd=d)[0] == 0
    shutil.copyfile(d / 'q.qcow2', d / 'k.qcow2')
    shutil.copyfile(d / 'q.qcow2', d / 'before.qcow2')


def assert_same_images(kemu_img, qemu_img, d, compare_layout=True):
    """Both images pass qemu-img check, hold the same data, map alike and (unless the
    order qemu places clusters in is not fixed) have identical L2 entries and refcounts."""
    for name in ('k.qcow2', 'q.qcow2'):
        rc, out, err = run(qemu_img, 'check', name, cwd=d)
        assert rc == 0 and 'No errors were found on the image.' in out, name + out + err
    rc, out, err = run(qemu_img, 'compare', 'k.qcow2', 'q.qcow2', cwd=d)
    assert rc == 0, out + err
    mq = run(qemu_img, 'map', '--output=json', 'q.qcow2', cwd=d)
    mk = run(qemu_img, 'map', '--output=json', 'k.qcow2', cwd=d)
    assert mq[0] == 0 and mk == mq, f'{mk[1]}\n---\n{mq[1]}'
    assert run(kemu_img, 'map', '--output=json', 'q.qcow2', cwd=d) == mq
    if compare_layout:
        assert image_layout(d / 'k.qcow2') == image_layout(d / 'q.qcow2')


def io_both(kemu_io, qemu_io, d, cmds):
    """The same qemu-io commands on k.qcow2 and q.qcow2: same exit code and messages."""
    rk = run(kemu_io, *io_args(cmds), 'k.qcow2', cwd=d)
    rq = run(qemu_io, *io_args(cmds), 'q.qcow2', cwd=d)
    assert rk[0] == rq[0], (rk, rq)
    assert untimed(rk[1]) == untimed(rq[1]), f'{rk[1]}\n---\n{rq[1]}'
    assert rk[2] == rq[2].replace('qemu-io', 'kemu-io')
    return rq


OVER_ALLOCATED = {
    'normal': ('', ['write -P 1 0 64k'], 1),
    'allocated-zero': ('', ['write -P 1 0 64k', 'write -z 0 64k'], 0),
    'compressed': ('', ['write -c -P 1 0 64k'], 1),
    'zstd-compressed': ('compression_type=zstd', ['write -c -P 1 0 64k'], 1),
    'refcount-bits-1': ('refcount_bits=1', ['write -P 1 0 64k'], 1),
    'compat-0.10': ('compat=0.10', ['write -P 1 0 64k'], 1),
    'extl2-one-subcluster': ('extended_l2=on', ['write -P 1 0 2k'], 1),
    'extl2-allocated-zero': ('extended_l2=on', ['write -P 1 0 64k', 'write -z 0 64k'], 0),
}


@pytest.mark.parametrize('kind', OVER_ALLOCATED)
def test_compressed_write_over_allocated_cluster(kemu_img, kemu_io, qemu_img, qemu_io, data,
                                                  kind):
    """qemu 7.2 refuses compressed data over a cluster with a host cluster: 'write failed:
    Input/output error', exit code 1, image unchanged.  Data that does not compress is
    written as a normal write."""
    opts, prep, pattern = OVER_ALLOCATED[kind]
    make_pair(qemu_img, qemu_io, data, opts, prep=prep)
    r = io_both(kemu_io, qemu_io, data, ['write -c -P 2 0 64k', f'read -P {pattern} 0 2k'])
    assert r[0] == 1 and 'write failed: Input/output error' in r[1]
    assert filecmp.cmp(data / 'k.qcow2', data / 'before.qcow2', shallow=False)
    assert_same_images(kemu_img, qemu_img, data)
    if pattern:
        # (Not over an allocated zero cluster: qemu writes into that in place, kemu
        # allocates a new cluster; see docs/block.md.)
        io_both(kemu_io, qemu_io, data, ['write -c -s rand 0 64k'])
        assert_same_images(kemu_img, qemu_img, data)


def test_compressed_write_over_snapshot_cluster(kemu_img, kemu_io, qemu_img, qemu_io, data):
    """A cluster shared with a snapshot: qemu copies the L2 table (it makes the table
    writable first) and then fails the write; kemu leaves the same image behind."""
    make_pair(qemu_img, qemu_io, data, prep=['write -P 1 0 128k'], snapshot=True)
    r = io_both(kemu_io, qemu_io, data, ['write -c -P 2 64k 64k', 'read -P 1 0 128k'])
    assert r[0] == 1
    assert filecmp.cmp(data / 'k.qcow2', data / 'q.qcow2', shallow=False)
    assert_same_images(kemu_img, qemu_img, data)


INTO_FREE = {
    # (create options, preparation, the free cluster written compressed, backing file)
    'plain-zero': ('', ['write -P 1 0 64k', 'write -z -u 0 64k'], False),
    'zero-over-backing': ('', ['write -z 0 64k'], True),
    'unallocated-over-backing': ('', [], True),
    'extl2-zero-subclusters': ('extended_l2=on', ['write -z 0 4k'], False),
    'extl2-unmapped': ('extended_l2=on', ['write -P 1 4k 4k', 'write -z -u 0 64k'], False),
}


@pytest.mark.parametrize('kind', INTO_FREE)
def test_compressed_write_into_free_cluster(kemu_img, kemu_io, qemu_img, qemu_io, data, kind):
    """Clusters without a host cluster take compressed data (with extended L2 entries the
    bitmap is cleared); a second compressed write there then fails as above."""
    opts, prep, backing = INTO_FREE[kind]
    base = None
    if backing:
        assert run(qemu_img, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M', cwd=data)[0] == 0
        assert run(qemu_io, '-c', 'write -P 9 0 1M', 'base.qcow2', cwd=data)[0] == 0
        base = 'base.qcow2'
    make_pair(qemu_img, qemu_io, data, opts, prep=prep, backing=base)
    r = io_both(kemu_io, qemu_io, data, ['write -c -s r20 0 64k', 'write -c -P 3 0 64k',
                                         'read -P 0 20000 1000'])
    assert r[0] == 1 and r[1].count('write failed: Input/output error') == 1
    assert_same_images(kemu_img, qemu_img, data)


def test_multi_cluster_request(kemu_img, kemu_io, qemu_img, qemu_io, data):
    """A request of several clusters: each is written on its own, an allocated one fails
    (the request then fails) without stopping the others; unaligned requests are EINVAL
    and write nothing; the disk's last, partial cluster may be written."""
    make_pair(qemu_img, qemu_io, data, size='1000k', prep=['write -P 1 64k 4k'])
    cmds = ['write -c -P 5 0 192k', 'read -P 5 0 64k', 'read -P 1 64k 4k', 'read -P 5 128k 64k',
            'write -c -P 6 192k 68k', 'write -c -P 6 196k 64k', 'read -P 0 192k 128k',
            'write -c -P 7 896k 104k', 'read -P 7 896k 104k']
    r = io_both(kemu_io, qemu_io, data, cmds)
    assert r[1].count('write failed: Input/output error') == 1
    assert r[1].count('write failed: Invalid argument') == 2
    # qemu compresses the clusters of one request in parallel: their order is not fixed.
    assert_same_images(kemu_img, qemu_img, data, compare_layout=False)


def test_convert_compressed_into_existing_target(kemu_img, qemu_img, qemu_io, data):
    """convert -c -n stops at the first target cluster that has a host cluster, with
    qemu-img's message; what came before is written, the rest is not."""
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', 'src.qcow2', '4M', cwd=data)[0] == 0
    src = ['write -s r40 0 64k', 'write -s r20 64k 64k', 'write -s r50 128k 64k',
           'write -P 3 1M 512k', 'write -P 4 3M 256k']
    assert run(qemu_io, *io_args(src), 'src.qcow2', cwd=data)[0] == 0
    make_pair(qemu_img, qemu_io, data, size='4M',
              prep=['write -P 1 1216k 64k', 'write -P 2 2M 64k', 'write -z 2M 64k'])
    args = ['convert', '-c', '-n', '-O', 'qcow2', 'src.qcow2']
    rk = run(kemu_img, *args, 'k.qcow2', cwd=data)
    rq = run(qemu_img, *args, 'q.qcow2', cwd=data)
    assert rq[0] == 1 and 'error while writing at byte 1245184: Input/output error' in rq[2]
    assert rk == (rq[0], rq[1], rq[2].replace('qemu-img', 'kemu-img'))
    assert_same_images(kemu_img, qemu_img, data)


PLACEMENT = {
    # Everything in the compressed data's host cluster freed: the next compressed cluster
    # still goes right after it (and when it does not fit there, into a new cluster).
    'freed-cluster-continued': ('', ['write -c -s r20 0 64k', 'discard 0 64k',
                                     'write -c -s r20 64k 64k', 'write -c -s r50 128k 64k',
                                     'write -c -s r50 192k 64k', 'write -c -s r10 256k 64k']),
    # Freed, handed out as a normal cluster, freed again: qemu goes on there.
    'freed-reused-freed': ('', ['write -c -s r40 128k 64k', 'discard 128k 64k',
                                'write -P 1 128k 8k', 'write -z -u 128k 64k',
                                'write -c -s r20 192k 64k', 'write -c -s r40 256k 64k']),
    # Compressed clusters overwritten by normal writes (copy-on-write moves them out).
    'overwritten': ('', ['write -c -s r10 448k 64k', 'discard 448k 64k',
                         'write -c -s r20 512k 64k', 'write -c -s r40 0 64k', 'write -c -s r40 64k 64k',
                         'write -c -s r40 128k 64k', 'write -P 1 0 4k', 'write -P 2 64k 64k',
                         'write -c -s r20 192k 64k', 'discard 128k 64k',
                         'write -c -s r50 256k 64k', 'write -P 3 320k 64k',
                         'write -c -s r10 384k 64k']),
    # A host cluster at the refcount maximum takes no more, unless freed meanwhile.
    'refcount-bits-1': ('refcount_bits=1', ['write -c -s r10 0 64k', 'write -c -s r10 64k 64k',
                                            'discard 64k 64k', 'write -c -s r20 128k 64k',
                                            'write -c -s r10 192k 64k']),
    'refcount-bits-2': ('refcount_bits=2', ['write -c -P 1 0 64k', 'write -c -P 2 64k 64k',
                                            'write -c -P 3 128k 64k', 'write -c -P 4 192k 64k',
                                            'discard 0 256k', 'write -c -s r20 256k 64k']),
    'extl2': ('extended_l2=on', ['write -c -s r20 0 64k', 'discard 0 64k', 'write -P 1 64k 4k',
                                 'write -z -u 64k 64k', 'write -c -s r40 128k 64k',
                                 'write -c -s r20 192k 64k']),
    'zstd': ('compression_type=zstd', ['write -c -s r20 0 64k', 'discard 0 64k',
                                       'write -c -s r20 64k 64k', 'write -c -s r40 128k 64k']),
}


@pytest.mark.parametrize('name', PLACEMENT)
def test_compressed_placement(kemu_img, kemu_io, qemu_img, qemu_io, data, name):
    opts, cmds = PLACEMENT[name]
    make_pair(qemu_img, qemu_io, data, opts, size='4M')
    io_both(kemu_io, qemu_io, data, cmds)
    assert_same_images(kemu_img, qemu_img, data)


def random_commands(seed, cluster=CL):
    """Compressed and normal writes, write-zeroes with unmap and discards over a few
    clusters, one cluster each (qemu's order for requests of several is not fixed)."""
    r = random.Random(seed)
    n = r.randrange(2, 12)
    files = ['r10', 'r20', 'r40', 'r50']
    cmds = []
    for _ in range(r.randrange(8, 25)):
        at = r.randrange(n) * cluster
        k = r.random()
        if k < 0.55:
            cmds.append(f'write -c -s {r.choice(files)} {at} {cluster}')
        elif k < 0.65:
            cmds.append(f'write -c -P {r.randrange(256)} {at} {cluster}')
        elif k < 0.8:
            cmds.append(f'discard {at} {cluster * r.randrange(1, 3)}')
        elif k < 0.9:
            cmds.append(f'write -P {r.randrange(256)} {at} {cluster // 16 * r.randrange(1, 17)}')
        else:
            cmds.append(f'write -z -u {at} {cluster}')
    return cmds


@pytest.mark.parametrize('opts,seed', [('', 3), ('', 11), ('', 19), ('', 42), ('', 77),
                                       ('', 101), ('refcount_bits=1', 5), ('refcount_bits=1', 8),
                                       ('extended_l2=on', 13), ('extended_l2=on', 21),
                                       ('compression_type=zstd', 34), ('compat=0.10', 55)])
def test_random_sequences(kemu_img, kemu_io, qemu_img, qemu_io, data, opts, seed):
    cmds = random_commands(seed)
    make_pair(qemu_img, qemu_io, data, opts, size='4M')
    io_both(kemu_io, qemu_io, data, cmds)
    assert_same_images(kemu_img, qemu_img, data)


def test_no_compressed_data_in_reused_cluster(kemu_img, kemu_io, qemu_img, qemu_io, data):
    """The compressed data's host cluster freed: the next compressed cluster goes on there
    as in qemu.  Freed again and handed out as a normal cluster: qemu 7.2 still appends
    compressed data there, over the normal cluster's data (check then finds refcount 2 on
    it); kemu starts a new cluster instead."""
    make_pair(qemu_img, qemu_io, data)
    first = ['write -c -s r10 0 64k', 'discard 0 64k', 'write -c -s r10 64k 64k']
    io_both(kemu_io, qemu_io, data, first)
    assert_same_images(kemu_img, qemu_img, data)
    cmds = ['discard 64k 64k', 'write -P 1 128k 64k', 'write -c -s r20 192k 64k']
    assert run(kemu_io, *io_args(cmds), 'k.qcow2', cwd=data)[0] == 0
    rc, out, err = run(qemu_img, 'check', 'k.qcow2', cwd=data)
    assert rc == 0 and 'No errors were found on the image.' in out, out + err
    assert run(qemu_img, 'create', '-q', '-f', 'raw', 'want.raw', '1M', cwd=data)[0] == 0
    want = ['write -P 1 128k 64k', 'write -s r20 192k 64k']
    assert run(kemu_io, '-f', 'raw', *io_args(want), 'want.raw', cwd=data)[0] == 0
    rc, out, err = run(qemu_img, 'compare', 'k.qcow2', 'want.raw', cwd=data)
    assert rc == 0, out + err
