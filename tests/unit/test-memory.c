/* Unit tests for the memory API: flattening, priorities, aliases, dispatch, listeners. */
#include <glib.h>
#include <string.h>

#include "kemu/event_notifier.h"
#include "system/memory.h"

typedef struct Dev {
    MemoryRegion mr;
    uint64_t last_addr, last_val;
    unsigned last_size;
    int reads, writes;
    AddressSpace *dma_as;  /* if set, a write triggers DMA into dma_addr */
    hwaddr dma_addr;
} Dev;

static uint64_t dev_read(void *opaque, hwaddr addr, unsigned size)
{
    Dev *d = opaque;
    d->reads++;
    d->last_addr = addr;
    d->last_size = size;
    return 0x1100 + addr;
}

static void dev_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    Dev *d = opaque;
    d->writes++;
    d->last_addr = addr;
    d->last_val = val;
    d->last_size = size;
    if (d->dma_as) {
        uint32_t v = 0xdeadbeef;
        address_space_write(d->dma_as, d->dma_addr, &v, 4);
    }
}

static const MemoryRegionOps dev_ops = {
    .read = dev_read,
    .write = dev_write,
    .valid_min = 1,
    .valid_max = 4,
    .impl_min = 4,
    .impl_max = 4,
};

static MemoryRegion root;
static AddressSpace as;

static void setup(void)
{
    memory_region_init_container(&root, "root", UINT64_MAX);
    address_space_init(&as, &root, "test");
}

static void teardown(void)
{
    address_space_destroy(&as);
    memory_region_finalize(&root);
}

static void test_flatten_priority(void)
{
    MemoryRegion ram, hole;
    Dev d = { 0 };
    setup();
    g_assert_true(memory_region_init_ram(&ram, "ram", 0x10000, NULL));
    memory_region_init_io(&hole, &dev_ops, &d, "hole", 0x1000);
    memory_region_add_subregion(&root, 0, &ram);
    memory_region_add_subregion_overlap(&root, 0x4000, &hole, 1);
    /* RAM split around the higher-priority hole: 3 ranges */
    g_assert_cmpuint(as.view->nr, ==, 3);
    g_assert_true(as.view->ranges[0].mr == &ram);
    g_assert_cmpuint(as.view->ranges[0].size, ==, 0x4000);
    g_assert_true(as.view->ranges[1].mr == &hole);
    g_assert_true(as.view->ranges[2].mr == &ram);
    g_assert_cmpuint(as.view->ranges[2].start, ==, 0x5000);
    g_assert_cmpuint(as.view->ranges[2].offset_in_mr, ==, 0x5000);
    /* Disabling the hole merges RAM back into one range */
    memory_region_set_enabled(&hole, false);
    g_assert_cmpuint(as.view->nr, ==, 1);
    memory_region_finalize(&hole);
    memory_region_finalize(&ram);
    teardown();
}

static void test_alias_high_offset(void)
{
    MemoryRegion ram, lo, hi;
    setup();
    g_assert_true(memory_region_init_ram(&ram, "ram", 0x30000, NULL));
    /* Like the PC: [0, 0x20000) below, [0x20000, 0x30000) shown at 0x100000 */
    memory_region_init_alias(&lo, "lo", &ram, 0, 0x20000);
    memory_region_init_alias(&hi, "hi", &ram, 0x20000, 0x10000);
    memory_region_add_subregion(&root, 0, &lo);
    memory_region_add_subregion(&root, 0x100000, &hi);
    g_assert_cmpuint(as.view->nr, ==, 2);
    const FlatRange *r = address_space_lookup(&as, 0x100010);
    g_assert_nonnull(r);
    g_assert_true(r->mr == &ram);
    g_assert_cmpuint(r->offset_in_mr + (0x100010 - r->start), ==, 0x20010);
    uint32_t v = 0x12345678, back = 0;
    g_assert_cmpint(address_space_write(&as, 0x100010, &v, 4), ==, MEMTX_OK);
    memcpy(&back, ram.ram + 0x20010, 4);
    g_assert_cmphex(back, ==, 0x12345678);
    /* Alias whose offset exceeds its address (target base "below zero") */
    MemoryRegion odd;
    memory_region_init_alias(&odd, "odd", &ram, 0x28000, 0x1000);
    memory_region_add_subregion(&root, 0x1000, &odd);
    g_assert_cmpint(address_space_read(&as, 0x1010, &back, 4), ==, MEMTX_OK);
    memcpy(&v, ram.ram + 0x28010, 4);
    g_assert_cmphex(back, ==, v);
    memory_region_finalize(&odd);
    memory_region_finalize(&hi);
    memory_region_finalize(&lo);
    memory_region_finalize(&ram);
    teardown();
}

