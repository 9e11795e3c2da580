/*
 * "apic": the local xAPIC of one CPU, per the Intel SDM Vol. 3A chapter 11 ("Advanced
 * Programmable Interrupt Controller (APIC)"), order 253668:
 *   §11.4.1 / Table 11-1  register page at IA32_APIC_BASE (0xfee00000), 16-byte aligned
 *                         32-bit registers; reserved offsets give "illegal register
 *                         address" (ESR bit 7)
 *   §11.4.4 IA32_APIC_BASE MSR (BSP bit 8, global enable bit 11)
 *   §11.4.6 Local APIC ID, §11.4.8 version register (0x14, max LVT entry 5: 0x00050014)
 *   §11.4.7.2 software enable in the SVR; while disabled the LVT mask bits stay set
 *   §11.4.7.3 INIT reset: everything as at power-up except the APIC ID and the base MSR
 *           (the BSP's LINT0 comes up as unmasked ExtINT, as KVM's in-kernel LAPIC does)
 *   §11.5.1 LVT timer/thermal/perf/LINT0/LINT1/error, delivery modes and masks
 *   §11.5.3 error handling: ESR is updated from the internal error state by a write
 *   §11.5.4 timer: divide configuration, initial/current count, one-shot, periodic,
 *           TSC-deadline (§11.5.4.1)
 *   §11.6.1 ICR: vector, delivery mode (fixed, lowest priority, SMI, NMI, INIT, INIT
 *           level de-assert, start-up), destination mode, level, trigger, shorthand
 *   §11.6.2 physical and logical (flat/cluster through DFR and LDR) destinations,
 *           broadcast 0xff; §11.6.2.4 lowest-priority arbitration and focus processor
 *   §11.8.3 IRR/ISR/TMR, §11.8.3.1 PPR = max(TPR, ISRV), §11.8.4 interrupt acceptance,
 *   §11.8.5 EOI (level-triggered: EOI message to the I/O APICs), §11.8.3.1 TPR/APR
 *   §11.11 MSI message address/data format (accepted by apic_deliver_msi)
 * The timer runs at 1 GHz on KEMU_CLOCK_VIRTUAL (1 count per ns before division, the bus
 * clock QEMU's model uses); a period lasts initial count + 1 counts (as in QEMU's model:
 * the counter passes through 0 before reloading).  Vectors 0-15 are illegal: receiving
 * one sets ESR bit 6, sending one sets ESR bit 5.  ICR delivery status always reads idle
 * (delivery is synchronous).  The register page is not relocated by IA32_APIC_BASE.
 */
#include "hw/intc/apic.h"

#include <glib.h>
#include <string.h>

#include "hw/qdev.h"
#include "system/memory.h"
#include "system/timer.h"

/* Register offsets >> 4 (Table 11-1) */
#define APIC_ID      0x02
#define APIC_VERSION 0x03
#define APIC_TPR     0x08
#define APIC_APR     0x09
#define APIC_PPR     0x0a
#define APIC_EOI     0x0b
#define APIC_RRD     0x0c
#define APIC_LDR     0x0d
#define APIC_DFR     0x0e
#define APIC_SVR     0x0f
#define APIC_ISR     0x10
#define APIC_TMR     0x18
#define APIC_IRR     0x20
#define APIC_ESR     0x28
#define APIC_ICR_LO  0x30
#define APIC_ICR_HI  0x31
#define APIC_LVT_TIMER 0x32
#define APIC_LVT_LINT1 0x36
#define APIC_LVT_ERROR 0x37
#define APIC_TMICT   0x38
#define APIC_TMCCT   0x39
#define APIC_TDCR    0x3e

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_NUM };

#define LVT_VECTOR      0xffu
#define LVT_DELMODE(v)  (((v) >> 8) & 7)
#define LVT_DELIVS      (1u << 12)
#define LVT_POLARITY    (1u << 13)
#define LVT_REMOTE_IRR  (1u << 14)
#define LVT_TRIGGER     (1u << 15)
#define LVT_MASKED      (1u << 16)
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3)
#define TIMER_ONESHOT   0
#define TIMER_PERIODIC  1
#define TIMER_TSC_DEADLINE 2

#define SVR_ENABLE      (1u << 8)
#define SVR_FOCUS_DISABLED (1u << 9)

#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define ESR_ILLEGAL_ADDRESS     (1u << 7)

#define DM_FIXED   0
#define DM_LOWEST  1
#define DM_SMI     2
#define DM_NMI     4
#define DM_INIT    5
#define DM_STARTUP 6
#define DM_EXTINT  7

