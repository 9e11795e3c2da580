"""qcow2 write-zeroes (qemu-io `write -z [-u] [-n]`) and discard on images with standard
(64-bit) L2 entries against Debian's qemu-io 7.2: the same commands run through kemu-io and
qemu-io on copies of one starting image must leave the same layout (qemu-img map with host
offsets, the L1 and L2 entries, the file length), the same data, and clean images.

What qemu does, found by experiment:
* a request is cut at cluster boundaries; a piece covering part of a cluster zeroes the whole
  cluster (zero flag, no data written) when the rest of the cluster reads as zeroes through
  the backing chain too (unallocated over nothing, over unallocated or zero backing
  clusters, over holes of a raw backing file or past the end of a short one) and the cluster
  has no data of its own (unallocated or a zero cluster); otherwise zero data is written,
  or with -n the request fails with "Operation not supported";
* without -u a cluster with a host cluster keeps it, with its COPIED bit as it was: a cluster
  shared with an internal snapshot becomes an "allocated zero" cluster still shared (the
  snapshot's data stays), a compressed one is always freed; with -u they are freed;
* v2 (compat=0.10) has no zero flag: without a backing file clusters are deallocated (-u or
  not, shared or not), with one zero data is written and discard does nothing;
* whole-cluster zeroing and discard make the L2 table writable (allocated, or copied when a
  snapshot shares it) even where no entry changes.
"""
import json
import os
import random
import shutil
import struct

import pytest

from conftest import io_args, run, same_data_map, untimed

CLUSTER = 65536