static void test_unmapped_and_bounds(void)
{
    MemoryRegion ram;
    setup();
    g_assert_true(memory_region_init_ram(&ram, "ram", 0x1000, NULL));
    memory_region_add_subregion(&root, 0x1000, &ram);
    uint8_t buf[0x20];
    memset(buf, 0, sizeof(buf));
    /* Straddles the end of RAM: the tail reads as all-ones and is reported */
    MemTxResult r = address_space_read(&as, 0x1ff0, buf, sizeof(buf));
    g_assert_cmpint(r, ==, MEMTX_DECODE_ERROR);
    g_assert_cmpuint(buf[0x1f], ==, 0xff);
    /* A range wrapping the 64-bit space is refused without touching anything */
    g_assert_cmpint(address_space_read(&as, UINT64_MAX - 4, buf, 16), ==, MEMTX_DECODE_ERROR);
    /* map() clips to contiguous RAM and refuses non-RAM */
    hwaddr len = 0x2000;
    void *p = address_space_map(&as, 0x1800, &len, true);
    g_assert_true(p == ram.ram + 0x800);
    g_assert_cmpuint(len, ==, 0x800);
    len = 16;
    g_assert_null(address_space_map(&as, 0x5000, &len, false));
    g_assert_cmpuint(len, ==, 0);
    memory_region_finalize(&ram);
    teardown();
}

static void test_access_sizes(void)
{
    Dev d = { 0 };
    MemoryRegion io;
    setup();
    memory_region_init_io(&io, &dev_ops, &d, "dev", 0x100);
    memory_region_add_subregion(&root, 0x1000, &io);
    /* A 1-byte read of a 4-byte-implemented register reads the whole word and shifts */
    uint8_t b = 0;
    address_space_read(&as, 0x1005, &b, 1);
    g_assert_cmpuint(d.last_addr, ==, 4);
    g_assert_cmpuint(d.last_size, ==, 4);
    g_assert_cmphex(b, ==, ((0x1100 + 4) >> 8) & 0xff);
    /* An 8-byte access beyond valid_max is split into two 4-byte accesses */
    uint64_t v = 0x0807060504030201ull;
    d.writes = 0;
    address_space_write(&as, 0x1010, &v, 8);
    g_assert_cmpint(d.writes, ==, 2);
    g_assert_cmpuint(d.last_addr, ==, 0x14);
    g_assert_cmphex(d.last_val, ==, 0x08070605);
    memory_region_finalize(&io);
    teardown();
}

static void test_reentrancy_guard(void)
{
    Dev d = { 0 };
    MemoryRegion io;
    setup();
    memory_region_init_io(&io, &dev_ops, &d, "selfdma", 0x100);
    memory_region_add_subregion(&root, 0x2000, &io);
    d.dma_as = &as;
    d.dma_addr = 0x2000; /* DMA aimed at its own registers */
    uint32_t v = 1;
    address_space_write(&as, 0x2000, &v, 4);
    /* Only the guest's write reached the device; the DMA was blocked */
    g_assert_cmpint(d.writes, ==, 1);
    g_assert_cmphex(d.last_val, ==, 1);
    memory_region_finalize(&io);
    teardown();
}

typedef struct Rec {
    MemoryListener l;
    int adds, dels;
    uint64_t last_start, last_size;
} Rec;

static void rec_add(MemoryListener *l, const FlatRange *fr)
{
    Rec *r = (Rec *)l;
    r->adds++;
    r->last_start = fr->start;
    r->last_size = fr->size;
}

static void rec_del(MemoryListener *l, const FlatRange *fr)
{
    ((Rec *)l)->dels++;
}