#define ICR_DESTMODE_LOGICAL (1u << 11)
#define ICR_DELIVS  (1u << 12)
#define ICR_LEVEL   (1u << 14)
#define ICR_TRIGGER (1u << 15)
#define ICR_SHORTHAND(v) (((v) >> 18) & 3)

#define APIC_SPACE_SIZE 0x100000

struct APICState {
    DeviceState parent;
    X86CPU *cpu;
    uint32_t initial_id;        /* "id" property */
    uint8_t version;            /* "version" property */
    int index;                  /* in apic_list */

    uint64_t apicbase;
    uint8_t id;
    uint8_t tpr;
    uint32_t ldr, dfr, svr;
    uint32_t isr[8], tmr[8], irr[8];
    uint32_t lvt[LVT_NUM];
    uint32_t esr, esr_pending;
    uint32_t icr[2];
    uint32_t tdcr;
    uint32_t initial_count;
    int64_t count_load_time;
    uint64_t tsc_deadline;
    int64_t tsc_deadline_ns;
    int32_t lint0_level, lint1_level;
    bool extint_pending;        /* ExtINT message from the I/O APIC */
    Timer *timer;
};

static APICState *apic_list[APIC_MAX_CPUS];
static int apic_count;
static APICBoardOps board_ops;
static MemoryRegion apic_mmio;
static bool apic_mmio_mapped;

void apic_set_board_ops(const APICBoardOps *ops)
{
    board_ops = *ops;
}

static void apic_cpu_interrupt(APICState *s, int mask, uint8_t vector)
{
    if (board_ops.cpu_interrupt && s->cpu) {
        board_ops.cpu_interrupt(s->cpu, mask, vector);
    }
}

/* -- 256-bit registers ------------------------------------------------------------- */

static void bit_set(uint32_t *r, int v)
{
    r[v >> 5] |= 1u << (v & 31);
}

static void bit_clear(uint32_t *r, int v)
{
    r[v >> 5] &= ~(1u << (v & 31));
}

static bool bit_test(const uint32_t *r, int v)
{
    return r[v >> 5] & (1u << (v & 31));
}

/* Highest set vector or -1. */
static int bit_highest(const uint32_t *r)
{
    for (int i = 7; i >= 0; i--) {
        if (r[i]) {
            return i * 32 + 31 - __builtin_clz(r[i]);
        }
    }
    return -1;
}

/* -- priorities (§11.8.3.1) ----------------------------------------------------------- */

static uint8_t apic_ppr(const APICState *s)
{
    int isrv = bit_highest(s->isr);
    uint8_t isrv_class = isrv < 0 ? 0 : (isrv & 0xf0);

    return (s->tpr & 0xf0) >= isrv_class ? s->tpr : isrv_class;
}

static uint8_t apic_apr(const APICState *s)
{
    int isrv = bit_highest(s->isr), irrv = bit_highest(s->irr);
    int top = MAX(isrv, irrv);
    uint8_t top_class = top < 0 ? 0 : (top & 0xf0);

    if ((s->tpr & 0xf0) >= top_class) {
        return s->tpr;
    }
    return top_class;
}

static bool apic_sw_enabled(const APICState *s)
{
    return s->svr & SVR_ENABLE;
}

static bool apic_hw_enabled(const APICState *s)
{
    return s->apicbase & MSR_IA32_APICBASE_ENABLE;
}

/* LINT0 routes the 8259's INT to the CPU: ExtINT unmasked, or the APIC hardware-disabled
 * (§11.4.3: the LINT pins then act as INTR and NMI). */
static bool apic_accepts_pic(const APICState *s)
{
    uint32_t lvt0 = s->lvt[LVT_LINT0];
    if (!apic_hw_enabled(s)) {
        return true;
    }
    return LVT_DELMODE(lvt0) == DM_EXTINT && !(lvt0 & LVT_MASKED);
}

static int apic_irr_deliverable(const APICState *s)
{
    if (!apic_hw_enabled(s) || !apic_sw_enabled(s)) {
        return -1;
    }
    int irrv = bit_highest(s->irr);
    if (irrv < 0 || (irrv & 0xf0) <= (apic_ppr(s) & 0xf0)) {
        return -1;
    }
    return irrv;
}

bool apic_has_interrupt(APICState *s)
{
    if (apic_irr_deliverable(s) >= 0) {
        return true;
    }
    return (s->extint_pending || (apic_accepts_pic(s) && s->lint0_level)) &&
           board_ops.pic_read_irq;
}

static void apic_update(APICState *s)
{
    if (apic_has_interrupt(s)) {
        apic_cpu_interrupt(s, CPU_INTERRUPT_HARD, 0);
    }
}

