/*
 * "mc146818rtc": Motorola MC146818A real-time clock plus RAM, per the MC146818A
 * datasheet (Motorola, "MC146818A Real-Time Clock Plus RAM (RTC)"):
 *   Figure 3 / Table 2   address map: time, alarm, date bytes 0-9, registers A-D
 *   Table 3              data modes (binary or BCD, 12 or 24 hour with PM in bit 7)
 *   "Register A"         UIP, DV2-0 divider (010 = 32.768 kHz time base, 11x = reset),
 *                        RS3-0 periodic rate (Table 5)
 *   "Register B"         SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE
 *   "Register C"         IRQF, PF, AF, UF, cleared by reading C
 *   "Register D"         VRT (valid RAM and time)
 *   "Update Cycle"       UIP is high from 244 us before an update to its end (1984 us)
 *   "Alarm"              0xC0-0xFF in an alarm byte means "don't care"
 * As on IBM PC/AT compatibles: index port 0x70 (bit 7 masks NMI), data port 0x71,
 * IRQ 8, and the century at CMOS 0x32.
 *
 * Time model: guest time = clock + offset.  The clock is the host wall clock
 * (KEMU_CLOCK_HOST; QEMU's default -rtc clock=host), host monotonic time (clock=rt) or
 * the virtual clock (clock=vm, the default under qtest so tests step it); the offset
 * starts at the -rtc base: host UTC (base=utc, the default), host local time
 * (base=localtime) or a given date.  Time bytes are computed when read, flags
 * (UF/AF/PF) are evaluated lazily when register C is read, and timers run only while
 * an interrupt is enabled.  Lost periodic ticks are discarded (lost_tick_policy).
 */
#include "system/timer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hw/isa.h"
#include "hw/qdev.h"
#include "hw/timer/mc146818rtc.h"
#include "kemu/option.h"
#include "system/qtest.h"

#define RTC_SECONDS        0x00
#define RTC_SECONDS_ALARM  0x01
#define RTC_MINUTES        0x02
#define RTC_MINUTES_ALARM  0x03
#define RTC_HOURS          0x04
#define RTC_HOURS_ALARM    0x05
#define RTC_DAY_OF_WEEK    0x06
#define RTC_DAY_OF_MONTH   0x07
#define RTC_MONTH          0x08
#define RTC_YEAR           0x09
#define RTC_REG_A          0x0a
#define RTC_REG_B          0x0b
#define RTC_REG_C          0x0c
#define RTC_REG_D          0x0d
#define RTC_CENTURY        0x32 /* IBM PC convention */

#define REG_A_UIP   0x80
#define REG_A_DV    0x70
#define REG_A_RS    0x0f
#define REG_A_DV_32K 0x20

#define REG_B_SET   0x80
#define REG_B_PIE   0x40
#define REG_B_AIE   0x20
#define REG_B_UIE   0x10
#define REG_B_SQWE  0x08
#define REG_B_DM    0x04 /* 1 = binary, 0 = BCD */
#define REG_B_24H   0x02
#define REG_B_DSE   0x01

#define REG_C_IRQF  0x80
#define REG_C_PF    0x40
#define REG_C_AF    0x20
#define REG_C_UF    0x10

#define REG_D_VRT   0x80

#define RTC_NS        1000000000LL
#define RTC_UIP_NS    (244000LL + 1984000LL) /* UIP setup time + update cycle */

typedef struct RTCState {
    ISADevice parent;
    uint8_t cmos_data[RTC_CMOS_SIZE];
    uint8_t cmos_index;
    bool nmi_disabled;
    int32_t base_year;
    uint16_t iobase;
    uint8_t isairq;
    int32_t lost_tick_policy;
    /* Time keeping */
    ClockType clock;
    /* Guest time, in seconds since 1970 UTC, is floor((clock + offset_subns) / 1e9) +
     * offset_sec and its phase within the second (clock + offset_subns) mod 1e9: split
     * so that any date the registers can hold (years 0-16665) is representable. */
    int64_t offset_sec;
    int64_t offset_subns;      /* 0 .. 1e9-1 */
    int32_t wday_offset;       /* guest-written day of week minus the computed one */
    int64_t last_update_sec;   /* last second whose update cycle was accounted (UF/AF) */
    int64_t last_periodic;     /* last periodic tick accounted (PF) */
    Timer *update_timer;
    Timer *periodic_timer;
    Irq *irq;
    int irq_level;
    MemoryRegion io;
} RTCState;

