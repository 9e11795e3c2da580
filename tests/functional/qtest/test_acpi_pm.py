"""ACPI PM registers of the PIIX4 PM function (00:01.3): PM1, PM timer, GPE0, S5."""
from qtest import QTest, needs_clock

PM = 0x600
PM1_STS, PM1_EN, PM1_CNT, PM_TMR = PM, PM + 2, PM + 4, PM + 8
GPE0_STS, GPE0_EN = 0xafe0, 0xafe2
PM_FREQ = 3579545


def enable_pm_io(q):
    """Program PMBA and PMIOSE as SeaBIOS does."""
    q.pci_cfg_write(1, 3, 0x40, PM | 1)
    q.pci_cfg_write(1, 3, 0x80, 0x01, size=1)
    assert q.pci_cfg_read(1, 3, 0x00) == 0x71138086  # the PIIX4 PM function


def test_pm1_registers():
    with QTest() as q:
        enable_pm_io(q)
        assert q.inw(PM1_STS) & 0x0520 == 0          # no GBL/PWRBTN/RTC status
        assert q.inw(PM1_EN) == 0
        q.outw(PM1_EN, 0x0100)                       # PWRBTN_EN
        assert q.inw(PM1_EN) == 0x0100
        q.outw(PM1_CNT, 0x0001)                      # SCI_EN, no sleep
        assert q.inw(PM1_CNT) & 0x0001 == 0x0001
        q.outw(PM1_CNT, 0x0c01)                      # SLP_TYP = 3 without SLP_EN: stays on
        assert q.inw(PM1_CNT) & 0x1c00 == 0x0c00


def test_gpe0_block():
    with QTest() as q:
        enable_pm_io(q)
        assert q.inw(GPE0_STS) == 0
        q.outw(GPE0_EN, 0x0002)
        assert q.inw(GPE0_EN) == 0x0002
        q.outw(GPE0_STS, 0xffff)                     # write 1 to clear: nothing set
        assert q.inw(GPE0_STS) == 0


def test_s5_powers_off():
    q = QTest()
    enable_pm_io(q)
    q.send('outw 0x%x 0x2000' % PM1_CNT)             # SLP_TYP 0 (\\_S5) | SLP_EN
    assert q.wait_exit() == 0


@needs_clock
def test_pm_timer_frequency():
    with QTest() as q:
        enable_pm_io(q)
        t0 = q.inl(PM_TMR)
        assert t0 <= 0xffffff                        # 24-bit counter
        q.clock_step(1_000_000_000)
        t1 = q.inl(PM_TMR)
        assert abs(((t1 - t0) & 0xffffff) - PM_FREQ) <= 1
        q.clock_step(10_000_000)
        t2 = q.inl(PM_TMR)
        assert abs(((t2 - t1) & 0xffffff) - PM_FREQ // 100) <= 1


@needs_clock
def test_timer_overflow_raises_sci():
    with QTest() as q:
        q.irq_intercept_in('ioapic')
        enable_pm_io(q)
        q.outw(PM1_STS, 0xffff)
        q.outw(PM1_EN, 0x0001)                       # TMR_EN
        assert not q.get_irq(9)
        q.clock_step(2_400_000_000)                  # bit 23 toggles every 2.34 s
        assert q.get_irq(9)
        assert q.inw(PM1_STS) & 0x0001
        q.outw(PM1_STS, 0x0001)                      # clear TMR_STS
        assert not q.get_irq(9)
        assert q.inw(PM1_STS) & 0x0001 == 0
