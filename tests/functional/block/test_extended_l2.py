"""qcow2 extended L2 entries (incompatible bit 4: 128-bit L2 entries whose second half is a
"Subcluster Allocation Bitmap" of 32 subclusters) against Debian's qemu-img/qemu-io 7.2:
the same qemu-io commands run through kemu-io and qemu-io give images that read back alike,
pass qemu-img check and map identically; images qemu made read back byte-identical through
kemu; corrupt bitmaps are reported as qemu reports them; create/amend/measure/info say what
qemu-img says."""
import json
import os
import random
import struct

import pytest

from conftest import io_args, run, same, same_data_map, untimed

CLUSTER_SIZES = {'16k': 16384, '64k': 65536, '2M': 2 * 1024 * 1024}






def l2_entries(path):
    """{index: (descriptor, bitmap)} of the non-zero entries of the first L2 table."""
    with open(path, 'rb') as f:
        h = f.read(112)
        cluster_bits, = struct.unpack('>I', h[20:24])
        incompat, = struct.unpack('>Q', h[72:80])
        assert incompat & 16
        l1_offset, = struct.unpack('>Q', h[40:48])
        f.seek(l1_offset)
        l1, = struct.unpack('>Q', f.read(8))
        f.seek(l1 & 0x00fffffffffffe00)
        table = f.read(1 << cluster_bits)
    out = {}
    for i in range(len(table) // 16):
        e, b = struct.unpack('>QQ', table[i * 16:i * 16 + 16])
        if e or b:
            out[i] = (e, b)
    return out


def set_l2_entry(path, index, entry, bitmap):
    with open(path, 'r+b') as f:
        h = f.read(112)
        l1_offset, = struct.unpack('>Q', h[40:48])
        f.seek(l1_offset)
        l1, = struct.unpack('>Q', f.read(8))
        f.seek((l1 & 0x00fffffffffffe00) + index * 16)
        f.write(struct.pack('>QQ', entry, bitmap))


def create_pair(qemu_img, tmp_path, opts, size, backing=None):
    """Two identical new images made by qemu-img (one for each tool)."""
    paths = []
    for name in ('k.qcow2', 'q.qcow2'):
        args = ['create', '-q', '-f', 'qcow2', '-o', opts]
        if backing:
            args += ['-b', backing, '-F', 'qcow2']
        args += [name] + ([] if backing else [str(size)])
        assert run(qemu_img, *args, cwd=tmp_path)[0] == 0
        paths.append(str(tmp_path / name))
    return paths


def make_backing(qemu_img, qemu_io, tmp_path, size, cluster):
    path = str(tmp_path / 'base.qcow2')
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', path, str(size))[0] == 0
    cmds = [f'write -P 0xb1 0 {size // 2}', f'write -P 0xb2 {size // 2 + cluster // 3} {cluster}']
    assert run(qemu_io, *io_args(cmds), path)[0] == 0
    return path


def run_both(kemu_io, qemu_io, kemu_img, qemu_img, k, q, cmds):
    """The same commands through kemu-io (on k) and qemu-io (on q); the images must then read
    back alike, pass qemu-img check and map identically (host offsets included)."""
    rk = run(kemu_io, *io_args(cmds), k)
    rq = run(qemu_io, *io_args(cmds), q)
    assert rk[0] == rq[0], (rk, rq)
    assert untimed(rk[1]) == untimed(rq[1]), f'{rk[1]}\n---\n{rq[1]}'
    assert rk[2] == rq[2].replace('qemu-io', 'kemu-io')
    rc, out, err = run(qemu_img, 'check', k)
    assert rc == 0 and 'No errors were found on the image.' in out, out + err
    rc, out, err = run(qemu_img, 'compare', k, q)
    assert rc == 0, out + err
    mq = run(qemu_img, 'map', '--output=json', q)
    mk = run(qemu_img, 'map', '--output=json', k)
    assert mq[0] == 0 and mk[0] == 0 and mk[2] == mq[2]
    layout = same_data_map(json.loads(mq[1]))
    assert same_data_map(json.loads(mk[1])) == layout, f'{mk[1]}\n---\n{mq[1]}'
    kq = run(kemu_img, 'map', '--output=json', q)
    assert kq[0] == 0 and same_data_map(json.loads(kq[1])) == layout
    assert l2_entries(k) == l2_entries(q)


def boundary_ops(cs, size):
    """Writes of various sizes and offsets crossing subcluster and cluster boundaries,
    write-zeroes with and without unmap, and discard."""
    sc = cs // 32
    return [
        f'write -P 0x11 {sc + 100} 512',               # inside one subcluster
        f'write -P 0x12 {2 * sc} {sc}',                # one whole subcluster
        f'write -P 0x13 {3 * sc - 7} {2 * sc + 14}',   # crossing two boundaries
        f'write -P 0x14 {cs - sc // 2} {sc}',          # crossing a cluster boundary
        f'write -P 0x15 {2 * cs + 5} {cs}',            # unaligned, more than a cluster
        f'write -P 0x16 {4 * cs} {3 * cs}',            # whole clusters
        f'write -P 0x17 {sc + 200} 10',                # into an allocated subcluster
        f'write -P 0x18 {5 * sc + 1} {sc}',            # in-place cluster, new subclusters
        f'write -z {6 * sc} {2 * sc}',                 # zero whole subclusters of data
        f'write -z {10 * sc + 3} {sc}',                # unaligned zero over unallocated ones
        f'write -z {cs + 100} 300',                    # partial zero next to data
        f'write -z -u {4 * cs} {cs}',                  # unmap a whole data cluster
        f'write -z {5 * cs} {cs}',                     # zero a cluster, keep the host cluster
        f'write -z -u {5 * cs + sc} {sc}',             # unmap one subcluster: only zeroes it
        f'discard {6 * cs} {cs}',                      # discard a whole cluster
        f'discard {2 * cs + 7} {sc}',                  # partial discard: nothing happens
        f'write -P 0x19 {5 * cs + 2 * sc + 9} 40',     # into a zeroed preallocated cluster
        f'write -P 0x1a {8 * cs - 1} 2',
        f'write -P 0x1b {size - 3 * sc // 2} {3 * sc // 2}',   # up to the end of the disk
        f'write -z {size - 100} 100',
    ]


@pytest.mark.parametrize('cs', list(CLUSTER_SIZES))
@pytest.mark.parametrize('backing', [False, True], ids=['nobacking', 'backing'])
def test_same_ops_as_qemu_io(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, cs, backing):
    cluster = CLUSTER_SIZES[cs]
    size = 16 * cluster
    base = make_backing(qemu_img, qemu_io, tmp_path, size, cluster) if backing else None
    k, q = create_pair(qemu_img, tmp_path, f'extended_l2=on,cluster_size={cluster}', size, base)
    run_both(kemu_io, qemu_io, kemu_img, qemu_img, k, q, boundary_ops(cluster, size))
    # And kemu reads back what it wrote exactly as qemu reads qemu's image.
    for tool, img in ((kemu_img, k), (qemu_img, q)):
        assert run(tool, 'convert', '-O', 'raw', img, img + '.raw')[0] == 0
    assert open(k + '.raw', 'rb').read() == open(q + '.raw', 'rb').read()


@pytest.mark.parametrize('cs', list(CLUSTER_SIZES))
def test_subcluster_allocation(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, cs):
    """A write into an unallocated cluster allocates it but marks only the subclusters it
    touches; with a backing file the rest of a partly written subcluster comes from it."""
    cluster = CLUSTER_SIZES[cs]
    sc = cluster // 32
    size = 8 * cluster
    base = make_backing(qemu_img, qemu_io, tmp_path, size, cluster)
    k, q = create_pair(qemu_img, tmp_path, f'extended_l2=on,cluster_size={cluster}', size, base)
    cmds = [f'write -P 0x42 {sc + 1} 10']
    run_both(kemu_io, qemu_io, kemu_img, qemu_img, k, q, cmds)
    entry, bitmap = l2_entries(k)[0]
    assert bitmap == 1 << 1 and entry & (1 << 63)
    reads = [f'read -P 0xb1 0 {sc + 1}', f'read -P 0x42 {sc + 1} 10',
             f'read -P 0xb1 {sc + 11} {cluster - sc - 11}']
    rc, out, err = run(kemu_io, '-r', *io_args(reads), k)
    assert rc == 0 and 'Pattern verification failed' not in out, out + err


@pytest.mark.parametrize('seed', range(6))
def test_random_ops_as_qemu_io(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, seed):
    r = random.Random(seed)
    cs = list(CLUSTER_SIZES)[seed % 3]
    cluster = CLUSTER_SIZES[cs]
    sc = cluster // 32
    size = 12 * cluster
    base = make_backing(qemu_img, qemu_io, tmp_path, size, cluster) if seed % 2 else None
    k, q = create_pair(qemu_img, tmp_path, f'extended_l2=on,cluster_size={cluster}', size, base)
    cmds = []
    for _ in range(25):
        grain = r.choice([1, 512, sc, cluster])
        off = min(size - 1, r.randrange(0, size // grain) * grain + (r.randrange(512)
                                                                    if grain == 1 else 0))
        length = max(1, min(size - off, r.choice([r.randint(1, 2 * sc), r.randint(1, 3) * sc,
                                                   r.randint(1, 3 * cluster)])))
        kind = r.random()
        if kind < 0.5:
            cmds.append(f'write -P {r.randint(1, 255)} {off} {length}')
        elif kind < 0.7:
            cmds.append(f'write -z {off} {length}')
        elif kind < 0.85:
            cmds.append(f'write -z -u {off} {length}')
        else:
            cmds.append(f'discard {off} {length}')
    run_both(kemu_io, qemu_io, kemu_img, qemu_img, k, q, cmds)


@pytest.mark.parametrize('cs', list(CLUSTER_SIZES))
def test_qemu_images_read_back(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, cs):
    cluster = CLUSTER_SIZES[cs]
    size = 16 * cluster
    base = make_backing(qemu_img, qemu_io, tmp_path, size, cluster)
    img = str(tmp_path / 'q.qcow2')
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o',
               f'extended_l2=on,cluster_size={cluster}', '-b', base, '-F', 'qcow2', img)[0] == 0
    assert run(qemu_io, *io_args(boundary_ops(cluster, size)), img)[0] == 0
    # Byte for byte through kemu-img convert, and through kemu-io read -P per run.
    assert run(qemu_img, 'convert', '-O', 'raw', img, str(tmp_path / 'q.raw'))[0] == 0
    assert run(kemu_img, 'convert', '-O', 'raw', img, str(tmp_path / 'k.raw'))[0] == 0
    data = open(tmp_path / 'q.raw', 'rb').read()
    assert open(tmp_path / 'k.raw', 'rb').read() == data
    step = cluster // 32
    reads = [f'read -P {data[o]} {o} {step}' for o in range(0, size, step)
             if data[o:o + step] == bytes([data[o]]) * step]
    rc, out, err = run(kemu_io, '-r', *io_args(reads), img)
    assert rc == 0 and 'Pattern verification failed' not in out and not err, out + err
    for fmt in ('json', 'human'):
        assert run(kemu_img, 'map', f'--output={fmt}', img)[1] == \
            run(qemu_img, 'map', f'--output={fmt}', img)[1]
    assert run(kemu_img, 'compare', img, str(tmp_path / 'q.raw'))[0] == 0
    # What qemu-io alloc/map says per subcluster.
    alloc = [f'alloc {o} {step}' for o in range(0, 2 * cluster, step)] + ['map']
    rk = run(kemu_io, '-r', *io_args(alloc), img)
    rq = run(qemu_io, '-r', *io_args(alloc), img)
    assert rk[1] == rq[1]