int apic_get_interrupt(APICState *s)
{
    int v = apic_irr_deliverable(s);

    if (v >= 0) {
        bit_clear(s->irr, v);
        bit_set(s->isr, v);
        return v;
    }
    if ((s->extint_pending || (apic_accepts_pic(s) && s->lint0_level)) &&
        board_ops.pic_read_irq) {
        s->extint_pending = false;
        return board_ops.pic_read_irq(board_ops.pic_opaque);
    }
    return -1;
}

/* -- errors (§11.5.3) ------------------------------------------------------------------- */

static void apic_local_deliver(APICState *s, int lvt);

static void apic_error(APICState *s, uint32_t bits)
{
    uint32_t old = s->esr_pending;

    s->esr_pending |= bits;
    if (old != s->esr_pending) {
        apic_local_deliver(s, LVT_ERROR);
    }
}

/* Accept a fixed or lowest-priority interrupt into the IRR (§11.8.4). */
static void apic_accept_irq(APICState *s, int vector, bool level)
{
    if (vector < 16) {
        apic_error(s, ESR_RECV_ILLEGAL_VECTOR);
        return;
    }
    bit_set(s->irr, vector);
    if (level) {
        bit_set(s->tmr, vector);
    } else {
        bit_clear(s->tmr, vector);
    }
    apic_update(s);
}

static void apic_local_deliver(APICState *s, int lvt)
{
    uint32_t v = s->lvt[lvt];

    if (!apic_hw_enabled(s) || (v & LVT_MASKED)) {
        return;
    }
    switch (LVT_DELMODE(v)) {
    case DM_FIXED: {
        bool level = (lvt == LVT_LINT0 || lvt == LVT_LINT1) && (v & LVT_TRIGGER);
        if (level) {
            if (v & LVT_REMOTE_IRR) {
                return;
            }
            s->lvt[lvt] |= LVT_REMOTE_IRR;
        }
        if (lvt == LVT_ERROR && (v & LVT_VECTOR) < 16) {
            /* Avoid recursion: an illegal error vector is recorded once, not re-raised. */
            s->esr_pending |= ESR_RECV_ILLEGAL_VECTOR;
            return;
        }
        apic_accept_irq(s, v & LVT_VECTOR, level);
        break;
    }
    case DM_SMI:
        apic_cpu_interrupt(s, CPU_INTERRUPT_SMI, 0);
        break;
    case DM_NMI:
        apic_cpu_interrupt(s, CPU_INTERRUPT_NMI, 0);
        break;
    case DM_EXTINT:
        apic_update(s);
        break;
    default: /* INIT through an LVT and the reserved modes are not delivered */
        break;
    }
}

/* -- reset ---------------------------------------------------------------------------- */

static void apic_timer_stop(APICState *s)
{
    if (s->timer) {
        timer_del(s->timer);
    }
}

void apic_init_reset(APICState *s)
{
    s->tpr = 0;
    s->ldr = 0;
    s->dfr = 0xffffffff;
    s->svr = 0xff;
    memset(s->isr, 0, sizeof(s->isr));
    memset(s->tmr, 0, sizeof(s->tmr));
    memset(s->irr, 0, sizeof(s->irr));
    for (int i = 0; i < LVT_NUM; i++) {
        s->lvt[i] = LVT_MASKED;
    }
    /* The BSP's LINT0 starts as ExtINT, unmasked (virtual wire mode, what PC firmware sets
     * up and what KVM's in-kernel LAPIC, kemu's default, resets to under its default
     * LINT0_REENABLED quirk; QEMU 7.2's own model leaves it masked), so the 8259 reaches the
     * BSP of a guest booted without firmware that never programs its APIC. */
    if (s->apicbase & MSR_IA32_APICBASE_BSP) {
        s->lvt[LVT_LINT0] = DM_EXTINT << 8;
    }
    s->esr = s->esr_pending = 0;
    s->icr[0] = s->icr[1] = 0;
    s->tdcr = 0;
    s->initial_count = 0;
    s->count_load_time = 0;
    s->tsc_deadline = 0;
    s->extint_pending = false;
    apic_timer_stop(s);
}

static void apic_reset(DeviceState *dev)
{
    APICState *s = (APICState *)dev;

    bool bsp = s->cpu ? s->cpu->is_bsp : s->index == 0;

    s->id = s->initial_id;
    s->apicbase = APIC_DEFAULT_BASE | MSR_IA32_APICBASE_ENABLE |
                  (bsp ? MSR_IA32_APICBASE_BSP : 0);
    s->lint0_level = s->lint1_level = 0;
    apic_init_reset(s);
}

