/* e820 map building: ordering, splitting, merging, the pc lowmem rule, fw_cfg bytes. */
#include <glib.h>
#include <string.h>

#include "hw/i386/e820.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

static void check_entries(const E820Table *t, const E820Entry *want, unsigned n)
{
    g_assert_cmpuint(t->nr, ==, n);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(t->entries[i].addr, ==, want[i].addr);
        g_assert_cmphex(t->entries[i].size, ==, want[i].size);
        g_assert_cmpuint(t->entries[i].type, ==, want[i].type);
    }
}

static void test_layout(void)
{
    static const struct { uint64_t ram, below, above; } cases[] = {
        { 128 * MiB, 128 * MiB, 0 },
        { 3 * GiB, 3 * GiB, 0 },
        { 3583 * MiB, 3583 * MiB, 0 },          /* just under 3.5 GiB: all low */
        { 3584 * MiB, 3 * GiB, 512 * MiB },     /* 3.5 GiB: 1 GiB-aligned split */
        { 4 * GiB, 3 * GiB, 1 * GiB },
        { 8 * GiB, 3 * GiB, 5 * GiB },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint64_t below, above;
        pc_ram_layout(cases[i].ram, &below, &above);
        g_assert_cmphex(below, ==, cases[i].below);
        g_assert_cmphex(above, ==, cases[i].above);
    }
}

static void test_pc_small(void)
{
    E820Table t;
    const E820Entry want[] = {
        { 0, 0x9fc00, E820_RAM },
        { 0x9fc00, 0x400, E820_RESERVED },
        { 0xf0000, 0x10000, E820_RESERVED },
        { 0x100000, 127 * MiB, E820_RAM },
    };
    e820_build_pc(&t, 128 * MiB, 0, true, false);
    check_entries(&t, want, G_N_ELEMENTS(want));
    g_assert_cmpuint(e820_type_at(&t, 0xa0000), ==, 0);
    g_assert_true(e820_range_is_ram(&t, 0x100000, 127 * MiB));
    g_assert_false(e820_range_is_ram(&t, 0x100000, 127 * MiB + 1));
    g_assert_false(e820_range_is_ram(&t, 0x9f000, 0x1000));
    g_assert_cmphex(e820_ram_end(&t, 0x200000), ==, 128 * MiB);
}

static void test_pc_large_kvm(void)
{
    E820Table t;
    uint64_t below, above;
    const E820Entry want[] = {
        { 0, 0x9fc00, E820_RAM },
        { 0x9fc00, 0x400, E820_RESERVED },
        { 0xf0000, 0x10000, E820_RESERVED },
        { 0x100000, 3 * GiB - 1 * MiB, E820_RAM },
        { 0xfeffc000, 0x4000, E820_RESERVED },
        { 4 * GiB, 3 * GiB, E820_RAM },
    };
    pc_ram_layout(6 * GiB, &below, &above);
    e820_build_pc(&t, below, above, true, true);
    check_entries(&t, want, G_N_ELEMENTS(want));
}

static void test_pc_firmware_map(void)
{
    E820Table t;
    const E820Entry want[] = {
        { 0, 3 * GiB, E820_RAM },
        { 4 * GiB, 1 * GiB, E820_RAM },
    };
    e820_build_pc(&t, 3 * GiB, 1 * GiB, false, false);
    check_entries(&t, want, G_N_ELEMENTS(want));
}

static void test_split_merge(void)
{
    E820Table t;

    e820_init(&t);
    /* Out of order adds come back sorted; touching entries of one type merge. */
    g_assert_true(e820_add_entry(&t, 2 * MiB, 1 * MiB, E820_RAM));
    g_assert_true(e820_add_entry(&t, 0, 1 * MiB, E820_RAM));
    g_assert_true(e820_add_entry(&t, 1 * MiB, 1 * MiB, E820_RAM));
    {
        const E820Entry want[] = { { 0, 3 * MiB, E820_RAM } };
        check_entries(&t, want, 1);
    }
    /* A reserved range inside RAM splits it in three. */
    g_assert_true(e820_add_entry(&t, 0x1000, 0x2000, E820_RESERVED));
    {
        const E820Entry want[] = {
            { 0, 0x1000, E820_RAM },
            { 0x1000, 0x2000, E820_RESERVED },
            { 0x3000, 3 * MiB - 0x3000, E820_RAM },
        };
        check_entries(&t, want, 3);
    }
    /* Overlapping the end of one entry and the start of the next. */
    g_assert_true(e820_add_entry(&t, 0x2000, 0x2000, E820_ACPI));
    {
        const E820Entry want[] = {
            { 0, 0x1000, E820_RAM },
            { 0x1000, 0x1000, E820_RESERVED },
            { 0x2000, 0x2000, E820_ACPI },
            { 0x4000, 3 * MiB - 0x4000, E820_RAM },
        };
        check_entries(&t, want, 4);
    }
    /* Covering everything replaces everything. */
    g_assert_true(e820_add_entry(&t, 0, 4 * MiB, E820_RESERVED));
    {
        const E820Entry want[] = { { 0, 4 * MiB, E820_RESERVED } };
        check_entries(&t, want, 1);
    }
    /* Wrapping ranges are refused. */
    g_assert_false(e820_add_entry(&t, UINT64_MAX - 10, 100, E820_RAM));
    g_assert_cmpuint(t.nr, ==, 1);
}

static void test_full(void)
{
    E820Table t;

    e820_init(&t);
    for (unsigned i = 0; i < E820_MAX_ENTRIES; i++) {
        /* alternate types so nothing merges */
        g_assert_true(e820_add_entry(&t, i * 0x2000ull, 0x1000, 1 + (i & 1)));
    }
    g_assert_cmpuint(t.nr, ==, E820_MAX_ENTRIES);
    g_assert_false(e820_add_entry(&t, 0x10000000, 0x1000, E820_RAM));
    g_assert_cmpuint(t.nr, ==, E820_MAX_ENTRIES);
}

static void test_fw_cfg_blob(void)
{
    E820Table t;
    size_t len;
    uint8_t *b;
    static const uint8_t want[40] = {
        0, 0, 0, 0, 0, 0, 0, 0,                 0, 0, 0, 0x08, 0, 0, 0, 0,   1, 0, 0, 0,
        0, 0, 0, 0, 1, 0, 0, 0,                 0, 0, 0, 0x40, 0, 0, 0, 0,   1, 0, 0, 0,
    };
    e820_build_pc(&t, 128 * MiB, 1 * GiB, false, false);
    b = e820_fw_cfg_blob(&t, &len);
    g_assert_cmpuint(len, ==, 40);
    g_assert_cmpmem(b, len, want, sizeof(want));
    g_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i386/e820/pc-ram-layout", test_layout);
    g_test_add_func("/i386/e820/pc-small", test_pc_small);
    g_test_add_func("/i386/e820/pc-large-kvm", test_pc_large_kvm);
    g_test_add_func("/i386/e820/pc-firmware-map", test_pc_firmware_map);
    g_test_add_func("/i386/e820/split-merge", test_split_merge);
    g_test_add_func("/i386/e820/full", test_full);
    g_test_add_func("/i386/e820/fw-cfg-blob", test_fw_cfg_blob);
    return g_test_run();
}