@pytest.mark.parametrize('cs', ['16k', '64k'])
def test_create_and_info(kemu_img, qemu_img, tmp_path, cs):
    cluster = CLUSTER_SIZES[cs]
    args = ['create', '-f', 'qcow2', '-o', f'extended_l2=on,cluster_size={cluster}', 'x.qcow2',
            '10M']
    same(kemu_img, qemu_img, args, tmp_path)
    img = str(tmp_path / 'x.qcow2')
    assert run(qemu_img, 'check', img)[0] == 0
    k = json.loads(run(kemu_img, 'info', '--output=json', img)[1])
    q = json.loads(run(qemu_img, 'info', '--output=json', img)[1])
    k.pop('actual-size')
    q.pop('actual-size')
    assert k == q and k['format-specific']['data']['extended-l2'] is True
    assert 'extended l2: true' in run(kemu_img, 'info', img)[1]
    with open(img, 'rb') as f:
        f.seek(72)
        assert struct.unpack('>Q', f.read(8))[0] & 16
    # kemu-img's image for qemu-io, qemu-io's for kemu-io.
    rc, out, err = run('qemu-io', '-c', f'write -P 5 {cluster // 2} {cluster}', img)
    assert rc == 0, err
    assert run(qemu_img, 'check', img)[0] == 0
    assert run(kemu_img, 'map', '--output=json', img)[1] == \
        run(qemu_img, 'map', '--output=json', img)[1]


