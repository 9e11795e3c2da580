"""16550A UART (isa-serial) through its I/O ports."""
import os
import time

import pytest

from qtest import QTest, kemu_only, needs_clock

COM1 = 0x3f8
RBR = THR = DLL = 0
IER = DLM = 1
IIR = FCR = 2
LCR, MCR, LSR, MSR, SCR = 3, 4, 5, 6, 7


def serial(args=()):
    return QTest(['-device', 'isa-serial'] + list(args))


def test_reset_values():
    with serial() as q:
        assert q.inb(COM1 + IER) == 0x00
        assert q.inb(COM1 + IIR) == 0x01          # no interrupt pending
        assert q.inb(COM1 + LCR) == 0x00
        assert q.inb(COM1 + MCR) == 0x08          # OUT2, as QEMU resets it
        assert q.inb(COM1 + LSR) == 0x60          # THRE | TEMT
        assert q.inb(COM1 + MSR) == 0xb0          # DCD | DSR | CTS
        assert q.inb(COM1 + SCR) == 0x00


def test_index_selects_com_port():
    with QTest(['-device', 'isa-serial,index=1']) as q:
        assert q.inb(0x2f8 + LSR) == 0x60
        assert q.inb(0x3f8 + LSR) == 0xff         # nothing at COM1


def test_divisor_latch_and_scratch():
    with serial() as q:
        q.outb(COM1 + LCR, 0x80)                  # DLAB
        q.outb(COM1 + DLL, 0x01)
        q.outb(COM1 + DLM, 0x02)
        assert q.inb(COM1 + DLL) == 0x01
        assert q.inb(COM1 + DLM) == 0x02
        q.outb(COM1 + LCR, 0x03)                  # 8N1, DLAB off: IER visible again
        assert q.inb(COM1 + IER) == 0x00
        assert q.inb(COM1 + LCR) == 0x03
        q.outb(COM1 + SCR, 0x5a)
        assert q.inb(COM1 + SCR) == 0x5a


def test_loopback_data_and_modem_lines():
    with serial() as q:
        q.outb(COM1 + MCR, 0x10)                  # LOOP, all outputs off
        assert q.inb(COM1 + MSR) & 0xf0 == 0x00
        q.outb(COM1 + MCR, 0x1f)                  # LOOP | OUT2 | OUT1 | RTS | DTR
        msr = q.inb(COM1 + MSR)
        assert msr & 0xf0 == 0xf0                 # DCD | RI | DSR | CTS follow outputs
        q.outb(COM1 + THR, 0x41)
        assert q.inb(COM1 + LSR) & 0x01           # data ready
        assert q.inb(COM1 + RBR) == 0x41
        assert q.inb(COM1 + LSR) & 0x01 == 0


def test_overrun_without_fifo():
    with serial() as q:
        q.outb(COM1 + MCR, 0x10)
        q.outb(COM1 + THR, 0x01)
        q.outb(COM1 + THR, 0x02)
        lsr = q.inb(COM1 + LSR)
        assert lsr & 0x03 == 0x03                 # DR | OE
        assert q.inb(COM1 + LSR) & 0x02 == 0      # OE cleared by the read
        assert q.inb(COM1 + RBR) == 0x02


def test_fifo_trigger_level_interrupt():
    with serial() as q:
        q.irq_intercept_in('ioapic')
        q.outb(COM1 + MCR, 0x10)                  # loopback
        q.outb(COM1 + FCR, 0x47)                  # FIFO on, clear RX/TX, trigger 4
        q.outb(COM1 + IER, 0x01)                  # received data available
        for b in b'abc':
            q.outb(COM1 + THR, b)
        assert q.inb(COM1 + IIR) == 0xc1          # FIFOs on, nothing pending yet
        assert not q.get_irq(4)
        q.outb(COM1 + THR, ord('d'))
        assert q.inb(COM1 + IIR) == 0xc4          # RDA at the trigger level
        assert q.get_irq(4)
        assert q.inb(COM1 + RBR) == ord('a')      # 3 left: below the trigger level
        assert q.inb(COM1 + IIR) == 0xc1
        assert not q.get_irq(4)
        assert bytes(q.inb(COM1 + RBR) for _ in range(3)) == b'bcd'
        assert q.inb(COM1 + LSR) & 0x01 == 0


