"""The qtest protocol itself (QEMU docs/devel/qtest.rst)."""
import base64
import re
import socket
import subprocess
import time

from qtest import QTest, kemu_only, needs_clock, system_binary


def test_memory_commands():
    with QTest() as q:
        q.writeb(0x1000, 0x12)
        q.writew(0x1002, 0x3456)
        q.writel(0x1004, 0x789abcde)
        q.writeq(0x1008, 0x0123456789abcdef)
        assert q.readb(0x1000) == 0x12
        assert q.readw(0x1002) == 0x3456
        assert q.readl(0x1004) == 0x789abcde
        assert q.readq(0x1008) == 0x0123456789abcdef
        assert q.memread(0x1000, 4) == bytes([0x12, 0x00, 0x56, 0x34])
        assert q.cmd('readb 0x1000') == '0x0000000000000012'
        q.memwrite(0x2000, b'\x01\x02\x03')
        assert q.memread(0x2000, 3) == b'\x01\x02\x03'
        q.cmd('write 0x2000 4 0xaa')                 # short data: the rest is zero
        assert q.memread(0x2000, 4) == b'\xaa\x00\x00\x00'
        q.memset(0x2000, 8, 0x5a)
        assert q.memread(0x2000, 8) == b'\x5a' * 8
        data = bytes(range(32))
        q.cmd('b64write 0x3000 32 ' + base64.b64encode(data).decode())
        assert base64.b64decode(q.cmd('b64read 0x3000 32')) == data


def test_io_reply_format():
    with QTest() as q:
        assert q.cmd('inb 0x80') == '0x00ff'
        assert q.cmd('inw 0x80') == '0xffff'
        assert q.cmd('inl 0x80') == '0xffffffff'
        assert q.cmd('endianness') == 'little'


def test_unknown_command():
    with QTest() as q:
        assert q.raw('frobnicate 1 2') == "FAIL Unknown command 'frobnicate'"


@kemu_only
def test_malformed_commands_fail():
    # QEMU asserts (and dies) on these; kemu answers FAIL and keeps going.
    with QTest() as q:
        for bad in ('inb', 'inb zz', 'outb 0x80', 'inb 0x10000', 'readb', 'read 0 0',
                    'write 0 4 zz', 'clock_step -5', 'memset 0 4'):
            assert q.raw(bad).startswith('FAIL'), bad
        assert q.cmd('inb 0x80') == '0x00ff'         # still alive


@needs_clock
def test_clock_step_and_set():
    with QTest() as q:
        t0 = q.clock_step(1)
        assert q.clock_step(1000) == t0 + 1000
        assert q.clock_set(t0 + 5000) == t0 + 5000
        assert q.clock_set(t0) == t0 + 5000          # the clock never goes back
        # Without an argument: to the next timer deadline (the RTC's periodic timer).
        q.outb(0x70, 0x0b)
        q.outb(0x71, 0x42)                           # PIE at 1024 Hz
        t = q.clock_step()
        assert t0 + 5000 < t <= t0 + 5000 + 976563


@kemu_only
def test_connection_close_ends_the_process():
    # kemu exits when the test goes away (QEMU keeps running until killed).
    q = QTest()
    q.sock.close()
    assert q.proc.wait(timeout=10) is not None
    q.close()


def test_log_records_received_and_sent_lines():
    with QTest() as q:
        q.cmd('inb 0x80')
        q.cmd('endianness')
    log = q.log_text                                 # complete once the emulator is gone
    assert re.search(r'^\[R \+\d+\.\d{6}\] inb 0x80$', log, re.M), log
    assert re.search(r'^\[S \+\d+\.\d{6}\] OK 0x00ff$', log, re.M), log
    assert re.search(r'^\[S \+\d+\.\d{6}\] OK little$', log, re.M), log


@kemu_only
def test_server_mode_socket(tmp_path):
    sock_path = str(tmp_path / 'srv.sock')
    exe = system_binary()
    proc = subprocess.Popen([exe, '-M', 'pc', '-accel', 'qtest', '-display', 'none',
                             '-nodefaults', '-qtest', 'unix:%s,server=on' % sock_path,
                             '-qtest-log', 'none'],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.time() + 10
        while True:
            try:
                s.connect(sock_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                assert time.time() < deadline, 'kemu did not listen'
                time.sleep(0.05)
        s.sendall(b'inb 0x80\n')
        s.settimeout(10)
        assert s.recv(100) == b'OK 0x00ff\n'
        s.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