def tables(path):
    """(L1 entries, {(l1 index, l2 index): entry} of non-zero L2 entries) of a standard-L2
    qcow2 image (qcow2 spec "Cluster mapping")."""
    with open(path, 'rb') as f:
        h = f.read(104)
        cluster_bits, = struct.unpack('>I', h[20:24])
        l1_size, = struct.unpack('>I', h[36:40])
        l1_offset, = struct.unpack('>Q', h[40:48])
        f.seek(l1_offset)
        l1 = list(struct.unpack(f'>{l1_size}Q', f.read(8 * l1_size)))
        l2 = {}
        for i, e in enumerate(l1):
            if e & 0x00fffffffffffe00:
                f.seek(e & 0x00fffffffffffe00)
                table = f.read(1 << cluster_bits)
                for j in range(len(table) // 8):
                    v, = struct.unpack('>Q', table[j * 8:j * 8 + 8])
                    if v:
                        l2[(i, j)] = hex(v)
    return [hex(e) for e in l1], l2


def layout(qemu_img, path):
    rc, out, err = run(qemu_img, 'map', '--output=json', path)
    assert rc == 0, err
    return {'map': json.loads(out), 'tables': tables(path), 'size': os.path.getsize(path)}


def check_clean(qemu_img, path):
    rc, out, err = run(qemu_img, 'check', path)
    assert rc == 0, f'{path}: {out}{err}'


def make_backing(qemu_img, qemu_io, tmp_path, kind, size='1M'):
    """A backing file (name, format) whose first 256 KiB read as zeroes in different
    ways; 'data' has data everywhere, 'short' is 100 KiB of zero data."""
    path = str(tmp_path / 'base')
    fmt = 'raw' if kind.startswith('raw') else 'qcow2'
    size = '100k' if kind == 'short' else size
    assert run(qemu_img, 'create', '-q', '-f', fmt, path, size)[0] == 0
    cmds = {'unallocated': [], 'zero-flag': ['write -z 0 1M'], 'data': ['write -P 0xaa 0 1M'],
            'zero-data': ['write -P 0 0 1M'], 'short': ['write -P 0 0 100k'],
            'raw-holes': ['write -P 0xaa 256k 4k'], 'raw-data': ['write -P 0 0 1M']}[kind]
    if cmds:
        assert run(qemu_io, '-f', fmt, *io_args(cmds), path)[0] == 0
    return path, fmt


def make_pair(qemu_img, qemu_io, tmp_path, opts, size='1M', backing=None, pre=(),
              snapshot=False):
    """Two copies (kemu's, qemu's) of one image made by qemu-img/qemu-io (one qemu-io run
    per command of pre: compressed clusters then get host clusters of their own)."""
    img = str(tmp_path / 'img.qcow2')
    args = ['create', '-q', '-f', 'qcow2', '-o', opts]
    if backing:
        args += ['-b', backing[0], '-F', backing[1], img]
    else:
        args += [img, size]
    assert run(qemu_img, *args)[0] == 0
    for cmd in pre:
        assert run(qemu_io, '-c', cmd, img)[0] == 0
    if snapshot:
        assert run(qemu_img, 'snapshot', '-c', 's1', img)[0] == 0
    paths = []
    for name in ('k.qcow2', 'q.qcow2'):
        shutil.copy(img, tmp_path / name)
        paths.append(str(tmp_path / name))
    return paths


def run_both(kemu_io, qemu_io, qemu_img, k, q, cmds, exact_map=True):
    """The same commands through kemu-io (on k) and qemu-io (on q): same output, layout,
    data, and both images clean."""
    if cmds:
        rk = run(kemu_io, *io_args(cmds), k)
        rq = run(qemu_io, *io_args(cmds), q)
        assert rk[0] == rq[0], (cmds, rk, rq)
        assert untimed(rk[1]) == untimed(rq[1]), f'{cmds}\n{rk[1]}\n---\n{rq[1]}'
    check_clean(qemu_img, q)
    check_clean(qemu_img, k)
    lk, lq = layout(qemu_img, k), layout(qemu_img, q)
    if not exact_map:
        lk['map'], lq['map'] = same_data_map(lk['map']), same_data_map(lq['map'])
    assert lk == lq, f'{cmds}\nkemu {lk}\nqemu {lq}'
    rc, out, err = run(qemu_img, 'compare', k, q)
    assert rc == 0, out + err


# head and tail in one cluster, in two clusters, around a whole cluster; beyond the data
PARTIAL = ['write -z 1k 4k', 'write -z 60k 8k', 'write -z 32k 96k', 'write -z 192k 1k']
PRE = {'unallocated': [], 'zero': ['write -z 0 256k'],
       'allocated-zero': ['write -P 1 0 256k', 'write -z 0 256k'],
       'data': ['write -P 1 0 256k'], 'zero-data': ['write -P 0 0 256k']}


@pytest.mark.parametrize('compat,pre', [(c, p) for c in ('0.10', '1.1') for p in PRE
                                         if c == '1.1' or 'zero' not in p])   # v2: no zero flag
@pytest.mark.parametrize('backing', [None, 'unallocated', 'zero-flag', 'data', 'zero-data'])
def test_partial_clusters(kemu_io, qemu_img, qemu_io, tmp_path, compat, backing, pre):
    """Head/tail pieces over each kind of cluster and backing: zeroed whole when the rest
    reads as zeroes and the cluster holds no data, else written as zero data."""
    b = make_backing(qemu_img, qemu_io, tmp_path, backing) if backing else None
    for cmd in PARTIAL:
        for unmap in ('', '-u '):
            k, q = make_pair(qemu_img, qemu_io, tmp_path, f'compat={compat}', backing=b,
                             pre=PRE[pre])
            run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd.replace('-z ', '-z ' + unmap)])


@pytest.mark.parametrize('backing', ['short', 'raw-holes', 'raw-data', 'chain'])
def test_partial_clusters_backing_kinds(kemu_io, qemu_img, qemu_io, tmp_path, backing):
    """The rest of a cluster reads as zeroes past the end of a short backing file, over
    holes of a raw one (not over its zero data), through two backing levels."""
    if backing == 'chain':
        bottom = make_backing(qemu_img, qemu_io, tmp_path, 'data')
        mid = str(tmp_path / 'mid.qcow2')
        assert run(qemu_img, 'create', '-q', '-f', 'qcow2', '-b', bottom[0], '-F', 'qcow2',
                   mid)[0] == 0
        assert run(qemu_io, '-c', 'write -z 0 128k', mid)[0] == 0
        b = (mid, 'qcow2')
    else:
        b = make_backing(qemu_img, qemu_io, tmp_path, backing)
    for cmd in PARTIAL + ['write -z 96k 8k', 'write -z 250k 8k', 'write -z 3k 1020k']:
        k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', size='1M', backing=b)
        run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd])