def test_fifo_holds_16_bytes_then_overruns():
    with serial() as q:
        q.outb(COM1 + MCR, 0x10)
        q.outb(COM1 + FCR, 0x07)
        for i in range(17):
            q.outb(COM1 + THR, i)
        assert q.inb(COM1 + LSR) & 0x03 == 0x03   # DR | OE
        assert [q.inb(COM1 + RBR) for _ in range(16)] == list(range(16))
        assert q.inb(COM1 + LSR) & 0x01 == 0


def test_thre_interrupt():
    with serial() as q:
        q.irq_intercept_in('ioapic')
        q.outb(COM1 + IER, 0x02)                  # THRE interrupt: THR is empty -> pending
        assert q.get_irq(4)
        assert q.inb(COM1 + IIR) == 0x02
        assert q.inb(COM1 + IIR) == 0x01          # reading IIR cleared it
        assert not q.get_irq(4)
        q.outb(COM1 + THR, 0x20)                  # transmitted -> THR empty again
        assert q.get_irq(4)
        assert q.inb(COM1 + IIR) == 0x02
        q.outb(COM1 + IER, 0x00)
        assert not q.get_irq(4)


def test_line_status_has_priority_over_data():
    with serial() as q:
        q.outb(COM1 + MCR, 0x10)
        q.outb(COM1 + IER, 0x07)
        q.outb(COM1 + THR, 1)
        q.outb(COM1 + THR, 2)                     # overrun
        assert q.inb(COM1 + IIR) == 0x06          # receiver line status first
        q.inb(COM1 + LSR)                         # clears OE
        assert q.inb(COM1 + IIR) == 0x04          # then received data
        q.inb(COM1 + RBR)
        assert q.inb(COM1 + IIR) == 0x02          # then THR empty


def test_output_reaches_chardev_file(tmp_path):
    out = tmp_path / 'serial.out'
    with QTest(['-chardev', 'file,id=s0,path=%s' % out,
                '-device', 'isa-serial,chardev=s0']) as q:
        q.outb(COM1 + LCR, 0x03)
        for b in b'hello\n':
            q.outb(COM1 + THR, b)
        assert q.inb(COM1 + LSR) & 0x60 == 0x60
        deadline = time.time() + 5
        while time.time() < deadline and out.read_bytes() != b'hello\n':
            time.sleep(0.05)
        assert out.read_bytes() == b'hello\n'


@needs_clock
def test_character_timeout_interrupt():
    with serial() as q:
        q.irq_intercept_in('ioapic')
        q.outb(COM1 + LCR, 0x80)
        q.outb(COM1 + DLL, 0x01)                  # 115200 baud: 10 bits = 86.8 us
        q.outb(COM1 + DLM, 0x00)
        q.outb(COM1 + LCR, 0x03)
        q.outb(COM1 + MCR, 0x10)
        q.outb(COM1 + FCR, 0xc7)                  # trigger level 14
        q.outb(COM1 + IER, 0x01)
        q.outb(COM1 + THR, 0x55)
        q.clock_step(200_000)                     # < 4 character times (347 us)
        assert q.inb(COM1 + IIR) == 0xc1
        q.clock_step(200_000)
        assert q.inb(COM1 + IIR) == 0xcc          # character timeout
        assert q.get_irq(4)
        assert q.inb(COM1 + RBR) == 0x55
        assert q.inb(COM1 + IIR) == 0xc1
        assert not q.get_irq(4)


