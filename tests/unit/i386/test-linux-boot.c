/*
 * Linux bzImage loading from synthetic images: boot_params contents, command line,
 * initrd placement, page tables, GDT, entry state, and the error messages.
 */
#include <glib.h>
#include <string.h>

#include "boot-stubs.h"
#include "hw/boards.h"
#include "hw/i386/boot.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v);
    wr16(p + 2, v >> 16);
}

typedef struct FakeKernel {
    uint16_t protocol;
    uint8_t loadflags;
    uint8_t xloadflags;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;
    uint32_t init_size;
    uint32_t pref_address;
    size_t payload;
} FakeKernel;

/* A bzImage: 4 setup sectors + boot sector, then `payload` bytes of pattern. */
static uint8_t *make_bzimage(const FakeKernel *fk, size_t *len)
{
    size_t setup = 5 * 512;
    uint8_t *k = g_malloc0(setup + fk->payload);

    k[0x1f1] = 4;
    wr16(k + 0x1fa, 0xffff);
    wr16(k + 0x1fe, 0xaa55);
    k[0x200] = 0xeb;
    k[0x201] = 0x6a;                  /* header ends at 0x26c */
    memcpy(k + 0x202, "HdrS", 4);
    wr16(k + 0x206, fk->protocol);
    k[0x211] = fk->loadflags;
    wr32(k + 0x214, 0x100000);
    wr32(k + 0x22c, fk->initrd_addr_max);
    wr32(k + 0x230, 0x200000);
    k[0x234] = 1;
    k[0x236] = fk->xloadflags;
    wr32(k + 0x238, fk->cmdline_size);
    wr32(k + 0x258, fk->pref_address);
    wr32(k + 0x260, fk->init_size);
    for (size_t i = 0; i < fk->payload; i++) {
        k[setup + i] = (uint8_t)(i * 7 + 3);
    }
    *len = setup + fk->payload;
    return k;
}

static const FakeKernel modern = {
    .protocol = 0x20f, .loadflags = 0x01, .xloadflags = 0x03,
    .initrd_addr_max = 0x7fffffff, .cmdline_size = 2047,
    .init_size = 0x800000, .pref_address = 0x1000000, .payload = 0x3000,
};

static bool build(const FakeKernel *fk, uint64_t ram, const char *cmdline,
                  size_t initrd_len, X86BootImage *img, Error **errp)
{
    static E820Table e820;
    uint64_t below, above;
    size_t klen;
    uint8_t *k = make_bzimage(fk, &klen);
    uint8_t *initrd = initrd_len ? g_malloc(initrd_len) : NULL;
    X86BootConfig cfg = {
        .kernel_filename = "bzImage",
        .cmdline = cmdline,
        .e820 = &e820,
        .acpi_rsdp_addr = 0xf0000,
    };
    bool ok;

    pc_ram_layout(ram, &below, &above);
    e820_build_pc(&e820, below, above, true, false);
    for (size_t i = 0; i < initrd_len; i++) {
        initrd[i] = (uint8_t)(i ^ 0x5a);
    }
    memset(img, 0, sizeof(*img));
    ok = linux_boot_build(&cfg, k, klen, initrd, initrd_len, img, errp);
    g_free(k);
    g_free(initrd);
    return ok;
}

static const uint8_t *blob(const X86BootImage *img, const char *name, hwaddr addr, size_t len)
{
    const X86BootBlob *b = x86_boot_image_find(img, name);
    g_assert_nonnull(b);
    g_assert_cmphex(b->addr, ==, addr);
    g_assert_cmpuint(b->len, ==, len);
    return b->data;
}

