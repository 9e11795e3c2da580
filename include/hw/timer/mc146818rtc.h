/*
 * "mc146818rtc": Motorola MC146818A real-time clock and CMOS RAM (hw/timer/mc146818rtc.c).
 *
 * The board fills the CMOS bytes firmware reads (bochs/QEMU CMOS map, as SeaBIOS
 * expects):  0x15/0x16 base memory in KiB (640), 0x17/0x18 and 0x30/0x31 memory
 * above 1 MiB in KiB (capped at 0xffff), 0x34/0x35 memory above 16 MiB in 64 KiB
 * units (capped at 0xffff, only below 4 GiB), 0x5b/0x5c/0x5d memory above 4 GiB in
 * 64 KiB units (24 bits), 0x5f number of CPUs - 1; rtc_set_pc_memory() does these.
 * Set the property base_year=2000 on PCs (as QEMU's pc machine does): the year
 * register holds (year - base_year) % 100 and 0x32 the century.
 */
#ifndef HW_TIMER_MC146818RTC_H
#define HW_TIMER_MC146818RTC_H

#include <stdint.h>

#include "hw/qdev.h"
#include "kemu/error.h"

#define RTC_ISA_IRQ 8
#define RTC_CMOS_SIZE 128

/* QEMU's -rtc option: [base=utc|localtime|DATETIME][,clock=host|rt|vm][,driftfix=none|slew]
 * (DATETIME as 2006-06-17T16:01:21 or 2006-06-17, UTC).  Applies to RTCs realized
 * afterwards.  Defaults: base=utc, clock=host (clock=vm under -accel qtest). */
bool rtc_configure(const char *optarg, Error **errp);

void rtc_set_cmos(DeviceState *dev, int index, uint8_t val);
uint8_t rtc_get_cmos(DeviceState *dev, int index);
/* Store the PC memory-size and CPU-count bytes listed above. */
void rtc_set_pc_memory(DeviceState *dev, uint64_t ram_below_4g, uint64_t ram_above_4g,
                       unsigned cpus);
/* The other bytes QEMU's pc machine stores: 0x14 equipment (0x06: FPU and PS/2 mouse,
 * no floppy, EGA/VGA), 0x37 century (IBM PS/2 location), and SeaBIOS's legacy boot
 * order from a -boot order string ("cad" by default: 0x3d = 0x12, 0x38 = 0x30; letters
 * a floppy, c disk, d CD-ROM, n network). */
void rtc_set_pc_misc(DeviceState *dev, const char *boot_order);

#endif