@pytest.mark.parametrize('size', ['1M', str(1024 * 1024 + 1024), str(1024 * 1024 - 1536)])
def test_partial_last_cluster(kemu_io, qemu_img, qemu_io, tmp_path, size):
    """A piece reaching the disk end counts as reaching its cluster's end."""
    b = make_backing(qemu_img, qemu_io, tmp_path, 'unallocated', size)
    end = 1024 * 1024 if size == '1M' else int(size)
    for cmd in [f'write -z {end - 4096} 4096', f'write -z {end - 70000} 70000']:
        k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', size=size)
        run_both(kemu_io, qemu_io, qemu_img, k, q, ['write -P 3 0 64k', cmd])
        k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', backing=b)
        run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd])


@pytest.mark.parametrize('pre', [['write -P 1 0 192k'],
                                 ['write -P 1 0 192k', 'write -z 0 192k'],
                                 [f'write -c -P {i + 1} {i * CLUSTER} {CLUSTER}'
                                  for i in range(3)]],
                         ids=['data', 'allocated-zero', 'compressed'])
@pytest.mark.parametrize('compat', ['0.10', '1.1'])
@pytest.mark.parametrize('cmd', ['write -z 0 192k', 'write -z 0 64k', 'write -z 32k 64k',
                                 'write -z -u 0 192k', 'write -z -u 32k 64k'])
def test_shared_clusters(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, pre, compat, cmd):
    """Clusters shared with an internal snapshot (refcount 2, COPIED clear): without -u
    they stay allocated (and shared) with the zero flag; the snapshot keeps its data
    through later writes, snapshot apply and delete."""
    k, q = make_pair(qemu_img, qemu_io, tmp_path, f'compat={compat}', pre=pre, snapshot=True)
    before = str(tmp_path / 'before.raw')
    assert run(qemu_img, 'convert', '-O', 'raw', str(tmp_path / 'img.qcow2'), before)[0] == 0
    run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd])
    run_both(kemu_io, qemu_io, qemu_img, k, q, ['write -P 9 4k 4k', 'write -P 8 64k 64k'])
    for p in (k, q):
        s1 = str(tmp_path / 's1.raw')
        assert run(qemu_img, 'convert', '-O', 'raw', '-l', 'snapshot.name=s1', p, s1)[0] == 0
        assert run(qemu_img, 'compare', '-f', 'raw', '-F', 'raw', s1, before)[0] == 0
    for args in (['-a', 's1'], ['-d', 's1']):
        assert run(kemu_img, 'snapshot', *args, k)[0] == 0
        assert run(qemu_img, 'snapshot', *args, q)[0] == 0
        run_both(kemu_io, qemu_io, qemu_img, k, q, [])


def test_allocated_zero_kept_copied(kemu_io, qemu_img, qemu_io, tmp_path):
    """Unshared clusters keep host offset and COPIED bit; an L2 table shared with a
    snapshot is copied even when no entry changes."""
    k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', pre=['write -P 1 0 128k'])
    run_both(kemu_io, qemu_io, qemu_img, k, q, ['write -z 0 128k'])
    assert tables(q)[1][(0, 0)] == hex((1 << 63) | 0x50000 | 1)
    for name in ('k.qcow2', 'q.qcow2'):
        assert run(qemu_img, 'snapshot', '-c', 's1', str(tmp_path / name))[0] == 0
    run_both(kemu_io, qemu_io, qemu_img, k, q, ['write -z 0 128k'])
    assert tables(q)[1][(0, 0)] == hex(0x50000 | 1)


@pytest.mark.parametrize('compat', ['0.10', '1.1'])
@pytest.mark.parametrize('backing', [False, True])
@pytest.mark.parametrize('cmd', ['discard 0 64k', 'discard 128k 64k', 'discard 0 1k',
                                 'write -z 0 64k', 'write -z -u 128k 64k', 'write -z 1k 1k'])
def test_l2_table_made_writable(kemu_io, qemu_img, qemu_io, tmp_path, compat, backing, cmd):
    """Zeroing and discarding whole clusters allocate a missing L2 table, and copy one a
    snapshot shares, even when no entry changes; v2 with a backing file discards nothing."""
    b = make_backing(qemu_img, qemu_io, tmp_path, 'data') if backing else None
    k, q = make_pair(qemu_img, qemu_io, tmp_path, f'compat={compat}', backing=b)
    run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd])
    k, q = make_pair(qemu_img, qemu_io, tmp_path, f'compat={compat}', backing=b,
                     pre=['write -P 1 0 64k'], snapshot=True)
    run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd, 'discard 0 64k'])


