#!/usr/bin/python3
"""Boot benchmark: kemu vs Debian's qemu-system-x86_64 in the same run.

Measures, for each emulator on the same Multiboot kernel with -m 256 under KVM:
  * start-up: wall time from process start to the first serial line of the guest
  * peak RSS of the emulator process (ru_maxrss)
  * port I/O exit cost: wall time per `out` over 100,000 port 0x80 writes
    (tests/bench/kernels/ioloop.S), measured between the guest's START and DONE lines
and prints ratios kemu/QEMU (lower is better).  Not part of `make check`.

usage: tests/bench/boot.py [--runs N] [--build DIR]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_ioloop(outdir):
    src = os.path.join(ROOT, 'tests', 'bench', 'kernels', 'ioloop.S')
    obj = os.path.join(outdir, 'ioloop.o')
    elf = os.path.join(outdir, 'ioloop.elf')
    subprocess.run(['gcc', '-m32', '-c', src, '-o', obj], check=True)
    subprocess.run(['ld', '-m', 'elf_i386', '-N', '--no-warn-rwx-segments', '-Ttext', '0x100000', '-e', '_start', obj, '-o', elf],
                   check=True)
    return elf


def run_once(binary, kernel, timeout=120):
    """Returns (seconds to first line, seconds START->DONE or None, peak RSS KiB, lines)."""
    cmd = [binary, '-M', 'pc', '-accel', 'kvm', '-m', '256', '-display', 'none', '-nodefaults',
           '-no-reboot', '-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
           '-kernel', kernel]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    first = start = done = None
    lines = []
    deadline = t0 + timeout
    for raw in p.stdout:
        now = time.monotonic()
        line = raw.decode(errors='replace').strip()
        lines.append(line)
        if first is None:
            first = now - t0
        if line.startswith('START'):
            start = now
        if line.startswith('DONE'):
            done = now
        if now > deadline:
            p.kill()
            break
    _, status, ru = os.wait4(p.pid, 0)
    io = (done - start) if start is not None and done is not None else None
    return first, io, ru.ru_maxrss, lines


def measure(name, binary, kernel, runs, want_io):
    firsts, ios, rss = [], [], []
    for _ in range(runs):
        first, io, maxrss, lines = run_once(binary, kernel)
        if first is None:
            sys.exit(f'{name}: no guest output from {kernel}: {lines}')
        firsts.append(first)
        rss.append(maxrss)
        if want_io:
            if io is None:
                sys.exit(f'{name}: ioloop did not finish: {lines}')
            ios.append(io)
    return (statistics.median(firsts), statistics.median(ios) if ios else None,
            statistics.median(rss))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    args = ap.parse_args()
    kemu = os.path.join(args.build, 'kemu-system-x86_64')
    qemu = shutil.which('qemu-system-x86_64')
    if not qemu:
        subprocess.run([os.path.join(ROOT, 'scripts', 'install-deps.sh'), '--test'], check=True)
        qemu = shutil.which('qemu-system-x86_64')
    if not os.path.exists('/dev/kvm'):
        sys.exit('boot benchmark needs /dev/kvm')
    hello = os.path.join(args.build, 'tests', 'kernels', 'hello.elf')
    with tempfile.TemporaryDirectory() as d:
        ioloop = build_ioloop(d)
        res = {}
        for name, binary in (('kemu', kemu), ('qemu', qemu)):
            first, _, rss = measure(name, binary, hello, args.runs, False)
            _, io, rss_io = measure(name, binary, ioloop, max(1, args.runs // 2 + 1), True)
            res[name] = (first, rss, io)
    k, q = res['kemu'], res['qemu']
    print(f'{"metric":34} {"kemu":>12} {"qemu":>12} {"kemu/qemu":>10}')
    print(f'{"start-up to first line (ms)":34} {k[0]*1e3:12.1f} {q[0]*1e3:12.1f} {k[0]/q[0]:10.3f}')
    print(f'{"peak RSS, -m 256 (MiB)":34} {k[1]/1024:12.1f} {q[1]/1024:12.1f} {k[1]/q[1]:10.3f}')
    print(f'{"port I/O exit round trip (us)":34} {k[2]/1e5*1e6:12.2f} {q[2]/1e5*1e6:12.2f} '
          f'{k[2]/q[2]:10.3f}')
    print(f'(median of {args.runs} runs; {qemu} boots its kernel through SeaBIOS, kemu directly)')


if __name__ == '__main__':
    main()
