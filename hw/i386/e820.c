/*
 * E820 memory map building for PC boards.  Range types per ACPI 6.4 §15.1 (Table 15.1);
 * the low-memory holes follow what QEMU + SeaBIOS show a Linux guest (the 639 KiB
 * conventional memory below the EBDA, the BIOS area 0xf0000-0xfffff); the fw_cfg
 * "etc/e820" record layout is QEMU's (docs/specs/fw_cfg.txt, struct e820_entry).
 */
#include "hw/i386/e820.h"

#include <glib.h>
#include <string.h>

void e820_init(E820Table *t)
{
    memset(t, 0, sizeof(*t));
}

bool e820_add_entry(E820Table *t, uint64_t addr, uint64_t len, uint32_t type)
{
    /* Worst case: every old entry kept, one split in two, plus the new one. */
    E820Entry tmp[E820_MAX_ENTRIES + 2];
    unsigned n = 0;
    uint64_t end;

    if (len == 0) {
        return true;
    }
    end = addr + len;
    if (end < addr && end != 0) {
        return false;
    }
    /* end == 0 means the range reaches exactly 2^64; treat as UINT64_MAX inclusive. */
    for (unsigned i = 0; i < t->nr; i++) {
        const E820Entry *e = &t->entries[i];
        uint64_t e_end = e->addr + e->size;
        bool overlaps = e->addr < (end ? end : UINT64_MAX) && (e_end > addr || e_end == 0);

        if (!overlaps) {
            tmp[n++] = *e;
            continue;
        }
        if (e->addr < addr) {
            tmp[n++] = (E820Entry){ e->addr, addr - e->addr, e->type };
        }
        if (end && (e_end > end || e_end == 0)) {
            tmp[n++] = (E820Entry){ end, e_end - end, e->type };
        }
    }
    tmp[n++] = (E820Entry){ addr, len, type };

    /* Sort by address (n is small: insertion sort). */
    for (unsigned i = 1; i < n; i++) {
        E820Entry x = tmp[i];
        unsigned j = i;
        while (j > 0 && tmp[j - 1].addr > x.addr) {
            tmp[j] = tmp[j - 1];
            j--;
        }
        tmp[j] = x;
    }
    /* Merge adjacent entries of the same type. */
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) {
        if (m > 0 && tmp[m - 1].type == tmp[i].type &&
            tmp[m - 1].addr + tmp[m - 1].size == tmp[i].addr) {
            tmp[m - 1].size += tmp[i].size;
        } else {
            tmp[m++] = tmp[i];
        }
    }
    if (m > E820_MAX_ENTRIES) {
        return false;
    }
    memcpy(t->entries, tmp, m * sizeof(tmp[0]));
    t->nr = m;
    return true;
}

static const E820Entry *e820_find(const E820Table *t, uint64_t addr)
{
    for (unsigned i = 0; i < t->nr; i++) {
        const E820Entry *e = &t->entries[i];
        if (addr >= e->addr && addr - e->addr < e->size) {
            return e;
        }
    }
    return NULL;
}

uint32_t e820_type_at(const E820Table *t, uint64_t addr)
{
    const E820Entry *e = e820_find(t, addr);
    return e ? e->type : 0;
}

bool e820_range_is_ram(const E820Table *t, uint64_t addr, uint64_t len)
{
    const E820Entry *e = e820_find(t, addr);

    if (!e || e->type != E820_RAM) {
        return false;
    }
    return len <= e->size - (addr - e->addr);
}

uint64_t e820_total_ram(const E820Table *t)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < t->nr; i++) {
        if (t->entries[i].type == E820_RAM) {
            sum += t->entries[i].size;
        }
    }
    return sum;
}

uint64_t e820_ram_end(const E820Table *t, uint64_t addr)
{
    const E820Entry *e = e820_find(t, addr);

    return (e && e->type == E820_RAM) ? e->addr + e->size : 0;
}

void pc_ram_layout(uint64_t ram_size, uint64_t *below_4g, uint64_t *above_4g)
{
    uint64_t lowmem = PC_LOWMEM_DEFAULT_MAX;

    /* With at least max-ram-below-4g of RAM, i440FX aligns the split to 1 GiB. */
    if (ram_size >= lowmem && lowmem > 0xc0000000ull) {
        lowmem = 0xc0000000ull;
    }
    if (ram_size >= lowmem) {
        *below_4g = lowmem;
        *above_4g = ram_size - lowmem;
    } else {
        *below_4g = ram_size;
        *above_4g = 0;
    }
}

void e820_build_pc(E820Table *t, uint64_t below_4g, uint64_t above_4g, bool bios_holes,
                   bool kvm_tss)
{
    e820_init(t);
    e820_add_entry(t, 0, below_4g, E820_RAM);
    if (above_4g) {
        e820_add_entry(t, 0x100000000ull, above_4g, E820_RAM);
    }
    if (bios_holes && below_4g > PC_LOW_RAM_END) {
        /* Carve [639 KiB, 1 MiB) out of RAM: type 0 marks the range, then drop it. */
        e820_add_entry(t, PC_LOW_RAM_END, PC_HIGH_RAM_START - PC_LOW_RAM_END, 0);
        unsigned m = 0;
        for (unsigned i = 0; i < t->nr; i++) {
            if (t->entries[i].type != 0) {
                t->entries[m++] = t->entries[i];
            }
        }
        t->nr = m;
        e820_add_entry(t, PC_LOW_RAM_END, PC_ISA_HOLE_START - PC_LOW_RAM_END, E820_RESERVED);
        e820_add_entry(t, PC_BIOS_AREA_START, PC_HIGH_RAM_START - PC_BIOS_AREA_START,
                       E820_RESERVED);
    }
    if (kvm_tss) {
        e820_add_entry(t, PC_KVM_TSS_ADDR, PC_KVM_TSS_SIZE, E820_RESERVED);
    }
}

uint8_t *e820_fw_cfg_blob(const E820Table *t, size_t *len)
{
    uint8_t *buf = g_malloc0(t->nr * 20 + 1);

    for (unsigned i = 0; i < t->nr; i++) {
        uint8_t *p = buf + i * 20;
        uint64_t a = GUINT64_TO_LE(t->entries[i].addr);
        uint64_t s = GUINT64_TO_LE(t->entries[i].size);
        uint32_t ty = GUINT32_TO_LE(t->entries[i].type);
        memcpy(p, &a, 8);
        memcpy(p + 8, &s, 8);
        memcpy(p + 16, &ty, 4);
    }
    *len = t->nr * 20;
    return buf;
}
