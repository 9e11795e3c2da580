/*
 * Helpers for the interrupt controller and PIT unit tests: port and MMIO accesses through
 * the real address spaces, the stepped virtual clock of system/timer.c, and a recorder
 * for Irq lines.
 */
#ifndef TESTS_UNIT_INTC_TEST_H
#define TESTS_UNIT_INTC_TEST_H

#include <glib.h>

#include "hw/irq.h"
#include "hw/isa.h"
#include "system/memory.h"
#include "system/timer.h"

static inline void outb(uint16_t port, uint8_t v)
{
    uint64_t x = v;
    g_assert_cmpint(address_space_ldst(&address_space_io, port, &x, 1, true), ==, MEMTX_OK);
}

static inline uint8_t inb(uint16_t port)
{
    uint64_t x = 0;
    g_assert_cmpint(address_space_ldst(&address_space_io, port, &x, 1, false), ==, MEMTX_OK);
    return (uint8_t)x;
}

static inline void writel(hwaddr a, uint32_t v)
{
    uint64_t x = v;
    address_space_ldst(&address_space_memory, a, &x, 4, true);
}

static inline uint32_t readl(hwaddr a)
{
    uint64_t x = 0;
    address_space_ldst(&address_space_memory, a, &x, 4, false);
    return (uint32_t)x;
}

/* One recorded line: current level and the number of rising edges seen. */
typedef struct LineRec {
    int level;
    int raises;
    int lowers;
} LineRec;

static inline void line_rec_handler(void *opaque, int n, int level)
{
    LineRec *r = opaque;
    if (level && !r->level) {
        r->raises++;
    } else if (!level && r->level) {
        r->lowers++;
    }
    r->level = level;
}

static inline void intc_test_init(void)
{
    memory_init();
    isa_bus_init(NULL);
    clock_virtual_set_manual(true);
}

#endif