@kemu_only  # QEMU 7.2's file chardev has no input-path
def test_input_from_chardev(tmp_path):
    inp = tmp_path / 'serial.in'
    inp.write_bytes(b'kemu')
    with QTest(['-chardev', 'file,id=s0,path=%s,input-path=%s' % (tmp_path / 'out', inp),
                '-device', 'isa-serial,chardev=s0']) as q:
        q.irq_intercept_in('ioapic')
        q.outb(COM1 + IER, 0x01)
        got = b''
        deadline = time.time() + 5
        while len(got) < 4 and time.time() < deadline:
            if q.inb(COM1 + LSR) & 0x01:
                assert q.inb(COM1 + IIR) == 0x04          # received data available
                got += bytes([q.inb(COM1 + RBR)])
            else:
                time.sleep(0.01)
        assert got == b'kemu'
        assert q.inb(COM1 + LSR) & 0x03 == 0              # nothing more, no overrun
        assert q.inb(COM1 + IIR) == 0x01


@kemu_only  # QEMU 7.2's file chardev has no input-path
def test_input_fills_fifo_after_enable(tmp_path):
    inp = tmp_path / 'serial.in'
    inp.write_bytes(bytes(range(0x41, 0x41 + 20)))
    with QTest(['-chardev', 'file,id=s0,path=%s,input-path=%s' % (tmp_path / 'out', inp),
                '-device', 'isa-serial,chardev=s0']) as q:
        deadline = time.time() + 5
        while not q.inb(COM1 + LSR) & 0x01 and time.time() < deadline:
            time.sleep(0.01)
        first = q.inb(COM1 + RBR)                    # 16450 mode: one byte at a time
        assert first == 0x41
        # FIFO on: this clears the receiver (a byte already in RBR is dropped, as on
        # the chip); from then on up to 16 bytes are taken at a time.
        q.outb(COM1 + FCR, 0xc1)                     # trigger level 14
        q.outb(COM1 + IER, 0x01)
        while q.inb(COM1 + IIR) != 0xc4 and time.time() < deadline:
            time.sleep(0.01)
        assert q.inb(COM1 + IIR) == 0xc4             # >= 14 bytes buffered unread
        got = []
        while (not got or got[-1] != 0x54) and time.time() < deadline:
            if q.inb(COM1 + LSR) & 0x01:
                got.append(q.inb(COM1 + RBR))
            else:
                time.sleep(0.01)
        assert got and got[0] in (0x42, 0x43), got
        assert got == list(range(got[0], 0x55))           # nothing lost after the switch
        assert q.inb(COM1 + LSR) & 0x02 == 0              # never overrun


def test_linux_8250_autoconfig():
    """The checks of Linux's 8250 autoconfig(): scratch, IER, loopback, 16550A FIFO."""
    with serial() as q:
        q.outb(COM1 + SCR, 0xa5)
        assert q.inb(COM1 + SCR) == 0xa5
        q.outb(COM1 + LCR, 0x00)
        q.outb(COM1 + IER, 0x00)
        assert q.inb(COM1 + IER) & 0x0f == 0x00
        q.outb(COM1 + IER, 0x0f)
        assert q.inb(COM1 + IER) & 0x0f == 0x0f
        q.outb(COM1 + IER, 0x00)
        q.outb(COM1 + MCR, 0x1a)                     # LOOP | OUT2 | RTS
        assert q.inb(COM1 + MSR) & 0xf0 == 0x90      # DCD | CTS
        q.outb(COM1 + MCR, 0x00)
        q.outb(COM1 + FCR, 0x01)
        assert q.inb(COM1 + IIR) >> 6 == 3           # FIFOs work: a 16550A
        q.outb(COM1 + LCR, 0xbf)                     # EFR probe: no EFR on a 16550A
        q.outb(COM1 + LCR, 0x03)
        q.outb(COM1 + FCR, 0x00)
        assert q.inb(COM1 + IIR) >> 6 == 0
        # THRE test (UART_BUG_THRE): enabling THRI with THR empty raises it at once.
        q.outb(COM1 + IER, 0x02)
        assert q.inb(COM1 + IIR) & 0x0f == 0x02
        q.outb(COM1 + IER, 0x00)
        assert q.inb(COM1 + IIR) & 0x01