static void test_linux64(void)
{
    X86BootImage img;
    const uint8_t *bp, *k, *pt;
    E820Table e820;

    g_assert_true(build(&modern, 128 * MiB, "console=ttyS0 quiet", 0, &img, &error_abort));
    g_assert_null(img.warnings);

    k = blob(&img, "linux kernel", 0x100000, 0x3000);
    for (size_t i = 0; i < 0x3000; i++) {
        g_assert_cmpuint(k[i], ==, (uint8_t)(i * 7 + 3));
    }
    g_assert_cmpstr((const char *)blob(&img, "cmdline", 0x20000, 20), ==,
                    "console=ttyS0 quiet");

    bp = blob(&img, "boot_params", 0x7000, 4096);
    g_assert_cmpmem(bp + 0x202, 4, "HdrS", 4);            /* header copied */
    g_assert_cmphex(bp[0x201], ==, 0x6a);
    g_assert_cmphex(bp[0x1f1], ==, 4);
    g_assert_cmphex(rd32(bp + 0x230), ==, 0x200000);       /* kernel_alignment kept */
    g_assert_cmphex(bp[0x210], ==, 0xb0);                  /* type_of_loader */
    g_assert_cmphex(bp[0x211], ==, 0x81);                  /* LOADED_HIGH | CAN_USE_HEAP */
    g_assert_cmphex(bp[0x224] | (bp[0x225] << 8), ==, 0xde00);
    g_assert_cmphex(rd32(bp + 0x228), ==, 0x20000);        /* cmd_line_ptr */
    g_assert_cmphex(rd32(bp + 0x0c8), ==, 0);              /* ext_cmd_line_ptr */
    g_assert_cmphex(rd32(bp + 0x218), ==, 0);              /* no ramdisk */
    g_assert_cmphex(rd64(bp + 0x070), ==, 0xf0000);        /* acpi_rsdp_addr */
    g_assert_cmphex(bp[0x0f], ==, 0);                      /* orig_video_isVGA: serial */
    g_assert_cmphex(bp[0x1ef], ==, 0);                     /* sentinel untouched */
    /* e820 copy */
    e820_build_pc(&e820, 128 * MiB, 0, true, false);
    g_assert_cmpuint(bp[0x1e8], ==, e820.nr);
    g_assert_cmpuint(e820.nr, ==, 4);
    for (unsigned i = 0; i < e820.nr; i++) {
        const uint8_t *e = bp + 0x2d0 + 20 * i;
        g_assert_cmphex(rd64(e), ==, e820.entries[i].addr);
        g_assert_cmphex(rd64(e + 8), ==, e820.entries[i].size);
        g_assert_cmphex(rd32(e + 16), ==, e820.entries[i].type);
    }
    g_assert_cmphex(rd32(bp + 0x1e0), ==, 127 * 1024);     /* alt_mem_k */

    /* Page tables: identity map of 4 GiB with 2 MiB pages. */
    pt = blob(&img, "pml4", 0x9000, 4096);
    g_assert_cmphex(rd64(pt), ==, 0xa003);
    g_assert_cmphex(rd64(pt + 8), ==, 0);
    pt = blob(&img, "pdpt", 0xa000, 4096);
    g_assert_cmphex(rd64(pt), ==, 0xb003);
    g_assert_cmphex(rd64(pt + 24), ==, 0xe003);
    g_assert_cmphex(rd64(pt + 32), ==, 0);
    pt = blob(&img, "page directories", 0xb000, 4 * 4096);
    g_assert_cmphex(rd64(pt), ==, 0x83);
    g_assert_cmphex(rd64(pt + 8), ==, 0x200083);
    g_assert_cmphex(rd64(pt + 2047 * 8), ==, 0xffe00083);

    /* GDT: 0x10 64-bit code, 0x18 data. */
    pt = blob(&img, "gdt", 0x500, 32);
    g_assert_cmphex(rd64(pt + 0x10), ==, 0x00af9b000000ffffull);
    g_assert_cmphex(rd64(pt + 0x18), ==, 0x00cf93000000ffffull);

    g_assert_cmpint(img.entry.mode, ==, X86_ENTRY_LINUX64);
    g_assert_cmphex(img.entry.entry, ==, 0x100200);
    g_assert_cmphex(img.entry.boot_info, ==, 0x7000);

    CPUX86State env;
    memset(&env, 0xcc, sizeof(env));
    x86_boot_set_cpu_state(&img.entry, &env);
    g_assert_cmphex(env.rip, ==, 0x100200);
    g_assert_cmphex(env.regs[R_ESI], ==, 0x7000);
    g_assert_cmphex(env.regs[R_EBX], ==, 0);
    g_assert_cmphex(env.cr[0] & (CR0_PE | CR0_PG | CR0_CD | CR0_NW), ==, CR0_PE | CR0_PG);
    g_assert_cmphex(env.cr[3], ==, 0x9000);
    g_assert_cmphex(env.cr[4], ==, CR4_PAE);
    g_assert_cmphex(env.efer, ==, EFER_LME | EFER_LMA);
    g_assert_cmphex(env.rflags, ==, 0x2);
    g_assert_cmpuint(env.segs[R_CS].selector, ==, 0x10);
    g_assert_cmpuint(env.segs[R_CS].l, ==, 1);
    g_assert_cmpuint(env.segs[R_CS].db, ==, 0);
    g_assert_cmpuint(env.segs[R_DS].selector, ==, 0x18);
    g_assert_cmpuint(env.segs[R_SS].selector, ==, 0x18);
    g_assert_cmphex(env.segs[R_DS].limit, ==, 0xffffffff);
    g_assert_cmphex(env.gdt.base, ==, 0x500);
    g_assert_cmphex(env.gdt.limit, ==, 31);
    x86_boot_image_free(&img);
}