static void test_listener(void)
{
    MemoryRegion ram, rom;
    Rec rec = { .l = { .region_add = rec_add, .region_del = rec_del } };
    setup();
    g_assert_true(memory_region_init_ram(&ram, "ram", 0x100000, NULL));
    memory_region_add_subregion(&root, 0, &ram);
    memory_listener_register(&rec.l, &as);
    g_assert_cmpint(rec.adds, ==, 1);
    g_assert_true(memory_region_init_rom(&rom, "rom", 0x10000, NULL));
    memory_region_transaction_begin();
    memory_region_add_subregion_overlap(&root, 0xf0000, &rom, 1);
    memory_region_transaction_commit();
    /* The RAM range shrank (old removed, new added) and the ROM appeared */
    g_assert_cmpint(rec.dels, ==, 1);
    g_assert_cmpint(rec.adds, ==, 3);
    /* Guest writes to ROM are dropped; loader writes go through */
    uint8_t x = 0x5a, y = 0;
    address_space_write(&as, 0xf0000, &x, 1);
    address_space_read(&as, 0xf0000, &y, 1);
    g_assert_cmpuint(y, ==, 0);
    address_space_write_rom(&as, 0xf0000, &x, 1);
    address_space_read(&as, 0xf0000, &y, 1);
    g_assert_cmpuint(y, ==, 0x5a);
    memory_listener_unregister(&rec.l);
    memory_region_finalize(&rom);
    memory_region_finalize(&ram);
    teardown();
}

typedef struct EfdRec {
    MemoryListener l;
    int adds, dels;
    hwaddr last;
} EfdRec;

static void efd_add(MemoryListener *l, hwaddr addr, const MemoryRegionIoeventfd *f)
{
    ((EfdRec *)l)->adds++;
    ((EfdRec *)l)->last = addr;
}

static void efd_del(MemoryListener *l, hwaddr addr, const MemoryRegionIoeventfd *f)
{
    ((EfdRec *)l)->dels++;
}

static void test_ioeventfd(void)
{
    Dev d = { 0 };
    MemoryRegion io;
    EventNotifier e;
    EfdRec rec = { .l = { .eventfd_add = efd_add, .eventfd_del = efd_del } };
    setup();
    g_assert_true(event_notifier_init(&e, false, NULL));
    memory_region_init_io(&io, &dev_ops, &d, "notify", 0x100);
    memory_region_add_subregion(&root, 0x3000, &io);
    memory_listener_register(&rec.l, &as);
    memory_region_add_eventfd(&io, 0x10, 4, true, 7, &e);
    /* Listeners see it at its address-space address */
    g_assert_cmpint(rec.adds, ==, 1);
    g_assert_cmphex(rec.last, ==, 0x3010);
    /* Without an accelerator the dispatcher signals it and skips the device */
    uint32_t v = 7;
    address_space_write(&as, 0x3010, &v, 4);
    g_assert_true(event_notifier_test_and_clear(&e));
    g_assert_cmpint(d.writes, ==, 0);
    /* Non-matching data reaches the device */
    v = 8;
    address_space_write(&as, 0x3010, &v, 4);
    g_assert_false(event_notifier_test_and_clear(&e));
    g_assert_cmpint(d.writes, ==, 1);
    /* Moving the region moves the ioeventfd */
    memory_region_set_address(&io, 0x4000);
    g_assert_cmpint(rec.dels, ==, 1);
    g_assert_cmphex(rec.last, ==, 0x4010);
    memory_region_del_eventfd(&io, 0x10, 4, true, 7, &e);
    g_assert_cmpint(rec.dels, ==, 2);
    memory_listener_unregister(&rec.l);
    event_notifier_cleanup(&e);
    memory_region_finalize(&io);
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/flatten-priority", test_flatten_priority);
    g_test_add_func("/memory/alias-high-offset", test_alias_high_offset);
    g_test_add_func("/memory/unmapped-and-bounds", test_unmapped_and_bounds);
    g_test_add_func("/memory/access-sizes", test_access_sizes);
    g_test_add_func("/memory/reentrancy-guard", test_reentrancy_guard);
    g_test_add_func("/memory/listener", test_listener);
    g_test_add_func("/memory/ioeventfd", test_ioeventfd);
    return g_test_run();
}