/* -- timer (§11.5.4) ------------------------------------------------------------------- */

static int apic_divide_shift(const APICState *s)
{
    int v = (s->tdcr & 3) | ((s->tdcr >> 1) & 4);
    return (v + 1) & 7;      /* 0b111 = divide by 1, else by 2 << v */
}

static uint32_t apic_current_count(const APICState *s)
{
    if (s->initial_count == 0 || LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE) {
        return 0;
    }
    int64_t now = clock_get_ns(KEMU_CLOCK_VIRTUAL);
    uint64_t d = (uint64_t)(now - s->count_load_time) >> apic_divide_shift(s);
    if (LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_PERIODIC) {
        return s->initial_count - (uint32_t)(d % ((uint64_t)s->initial_count + 1));
    }
    return d >= s->initial_count ? 0 : s->initial_count - (uint32_t)d;
}

/* Arm the timer for the next expiry of the count-down modes, if any. */
static void apic_timer_arm(APICState *s)
{
    int mode = LVT_TIMER_MODE(s->lvt[LVT_TIMER]);

    if (mode == TIMER_TSC_DEADLINE) {
        if (s->tsc_deadline) {
            timer_mod(s->timer, s->tsc_deadline_ns);
        } else {
            apic_timer_stop(s);
        }
        return;
    }
    if (s->initial_count == 0) {
        apic_timer_stop(s);
        return;
    }
    int shift = apic_divide_shift(s);
    int64_t now = clock_get_ns(KEMU_CLOCK_VIRTUAL);
    uint64_t d = (uint64_t)(now - s->count_load_time) >> shift;
    uint64_t period = (uint64_t)s->initial_count + 1;
    uint64_t next;

    if (mode == TIMER_PERIODIC) {
        next = (d / period + 1) * period;
    } else {
        if (d >= period) {
            apic_timer_stop(s);
            return;
        }
        next = period;
    }
    timer_mod(s->timer, s->count_load_time + (int64_t)(next << shift));
}

static void apic_timer_cb(void *opaque)
{
    APICState *s = opaque;

    if (LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE) {
        s->tsc_deadline = 0;
        apic_local_deliver(s, LVT_TIMER);
        return;
    }
    apic_local_deliver(s, LVT_TIMER);
    if (LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_PERIODIC) {
        apic_timer_arm(s);
    }
}

void apic_set_tsc_deadline(APICState *s, uint64_t value, int64_t expire_ns)
{
    if (LVT_TIMER_MODE(s->lvt[LVT_TIMER]) != TIMER_TSC_DEADLINE) {
        return; /* §11.5.4.1: writes are ignored outside TSC-deadline mode */
    }
    s->tsc_deadline = value;
    s->tsc_deadline_ns = expire_ns;
    apic_timer_arm(s);
}

uint64_t apic_get_tsc_deadline(APICState *s)
{
    return LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE ? s->tsc_deadline : 0;
}

/* -- destinations (§11.6.2) ------------------------------------------------------------ */

static bool apic_match_logical(const APICState *s, uint8_t dest)
{
    uint8_t ldr = s->ldr >> 24;

    if (dest == 0xff) {
        return true;
    }
    if ((s->dfr >> 28) == 0xf) {         /* flat model */
        return ldr & dest;
    }
    if ((s->dfr >> 28) == 0x0) {         /* cluster model */
        return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0x0f);
    }
    return false;
}

/* Set bit i of `set` for every APIC addressed by (dest, logical). */
static void apic_find_dest(uint8_t dest, bool logical, bool *set)
{
    for (int i = 0; i < apic_count; i++) {
        APICState *s = apic_list[i];
        set[i] = false;
        if (!s || !apic_hw_enabled(s)) {
            continue;
        }
        if (logical) {
            set[i] = apic_match_logical(s, dest);
        } else {
            set[i] = dest == 0xff || s->id == dest;
        }
    }
}

/* Lowest-priority arbitration (§11.6.2.4): the focus processor if there is one, else the
 * APIC with the lowest arbitration priority (the lowest index among equals). */
static int apic_lowest_priority(const bool *set, int vector)
{
    int best = -1;

    for (int i = 0; i < apic_count; i++) {
        APICState *s = apic_list[i];
        if (!set[i]) {
            continue;
        }
        if (!(s->svr & SVR_FOCUS_DISABLED) &&
            (bit_test(s->isr, vector) || bit_test(s->irr, vector))) {
            return i;
        }
        if (best < 0 || apic_apr(s) < apic_apr(apic_list[best])) {
            best = i;
        }
    }
    return best;
}