static const char *const rtc_lost_tick_policy_names[] = { "discard", "delay", "slew", NULL };

/* -rtc configuration (rtc_configure). */
typedef enum RTCBase { RTC_BASE_UTC, RTC_BASE_LOCALTIME, RTC_BASE_DATETIME } RTCBase;
static RTCBase rtc_base = RTC_BASE_UTC;
static int64_t rtc_base_datetime;      /* seconds since 1970, for RTC_BASE_DATETIME */
static bool rtc_clock_set;
static ClockType rtc_clock_type = KEMU_CLOCK_HOST;

static bool rtc_parse_datetime(const char *str, int64_t *out)
{
    struct tm tm = { 0 };
    int n = 0;

    if (sscanf(str, "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || str[n]) {
        tm = (struct tm){ 0 };
        n = 0;
        if (sscanf(str, "%d-%d-%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 ||
            str[n]) {
            return false;
        }
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) {
        return false;
    }
    *out = (int64_t)t;
    return true;
}

bool rtc_configure(const char *optarg, Error **errp)
{
    static const char *const keys[] = { "base", "clock", "driftfix", NULL };
    Opts *o = opts_parse(optarg, NULL, errp);
    bool ok = false;

    if (!o || !opts_check_keys(o, keys, errp)) {
        goto out;
    }
    const char *v = opts_get(o, "base");
    if (v) {
        if (!strcmp(v, "utc")) {
            rtc_base = RTC_BASE_UTC;
        } else if (!strcmp(v, "localtime")) {
            rtc_base = RTC_BASE_LOCALTIME;
        } else if (rtc_parse_datetime(v, &rtc_base_datetime)) {
            rtc_base = RTC_BASE_DATETIME;
        } else {
            error_setg(errp, "invalid datetime format");
            error_append_hint(errp, "valid formats: '2006-06-17T16:01:21' or '2006-06-17'\n");
            goto out;
        }
    }
    v = opts_get(o, "clock");
    if (v) {
        if (!strcmp(v, "host")) {
            rtc_clock_type = KEMU_CLOCK_HOST;
        } else if (!strcmp(v, "rt")) {
            rtc_clock_type = KEMU_CLOCK_REALTIME;
        } else if (!strcmp(v, "vm")) {
            rtc_clock_type = KEMU_CLOCK_VIRTUAL;
        } else {
            error_setg(errp, "invalid option value '%s'", v);
            goto out;
        }
        rtc_clock_set = true;
    }
    v = opts_get(o, "driftfix");
    if (v && strcmp(v, "none") != 0 && strcmp(v, "slew") != 0) {
        error_setg(errp, "invalid option value '%s'", v);
        goto out;
    }
    ok = true; /* driftfix=slew: accepted; lost ticks are discarded either way */
out:
    opts_free(o);
    return ok;
}

/* Guest time at start-up per the -rtc base: seconds since 1970 and ns phase. */
static void rtc_initial_time(int64_t *sec, int64_t *frac)
{
    int64_t host = clock_get_ns(KEMU_CLOCK_HOST);

    *sec = host / 1000000000LL;
    *frac = host % 1000000000LL;
    if (rtc_base == RTC_BASE_LOCALTIME) {
        time_t t = (time_t)*sec;
        struct tm tm;
        if (localtime_r(&t, &tm)) {
            *sec += tm.tm_gmtoff;
        }
    } else if (rtc_base == RTC_BASE_DATETIME) {
        *sec = rtc_base_datetime;
        *frac = 0;
    }
}

static int64_t rtc_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool rtc_running(const RTCState *s)
{
    return !(s->cmos_data[RTC_REG_B] & REG_B_SET) &&
           (s->cmos_data[RTC_REG_A] & REG_A_DV) == REG_A_DV_32K;
}

static int64_t rtc_floor_mod(int64_t a, int64_t b)
{
    return a - rtc_floor_div(a, b) * b;
}

/* Current guest second. */
static int64_t rtc_now_sec(const RTCState *s)
{
    return rtc_floor_div(clock_get_ns(s->clock) + s->offset_subns, 1000000000LL) +
           s->offset_sec;
}

/* Make the guest time `sec` + `frac_ns` now. */
static void rtc_set_guest_time(RTCState *s, int64_t sec, int64_t frac_ns)
{
    int64_t now = clock_get_ns(s->clock);

    s->offset_subns = rtc_floor_mod(frac_ns - now, 1000000000LL);
    s->offset_sec = sec - rtc_floor_div(now + s->offset_subns, 1000000000LL);
}

static uint8_t rtc_to_reg(const RTCState *s, int v)
{
    if (s->cmos_data[RTC_REG_B] & REG_B_DM) {
        return (uint8_t)v;
    }
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int rtc_from_reg(const RTCState *s, uint8_t v)
{
    if (s->cmos_data[RTC_REG_B] & REG_B_DM) {
        return v;
    }
    return ((v >> 4) & 0x0f) * 10 + (v & 0x0f);
}

static uint8_t rtc_hour_to_reg(const RTCState *s, int hour)
{
    if (s->cmos_data[RTC_REG_B] & REG_B_24H) {
        return rtc_to_reg(s, hour);
    }
    int h12 = hour % 12 ? hour % 12 : 12;
    return rtc_to_reg(s, h12) | (hour >= 12 ? 0x80 : 0);
}

static int rtc_hour_from_reg(const RTCState *s, uint8_t v)
{
    if (s->cmos_data[RTC_REG_B] & REG_B_24H) {
        return rtc_from_reg(s, v);
    }
    int h = rtc_from_reg(s, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

/* Encode second `sec` (since 1970 UTC) into the time, date and century bytes. */
static void rtc_store_time(RTCState *s, int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;

    if (!gmtime_r(&t, &tm)) {
        return;
    }
    int year = tm.tm_year + 1900 - s->base_year;
    int rel = (int)rtc_floor_div(year, 100);
    s->cmos_data[RTC_SECONDS] = rtc_to_reg(s, tm.tm_sec);
    s->cmos_data[RTC_MINUTES] = rtc_to_reg(s, tm.tm_min);
    s->cmos_data[RTC_HOURS] = rtc_hour_to_reg(s, tm.tm_hour);
    s->cmos_data[RTC_DAY_OF_WEEK] = rtc_to_reg(s, (tm.tm_wday + s->wday_offset + 7) % 7 + 1);
    s->cmos_data[RTC_DAY_OF_MONTH] = rtc_to_reg(s, tm.tm_mday);
    s->cmos_data[RTC_MONTH] = rtc_to_reg(s, tm.tm_mon + 1);
    s->cmos_data[RTC_YEAR] = rtc_to_reg(s, year - rel * 100);
    s->cmos_data[RTC_CENTURY] = rtc_to_reg(s, (rel + s->base_year / 100) % 100);
}

/* Decode the time bytes into seconds since 1970 UTC (and remember the day of week). */
static int64_t rtc_load_time(RTCState *s)
{
    struct tm tm = { 0 };
    int century = rtc_from_reg(s, s->cmos_data[RTC_CENTURY]);

    tm.tm_sec = rtc_from_reg(s, s->cmos_data[RTC_SECONDS]);
    tm.tm_min = rtc_from_reg(s, s->cmos_data[RTC_MINUTES]);
    tm.tm_hour = rtc_hour_from_reg(s, s->cmos_data[RTC_HOURS]);
    tm.tm_mday = rtc_from_reg(s, s->cmos_data[RTC_DAY_OF_MONTH]);
    tm.tm_mon = rtc_from_reg(s, s->cmos_data[RTC_MONTH]) - 1;
    tm.tm_year = rtc_from_reg(s, s->cmos_data[RTC_YEAR]) +
                 100 * (century - s->base_year / 100) + s->base_year - 1900;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) {
        t = 0;
    }
    /* timegm normalised tm: recompute the weekday the guest chose relative to it. */
    int wday = rtc_from_reg(s, s->cmos_data[RTC_DAY_OF_WEEK]) - 1;
    s->wday_offset = ((wday - tm.tm_wday) % 7 + 7) % 7;
    return (int64_t)t;
}

/* Periodic interrupt period in ns of the clock (Table 5), 0 when off. */
static int64_t rtc_periodic_period_ns(const RTCState *s, int64_t *cycles_out)
{
    int rs = s->cmos_data[RTC_REG_A] & REG_A_RS;

    if (rs == 0 || (s->cmos_data[RTC_REG_A] & REG_A_DV) != REG_A_DV_32K) {
        return 0;
    }
    int64_t cycles = rs <= 2 ? (1LL << (rs + 6)) : (1LL << (rs - 1)); /* of 32768 Hz */
    if (cycles_out) {
        *cycles_out = cycles;
    }
    return cycles * RTC_NS / 32768;
}

/* Index of the last periodic tick at clock time `now` (ticks are aligned to clock 0). */
static int64_t rtc_periodic_tick(int64_t now, int64_t cycles)
{
    __int128 c = (__int128)now * 32768;
    return (int64_t)((c / RTC_NS) / cycles);
}

static bool rtc_alarm_matches(RTCState *s, int64_t sec)
{
    static const int pairs[3][2] = {
        { RTC_SECONDS_ALARM, RTC_SECONDS },
        { RTC_MINUTES_ALARM, RTC_MINUTES },
        { RTC_HOURS_ALARM, RTC_HOURS },
    };

    rtc_store_time(s, sec);
    for (int i = 0; i < 3; i++) {
        uint8_t alarm = s->cmos_data[pairs[i][0]];
        if ((alarm & 0xc0) != 0xc0 && alarm != s->cmos_data[pairs[i][1]]) {
            return false;
        }
    }
    return true;
}

static void rtc_update_irq(RTCState *s)
{
    uint8_t c = s->cmos_data[RTC_REG_C] & (REG_C_PF | REG_C_AF | REG_C_UF);
    uint8_t b = s->cmos_data[RTC_REG_B];

    if (((c & REG_C_PF) && (b & REG_B_PIE)) || ((c & REG_C_AF) && (b & REG_B_AIE)) ||
        ((c & REG_C_UF) && (b & REG_B_UIE))) {
        c |= REG_C_IRQF;
    }
    s->cmos_data[RTC_REG_C] = c;
    int level = !!(c & REG_C_IRQF);
    if (level != s->irq_level) {
        s->irq_level = level;
        irq_set(s->irq, level);
    }
}

/* Account for update cycles and periodic ticks that happened up to now. */
static void rtc_update_flags(RTCState *s)
{
    if (rtc_running(s)) {
        int64_t cur = rtc_now_sec(s);
        if (cur > s->last_update_sec) {
            s->cmos_data[RTC_REG_C] |= REG_C_UF;
            /* Alarm: did any second in (last, cur] match?  A day covers every time. */
            int64_t from = cur - s->last_update_sec > 86400 ? cur - 86399
                                                            : s->last_update_sec + 1;
            for (int64_t sec = from; sec <= cur; sec++) {
                if (rtc_alarm_matches(s, sec)) {
                    s->cmos_data[RTC_REG_C] |= REG_C_AF;
                    break;
                }
            }
            rtc_store_time(s, cur);
            s->last_update_sec = cur;
        }
    }
    int64_t cycles;
    if (rtc_periodic_period_ns(s, &cycles)) {
        int64_t tick = rtc_periodic_tick(clock_get_ns(s->clock), cycles);
        if (tick > s->last_periodic) {
            s->cmos_data[RTC_REG_C] |= REG_C_PF;
            s->last_periodic = tick;
        }
    }
    rtc_update_irq(s);
}

/* Arm or stop the timers according to the enabled interrupts. */
static void rtc_rearm(RTCState *s)
{
    uint8_t b = s->cmos_data[RTC_REG_B];
    int64_t now = clock_get_ns(s->clock);
    int64_t cycles;

    if (rtc_running(s) && (b & (REG_B_UIE | REG_B_AIE))) {
        /* Next second boundary of the guest clock, in clock time. */
        int64_t t = now + s->offset_subns;
        timer_mod(s->update_timer, (rtc_floor_div(t, RTC_NS) + 1) * RTC_NS - s->offset_subns);
    } else {
        timer_del(s->update_timer);
    }
    if ((b & REG_B_PIE) && rtc_periodic_period_ns(s, &cycles)) {
        int64_t tick = rtc_periodic_tick(now, cycles) + 1;
        /* First clock ns at which the tick counter reaches `tick` (ceil division). */
        __int128 c = (__int128)tick * cycles * RTC_NS;
        int64_t expire = (int64_t)((c + 32767) / 32768);
        timer_mod(s->periodic_timer, expire);
    } else {
        timer_del(s->periodic_timer);
    }
}

static void rtc_timer_cb(void *opaque)
{
    RTCState *s = opaque;

    rtc_update_flags(s);
    rtc_rearm(s);
}

/* Stop the visible clock: the time bytes keep the current time. */
static void rtc_freeze(RTCState *s)
{
    rtc_update_flags(s);
    rtc_store_time(s, rtc_now_sec(s));
}

/* Restart the visible clock from the time bytes; `frac_ns` is the phase within the
 * second (kept across SET; 500 ms after a divider reset, datasheet "Register A"). */
static void rtc_thaw(RTCState *s, int64_t frac_ns)
{
    int64_t sec = rtc_load_time(s);

    rtc_set_guest_time(s, sec, frac_ns);
    s->last_update_sec = sec;
}

static int64_t rtc_phase_ns(const RTCState *s)
{
    return rtc_floor_mod(clock_get_ns(s->clock) + s->offset_subns, RTC_NS);
}

static void rtc_write_data(RTCState *s, uint8_t idx, uint8_t val)
{
    bool was_running = rtc_running(s);

    switch (idx) {
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        if (was_running) {
            int64_t frac = rtc_phase_ns(s);
            rtc_freeze(s);
            s->cmos_data[idx] = val;
            rtc_thaw(s, frac);
        } else {
            s->cmos_data[idx] = val;
        }
        break;
    case RTC_REG_A: {
        uint8_t old = s->cmos_data[RTC_REG_A];
        int64_t frac = 0;
        if (was_running) {
            frac = rtc_phase_ns(s);
            rtc_freeze(s);
        }
        s->cmos_data[RTC_REG_A] = (val & ~REG_A_UIP) | (old & REG_A_UIP);
        if (rtc_running(s)) {
            rtc_thaw(s, was_running ? frac : RTC_NS / 2);
        }
        if ((old ^ val) & (REG_A_RS | REG_A_DV)) {
            int64_t cycles;
            if (rtc_periodic_period_ns(s, &cycles)) {
                s->last_periodic = rtc_periodic_tick(clock_get_ns(s->clock), cycles);
            }
        }
        break;
    }
    case RTC_REG_B: {
        if (was_running && (val & REG_B_SET)) {
            rtc_freeze(s);
        }
        if (val & REG_B_SET) {
            val &= ~REG_B_UIE; /* SET = 1 clears UIE */
        }
        bool will_run = !(val & REG_B_SET) &&
                        (s->cmos_data[RTC_REG_A] & REG_A_DV) == REG_A_DV_32K;
        if (!was_running && will_run) {
            /* The time bytes were written in the format in force until now. */
            rtc_thaw(s, rtc_phase_ns(s));
        }
        s->cmos_data[RTC_REG_B] = val;
        rtc_update_irq(s);
        break;
    }
    case RTC_REG_C:
    case RTC_REG_D:
        break; /* read-only */
    default:
        s->cmos_data[idx] = val;
        break;
    }
    rtc_rearm(s);
}

static uint8_t rtc_read_data(RTCState *s, uint8_t idx)
{
    uint8_t ret;

    switch (idx) {
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        if (rtc_running(s)) {
            rtc_store_time(s, rtc_now_sec(s));
        }
        return s->cmos_data[idx];
    case RTC_REG_A:
        ret = s->cmos_data[RTC_REG_A] & ~REG_A_UIP;
        if (rtc_running(s) && rtc_phase_ns(s) >= RTC_NS - RTC_UIP_NS) {
            ret |= REG_A_UIP;
        }
        return ret;
    case RTC_REG_C:
        rtc_update_flags(s);
        ret = s->cmos_data[RTC_REG_C];
        s->cmos_data[RTC_REG_C] = 0;
        rtc_update_irq(s);
        rtc_rearm(s);
        return ret;
    case RTC_REG_D:
        return REG_D_VRT;
    default:
        return s->cmos_data[idx];
    }
}

static uint64_t rtc_ioport_read(void *opaque, hwaddr addr, unsigned size)
{
    RTCState *s = opaque;

    if ((addr & 1) == 0) {
        return 0xff; /* the index register is write-only */
    }
    return rtc_read_data(s, s->cmos_index);
}

static void rtc_ioport_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    RTCState *s = opaque;

    if ((addr & 1) == 0) {
        s->cmos_index = val & 0x7f;
        s->nmi_disabled = val & 0x80;
    } else {
        rtc_write_data(s, s->cmos_index, (uint8_t)val);
    }
}

static const MemoryRegionOps rtc_ops = {
    .read = rtc_ioport_read,
    .write = rtc_ioport_write,
    .valid_min = 1,
    .valid_max = 4,
    .impl_min = 1,
    .impl_max = 1,             /* a 16-bit access is index then data, as on QEMU */
};

void rtc_set_cmos(DeviceState *dev, int index, uint8_t val)
{
    RTCState *s = (RTCState *)dev;

    if (index >= 0 && index < RTC_CMOS_SIZE) {
        s->cmos_data[index] = val;
    }
}

uint8_t rtc_get_cmos(DeviceState *dev, int index)
{
    RTCState *s = (RTCState *)dev;

    return (index >= 0 && index < RTC_CMOS_SIZE) ? s->cmos_data[index] : 0xff;
}

void rtc_set_pc_memory(DeviceState *dev, uint64_t ram_below_4g, uint64_t ram_above_4g,
                       unsigned cpus)
{
    uint64_t kb = ram_below_4g > (1 << 20) ? (ram_below_4g - (1 << 20)) / 1024 : 0;
    uint64_t v;

    rtc_set_cmos(dev, 0x15, 640 & 0xff);
    rtc_set_cmos(dev, 0x16, 640 >> 8);
    v = kb > 0xffff ? 0xffff : kb;
    rtc_set_cmos(dev, 0x17, v & 0xff);
    rtc_set_cmos(dev, 0x18, v >> 8);
    rtc_set_cmos(dev, 0x30, v & 0xff);
    rtc_set_cmos(dev, 0x31, v >> 8);
    v = ram_below_4g > (16 << 20) ? (ram_below_4g - (16 << 20)) >> 16 : 0;
    v = v > 0xffff ? 0xffff : v;
    rtc_set_cmos(dev, 0x34, v & 0xff);
    rtc_set_cmos(dev, 0x35, v >> 8);
    v = ram_above_4g >> 16;
    rtc_set_cmos(dev, 0x5b, v & 0xff);
    rtc_set_cmos(dev, 0x5c, (v >> 8) & 0xff);
    rtc_set_cmos(dev, 0x5d, (v >> 16) & 0xff);
    rtc_set_cmos(dev, 0x5f, cpus ? (uint8_t)(cpus - 1) : 0);
}

static uint8_t rtc_boot_device_code(char c)
{
    switch (c) {
    case 'a':
        return 1;
    case 'c':
        return 2;
    case 'd':
        return 3;
    case 'n':
        return 4;
    }
    return 0;
}

void rtc_set_pc_misc(DeviceState *dev, const char *boot_order)
{
    RTCState *s = (RTCState *)dev;
    uint8_t boot[3] = { 0, 0, 0 };

    rtc_set_cmos(dev, 0x14, 0x06);
    rtc_set_cmos(dev, 0x37, rtc_read_data(s, RTC_CENTURY));
    for (int i = 0; i < 3 && boot_order && boot_order[i]; i++) {
        boot[i] = rtc_boot_device_code(boot_order[i]);
    }
    rtc_set_cmos(dev, 0x3d, (uint8_t)(boot[0] | boot[1] << 4));
    rtc_set_cmos(dev, 0x38, (uint8_t)(boot[2] << 4)); /* bit 0 clear: check the floppy
                                                          boot signature */
}

static void rtc_realize(DeviceState *dev, Error **errp)
{
    RTCState *s = (RTCState *)dev;

    if (s->isairq >= ISA_NUM_IRQS) {
        error_setg(errp, "Maximum value for \"irq\" is: %u", ISA_NUM_IRQS - 1);
        return;
    }
    s->clock = rtc_clock_set ? rtc_clock_type
                             : (qtest_enabled() ? KEMU_CLOCK_VIRTUAL : KEMU_CLOCK_HOST);
    s->update_timer = timer_new_ns(s->clock, rtc_timer_cb, s);
    s->periodic_timer = timer_new_ns(s->clock, rtc_timer_cb, s);
    s->irq = isa_get_irq(s->isairq);

    /* Power-on: valid time from the host, 32.768 kHz base with 1024 Hz periodic rate
     * selected, 24-hour BCD (the values PC firmware programs; QEMU uses them too). */
    memset(s->cmos_data, 0, sizeof(s->cmos_data));
    s->cmos_data[RTC_REG_A] = REG_A_DV_32K | 0x06;
    s->cmos_data[RTC_REG_B] = REG_B_24H;
    s->cmos_data[RTC_REG_D] = REG_D_VRT;
    int64_t start_sec, start_frac;
    rtc_initial_time(&start_sec, &start_frac);
    rtc_set_guest_time(s, start_sec, start_frac);
    s->wday_offset = 0;
    s->last_update_sec = start_sec;
    rtc_store_time(s, s->last_update_sec);
    int64_t cycles;
    if (rtc_periodic_period_ns(s, &cycles)) {
        s->last_periodic = rtc_periodic_tick(clock_get_ns(s->clock), cycles);
    }

    memory_region_init_io(&s->io, &rtc_ops, s, "rtc", 2);
    isa_register_ioport(&s->io, s->iobase);
}

static void rtc_unrealize(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    isa_unregister_ioport(&s->io);
    timer_free(s->update_timer);
    timer_free(s->periodic_timer);
}

/* RESET pin ("Register B"/"Register C"): clears PIE, AIE, UIE, SQWE and the flags;
 * time, date and RAM are untouched (battery backed). */
static void rtc_reset(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    s->cmos_data[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    s->cmos_data[RTC_REG_C] = 0;
    s->irq_level = -1;
    rtc_update_irq(s);
    rtc_rearm(s);
}

static int rtc_post_load(void *opaque, int version_id)
{
    RTCState *s = opaque;

    s->cmos_index &= 0x7f;
    s->irq_level = -1;
    rtc_update_irq(s);
    rtc_rearm(s);
    return 0;
}

static const VMStateField vmstate_rtc_fields[] = {
    VMSTATE_BUFFER(cmos_data, RTCState),
    VMSTATE_UINT8(cmos_index, RTCState),
    VMSTATE_BOOL(nmi_disabled, RTCState),
    VMSTATE_INT64(offset_sec, RTCState),
    VMSTATE_INT64(offset_subns, RTCState),
    VMSTATE_INT32(wday_offset, RTCState),
    VMSTATE_INT64(last_update_sec, RTCState),
    VMSTATE_INT64(last_periodic, RTCState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_rtc = {
    .name = "mc146818rtc",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = rtc_post_load,
    .fields = vmstate_rtc_fields,
};

static const Property rtc_props[] = {
    DEFINE_PROP_INT32("base_year", RTCState, base_year, 1980),
    DEFINE_PROP_UINT16("iobase", RTCState, iobase, 0x70),
    DEFINE_PROP_UINT8("irq", RTCState, isairq, RTC_ISA_IRQ),
    DEFINE_PROP_ENUM("lost_tick_policy", RTCState, lost_tick_policy, 0,
                     rtc_lost_tick_policy_names, "LostTickPolicy"),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass rtc_class = {
    .name = "mc146818rtc",
    .instance_size = sizeof(RTCState),
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = true,
    .bus_type = "isa",
    .props = rtc_props,
    .realize = rtc_realize,
    .unrealize = rtc_unrealize,
    .reset = rtc_reset,
    .vmsd = &vmstate_rtc,
};

DEVICE_TYPE_REGISTER(rtc_class)
