#!/usr/bin/env python3
"""kemu-img vs qemu-img block benchmark (not part of make check).

Runs the same `bench` parameters through both tools on the same images in one run and prints
times and the kemu/qemu ratio (lower is better for kemu), plus `convert` of a 1 GiB image.
Each case runs --repeat times per tool, alternating which tool goes first; the table shows
the median times, their ratio, and the ratio of the best (minimum) times, which is the
steadier figure on a shared machine (the individual times go to stderr).

    KEMU_BUILD_DIR=build python3 tests/bench/block/bench_img.py [--dir /var/tmp] [--quick] [--repeat N] [--filter TEXT]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def tool(build, name):
    path = os.path.join(build, 'tools', name)
    if not os.path.exists(path):
        sys.exit(f'{path} not built')
    return path


def run(*args):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f'{args}: {p.stderr}')
    return p.stdout


def settle():
    """Write back all dirty page cache before a timed run: otherwise the writeback left by
    the previous run (a 1 GiB convert, the images' creation) throttles whichever tool runs
    next, seen as 0.5 s runs turning into 2.5 s ones for either tool."""
    os.sync()


def bench_time(img_tool, args):
    settle()
    out = run(img_tool, 'bench', *args)
    m = re.search(r'Run completed in ([0-9.]+) seconds', out)
    return float(m.group(1))


def timed(*args):
    settle()
    t = time.monotonic()
    run(*args)
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', default='/var/tmp')
    ap.add_argument('--quick', action='store_true', help='smaller counts')
    ap.add_argument('--repeat', type=int, default=4,
                    help='runs per case and tool, interleaved (an even number lets each tool go '
                         'first equally often); the median is reported')
    ap.add_argument('--filter', default='', help='only cases whose name contains this')
    opts = ap.parse_args()
    build = os.environ.get('KEMU_BUILD_DIR', 'build')
    build = build if os.path.isabs(build) else os.path.join(ROOT, build)
    kemu_img = tool(build, 'kemu-img')
    qemu_img = shutil.which('qemu-img') or sys.exit('qemu-img (qemu-utils) needed')
    qemu_io = shutil.which('qemu-io') or sys.exit('qemu-io (qemu-utils) needed')
    d = tempfile.mkdtemp(prefix='kemu-bench-', dir=opts.dir)
    n4k = 5000 if opts.quick else 20000
    n1m = 200 if opts.quick else 1000
    try:
        images = {}
        for fmt in ('raw', 'qcow2'):
            img = os.path.join(d, f'disk.{fmt}')
            pre = 'preallocation=full' if fmt == 'raw' else 'preallocation=full'
            run(qemu_img, 'create', '-q', '-f', fmt, '-o', pre, img, '1G')
            images[fmt] = img
        rows = []
        step = str(1024 * 1024 + 4096)     # scattered 4 KiB requests (bench has no random mode)
        cases = []
        for fmt in ('raw', 'qcow2'):
            for rw in ('read', 'write'):
                for depth in ('1', '32'):
                    for aio in ('native', 'threads'):
                        args = ['-f', fmt, '-t', 'none', '-i', aio, '-d', depth, '-c', str(n4k),
                                '-s', '4k', '-S', step]
                        if rw == 'write':
                            args.append('-w')
                        cases.append((f'{fmt} 4k {rw} d{depth} {aio}', args, images[fmt]))
            for rw in ('read', 'write'):
                args = ['-f', fmt, '-t', 'none', '-i', 'threads', '-d', '4', '-c', str(n1m),
                        '-s', '1M', '-S', '1M']
                if rw == 'write':
                    args.append('-w')
                cases.append((f'{fmt} 1M seq {rw} d4', args, images[fmt]))
        # Allocating writes: every run starts from an empty qcow2 image (a new VM's disk).
        fresh = os.path.join(d, 'fresh.qcow2')
        for size, count in (('4k', n4k // 2), ('64k', n4k // 4)):
            for aio in ('native', 'threads'):
                args = ['-f', 'qcow2', '-t', 'none', '-i', aio, '-d', '32', '-c', str(count),
                        '-s', size, '-S', step if size == '4k' else '64k', '-w']
                cases.append((f'qcow2 alloc {size} write d32 {aio}', args, fresh))
        cases = [c for c in cases if opts.filter in c[0]]
        for name, args, img in cases:
            ks, qs = [], []
            for r in range(opts.repeat):
                # Alternate which tool goes first so warm caches favour neither.
                order = [(kemu_img, ks), (qemu_img, qs)]
                for t, acc in (order if r % 2 == 0 else order[::-1]):
                    if img == fresh:
                        run(qemu_img, 'create', '-q', '-f', 'qcow2', fresh, '1G')
                    acc.append(bench_time(t, args + [img]))
            rows.append((name, ks, qs))
            print(f'  {name}: kemu {sorted(ks)} qemu {sorted(qs)}', file=sys.stderr, flush=True)
        # convert of a 1 GiB image full of data
        src = os.path.join(d, 'src.qcow2')
        for ofmt in ('raw', 'qcow2'):
            if opts.filter not in f'convert 1G qcow2->{ofmt}':
                continue
            if not os.path.exists(src):
                run(qemu_img, 'create', '-q', '-f', 'qcow2', src, '1G')
                run(qemu_io, '-c', 'write -P 0x5a 0 1G', src)
            outk, outq = os.path.join(d, f'k.{ofmt}'), os.path.join(d, f'q.{ofmt}')
            ks, qs = [], []
            for r in range(opts.repeat):
                order = [(kemu_img, outk, ks), (qemu_img, outq, qs)]
                for t, out, acc in (order if r % 2 == 0 else order[::-1]):
                    acc.append(timed(t, 'convert', '-O', ofmt, src, out))
                    os.unlink(out)
            rows.append((f'convert 1G qcow2->{ofmt}', ks, qs))
            print(f'  convert 1G qcow2->{ofmt}: kemu {sorted(round(k, 3) for k in ks)} '
                  f'qemu {sorted(round(q, 3) for q in qs)}', file=sys.stderr, flush=True)
        print(f'{"case":34} {"kemu s":>9} {"qemu s":>9} {"ratio":>7} {"best":>7}')
        for name, ks, qs in rows:
            k, q = statistics.median(ks), statistics.median(qs)
            print(f'{name:34} {k:9.3f} {q:9.3f} {k / q:7.2f} {min(ks) / min(qs):7.2f}')
    finally:
        shutil.rmtree(d)


if __name__ == '__main__':
    main()