@pytest.mark.parametrize('opts', ['extended_l2=on,compat=0.10', 'extended_l2=on,cluster_size=8k',
                                  'extended_l2=on,cluster_size=4k,compat=0.10',
                                  'extended_l2=maybe', 'extended_l2=off',
                                  'extended_l2=on,preallocation=metadata'])
def test_create_messages(kemu_img, qemu_img, tmp_path, opts):
    same(kemu_img, qemu_img, ['create', '-f', 'qcow2', '-o', opts, 'x.qcow2', '1M'], tmp_path)


@pytest.mark.parametrize('prealloc', ['metadata', 'falloc', 'full'])
@pytest.mark.parametrize('backing', [False, True], ids=['nobacking', 'backing'])
def test_preallocation(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, prealloc, backing):
    cluster = 16384
    size = 40 * cluster + 1536
    base = make_backing(qemu_img, qemu_io, tmp_path, size, cluster) if backing else None
    maps = []
    for tool, name in ((kemu_img, 'k.qcow2'), (qemu_img, 'q.qcow2')):
        args = ['create', '-q', '-f', 'qcow2', '-o',
                f'extended_l2=on,cluster_size={cluster},preallocation={prealloc}']
        if base:
            args += ['-b', base, '-F', 'qcow2']
        assert run(tool, *args, str(tmp_path / name), str(size))[0] == 0
        assert run(qemu_img, 'check', str(tmp_path / name))[0] == 0
        maps.append(run(qemu_img, 'map', '--output=json', str(tmp_path / name))[1])
    assert maps[0] == maps[1]
    # Preallocated subclusters are not allocated: writes set their bits in place.
    k, q = str(tmp_path / 'k.qcow2'), str(tmp_path / 'q.qcow2')
    assert all(b == 0 for _, b in l2_entries(k).values())
    run_both(kemu_io, qemu_io, kemu_img, qemu_img, k, q,
             ['write -P 3 1000 3000', f'write -z {cluster + 512} 512',
              f'write -P 4 {3 * cluster - 10} 20', f'discard {5 * cluster} {cluster}'])