static void test_linux32(void)
{
    FakeKernel fk = modern;
    X86BootImage img;
    const uint8_t *g;
    CPUX86State env;

    fk.xloadflags = 0;           /* no XLF_KERNEL_64: 32-bit boot protocol */
    g_assert_true(build(&fk, 64 * MiB, NULL, 0, &img, &error_abort));
    g_assert_cmpint(img.entry.mode, ==, X86_ENTRY_LINUX32);
    g_assert_cmphex(img.entry.entry, ==, 0x100000);
    g_assert_null(x86_boot_image_find(&img, "pml4"));
    g = blob(&img, "gdt", 0x500, 32);
    g_assert_cmphex(rd64(g + 0x10), ==, 0x00cf9b000000ffffull);
    g_assert_cmpstr((const char *)blob(&img, "cmdline", 0x20000, 1), ==, "");
    x86_boot_set_cpu_state(&img.entry, &env);
    g_assert_cmphex(env.cr[0] & (CR0_PE | CR0_PG), ==, CR0_PE);
    g_assert_cmphex(env.efer, ==, 0);
    g_assert_cmphex(env.regs[R_ESI], ==, 0x7000);
    g_assert_cmphex(env.regs[R_EBP] | env.regs[R_EDI] | env.regs[R_EBX], ==, 0);
    g_assert_cmpuint(env.segs[R_CS].db, ==, 1);
    g_assert_cmpuint(env.segs[R_CS].l, ==, 0);
    x86_boot_image_free(&img);

    /* Protocol 2.11 cannot declare XLF_KERNEL_64: 32-bit entry even if the byte is set. */
    fk = modern;
    fk.protocol = 0x20b;
    g_assert_true(build(&fk, 64 * MiB, NULL, 0, &img, &error_abort));
    g_assert_cmpint(img.entry.mode, ==, X86_ENTRY_LINUX32);
    x86_boot_image_free(&img);
}

static void test_cmdline_truncated(void)
{
    FakeKernel fk = modern;
    X86BootImage img;

    fk.cmdline_size = 10;
    g_assert_true(build(&fk, 64 * MiB, "0123456789abcdef", 0, &img, &error_abort));
    g_assert_cmpmem(blob(&img, "cmdline", 0x20000, 11), 11, "0123456789", 11);
    g_assert_nonnull(img.warnings);
    g_assert_true(strstr(img.warnings[0], "truncated to 10 bytes") != NULL);
    x86_boot_image_free(&img);
}