static void apic_deliver_to(APICState *s, int mode, int vector, bool level)
{
    switch (mode) {
    case DM_FIXED:
    case DM_LOWEST:
        apic_accept_irq(s, vector, level);
        break;
    case DM_SMI:
        apic_cpu_interrupt(s, CPU_INTERRUPT_SMI, 0);
        break;
    case DM_NMI:
        apic_cpu_interrupt(s, CPU_INTERRUPT_NMI, 0);
        break;
    case DM_INIT:
        apic_init_reset(s);
        apic_cpu_interrupt(s, CPU_INTERRUPT_INIT, 0);
        break;
    case DM_STARTUP:
        apic_cpu_interrupt(s, CPU_INTERRUPT_SIPI, vector);
        break;
    case DM_EXTINT:
        s->extint_pending = true;
        apic_update(s);
        break;
    default:
        break;
    }
}

static void apic_bus_deliver(const bool *set, int mode, int vector, bool level)
{
    if (mode == DM_LOWEST) {
        int i = apic_lowest_priority(set, vector);
        if (i >= 0) {
            apic_deliver_to(apic_list[i], mode, vector, level);
        }
        return;
    }
    for (int i = 0; i < apic_count; i++) {
        if (set[i]) {
            apic_deliver_to(apic_list[i], mode, vector, level);
        }
    }
}

void apic_deliver_msi(uint64_t addr, uint32_t data)
{
    bool set[APIC_MAX_CPUS];
    uint8_t dest = (addr >> 12) & 0xff;
    bool logical = addr & (1u << 2);
    int mode = (data >> 8) & 7;
    int vector = data & 0xff;
    bool level = data & (1u << 15);

    apic_find_dest(dest, logical, set);
    apic_bus_deliver(set, mode, vector, level);
}

