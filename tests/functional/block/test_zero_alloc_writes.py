"""Guest writes into allocated zero clusters (qcow2 spec "Cluster mapping": an L2 entry with a
host offset and the zero flag, bit 0) against Debian's qemu-io 7.2: the same commands run
through kemu-io and qemu-io on copies of one qemu-made image must leave the same L1/L2 entries,
map, file length and data, and clean images.

What qemu does, found by experiment:
* an unshared one (COPIED set; `write -z` without -u on data keeps the host cluster) is
  written in place: the host cluster stays, the zero flag is cleared, and the part of the
  cluster the guest does not write reads as zeroes (never the old bytes of the host cluster,
  nor backing data): qemu zeroes it with a write-zeroes on the file (map shows it as "zero"
  data), then writes the guest bytes;
* a request over several such clusters, normal and unallocated ones keeps every host cluster
  it can and allocates the rest in turn after the host clusters it just wrote when free
  there (so the freed-and-reused offsets of a copying write never appear);
* a shared one (COPIED clear, after an internal snapshot) is copied on write into a new
  cluster whose unwritten part reads as zeroes; the snapshot keeps its data;
* with extended L2 entries allocated zero subclusters (zero bits over a host cluster) are
  written in place too, and v2 images have no zero flag at all.
"""
import random

import pytest

from conftest import io_args, run
from test_write_zeroes import make_backing, make_pair, run_both

ZERO_ALLOC = ['write -P 1 0 256k', 'write -z 0 256k']          # clusters 0-3 allocated zero
MIXED = ['write -P 1 0 512k', 'write -z 64k 64k', 'write -z 192k 128k', 'write -P 3 640k 64k']
LATE = ['write -P 1 128k 128k', 'write -z 128k 128k']          # clusters 2-3, 0-1 unallocated
WRITES = ['write -P 2 0 64k', 'write -P 2 4k 4k', 'write -P 2 60k 8k', 'write -P 2 32k 256k',
          'write -P 2 200k 100k', 'write -P 2 0 1M', 'write -P 2 100k 600k',
          'write -P 2 32k 200k', 'write -P 2 255k 2k']


def reads_ok(tool, path, cmds):
    """Every `read -P` of cmds verifies through tool."""
    rc, out, err = run(tool, *io_args(cmds), path)
    assert rc == 0 and 'failed' not in out + err, out + err


@pytest.mark.parametrize('pre', ['zero-alloc', 'mixed', 'late'])
@pytest.mark.parametrize('backing', [None, 'data'])
@pytest.mark.parametrize('cmd', WRITES)
def test_writes(kemu_io, qemu_img, qemu_io, tmp_path, pre, backing, cmd):
    """Whole-cluster, partial and spanning writes over allocated zero clusters, alone and
    among normal and unallocated ones, with and without backing data."""
    b = make_backing(qemu_img, qemu_io, tmp_path, backing) if backing else None
    k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', backing=b,
                     pre={'zero-alloc': ZERO_ALLOC, 'mixed': MIXED, 'late': LATE}[pre])
    run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd], exact_map=False)


@pytest.mark.parametrize('backing', [None, 'data'])
def test_rest_reads_zeroes(kemu_io, qemu_img, qemu_io, tmp_path, backing):
    """The unwritten part of a written allocated zero cluster reads as zeroes: not the old
    bytes of its host cluster, not backing data."""
    b = make_backing(qemu_img, qemu_io, tmp_path, backing) if backing else None
    k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', backing=b, pre=ZERO_ALLOC)
    cmds = ['write -P 2 4k 4k', 'write -P 3 124k 8k']
    run_both(kemu_io, qemu_io, qemu_img, k, q, cmds, exact_map=False)
    reads_ok(kemu_io, k, ['read -P 0 0 4k', 'read -P 2 4k 4k', 'read -P 0 8k 116k',
                          'read -P 3 124k 8k', 'read -P 0 132k 124k'])


@pytest.mark.parametrize('cmd', ['write -P 2 4k 4k', 'write -P 2 0 64k', 'write -P 2 32k 256k',
                                 'write -P 2 60k 100k'])
def test_shared(kemu_io, qemu_img, qemu_io, tmp_path, cmd):
    """A snapshot shares the allocated zero clusters: copied on write, the snapshot keeps
    its data (zeroes, then the data left beyond)."""
    k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1',
                     pre=['write -P 1 0 256k', 'write -z 0 128k'], snapshot=True)
    run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd], exact_map=False)
    for path in (k, q):
        assert run(qemu_img, 'snapshot', '-a', 's1', path)[0] == 0
    run_both(kemu_io, qemu_io, qemu_img, k, q, [], exact_map=False)
    reads_ok(kemu_io, k, ['read -P 0 0 128k', 'read -P 1 128k 128k'])


@pytest.mark.parametrize('pre', [ZERO_ALLOC, ['write -P 1 0 256k', 'write -z 4k 8k',
                                              'write -z 64k 64k']])
@pytest.mark.parametrize('backing', [None, 'data'])
@pytest.mark.parametrize('cmd', WRITES[:5])
def test_extended_l2(kemu_io, qemu_img, qemu_io, tmp_path, pre, backing, cmd):
    """Allocated zero subclusters are written in place as well."""
    b = make_backing(qemu_img, qemu_io, tmp_path, backing) if backing else None
    k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1,extended_l2=on', backing=b,
                     pre=pre)
    run_both(kemu_io, qemu_io, qemu_img, k, q, [cmd], exact_map=False)


@pytest.mark.parametrize('seed', range(6))
def test_random_sequences(kemu_io, qemu_img, qemu_io, tmp_path, seed):
    """Random writes and zeroings (without unmap: allocated zero clusters) over a few
    clusters, some of them shared with a snapshot."""
    rnd = random.Random(seed)
    k, q = make_pair(qemu_img, qemu_io, tmp_path, 'compat=1.1', pre=MIXED,
                     snapshot=seed % 2 == 1)
    cmds = []
    for _ in range(12):
        off, length = rnd.randrange(0, 512, 4), rnd.choice([1, 4, 60, 64, 100, 200])
        length = min(length, 768 - off)
        kind = rnd.choice(['-P %d' % rnd.randrange(1, 256), '-z', '-P 0'])
        cmds.append(f'write {kind} {off}k {length}k')
    run_both(kemu_io, qemu_io, qemu_img, k, q, cmds, exact_map=False)
