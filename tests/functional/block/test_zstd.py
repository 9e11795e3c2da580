"""qcow2 with the zstd compression type (header byte 104 = 1, incompatible bit 3), against
Debian's qemu-img/qemu-io 7.2: images qemu-img compressed read back byte-identical, images
kemu-img and kemu-io compress are valid for qemu-img, and create/open/amend/info say what
qemu-img says (stderr with the program name swapped)."""
import json
import os
import random
import struct

import pytest

from conftest import run, same, untimed

CLUSTER_SIZES = ['4k', '64k', '2M']
SIZES = {'4k': 4096, '64k': 65536, '2M': 2 * 1024 * 1024}




def same_io(kemu_io, qemu_io, args, cwd=None):
    """kemu-io and qemu-io: same exit code, stdout without timings, and stderr."""
    k = run(kemu_io, *args, cwd=cwd)
    q = run(qemu_io, *args, cwd=cwd)
    assert k[0] == q[0], f'exit code {args}: kemu {k} qemu {q}'
    assert untimed(k[1]) == untimed(q[1]), f'stdout differs for {args}:\n{k[1]}\n---\n{q[1]}'
    assert k[2] == q[2].replace('qemu-io', 'kemu-io'), f'stderr differs for {args}'
    return k


def varied_data(cluster, nclusters=12, seed=1):
    """Random, text-like, zero and mixed clusters (and runs crossing cluster boundaries)."""
    rnd = random.Random(seed)
    words = [b'alpha ', b'beta ', b'gamma ', b'delta ', b'kemu ', b'qcow2 ', b'zstd\n']
    out = bytearray()
    for i in range(nclusters):
        kind = i % 4
        if kind == 0:
            chunk = rnd.randbytes(cluster)
        elif kind == 1:
            text = b''.join(rnd.choice(words) for _ in range(cluster // 4))
            chunk = text[:cluster]
        elif kind == 2:
            chunk = bytes(cluster)
        else:
            half = cluster // 2
            chunk = rnd.randbytes(half) + bytes([i]) * (cluster - half)
        out += chunk
    # A text run that starts in the middle of a cluster and spans one and a half more.
    start = (nclusters // 2 - 1) * cluster + cluster // 3
    run_len = cluster + cluster // 2
    text = b''.join(rnd.choice(words) for _ in range(run_len // 3))[:run_len]
    assert start + len(text) <= len(out)
    out[start:start + len(text)] = text
    return bytes(out)


def l2_entries(path):
    """(guest offset, L2 entry) of every allocated L2 entry of the active table."""
    with open(path, 'rb') as f:
        hdr = f.read(112)
        cluster_bits = struct.unpack('>I', hdr[20:24])[0]
        cs = 1 << cluster_bits
        l1_size = struct.unpack('>I', hdr[36:40])[0]
        l1_off = struct.unpack('>Q', hdr[40:48])[0]
        f.seek(l1_off)
        l1 = struct.unpack(f'>{l1_size}Q', f.read(8 * l1_size))
        out = []
        for i, e in enumerate(l1):
            l2_off = e & 0x00fffffffffffe00
            if not l2_off:
                continue
            f.seek(l2_off)
            l2 = struct.unpack(f'>{cs // 8}Q', f.read(cs))
            for j, x in enumerate(l2):
                if x:
                    out.append((((i * (cs // 8)) + j) * cs, x))
        return cluster_bits, out


def compressed_clusters(path):
    """[(guest offset, host offset, stored bytes)] of the compressed clusters."""
    cluster_bits, entries = l2_entries(path)
    shift = 62 - (cluster_bits - 8)
    out = []
    for guest, e in entries:
        if e & (1 << 62):
            host = e & ((1 << shift) - 1)
            sectors = ((e >> shift) & ((1 << (cluster_bits - 8)) - 1)) + 1
            out.append((guest, host, sectors * 512 - (host & 511)))
    return out


def patch(path, offset, data):
    with open(path, 'r+b') as f:
        f.seek(offset)
        f.write(data)


@pytest.fixture(scope='module')
def qemu_images(tmp_path_factory, qemu_img):
    """Raw sources and their zstd-compressed copies made by qemu-img, per cluster size."""
    d = tmp_path_factory.mktemp('zstd')
    for cs in CLUSTER_SIZES:
        n = 12 if cs != '2M' else 6
        (d / f'src{cs}.raw').write_bytes(varied_data(SIZES[cs], n, seed=len(cs)))
        rc, out, err = run(qemu_img, 'convert', '-c', '-O', 'qcow2', '-o',
                           f'compression_type=zstd,cluster_size={cs}', f'src{cs}.raw',
                           f'q{cs}.qcow2', cwd=d)
        assert rc == 0, err
    return d


@pytest.mark.parametrize('cs', CLUSTER_SIZES)
def test_read_qemu_image(kemu_img, kemu_io, qemu_img, qemu_io, qemu_images, cs):
    d = qemu_images
    img = f'q{cs}.qcow2'
    assert compressed_clusters(d / img), 'qemu-img wrote no compressed cluster'
    rc, out, err = run(kemu_img, 'convert', '-O', 'raw', img, f'k{cs}.raw', cwd=d)
    assert rc == 0, err
    assert (d / f'k{cs}.raw').read_bytes() == (d / f'src{cs}.raw').read_bytes()
    rc, out, err = run(kemu_img, 'compare', f'src{cs}.raw', img, cwd=d)
    assert rc == 0 and out == 'Images are identical.\n', out + err
    # kemu-io dumps the same bytes as qemu-io, inside clusters and across their borders.
    c = SIZES[cs]
    reads = ['read -v 0 512', f'read -v {c - 300} 600', f'read -v {c + c // 2} 1024',
             f'read -v {2 * c + c // 3 - 100} 2048', f'read -v {7 * c - 512} 1024',
             f'read -P 0 {2 * c} {c}']
    args = []
    for r in reads:
        args += ['-c', r]
    same_io(kemu_io, qemu_io, ['-r'] + args + [img], cwd=d)
    # Every cluster, whole.
    args = []
    for i in range(len((d / f'src{cs}.raw').read_bytes()) // c):
        args += ['-c', f'read -v {i * c} {c}']
    if c <= 65536:
        same_io(kemu_io, qemu_io, ['-r'] + args + [img], cwd=d)


@pytest.mark.parametrize('args', [['info'], ['info', '--output=json'], ['check'],
                                  ['check', '--output=json'], ['map'], ['map', '--output=json']])
def test_output_identical(kemu_img, qemu_img, qemu_images, args):
    for cs in CLUSTER_SIZES:
        same(kemu_img, qemu_img, args + [f'q{cs}.qcow2'], qemu_images)


def test_info_compression_type(kemu_img, qemu_img, tmp_path):
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', 'z.qcow2', '1M',
        cwd=tmp_path)
    rc, out, err = same(kemu_img, qemu_img, ['info', 'z.qcow2'], tmp_path)
    assert '    compression type: zstd\n' in out
    rc, out, err = same(kemu_img, qemu_img, ['info', '--output=json', 'z.qcow2'], tmp_path)
    assert json.loads(out)['format-specific']['data']['compression-type'] == 'zstd'


@pytest.mark.parametrize('cs', CLUSTER_SIZES)
def test_convert_writes_zstd(kemu_img, kemu_io, qemu_img, qemu_io, qemu_images, cs):
    d = qemu_images
    src, dst = f'src{cs}.raw', f'kz{cs}.qcow2'
    rc, out, err = run(kemu_img, 'convert', '-c', '-O', 'qcow2', '-o',
                       f'compression_type=zstd,cluster_size={cs}', src, dst, cwd=d)
    assert rc == 0, err
    rc, out, err = run(qemu_img, 'info', '--output=json', dst, cwd=d)
    assert json.loads(out)['format-specific']['data']['compression-type'] == 'zstd'
    rc, out, err = run(qemu_img, 'check', '--output=json', dst, cwd=d)
    assert rc == 0, out + err
    chk = json.loads(out)
    assert chk['check-errors'] == 0 and 'corruptions' not in chk and 'leaks' not in chk
    assert chk['compressed-clusters'] > 0
    # Random clusters do not shrink: they are stored uncompressed, as qemu-img does.
    assert chk['compressed-clusters'] < chk['allocated-clusters']
    rc, out, err = run(qemu_img, 'compare', src, dst, cwd=d)
    assert rc == 0 and out == 'Images are identical.\n', out + err
    # Same clusters compressed as qemu-img's own copy, and the same frames in them.
    k, q = compressed_clusters(d / dst), compressed_clusters(d / f'q{cs}.qcow2')
    assert [g for g, _, _ in k] == [g for g, _, _ in q]
    # qemu-img check reports the same counts for both copies.
    rc, qout, err = run(qemu_img, 'check', '--output=json', f'q{cs}.qcow2', cwd=d)
    qchk = json.loads(qout)
    for key in ('compressed-clusters', 'allocated-clusters', 'total-clusters'):
        assert chk[key] == qchk[key], key
    rc, out, err = run(qemu_io, '-r', '-c', f'read -v 0 {min(SIZES[cs], 65536)}', dst, cwd=d)
    rc2, out2, err2 = run(qemu_io, '-r', '-c', f'read -v 0 {min(SIZES[cs], 65536)}',
                          f'q{cs}.qcow2', cwd=d)
    assert untimed(out) == untimed(out2)


def test_convert_map_shows_compressed(kemu_img, qemu_img, tmp_path):
    """qemu-img 7.2's map has no 'compressed' key: the compressed clusters show as data
    that the block status maps to no host offset, exactly as for qemu-img's own image."""
    (tmp_path / 's.raw').write_bytes(varied_data(65536, 8))
    for tool, name in ((kemu_img, 'k.qcow2'), (qemu_img, 'q.qcow2')):
        rc, out, err = run(tool, 'convert', '-c', '-O', 'qcow2', '-o', 'compression_type=zstd',
                           's.raw', name, cwd=tmp_path)
        assert rc == 0, err
    kmap = json.loads(run(qemu_img, 'map', '--output=json', 'k.qcow2', cwd=tmp_path)[1])
    qmap = json.loads(run(qemu_img, 'map', '--output=json', 'q.qcow2', cwd=tmp_path)[1])
    strip = [{k: v for k, v in e.items() if k != 'offset'} for e in kmap]
    assert strip == [{k: v for k, v in e.items() if k != 'offset'} for e in qmap]
    # Compressed extents have no host offset.
    compressed = {g for g, _, _ in compressed_clusters(tmp_path / 'k.qcow2')}
    for e in kmap:
        if e['start'] in compressed:
            assert e['data'] and 'offset' not in e


def test_convert_zstd_from_qcow2(kemu_img, qemu_img, qemu_io, tmp_path):
    """kemu-img convert -c from a zlib qcow2 to zstd and back keeps the data."""
    run(qemu_img, 'create', '-q', '-f', 'qcow2', 'src.qcow2', '4M', cwd=tmp_path)
    run(qemu_io, '-c', 'write -P 0x5a 0 1M', '-c', 'write -P 0x11 2M 100k', '-c',
        'write -z 3M 64k', 'src.qcow2', cwd=tmp_path)
    for opt, name in (('compression_type=zstd', 'z.qcow2'), ('compression_type=zlib', 'l.qcow2')):
        rc, out, err = run(kemu_img, 'convert', '-c', '-O', 'qcow2', '-o', opt, 'src.qcow2', name,
                           cwd=tmp_path)
        assert rc == 0, err
        assert run(qemu_img, 'check', name, cwd=tmp_path)[0] == 0
        assert run(qemu_img, 'compare', 'src.qcow2', name, cwd=tmp_path)[0] == 0
    rc, out, err = run(kemu_img, 'convert', '-c', '-O', 'qcow2', 'z.qcow2', 'back.qcow2',
                       cwd=tmp_path)
    assert rc == 0, err
    assert run(qemu_img, 'compare', 'src.qcow2', 'back.qcow2', cwd=tmp_path)[0] == 0
    rc, out, err = run(qemu_img, 'info', 'back.qcow2', cwd=tmp_path)
    assert 'compression type: zlib' in out


@pytest.mark.parametrize('cs', ['512', '64k'])
def test_io_write_compressed(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, cs):
    d = tmp_path
    c = SIZES.get(cs, 512)
    (d / 'rand.bin').write_bytes(random.Random(5).randbytes(c))
    (d / 'text.bin').write_bytes(varied_data(c, 2)[c:])
    writes = [f'write -c -P 0x5a 0 {c}', f'write -c -P 0x33 {4 * c} {c}',
              f'write -c -P 0 {6 * c} {c}', f'write -c -s text.bin {7 * c} {c}',
              f'write -c -s rand.bin {9 * c} {c}']
    args = []
    for w in writes:
        args += ['-c', w]
    # kemu-io on an image kemu-img made, qemu-io on one qemu-img made: same output.
    rc, out, err = run(kemu_img, 'create', '-q', '-f', 'qcow2', '-o',
                       f'compression_type=zstd,cluster_size={cs}', 'k.qcow2', '4M', cwd=d)
    assert rc == 0, err
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', f'compression_type=zstd,cluster_size={cs}',
        'q.qcow2', '4M', cwd=d)
    k = run(kemu_io, *args, 'k.qcow2', cwd=d)
    q = run(qemu_io, *args, 'q.qcow2', cwd=d)
    assert k[0] == q[0] == 0, k[2] + q[2]
    assert untimed(k[1]) == untimed(q[1])
    rc, out, err = run(qemu_img, 'check', '--output=json', 'k.qcow2', cwd=d)
    assert rc == 0, out + err
    chk = json.loads(out)
    qchk = json.loads(run(qemu_img, 'check', '--output=json', 'q.qcow2', cwd=d)[1])
    assert chk['compressed-clusters'] == qchk['compressed-clusters'] == 4   # random: plain
    assert chk['allocated-clusters'] == qchk['allocated-clusters'] == 5
    assert run(qemu_img, 'compare', 'k.qcow2', 'q.qcow2', cwd=d)[0] == 0
    reads = ['-c', f'read -P 0x5a 0 {c}', '-c', f'read -P 0x33 {4 * c} {c}', '-c',
             f'read -P 0 {6 * c} {c}', '-c', f'read -P 0 {c} {3 * c}', '-c',
             f'read -v {7 * c} {c}', '-c', f'read -v {9 * c} {c}']
    rk = run(qemu_io, '-r', *reads, 'k.qcow2', cwd=d)
    rq = run(qemu_io, '-r', *reads, 'q.qcow2', cwd=d)
    assert rk[0] == 0 and 'verification failed' not in rk[1], rk
    assert untimed(rk[1]) == untimed(rq[1])
    # Partial overwrite of a compressed cluster (copy-on-write out of it) by kemu-io.
    rc, out, err = run(kemu_io, '-c', 'write -P 0x44 100 10', 'k.qcow2', cwd=d)
    assert rc == 0, err
    assert run(qemu_img, 'check', 'k.qcow2', cwd=d)[0] == 0
    rc, out, err = run(qemu_io, '-r', '-c', 'read -P 0x5a 0 100', '-c', 'read -P 0x44 100 10',
                       '-c', f'read -P 0x5a 110 {c - 110}', 'k.qcow2', cwd=d)
    assert rc == 0 and 'verification failed' not in out, out + err


def test_io_write_compressed_zlib_unchanged(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path):
    """zlib images keep writing zlib clusters, readable by qemu-io."""
    run(qemu_img, 'create', '-q', '-f', 'qcow2', 'l.qcow2', '1M', cwd=tmp_path)
    rc, out, err = run(kemu_io, '-c', 'write -c -P 0x61 0 64k', 'l.qcow2', cwd=tmp_path)
    assert rc == 0, err
    rc, out, err = run(qemu_io, '-r', '-c', 'read -P 0x61 0 64k', 'l.qcow2', cwd=tmp_path)
    assert rc == 0 and 'verification failed' not in out
    assert 'compression type: zlib' in run(qemu_img, 'info', 'l.qcow2', cwd=tmp_path)[1]


def test_convert_incompressible(kemu_img, qemu_img, tmp_path):
    (tmp_path / 'rand.raw').write_bytes(random.Random(6).randbytes(4 * 65536))
    rc, out, err = run(kemu_img, 'convert', '-c', '-O', 'qcow2', '-o', 'compression_type=zstd',
                       'rand.raw', 'r.qcow2', cwd=tmp_path)
    assert rc == 0, err
    chk = json.loads(run(qemu_img, 'check', '--output=json', 'r.qcow2', cwd=tmp_path)[1])
    assert chk.get('compressed-clusters', 0) == 0 and chk['allocated-clusters'] == 4
    assert run(qemu_img, 'compare', 'rand.raw', 'r.qcow2', cwd=tmp_path)[0] == 0


def _large_compressed_cluster(path):
    """A compressed cluster whose data spans more than two sectors: (guest, host, room),
    room being the bytes up to where the next compressed cluster starts (or the sectors
    end), so that damage stays inside this one cluster."""
    clusters = compressed_clusters(path)
    starts = sorted(h for _, h, _ in clusters)
    for guest, host, stored in clusters:
        after = [h for h in starts if h > host]
        room = min(stored, after[0] - host) if after else stored
        if room > 1024:
            return guest, host, room
    raise AssertionError('no large compressed cluster')


@pytest.mark.parametrize('damage', ['overwrite', 'magic', 'truncate', 'short_frame', 'zeros'])
def test_corrupt_compressed(kemu_img, kemu_io, qemu_img, qemu_io, qemu_images, tmp_path, damage):
    d = qemu_images
    img = tmp_path / 'bad.qcow2'
    img.write_bytes((d / 'q64k.qcow2').read_bytes())
    guest, host, room = _large_compressed_cluster(img)
    if damage == 'overwrite':
        patch(img, host + room // 2, b'\xff' * 64)
    elif damage == 'magic':
        patch(img, host, b'\x00\x00\x00\x00')
    elif damage == 'zeros':
        patch(img, host, bytes(room))
    elif damage == 'truncate':
        # Sector count of the descriptor down to one sector: the frame is cut short.
        cluster_bits, entries = l2_entries(img)
        shift = 62 - (cluster_bits - 8)
        raw = img.read_bytes()
        l1 = struct.unpack('>Q', raw[40:48])[0]
        l2 = struct.unpack('>Q', raw[l1:l1 + 8])[0] & 0x00fffffffffffe00
        entry = dict(entries)[guest]
        entry &= ~(((1 << (cluster_bits - 8)) - 1) << shift)
        patch(img, l2 + 8 * (guest // 65536), struct.pack('>Q', entry))
    else:
        # A well-formed frame of a 4 KiB cluster where a 64 KiB cluster is expected.
        small = d / 'q4k.qcow2'
        frames = [c for c in compressed_clusters(small) if 600 < c[2] <= room]
        assert frames
        _, shost, sstored = frames[0]
        data = small.read_bytes()[shost:shost + sstored]
        patch(img, host, data + bytes(room - sstored))
    other = 0 if guest else 65536 * 3
    cmds = ['-c', f'read {guest} 512', '-c', f'read -v {other} 64', '-c',
            f'read {guest + 60000} 4096']
    k = same_io(kemu_io, qemu_io, ['-r'] + cmds + [str(img)])
    assert 'read failed: Input/output error' in k[1]
    rc, out, err = same(kemu_img, qemu_img, ['convert', '-O', 'raw', str(img),
                                             str(tmp_path / 'o.raw')], tmp_path)
    assert rc == 1
    # The image itself is left as it was: qemu-img check still passes.
    assert run(qemu_img, 'check', img)[0] == 0


@pytest.mark.parametrize('opts', [
    'compression_type=zstd', 'compression_type=zlib', 'compression_type=zstd,cluster_size=4k',
    'compression_type=zstd,cluster_size=2M', 'compression_type=zstd,lazy_refcounts=on',
    'compression_type=zstd,refcount_bits=64', 'compression_type=zstd,compat=1.1',
    'compression_type=zstd,preallocation=metadata',
])
def test_create_header(kemu_img, qemu_img, tmp_path, opts):
    k = run(kemu_img, 'create', '-f', 'qcow2', '-o', opts, 'x.qcow2', '1M', cwd=tmp_path)
    kh = (tmp_path / 'x.qcow2').read_bytes()[:112]
    q = run(qemu_img, 'create', '-f', 'qcow2', '-o', opts, 'x.qcow2', '1M', cwd=tmp_path)
    qh = (tmp_path / 'x.qcow2').read_bytes()[:112]
    assert k[0] == q[0] == 0
    assert k[1] == q[1]
    assert kh == qh
    hlen = struct.unpack('>I', kh[100:104])[0]
    assert hlen == 112 and hlen % 8 == 0
    incompat = struct.unpack('>Q', kh[72:80])[0]
    if 'zstd' in opts:
        assert kh[104] == 1 and incompat & 8
        assert 'compression_type=zstd' in k[1]
    else:
        assert kh[104] == 0 and not incompat & 8


@pytest.mark.parametrize('opts', [
    'compression_type=zstd,compat=0.10', 'compression_type=zstd,compat=v2',
    'compression_type=foo', 'compression_type=ZSTD', 'compression_type=',
    'compression_type=foo,compat=0.10', 'compression_type=zlib,compat=0.10',
    'compat=0.10,compression_type=zstd,lazy_refcounts=on',
    'compat=0.10,compression_type=zstd,refcount_bits=8',
    'compat=0.10,compression_type=zstd,nocow=on',
    'compat=0.10,compression_type=zstd,cluster_size=3000',
])
def test_create_messages(kemu_img, qemu_img, tmp_path, opts):
    same(kemu_img, qemu_img, ['create', '-f', 'qcow2', '-o', opts, 'x.qcow2', '1M'], tmp_path)


def same_error(kemu_img, qemu_img, args, cwd):
    """Exit code and stderr only: kemu-img lists backing_file/backing_fmt/encryption at
    other places of the "Formatting" line than qemu-img (not a compression matter)."""
    k = run(kemu_img, *args, cwd=cwd)
    q = run(qemu_img, *args, cwd=cwd)
    assert k[0] == q[0], f'exit code {args}: kemu {k} qemu {q}'
    assert k[2] == q[2].replace('qemu-img', 'kemu-img'), f'stderr differs for {args}'
    assert ('compression_type=zstd' in k[1]) == ('compression_type=zstd' in q[1])
    return k


@pytest.mark.parametrize('opts', [
    'compat=0.10,compression_type=zstd,backing_fmt=raw',
    'compat=0.10,compression_type=zstd,encryption=on',
    'compat=0.10,compression_type=zstd,encrypt.format=luks',
    'compat=0.10,compression_type=zstd,preallocation=metadata,backing_file=b.qcow2,'
    'backing_fmt=qcow2',
])
def test_create_message_order(kemu_img, qemu_img, tmp_path, opts):
    run(qemu_img, 'create', '-q', '-f', 'qcow2', 'b.qcow2', '1M', cwd=tmp_path)
    same_error(kemu_img, qemu_img, ['create', '-f', 'qcow2', '-o', opts, 'x.qcow2', '1M'],
               tmp_path)


def test_create_messages_with_backing(kemu_img, qemu_img, tmp_path):
    run(qemu_img, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M', cwd=tmp_path)
    for opts in ('compat=0.10,compression_type=zstd', 'compression_type=zstd'):
        same_error(kemu_img, qemu_img, ['create', '-f', 'qcow2', '-o', opts, '-b', 'base.qcow2',
                                        '-F', 'qcow2', 'x.qcow2'], tmp_path)
    same(kemu_img, qemu_img, ['info', 'x.qcow2'], tmp_path)


@pytest.mark.parametrize('args', [
    ['-c', '-O', 'qcow2', '-o', 'compression_type=zstd,compat=0.10'],
    ['-c', '-O', 'qcow2', '-o', 'compression_type=bogus'],
    ['-O', 'qcow2', '-o', 'compression_type=zstd'],
])
def test_convert_messages(kemu_img, qemu_img, tmp_path, args):
    (tmp_path / 's.raw').write_bytes(varied_data(65536, 4))
    rc, out, err = same(kemu_img, qemu_img, ['convert'] + args + ['s.raw', 'o.qcow2'], tmp_path)
    if rc == 0:
        same(kemu_img, qemu_img, ['info', 'o.qcow2'], tmp_path)


@pytest.mark.parametrize('opts', ['compression_type=zstd', 'compression_type=zstd,compat=0.10',
                                  'compression_type=foo', 'compression_type=zstd,cluster_size=4k'])
def test_measure(kemu_img, qemu_img, tmp_path, opts):
    (tmp_path / 's.raw').write_bytes(varied_data(65536, 8))
    same(kemu_img, qemu_img, ['measure', '-O', 'qcow2', '-o', opts, 's.raw'], tmp_path)
    same(kemu_img, qemu_img, ['measure', '-O', 'qcow2', '-o', opts, '--size', '1G'], tmp_path)


# (compression_type byte, incompatible features, header_length): what both tools say.
HEADER_CASES = {
    'zstd_ok': (1, 0x8, 112),
    'unknown_type': (2, 0x8, 112),
    'unknown_type_255': (255, 0x8, 112),
    'unknown_type_no_bit': (3, 0x0, 112),
    'zstd_without_bit': (1, 0x0, 112),
    'zlib_with_bit': (0, 0x8, 112),
    'bit_header_without_field': (1, 0x8, 104),
    'type_past_header': (1, 0x0, 104),
    'header_105': (1, 0x8, 105),
    'unknown_type_and_feature': (2, 0x8 | (1 << 40), 112),
    'zstd_without_bit_and_feature': (1, 1 << 40, 112),
    'unknown_type_bad_refcount_order': (2, 0x8, 112, 96, struct.pack('>I', 7)),
    'unknown_type_corrupt_bit': (2, 0xa, 112),
}


@pytest.mark.parametrize('case', sorted(HEADER_CASES))
def test_open_header(kemu_img, kemu_io, qemu_img, qemu_io, tmp_path, case):
    ctype, incompat, hlen, *extra = HEADER_CASES[case]
    img = 'h.qcow2'
    run(qemu_img, 'create', '-q', '-f', 'qcow2', img, '1M', cwd=tmp_path)
    run(qemu_io, '-c', 'write -P 0x21 0 64k', img, cwd=tmp_path)
    path = tmp_path / img
    patch(path, 72, struct.pack('>Q', incompat))
    patch(path, 100, struct.pack('>I', hlen))
    patch(path, 104, bytes([ctype]))
    if extra:
        patch(path, extra[0], extra[1])
    k = same(kemu_img, qemu_img, ['info', img], tmp_path)
    same_io(kemu_io, qemu_io, ['-r', '-c', 'read -P 0x21 0 64k', img], cwd=tmp_path)
    if case == 'zstd_ok':
        assert k[0] == 0 and 'compression type: zstd' in k[1]


def test_amend(kemu_img, qemu_img, qemu_io, tmp_path):
    d = tmp_path
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', 'z.qcow2', '1M',
        cwd=d)
    run(qemu_img, 'create', '-q', '-f', 'qcow2', 'l.qcow2', '1M', cwd=d)
    for img in ('z.qcow2', 'l.qcow2'):
        for ct in ('zstd', 'zlib', 'foo'):
            same(kemu_img, qemu_img, ['amend', '-o', f'compression_type={ct}', img], d)
            same(kemu_img, qemu_img, ['amend', '-o', f'compression_type={ct},compat=0.10', img],
                 d)


def _zstd_image_for_amend(qemu_img, qemu_io, d, name, compressed):
    run(qemu_img, 'create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', name, '1M', cwd=d)
    ios = ['write -P 0x12 64k 64k', 'write -z 128k 64k']
    if compressed:
        ios.append('write -c -P 0x34 0 64k')
    for io in ios:
        assert run(qemu_io, '-c', io, name, cwd=d)[0] == 0


@pytest.mark.parametrize('compressed', [False, True])
def test_amend_downgrade(kemu_img, qemu_img, qemu_io, tmp_path, compressed):
    d = tmp_path
    _zstd_image_for_amend(qemu_img, qemu_io, d, 'k.qcow2', compressed)
    _zstd_image_for_amend(qemu_img, qemu_io, d, 'q.qcow2', compressed)
    k = run(kemu_img, 'amend', '-o', 'compat=0.10', 'k.qcow2', cwd=d)
    q = run(qemu_img, 'amend', '-o', 'compat=0.10', 'q.qcow2', cwd=d)
    assert k[0] == q[0] and k[1] == q[1]
    assert k[2] == q[2].replace('qemu-img', 'kemu-img').replace('q.qcow2', 'k.qcow2')
    if compressed:
        assert q[0] == 1
        assert 'Cannot downgrade an image with zstd compression type' in q[2]
    for args in (['info', '--output=json'], ['map', '--output=json'], ['check']):
        ko = run(qemu_img, *args, 'k.qcow2', cwd=d)
        qo = run(qemu_img, *args, 'q.qcow2', cwd=d)
        strip = (lambda s: s.replace('k.qcow2', 'X').replace('q.qcow2', 'X'))
        if args[0] == 'info':
            kj, qj = json.loads(ko[1]), json.loads(qo[1])
            kj.pop('actual-size'), qj.pop('actual-size')
            assert kj == {**qj, 'filename': 'k.qcow2'}
        else:
            assert ko[0] == qo[0] and strip(ko[1]) == strip(qo[1]), args
    assert run(qemu_img, 'compare', 'k.qcow2', 'q.qcow2', cwd=d)[0] == 0
    # kemu-img reads what it left.
    same(kemu_img, qemu_img, ['info', 'k.qcow2'], d)