/* §11.6.1: a write of ICR low sends the IPI. */
static void apic_send_ipi(APICState *s)
{
    bool set[APIC_MAX_CPUS];
    uint32_t lo = s->icr[0];
    int mode = (lo >> 8) & 7;
    int vector = lo & 0xff;
    bool level_trig = lo & ICR_TRIGGER;

    if (mode == DM_INIT && level_trig && !(lo & ICR_LEVEL)) {
        return; /* INIT level de-assert: only resynchronises arbitration IDs */
    }
    if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16) {
        apic_error(s, ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    switch (ICR_SHORTHAND(lo)) {
    case 0:
        apic_find_dest(s->icr[1] >> 24, lo & ICR_DESTMODE_LOGICAL, set);
        break;
    case 1: /* self */
        memset(set, 0, sizeof(set));
        set[s->index] = true;
        break;
    default: /* 2: all including self, 3: all excluding self */
        for (int i = 0; i < apic_count; i++) {
            set[i] = apic_list[i] && apic_hw_enabled(apic_list[i]);
        }
        if (ICR_SHORTHAND(lo) == 3) {
            set[s->index] = false;
        }
        break;
    }
    /* IPIs carry edge trigger unless fixed/lowest with the trigger bit set. */
    apic_bus_deliver(set, mode, vector, level_trig && (mode == DM_FIXED || mode == DM_LOWEST));
}

/* -- EOI (§11.8.5) ------------------------------------------------------------------------ */

static void apic_eoi(APICState *s)
{
    int v = bit_highest(s->isr);

    if (v < 0) {
        return;
    }
    bit_clear(s->isr, v);
    if (bit_test(s->tmr, v)) {
        bit_clear(s->tmr, v);
        for (int l = LVT_LINT0; l <= LVT_LINT1; l++) {
            if ((s->lvt[l] & LVT_REMOTE_IRR) && (s->lvt[l] & LVT_VECTOR) == (uint32_t)v) {
                s->lvt[l] &= ~LVT_REMOTE_IRR;
            }
        }
        if (board_ops.eoi_broadcast) {
            board_ops.eoi_broadcast(board_ops.ioapic_opaque, v);
        }
    }
    apic_update(s);
}

/* -- register access -------------------------------------------------------------------- */

static APICState *apic_current(void)
{
    X86CPU *cpu = current_cpu();

    if (cpu && cpu->apic) {
        return cpu->apic;
    }
    return apic_count ? apic_list[0] : NULL;
}

static uint32_t apic_reg_read(APICState *s, int index)
{
    switch (index) {
    case APIC_ID:
        return (uint32_t)s->id << 24;
    case APIC_VERSION:
        return s->version | (LVT_NUM - 1) << 16;
    case APIC_TPR:
        return s->tpr;
    case APIC_APR:
        return apic_apr(s);
    case APIC_PPR:
        return apic_ppr(s);
    case APIC_EOI:
    case APIC_RRD:
        return 0;
    case APIC_LDR:
        return s->ldr;
    case APIC_DFR:
        return s->dfr;
    case APIC_SVR:
        return s->svr;
    case APIC_ISR ... APIC_ISR + 7:
        return s->isr[index - APIC_ISR];
    case APIC_TMR ... APIC_TMR + 7:
        return s->tmr[index - APIC_TMR];
    case APIC_IRR ... APIC_IRR + 7:
        return s->irr[index - APIC_IRR];
    case APIC_ESR:
        return s->esr;
    case APIC_ICR_LO:
        return s->icr[0] & ~ICR_DELIVS;
    case APIC_ICR_HI:
        return s->icr[1];
    case APIC_LVT_TIMER ... APIC_LVT_ERROR:
        return s->lvt[index - APIC_LVT_TIMER];
    case APIC_TMICT:
        return s->initial_count;
    case APIC_TMCCT:
        return apic_current_count(s);
    case APIC_TDCR:
        return s->tdcr;
    default:
        apic_error(s, ESR_ILLEGAL_ADDRESS);
        return 0;
    }
}

static const uint32_t apic_lvt_mask[LVT_NUM] = {
    [LVT_TIMER] = 0x000710ff,    /* vector, mask, timer mode */
    [LVT_THERMAL] = 0x000107ff,  /* vector, delivery mode, mask */
    [LVT_PERF] = 0x000107ff,
    [LVT_LINT0] = 0x0001a7ff,    /* + polarity, trigger */
    [LVT_LINT1] = 0x0001a7ff,
    [LVT_ERROR] = 0x000100ff,
};

static void apic_write_lvt(APICState *s, int lvt, uint32_t val)
{
    uint32_t old = s->lvt[lvt];
    uint32_t v = (val & apic_lvt_mask[lvt]) | (old & LVT_REMOTE_IRR);

    if (!apic_sw_enabled(s)) {
        v |= LVT_MASKED;
    }
    if (lvt == LVT_TIMER && (v & (3u << 17)) == (3u << 17)) {
        v &= ~(3u << 17);   /* reserved timer mode: keep one-shot */
    }
    s->lvt[lvt] = v;
    if (lvt == LVT_TIMER && LVT_TIMER_MODE(old) != LVT_TIMER_MODE(v)) {
        /* §11.5.4.1: switching modes disarms the timer */
        s->initial_count = 0;
        s->tsc_deadline = 0;
        apic_timer_stop(s);
    } else if (lvt == LVT_TIMER) {
        apic_timer_arm(s);
    }
    if (lvt == LVT_LINT0) {
        apic_update(s);
    }
}

static void apic_reg_write(APICState *s, int index, uint32_t val)
{
    switch (index) {
    case APIC_ID:
        s->id = val >> 24;
        break;
    case APIC_TPR:
        apic_set_tpr(s, val & 0xff);
        break;
    case APIC_EOI:
        apic_eoi(s);
        break;
    case APIC_LDR:
        s->ldr = val & 0xff000000;
        break;
    case APIC_DFR:
        s->dfr = val | 0x0fffffff;
        break;
    case APIC_SVR:
        s->svr = val & (0xff | SVR_ENABLE | SVR_FOCUS_DISABLED);
        if (!apic_sw_enabled(s)) {
            for (int i = 0; i < LVT_NUM; i++) {
                s->lvt[i] |= LVT_MASKED;
            }
        }
        apic_update(s);
        break;
    case APIC_ESR:
        s->esr = s->esr_pending;
        s->esr_pending = 0;
        break;
    case APIC_ICR_LO:
        s->icr[0] = val & 0x000ccfff;
        apic_send_ipi(s);
        break;
    case APIC_ICR_HI:
        s->icr[1] = val & 0xff000000;
        break;
    case APIC_LVT_TIMER ... APIC_LVT_ERROR:
        apic_write_lvt(s, index - APIC_LVT_TIMER, val);
        break;
    case APIC_TMICT:
        if (LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE) {
            break;
        }
        s->initial_count = val;
        s->count_load_time = clock_get_ns(KEMU_CLOCK_VIRTUAL);
        apic_timer_arm(s);
        break;
    case APIC_TDCR:
        s->tdcr = val & 0xb;
        apic_timer_arm(s);
        break;
    case APIC_VERSION:
    case APIC_APR:
    case APIC_PPR:
    case APIC_RRD:
    case APIC_ISR ... APIC_ISR + 7:
    case APIC_TMR ... APIC_TMR + 7:
    case APIC_IRR ... APIC_IRR + 7:
    case APIC_TMCCT:
        break; /* read-only */
    default:
        apic_error(s, ESR_ILLEGAL_ADDRESS);
        break;
    }
}

static uint64_t apic_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    APICState *s = apic_current();

    if (!s || addr > 0xfff) {
        return 0;
    }
    uint32_t val = apic_reg_read(s, addr >> 4);
    /* Narrow reads see the addressed bytes of the 32-bit register. */
    return val >> ((addr & 3) * 8);
}