@pytest.mark.parametrize('cs', ['16k', '2M'])
def test_compressed_clusters(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, cs):
    cluster = CLUSTER_SIZES[cs]
    size = 6 * cluster
    raw = tmp_path / 'src.raw'
    rnd = random.Random(3)
    raw.write_bytes(b''.join(bytes([i + 1]) * (cluster // 2) + rnd.randbytes(64) +
                             bytes(cluster // 2 - 64) for i in range(6)))
    opts = f'extended_l2=on,cluster_size={cluster}'
    for tool, name in ((kemu_img, 'k.qcow2'), (qemu_img, 'q.qcow2')):
        assert run(tool, 'convert', '-c', '-O', 'qcow2', '-o', opts, str(raw),
                   str(tmp_path / name))[0] == 0
    k, q = str(tmp_path / 'k.qcow2'), str(tmp_path / 'q.qcow2')
    assert run(qemu_img, 'check', k)[0] == 0
    assert run(qemu_img, 'compare', k, str(raw))[0] == 0
    assert all(b == 0 for _, b in l2_entries(k).values())
    assert run(kemu_img, 'compare', q, str(raw))[0] == 0
    # Writes into compressed clusters copy the whole cluster; write-zeroes of part of one
    # is written as data, of all of it unmaps it.
    sc = cluster // 32
    run_both(kemu_io, qemu_io, kemu_img, qemu_img, k, q,
             [f'write -P 9 {sc + 3} 100', f'write -z {cluster + sc} {sc}',
              f'write -z {2 * cluster} {cluster}', f'discard {3 * cluster} {cluster}'])


def corrupt_image(qemu_img, qemu_io, tmp_path, kind):
    img = str(tmp_path / f'{kind}.qcow2')
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on,cluster_size=16k',
               img, '1M')[0] == 0
    assert run(qemu_io, '-c', 'write -P 1 0 16k', '-c', 'write -c -P 2 16k 16k', img)[0] == 0
    e = l2_entries(img)
    if kind == 'alloc_and_zero':
        set_l2_entry(img, 0, e[0][0], (1 << 35) | (1 << 3))
    elif kind == 'compressed_bitmap':
        set_l2_entry(img, 1, e[1][0], 1)
    elif kind == 'unallocated_alloc':
        set_l2_entry(img, 2, 0, 1 << 4)
    return img


@pytest.mark.parametrize('kind', ['alloc_and_zero', 'compressed_bitmap', 'unallocated_alloc'])
def test_corrupt_bitmap(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, kind):
    img = corrupt_image(qemu_img, qemu_io, tmp_path, kind)
    # check (and check -r all, which cannot repair bitmaps) as qemu-img.
    saved = open(img, 'rb').read()
    same(kemu_img, qemu_img, ['check', img], tmp_path)
    same(kemu_img, qemu_img, ['check', '--output=json', img], tmp_path)
    for tool in (kemu_img, qemu_img):
        open(img, 'wb').write(saved)
        assert run(tool, 'check', '-r', 'all', img)[0] == 2
    open(img, 'wb').write(saved)
    # Reads of the bad entry fail with EIO and the corruption message; never a crash.
    rk = run(kemu_io, '-r', '-c', 'read 0 48k', img)
    rq = run(qemu_io, '-r', '-c', 'read 0 48k', img)
    assert untimed(rk[1]) == untimed(rq[1])
    if kind == 'compressed_bitmap':
        assert rk[2] == rq[2] == ''
    else:
        msg = rq[2].splitlines()[0]
        assert 'Invalid cluster entry found' in msg
        assert msg in rk[2]
    for cmd in (['map', '--output=json'], ['convert', '-O', 'raw']):
        args = cmd + [img] + ([str(tmp_path / 'o.raw')] if cmd[0] == 'convert' else [])
        k = run(kemu_img, *args)
        q = run(qemu_img, *args)
        assert k[0] == q[0]
        assert q[2].splitlines()[-1:] == [l.replace('kemu-img', 'qemu-img')
                                          for l in k[2].splitlines()[-1:]]
    # A write there marks the image corrupt (read-write open), as qemu-io does.
    if kind == 'alloc_and_zero':
        rk = run(kemu_io, '-c', 'write 0 512', img)
        assert 'write failed: Input/output error' in rk[1]
        assert 'Marking image as corrupt: Invalid cluster entry found (L2 offset' in rk[2]
        assert 'corrupt: true' in run(qemu_img, 'info', img)[1]


def test_unsupported_subcluster_size(kemu_img, qemu_img, tmp_path):
    img = str(tmp_path / 'x.qcow2')
    assert run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on,cluster_size=16k',
               img, '1M')[0] == 0
    with open(img, 'r+b') as f:
        f.seek(20)
        f.write(struct.pack('>I', 13))
    same(kemu_img, qemu_img, ['info', img], tmp_path)


def test_amend(kemu_img, qemu_img, tmp_path):
    for name in ('k.qcow2', 'q.qcow2'):
        assert run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on',
                   str(tmp_path / name), '1M')[0] == 0
    for opts in ('extended_l2=off', 'extended_l2=on', 'compat=0.10',
                 'compat=0.10,lazy_refcounts=on'):
        k = run(kemu_img, 'amend', '-o', opts, str(tmp_path / 'k.qcow2'))
        q = run(qemu_img, 'amend', '-o', opts, str(tmp_path / 'q.qcow2'))
        assert k[0] == q[0] and k[2] == q[2].replace('qemu-img', 'kemu-img'), (opts, k, q)
    assert 'extended l2: true' in run(kemu_img, 'info', str(tmp_path / 'k.qcow2'))[1]


@pytest.mark.parametrize('opts', ['extended_l2=on', 'extended_l2=on,cluster_size=16k',
                                  'extended_l2=on,cluster_size=2M,preallocation=full',
                                  'extended_l2=on,cluster_size=8k', 'extended_l2=bad',
                                  'extended_l2=on,compat=0.10'])
def test_measure(kemu_img, qemu_img, tmp_path, opts):
    for size in ('1G', '123456789'):
        same(kemu_img, qemu_img, ['measure', '-O', 'qcow2', '-o', opts, '--size', size], tmp_path)
        same(kemu_img, qemu_img, ['measure', '--output=json', '-O', 'qcow2', '-o', opts, '--size',
                                  size], tmp_path)


def test_snapshot_copy_on_write(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    """A shared data cluster (internal snapshot) moves to a new host cluster with the
    subclusters it had allocated; zero bits outside the write stay."""
    k, q = create_pair(qemu_img, tmp_path, 'extended_l2=on,cluster_size=16k', 1 << 20)
    setup = ['write -P 0x11 1000 512', 'write -z 5120 512', 'write -P 0x22 8192 512',
             'write -z 12288 1024']
    run_both(kemu_io, qemu_io, kemu_img, qemu_img, k, q, setup)
    for img in (k, q):
        assert run(qemu_img, 'snapshot', '-c', 'snap', img)[0] == 0
    run_both(kemu_io, qemu_io, kemu_img, qemu_img, k, q,
             ['write -P 0x33 3000 10', 'write -z 16384 16384'])
    assert l2_entries(k)[0][1] == 0x030000000001fffe
    for img in (k, q):
        assert run(qemu_img, 'snapshot', '-a', 'snap', img)[0] == 0
    assert run(qemu_img, 'compare', k, q)[0] == 0
    assert run(qemu_img, 'check', k)[0] == 0


@pytest.mark.parametrize('extra', ['', ',data_file_raw=on', ',preallocation=metadata'])
def test_with_external_data_file(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, extra):
    """Extended L2 entries together with an external data file (guest cluster 0 then has
    host offset 0, told from an unallocated cluster by the COPIED flag)."""
    cluster = 65536
    size = 16 * cluster
    imgs = {}
    for t in ('k', 'q'):
        img = str(tmp_path / f'{t}.qcow2')
        assert run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o',
                   f'extended_l2=on,cluster_size={cluster},data_file={t}.raw{extra}', img,
                   str(size), cwd=tmp_path)[0] == 0
        imgs[t] = img
    cmds = boundary_ops(cluster, size)
    rk = run(kemu_io, *io_args(cmds), imgs['k'], cwd=tmp_path)
    rq = run(qemu_io, *io_args(cmds), imgs['q'], cwd=tmp_path)
    assert rk[0] == rq[0] == 0 and untimed(rk[1]) == untimed(rq[1]), (rk, rq)
    assert l2_entries(imgs['k']) == l2_entries(imgs['q'])
    assert run(qemu_img, 'check', imgs['k'], cwd=tmp_path)[0] == 0
    assert run(qemu_img, 'compare', imgs['k'], imgs['q'], cwd=tmp_path)[0] == 0
    maps = [run(tool, 'map', '--output=json', imgs[t], cwd=tmp_path)[1].replace(f'{t}.raw', 'x')
            for tool, t in ((qemu_img, 'q'), (qemu_img, 'k'), (kemu_img, 'k'))]
    assert maps[0] == maps[1] == maps[2]
    if extra == ',data_file_raw=on':
        assert (tmp_path / 'k.raw').read_bytes() == (tmp_path / 'q.raw').read_bytes()


def test_write_zeroes_past_compressed_cluster(kemu_io, qemu_img, qemu_io, tmp_path):
    """A write-zeroes that starts inside a compressed cluster: only that cluster's part
    takes the zero-data fallback (a compressed cluster cannot be zeroed per subcluster);
    the rest of the range becomes zero clusters, not 1 GiB of written zeroes."""
    img = str(tmp_path / 'z.qcow2')
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', img, '2G')
    run(qemu_io, '-c', 'write -c -P 7 0 64k', '-c', 'write -P 8 1G 64k', img)
    rc, out, err = run(kemu_io, '-c', f'write -z 2k {(1 << 30) + 4096 - 2048}', img)
    assert rc == 0, out + err
    assert os.path.getsize(img) < 4 << 20
    rc, out, err = run(qemu_io, '-r', '-c', 'read -q -P 7 0 2k', '-c', 'read -q -P 0 2k 1M',
                       '-c', f'read -q -P 0 {(1 << 30) - 4096} 8k',
                       '-c', f'read -q -P 8 {(1 << 30) + 4096} {65536 - 4096}', img)
    assert rc == 0 and 'verification failed' not in out, out + err
    assert run(qemu_img, 'check', img)[0] == 0