static void test_vga_param(void)
{
    X86BootImage img;
    Error *err = NULL;
    const uint8_t *bp;

    g_assert_true(build(&modern, 64 * MiB, "quiet vga=ask", 0, &img, &error_abort));
    bp = blob(&img, "boot_params", 0x7000, 4096);
    g_assert_cmphex(bp[0x1fa] | (bp[0x1fb] << 8), ==, 0xfffd);
    x86_boot_image_free(&img);

    g_assert_true(build(&modern, 64 * MiB, "vga=0x317", 0, &img, &error_abort));
    bp = blob(&img, "boot_params", 0x7000, 4096);
    g_assert_cmphex(bp[0x1fa] | (bp[0x1fb] << 8), ==, 0x317);
    x86_boot_image_free(&img);

    g_assert_false(build(&modern, 64 * MiB, "vga=foo", 0, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "invalid 'vga=' kernel parameter");
    error_free(err);
    x86_boot_image_free(&img);
}

static void check_initrd(const FakeKernel *fk, uint64_t ram, size_t size, uint64_t want_addr)
{
    X86BootImage img;
    const uint8_t *bp, *data;

    g_assert_true(build(fk, ram, NULL, size, &img, &error_abort));
    data = blob(&img, "initrd", want_addr, size);
    g_assert_cmpuint(data[0], ==, 0x5a);
    g_assert_cmpuint(data[size - 1], ==, (uint8_t)((size - 1) ^ 0x5a));
    bp = blob(&img, "boot_params", 0x7000, 4096);
    g_assert_cmphex(rd32(bp + 0x218), ==, want_addr);
    g_assert_cmphex(rd32(bp + 0x21c), ==, size);
    g_assert_cmphex(rd32(bp + 0x0c0), ==, 0);
    g_assert_cmphex(rd32(bp + 0x0c4), ==, 0);
    x86_boot_image_free(&img);
}

static void test_initrd_placement(void)
{
    FakeKernel fk = modern;

    /* Top of low RAM, 4 KiB aligned down. */
    check_initrd(&fk, 128 * MiB, 1 * MiB + 123, (128 * MiB - (1 * MiB + 123)) & ~0xfffull);
    check_initrd(&fk, 128 * MiB, 4096, 128 * MiB - 4096);
    /* initrd_addr_max below the RAM top wins. */
    fk.initrd_addr_max = 0x37ffffff;
    check_initrd(&fk, 2 * GiB, 10 * MiB + 1, (0x38000000 - (10 * MiB + 1)) & ~0xfffull);
    /* Protocol 2.02 has no initrd_addr_max field: 0x37ffffff is implied. */
    fk = modern;
    fk.protocol = 0x202;
    check_initrd(&fk, 3 * GiB, 5000, (0x38000000 - 5000) & ~0xfffull);
    /* More than 3.5 GiB of RAM: the low part ends at 3 GiB. */
    fk = modern;
    fk.initrd_addr_max = 0xffffffff;
    check_initrd(&fk, 6 * GiB, 3 * MiB, 3 * GiB - 3 * MiB);
}

static void test_initrd_too_large(void)
{
    X86BootImage img;
    Error *err = NULL;

    /* 32 MiB of RAM; the kernel decompresses into [16 MiB, 24 MiB): 8 MiB remain. */
    g_assert_false(build(&modern, 32 * MiB, NULL, 8 * MiB + 1, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "initrd is too large, cannot support (max: 8388608, need 8388609)");
    error_free(err);
    x86_boot_image_free(&img);
    g_assert_true(build(&modern, 32 * MiB, NULL, 8 * MiB, &img, &error_abort));
    x86_boot_image_free(&img);
}

static void expect_error(const FakeKernel *fk, size_t initrd, const char *msg)
{
    X86BootImage img;
    Error *err = NULL;

    g_assert_false(build(fk, 64 * MiB, NULL, initrd, &img, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    x86_boot_image_free(&img);
}

static void test_rejections(void)
{
    FakeKernel fk = modern;

    fk.protocol = 0x1ff;
    expect_error(&fk, 0, "linux kernel 'bzImage' too old: boot protocol 1.255, 2.00 or "
                 "later is required");
    expect_error(&fk, 4096, "linux kernel too old to load a ram disk");
    fk = modern;
    fk.loadflags = 0;
    expect_error(&fk, 0, "linux kernel 'bzImage' is a zImage (loaded low): only bzImage "
                 "kernels are supported");
    /* A setup area as large as the file leaves no protected-mode kernel. */
    fk = modern;
    fk.payload = 0;
    expect_error(&fk, 0, "invalid kernel header");
}

static void test_bad_setup_sects(void)
{
    size_t len;
    uint8_t *k = make_bzimage(&modern, &len);
    E820Table e820;
    X86BootConfig cfg = { .kernel_filename = "k", .e820 = &e820 };
    X86BootImage img = { 0 };
    Error *err = NULL;

    e820_build_pc(&e820, 64 * MiB, 0, true, false);
    k[0x1f1] = 200;             /* 100 KiB of setup in a 14 KiB file */
    g_assert_false(linux_boot_build(&cfg, k, len, NULL, 0, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "invalid kernel header");
    error_free(err);
    err = NULL;
    /* Truncated right after the magic. */
    g_assert_false(linux_boot_build(&cfg, k, 0x206, NULL, 0, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "invalid kernel header");
    error_free(err);
    x86_boot_image_free(&img);
    g_free(k);
}

static void test_kernel_too_big_for_ram(void)
{
    FakeKernel fk = modern;
    X86BootImage img;
    Error *err = NULL;

    fk.payload = 3 * MiB;
    g_assert_false(build(&fk, 2 * MiB, NULL, 0, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "kernel does not fit in guest RAM (3145728 bytes at 0x100000)");
    error_free(err);
    x86_boot_image_free(&img);
}

/* Through the files: x86_boot_prepare and x86_load_kernel with the rom_add_blob stub. */
static void expect_prepare_error(const char *kernel, const char *initrd, const char *msg)
{
    E820Table e820;
    X86BootConfig cfg = { .kernel_filename = kernel, .initrd_filename = initrd, .e820 = &e820 };
    X86BootImage img;
    Error *err = NULL;

    e820_build_pc(&e820, 64 * MiB, 0, true, false);
    g_assert_false(x86_boot_prepare(&cfg, &img, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_file_errors(void)
{
    uint8_t junk[4096];
    char *empty = stub_write_temp("", 0, "empty");
    char *garbage, *msg, *elf64;
    uint8_t elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };

    expect_prepare_error("/nonexistent/bzImage", NULL,
                         "could not open kernel file '/nonexistent/bzImage': "
                         "No such file or directory");
    msg = g_strdup_printf("could not load kernel '%s': empty file", empty);
    expect_prepare_error(empty, NULL, msg);
    g_free(msg);

    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)(i * 13 + 1);
    }
    garbage = stub_write_temp(junk, sizeof(junk), "garbage");
    msg = g_strdup_printf("invalid kernel header: '%s' is neither a Linux bzImage nor a "
                          "Multiboot image", garbage);
    expect_prepare_error(garbage, NULL, msg);
    g_free(msg);
    expect_prepare_error(garbage, garbage, "linux kernel too old to load a ram disk");

    elf64 = stub_write_temp(elf, sizeof(elf), "vmlinux");
    msg = g_strdup_printf("could not load kernel '%s': ELF image without a Multiboot header "
                          "(PVH boot is not supported)", elf64);
    expect_prepare_error(elf64, NULL, msg);
    g_free(msg);

    /* A good kernel with a missing initrd. */
    size_t len;
    uint8_t *k = make_bzimage(&modern, &len);
    char *kp = stub_write_temp(k, len, "bzImage");
    expect_prepare_error(kp, "/nonexistent/initrd",
                         "could not open initrd file '/nonexistent/initrd': "
                         "No such file or directory");
    g_free(kp);
    g_free(k);
    g_free(empty);
    g_free(garbage);
    g_free(elf64);
}

static void test_load_kernel_edge(void)
{
    size_t len;
    uint8_t *k = make_bzimage(&modern, &len);
    char *kp = stub_write_temp(k, len, "bzImage-edge");
    char *ip = stub_write_temp("INITRD", 6, "initrd-edge");
    E820Table e820;
    X86CPU cpu = { .is_bsp = true };
    X86CPU *cpus[1] = { &cpu };
    MachineState ms = {
        .ram_size = 64 * MiB,
        .kernel_filename = kp,
        .initrd_filename = ip,
        .kernel_cmdline = (char *)"console=ttyS0",
        .cpus = cpus,
    };
    X86BootEntry entry;
    bool seen_initrd = false;

    e820_build_pc(&e820, 64 * MiB, 0, true, false);
    x86_cpu_reset_state(&cpu);
    stub_blobs_reset();
    g_assert_true(x86_load_kernel_full(&ms, &e820, 0xf0000, false, &entry, &error_abort));
    g_assert_cmphex(cpu.env.rip, ==, 0x100200);
    g_assert_cmphex(cpu.env.regs[R_ESI], ==, 0x7000);
    g_assert_cmphex(entry.entry, ==, 0x100200);
    g_assert_true(cpu.env_dirty);
    g_assert_cmphex(cpu.env.apic_base & MSR_IA32_APICBASE_BSP, !=, 0);  /* kept */
    g_assert_cmpuint(stub_nr_blobs, >=, 7);
    for (unsigned i = 0; i < stub_nr_blobs; i++) {
        if (!strcmp(stub_blobs[i].name, "initrd")) {
            seen_initrd = true;
            g_assert_cmphex(stub_blobs[i].addr, ==, 64 * MiB - 4096);
            g_assert_cmpmem(stub_blobs[i].data, stub_blobs[i].len, "INITRD", 6);
        }
    }
    g_assert_true(seen_initrd);
    stub_blobs_reset();
    g_free(kp);
    g_free(ip);
    g_free(k);
}

/* Mutated headers and truncated files: an error or a valid image, never a crash. */
static void test_fuzz(void)
{
    size_t len;
    uint8_t *orig = make_bzimage(&modern, &len);
    GRand *r = g_rand_new_with_seed(20261122);
    E820Table e820;
    static uint8_t initrd[5000];

    e820_build_pc(&e820, 64 * MiB, 0, true, false);
    int n_ok = 0, n_err = 0;

    for (int iter = 0; iter < 4000; iter++) {
        uint8_t *k = g_memdup2(orig, len);
        size_t klen = len;
        int n = g_rand_int_range(r, 1, 9);
        for (int i = 0; i < n; i++) {
            k[g_rand_int_range(r, 0x1f0, 0x270)] = g_rand_int_range(r, 0, 256);
        }
        if (g_rand_boolean(r)) {
            klen = g_rand_int_range(r, 0, len + 1);
        }
        X86BootConfig cfg = { .kernel_filename = "fuzz", .e820 = &e820,
                              .cmdline = g_rand_boolean(r) ? "vga=0x1 console=ttyS0" : NULL };
        X86BootImage img = { 0 };
        Error *err = NULL;
        bool with_initrd = g_rand_boolean(r);
        bool ok = linux_boot_build(&cfg, k, klen, with_initrd ? initrd : NULL,
                                   with_initrd ? sizeof(initrd) : 0, &img, &err);
        g_assert_true(ok == (err == NULL));
        ok ? n_ok++ : n_err++;
        if (ok) {
            const X86BootBlob *kb = x86_boot_image_find(&img, "linux kernel");
            g_assert_nonnull(kb);
            g_assert_true(e820_range_is_ram(&e820, kb->addr, kb->len));
        }
        error_free(err);
        x86_boot_image_free(&img);
        g_free(k);
    }
    /* Both outcomes must occur, or the mutations test nothing. */
    g_test_message("fuzz: %d accepted, %d refused", n_ok, n_err);
    g_assert_cmpint(n_ok, >, 100);
    g_assert_cmpint(n_err, >, 100);
    g_rand_free(r);
    g_free(orig);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i386/linux-boot/64-bit-entry", test_linux64);
    g_test_add_func("/i386/linux-boot/32-bit-entry", test_linux32);
    g_test_add_func("/i386/linux-boot/cmdline-truncated", test_cmdline_truncated);
    g_test_add_func("/i386/linux-boot/vga-param", test_vga_param);
    g_test_add_func("/i386/linux-boot/initrd-placement", test_initrd_placement);
    g_test_add_func("/i386/linux-boot/initrd-too-large", test_initrd_too_large);
    g_test_add_func("/i386/linux-boot/rejections", test_rejections);
    g_test_add_func("/i386/linux-boot/bad-setup-sects", test_bad_setup_sects);
    g_test_add_func("/i386/linux-boot/kernel-too-big", test_kernel_too_big_for_ram);
    g_test_add_func("/i386/linux-boot/file-errors", test_file_errors);
    g_test_add_func("/i386/linux-boot/load-kernel-edge", test_load_kernel_edge);
    g_test_add_func("/i386/linux-boot/fuzz", test_fuzz);
    return g_test_run();
}