static void apic_mmio_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    /* MSI writes share the window (§11.11): the register page's offset 0 is reserved,
     * so a write there or beyond the page is a message from a device. */
    if (addr > 0xfff || (addr >> 4) == 0) {
        apic_deliver_msi(APIC_DEFAULT_BASE + addr, (uint32_t)val);
        return;
    }
    APICState *s = apic_current();
    if (!s) {
        return;
    }
    if (addr & 0xf) {
        return; /* registers are written as aligned dwords */
    }
    apic_reg_write(s, addr >> 4, (uint32_t)val);
}

static const MemoryRegionOps apic_mmio_ops = {
    .read = apic_mmio_read,
    .write = apic_mmio_write,
    .valid_min = 1,
    .valid_max = 4,
    .impl_min = 4,
    .impl_max = 4,
};

/* -- CPU-facing API ------------------------------------------------------------------- */

void apic_set_tpr(APICState *s, uint8_t tpr)
{
    s->tpr = tpr;
    apic_update(s);
}

uint8_t apic_get_tpr(APICState *s)
{
    return s->tpr;
}

void apic_set_base(APICState *s, uint64_t val)
{
    bool was_enabled = apic_hw_enabled(s);

    /* x2APIC (bit 10) is not offered: keep base, BSP and global enable only. */
    s->apicbase = (val & 0xfffff000ull) | (val & MSR_IA32_APICBASE_ENABLE) |
                  (s->apicbase & MSR_IA32_APICBASE_BSP);
    if (was_enabled && !apic_hw_enabled(s)) {
        /* §11.4.3: a hardware-disabled APIC comes back as after power-up. */
        apic_init_reset(s);
    }
    apic_update(s);
}

uint64_t apic_get_base(APICState *s)
{
    return s->apicbase;
}

void apic_deliver_pic_intr(APICState *s, int level)
{
    int old = s->lint0_level;

    s->lint0_level = level;
    if (apic_accepts_pic(s)) {
        if (level) {
            apic_cpu_interrupt(s, CPU_INTERRUPT_HARD, 0);
        }
        return;
    }
    uint32_t lvt0 = s->lvt[LVT_LINT0];
    if (LVT_DELMODE(lvt0) == DM_EXTINT) {
        return;   /* masked ExtINT */
    }
    if (level && (!old || (lvt0 & LVT_TRIGGER))) {
        apic_local_deliver(s, LVT_LINT0);
    }
}

void apic_deliver_nmi(APICState *s)
{
    if (!apic_hw_enabled(s)) {
        apic_cpu_interrupt(s, CPU_INTERRUPT_NMI, 0);
        return;
    }
    apic_local_deliver(s, LVT_LINT1);
}

APICState *apic_find_by_id(uint8_t apic_id)
{
    for (int i = 0; i < apic_count; i++) {
        if (apic_list[i] && apic_list[i]->id == apic_id) {
            return apic_list[i];
        }
    }
    return NULL;
}

static int cpu_apic_get_interrupt(X86CPU *cpu)
{
    return cpu->apic ? apic_get_interrupt(cpu->apic) : -1;
}

static bool cpu_apic_has_interrupt(X86CPU *cpu)
{
    return cpu->apic && apic_has_interrupt(cpu->apic);
}

static void cpu_apic_set_tpr(X86CPU *cpu, uint8_t tpr)
{
    if (cpu->apic) {
        apic_set_tpr(cpu->apic, tpr);
    }
}

static uint8_t cpu_apic_get_tpr(X86CPU *cpu)
{
    return cpu->apic ? apic_get_tpr(cpu->apic) : 0;
}

static void cpu_apic_set_base(X86CPU *cpu, uint64_t val)
{
    if (cpu->apic) {
        apic_set_base(cpu->apic, val);
    }
}

static uint64_t cpu_apic_get_base(X86CPU *cpu)
{
    return cpu->apic ? apic_get_base(cpu->apic) : 0;
}

const X86CPUIrqOps apic_cpu_irq_ops = {
    .get_interrupt = cpu_apic_get_interrupt,
    .has_interrupt = cpu_apic_has_interrupt,
    .set_tpr = cpu_apic_set_tpr,
    .get_tpr = cpu_apic_get_tpr,
    .set_apic_base = cpu_apic_set_base,
    .get_apic_base = cpu_apic_get_base,
};