def test_pieces_allocate_in_turn(kemu_io, qemu_img, qemu_io, tmp_path):
    """Zero data for the head and the tail piece are separate writes: the tail's new
    cluster reuses the compressed cluster the head's write freed."""
    pre = [f'write -c -P {i + 1} {i * CLUSTER} {CLUSTER}' for i in range(3)]
    for cmd in ('write -z 32k 64k', 'write -z -u 32k 64k', 'write -z 32k 128k'):
        k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', pre=pre)
        run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd])


@pytest.mark.parametrize('cmd', ['write -z -n 1k 4k', 'write -z -n 32k 64k',
                                 'write -z -n 0 96k', 'write -z -n 64k 64k'])
def test_no_fallback(kemu_io, qemu_img, qemu_io, tmp_path, cmd):
    """-n: a piece that would need zero data fails with "Operation not supported"."""
    k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', pre=['write -P 1 64k 64k'])
    run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd])


@pytest.mark.parametrize('seed', range(8))
def test_random_sequences(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, seed):
    """Random writes, write-zeroes (with and without -u) and discards, with snapshots
    taken in between, on v2 and v3 images with and without backing files."""
    rnd = random.Random(seed)
    compat = rnd.choice(['0.10', '1.1', '1.1'])
    backing = rnd.choice([None, 'unallocated', 'data', 'zero-flag'])
    size = rnd.choice([1 << 20, (1 << 20) + 1024, (1 << 20) - 1536])
    b = make_backing(qemu_img, qemu_io, tmp_path, backing) if backing else None
    k, q = make_pair(qemu_img, qemu_io, tmp_path, f'compat={compat}', size=str(size), backing=b)
    for step in range(4):
        cmds = []
        for _ in range(rnd.randint(1, 4)):
            op = rnd.choice(['write -P 7', 'write -z', 'write -z', 'write -z -u', 'discard'])
            off = rnd.randrange(0, size // 512) * 512
            length = min(rnd.choice([512, 4096, 32768, 65536, 99840, 199680]), size - off)
            cmds.append(f'{op} {off} {length}')
        run_both(kemu_io, qemu_io, qemu_img, k, q, cmds, exact_map=False)
        if rnd.random() < 0.4:
            for p in (k, q):
                assert run(qemu_img, 'snapshot', '-c', f's{step}', p)[0] == 0


def test_zeroes_next_to_an_allocation_in_flight(kemu_io, qemu_img, qemu_io, tmp_path):
    """A write-zeroes into part of a cluster that another request is allocating at the same
    time (its copy-on-write taken from a raw backing file that holds data only where the
    zeroes go): the zeroes must win, whichever request runs first.  Zeroing used to decide
    that the rest of the cluster read as zeroes and mark the whole cluster zero while the
    allocation was in flight; linking the allocation then brought the backing data back."""
    cs = 2 << 20
    n = 32
    base = tmp_path / 'base.raw'
    with open(base, 'wb') as f:
        f.truncate(n * cs)
        for i in range(n):
            f.seek(i * cs + 8192)
            f.write(b'\xbb' * 4096)
    img = tmp_path / 'top.qcow2'
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2M', '-b', base,
               '-F', 'raw', img)[0] == 0
    cmds = []
    for i in range(n):
        cmds += [f'aio_write -q -P 0x11 {i * cs} 4k', f'aio_write -q -z {i * cs + 8192} 4k']
    rc, out, err = run(kemu_io, *io_args(cmds + ['aio_flush']), img)
    assert rc == 0, out + err
    reads = []
    for i in range(n):
        reads += [f'read -q -P 0x11 {i * cs} 4k', f'read -q -P 0 {i * cs + 4096} 4k',
                  f'read -q -P 0 {i * cs + 8192} 4k']
    rc, out, err = run(qemu_io, '-r', *io_args(reads), img)
    assert rc == 0 and 'verification failed' not in out, out + err
    check_clean(qemu_img, img)