/* -- device ------------------------------------------------------------------------------- */

static void apic_realize(DeviceState *dev, Error **errp)
{
    APICState *s = (APICState *)dev;

    if (s->initial_id > 0xfe) {
        error_setg(errp, "APIC ID %u is beyond the xAPIC range (max 254)", s->initial_id);
        return;
    }
    if (apic_count >= APIC_MAX_CPUS) {
        error_setg(errp, "too many local APICs (max %d)", APIC_MAX_CPUS);
        return;
    }
    s->index = apic_count;
    apic_list[apic_count++] = s;
    s->timer = timer_new_ns(KEMU_CLOCK_VIRTUAL, apic_timer_cb, s);
    if (!apic_mmio_mapped) {
        memory_region_init_io(&apic_mmio, &apic_mmio_ops, NULL, "apic-msi", APIC_SPACE_SIZE);
        memory_region_add_subregion_overlap(get_system_memory(), APIC_DEFAULT_BASE, &apic_mmio,
                                            4096);
        apic_mmio_mapped = true;
    }
}

static void apic_unrealize(DeviceState *dev)
{
    APICState *s = (APICState *)dev;

    timer_free(s->timer);
    s->timer = NULL;
    apic_list[s->index] = NULL;
    while (apic_count && !apic_list[apic_count - 1]) {
        apic_count--;
    }
    if (!apic_count && apic_mmio_mapped) {
        memory_region_del_subregion(get_system_memory(), &apic_mmio);
        apic_mmio_mapped = false;
    }
    if (s->cpu && s->cpu->apic == s) {
        s->cpu->apic = NULL;
    }
}

static int apic_post_load(void *opaque, int version_id)
{
    APICState *s = opaque;

    s->tdcr &= 0xb;
    for (int i = 0; i < LVT_NUM; i++) {
        s->lvt[i] &= apic_lvt_mask[i] | LVT_REMOTE_IRR;
    }
    apic_timer_arm(s);
    apic_update(s);
    return 0;
}

static const VMStateField vmstate_apic_fields[] = {
    VMSTATE_UINT64(apicbase, APICState),
    VMSTATE_UINT8(id, APICState),
    VMSTATE_UINT8(tpr, APICState),
    VMSTATE_UINT32(ldr, APICState),
    VMSTATE_UINT32(dfr, APICState),
    VMSTATE_UINT32(svr, APICState),
    VMSTATE_UINT32_ARRAY(isr, APICState, 8),
    VMSTATE_UINT32_ARRAY(tmr, APICState, 8),
    VMSTATE_UINT32_ARRAY(irr, APICState, 8),
    VMSTATE_UINT32_ARRAY(lvt, APICState, LVT_NUM),
    VMSTATE_UINT32(esr, APICState),
    VMSTATE_UINT32(esr_pending, APICState),
    VMSTATE_UINT32_ARRAY(icr, APICState, 2),
    VMSTATE_UINT32(tdcr, APICState),
    VMSTATE_UINT32(initial_count, APICState),
    VMSTATE_INT64(count_load_time, APICState),
    VMSTATE_UINT64(tsc_deadline, APICState),
    VMSTATE_INT64(tsc_deadline_ns, APICState),
    VMSTATE_INT32(lint0_level, APICState),
    VMSTATE_INT32(lint1_level, APICState),
    VMSTATE_BOOL(extint_pending, APICState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_apic = {
    .name = "apic",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = apic_post_load,
    .fields = vmstate_apic_fields,
};

static const Property apic_props[] = {
    DEFINE_PROP_UINT32("id", APICState, initial_id, 0),
    DEFINE_PROP_UINT8("version", APICState, version, 0x14),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass apic_class = {
    .name = TYPE_APIC,
    .instance_size = sizeof(APICState),
    .desc = "local xAPIC (userspace)",
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = false,
    .props = apic_props,
    .realize = apic_realize,
    .unrealize = apic_unrealize,
    .reset = apic_reset,
    .vmsd = &vmstate_apic,
};

DEVICE_TYPE_REGISTER(apic_class)

APICState *apic_create(X86CPU *cpu, uint32_t apic_id, Error **errp)
{
    DeviceState *dev = qdev_new(TYPE_APIC, errp);

    if (!dev) {
        return NULL;
    }
    APICState *s = (APICState *)dev;
    s->cpu = cpu;
    s->initial_id = apic_id;
    if (!qdev_realize(dev, NULL, errp)) {
        g_free(dev);
        return NULL;
    }
    if (cpu) {
        cpu->apic = s;
    }
    apic_reset(dev);
    return s;
}
