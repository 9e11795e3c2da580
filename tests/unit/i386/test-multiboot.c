/*
 * Multiboot v1 loading: ELF32 program headers, the a.out kludge, the boot information
 * (mem_lower/upper, mmap, cmdline, modules from "a arg,b"), entry state, rejections.
 */
#include <glib.h>
#include <string.h>

#include "boot-stubs.h"
#include "hw/i386/boot.h"

#define MiB (1024ull * 1024)

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

static void put_mb_header(uint8_t *h, uint32_t flags)
{
    wr32(h, 0x1BADB002);
    wr32(h + 4, flags);
    wr32(h + 8, -(0x1BADB002u + flags));
}

/*
 * ELF32: header, 2 program headers at 52; segment 0 = file [0x1000, 0x1100) at paddr
 * 1 MiB (vaddr 0xC0100000) holding the multiboot header; segment 1 = 0x10 file bytes
 * at paddr 0x101000 with memsz 0x2000 (bss).  Entry 0xC0100010 (virtual).
 */
static uint8_t *make_elf32(size_t *len, uint32_t mb_flags, uint8_t elf_class)
{
    uint8_t *k = g_malloc0(0x1200);
    uint8_t *ph;

    memcpy(k, "\x7f" "ELF", 4);
    k[4] = elf_class;
    k[5] = 1;
    k[6] = 1;
    wr16(k + 16, 2);              /* ET_EXEC */
    wr16(k + 18, 3);              /* EM_386 */
    wr32(k + 20, 1);
    wr32(k + 24, 0xC0100010);
    wr32(k + 28, 52);             /* e_phoff */
    wr16(k + 40, 52);
    wr16(k + 42, 32);
    wr16(k + 44, 2);
    ph = k + 52;
    wr32(ph, 1);
    wr32(ph + 4, 0x1000);
    wr32(ph + 8, 0xC0100000);
    wr32(ph + 12, 0x100000);
    wr32(ph + 16, 0x100);
    wr32(ph + 20, 0x100);
    ph += 32;
    wr32(ph, 1);
    wr32(ph + 4, 0x1100);
    wr32(ph + 8, 0xC0101000);
    wr32(ph + 12, 0x101000);
    wr32(ph + 16, 0x10);
    wr32(ph + 20, 0x2000);
    for (int i = 0; i < 0x200; i++) {
        k[0x1000 + i] = 0x90 + (i & 0xf);
    }
    put_mb_header(k + 0x1000, mb_flags);
    *len = 0x1200;
    return k;
}

static E820Table e820;

static X86BootConfig config(const char *mods, const char *cmdline)
{
    X86BootConfig cfg = {
        .kernel_filename = "/boot/kernel.elf",
        .initrd_filename = mods,
        .cmdline = cmdline,
        .e820 = &e820,
    };
    e820_build_pc(&e820, 128 * MiB, 0, true, false);
    return cfg;
}

static const X86BootBlob *blob(const X86BootImage *img, const char *name)
{
    const X86BootBlob *b = x86_boot_image_find(img, name);
    g_assert_nonnull(b);
    return b;
}

/* Guest-address read from the image's blobs. */
static const uint8_t *guest(const X86BootImage *img, uint32_t addr, size_t len)
{
    for (unsigned i = 0; i < img->nr_blobs; i++) {
        const X86BootBlob *b = &img->blobs[i];
        if (addr >= b->addr && addr + len <= b->addr + b->len) {
            return b->data + (addr - b->addr);
        }
    }
    g_assert_not_reached();
}

static void test_elf32(void)
{
    size_t len;
    uint8_t *k = make_elf32(&len, 0x3, 1);
    X86BootConfig cfg = config(NULL, "loglevel=3");
    X86BootImage img = { 0 };
    const X86BootBlob *s0, *s1, *info;

    g_assert_true(multiboot_build(&cfg, k, len, &img, &error_abort));
    s0 = blob(&img, "multiboot elf segment 0");
    g_assert_cmphex(s0->addr, ==, 0x100000);
    g_assert_cmpuint(s0->len, ==, 0x100);
    g_assert_cmpmem(s0->data, 0x100, k + 0x1000, 0x100);
    s1 = blob(&img, "multiboot elf segment 1");
    g_assert_cmphex(s1->addr, ==, 0x101000);
    g_assert_cmpuint(s1->len, ==, 0x2000);
    g_assert_cmpmem(s1->data, 0x10, k + 0x1100, 0x10);
    for (size_t i = 0x10; i < 0x2000; i++) {
        g_assert_cmpuint(s1->data[i], ==, 0);
    }
    /* Entry translated from the virtual link address to where it was loaded. */
    g_assert_cmpint(img.entry.mode, ==, X86_ENTRY_MULTIBOOT);
    g_assert_cmphex(img.entry.entry, ==, 0x100010);

    /* Info block right after the kernel's last byte (0x103000), page aligned. */
    info = blob(&img, "multiboot info");
    g_assert_cmphex(info->addr, ==, 0x103000);
    g_assert_cmphex(img.entry.boot_info, ==, 0x103000);
    const uint8_t *mbi = info->data;
    g_assert_cmphex(rd32(mbi), ==, 0x24f);           /* mem|bootdev|cmdline|mods|mmap|name */
    g_assert_cmpuint(rd32(mbi + 4), ==, 639);
    g_assert_cmpuint(rd32(mbi + 8), ==, 127 * 1024);
    g_assert_cmphex(rd32(mbi + 12), ==, 0x8000ffff);
    g_assert_cmpstr((const char *)guest(&img, rd32(mbi + 16), 1), ==,
                    "/boot/kernel.elf loglevel=3");
    g_assert_cmpuint(rd32(mbi + 20), ==, 0);
    g_assert_cmpstr((const char *)guest(&img, rd32(mbi + 64), 5), ==, "kemu");
    /* mmap: 4 entries of {size=20, base, length, type}. */
    g_assert_cmpuint(rd32(mbi + 44), ==, 4 * 24);
    const uint8_t *mm = guest(&img, rd32(mbi + 48), 4 * 24);
    static const uint64_t want[4][3] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
        { 0x100000, 127 * MiB, 1 },
    };
    for (int i = 0; i < 4; i++) {
        g_assert_cmpuint(rd32(mm + 24 * i), ==, 20);
        g_assert_cmphex(rd64(mm + 24 * i + 4), ==, want[i][0]);
        g_assert_cmphex(rd64(mm + 24 * i + 12), ==, want[i][1]);
        g_assert_cmpuint(rd32(mm + 24 * i + 20), ==, want[i][2]);
    }

    CPUX86State env;
    memset(&env, 0xcc, sizeof(env));
    x86_boot_set_cpu_state(&img.entry, &env);
    g_assert_cmphex(env.regs[R_EAX], ==, 0x2BADB002);
    g_assert_cmphex(env.regs[R_EBX], ==, 0x103000);
    g_assert_cmphex(env.rip, ==, 0x100010);
    g_assert_cmphex(env.cr[0] & (CR0_PE | CR0_PG), ==, CR0_PE);
    g_assert_cmphex(env.rflags, ==, 0x2);            /* IF and VM clear */
    g_assert_cmphex(env.efer, ==, 0);
    for (int i = 0; i < 6; i++) {
        g_assert_cmphex(env.segs[i].base, ==, 0);
        g_assert_cmphex(env.segs[i].limit, ==, 0xffffffff);
        g_assert_cmpuint(env.segs[i].db, ==, 1);
    }
    x86_boot_image_free(&img);
    g_free(k);
}

static void test_modules(void)
{
    size_t len;
    uint8_t *k = make_elf32(&len, 0x3, 1);
    char *a = stub_write_temp("AAAAmodule-a", 12, "a");
    char *b = stub_write_temp("B", 1, "mod,b");
    char *b_spec = g_strdup(b);
    GString *b_escaped = g_string_new(NULL);
    for (const char *p = b; *p; p++) {
        g_string_append_c(b_escaped, *p);
        if (*p == ',') {
            g_string_append_c(b_escaped, ',');   /* ",," is a literal comma */
        }
    }
    char *list = g_strdup_printf("%s arg1 arg2,%s", a, b_escaped->str);
    X86BootConfig cfg = config(list, NULL);
    X86BootImage img = { 0 };

    g_assert_true(multiboot_build(&cfg, k, len, &img, &error_abort));
    const X86BootBlob *info = blob(&img, "multiboot info");
    const uint8_t *mbi = info->data;
    g_assert_cmpuint(rd32(mbi + 20), ==, 2);
    const uint8_t *mods = guest(&img, rd32(mbi + 24), 32);
    /* Module 0 right after the kernel, module 1 on the next page, info after that. */
    g_assert_cmphex(rd32(mods), ==, 0x103000);
    g_assert_cmphex(rd32(mods + 4), ==, 0x103000 + 12);
    g_assert_cmpmem(guest(&img, 0x103000, 12), 12, "AAAAmodule-a", 12);
    g_assert_cmphex(rd32(mods + 16), ==, 0x104000);
    g_assert_cmphex(rd32(mods + 20), ==, 0x104001);
    g_assert_cmpmem(guest(&img, 0x104000, 1), 1, "B", 1);
    g_assert_cmphex(info->addr, ==, 0x105000);
    char *s0 = g_strdup_printf("%s arg1 arg2", a);
    g_assert_cmpstr((const char *)guest(&img, rd32(mods + 8), 1), ==, s0);
    g_assert_cmpstr((const char *)guest(&img, rd32(mods + 24), 1), ==, b_spec);
    /* The command line is the kernel path and a space even without -append (as QEMU). */
    g_assert_cmpstr((const char *)guest(&img, rd32(mbi + 16), 1), ==, "/boot/kernel.elf ");
    x86_boot_image_free(&img);

    /* A missing module. */
    Error *err = NULL;
    cfg = config("/nonexistent/mod arg", NULL);
    g_assert_false(multiboot_build(&cfg, k, len, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "could not open module file "
                    "'/nonexistent/mod': No such file or directory");
    error_free(err);
    x86_boot_image_free(&img);

    g_free(s0);
    g_free(list);
    g_string_free(b_escaped, TRUE);
    g_free(b_spec);
    g_free(a);
    g_free(b);
    g_free(k);
}

/* Raw image: header at 0x40 describing load_addr 1 MiB. */
static uint8_t *make_aout(size_t *len, uint32_t header_addr, uint32_t load_addr,
                          uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
    uint8_t *k = g_malloc0(0x200);

    for (int i = 0; i < 0x200; i++) {
        k[i] = 0x40 + (i & 0x3f);
    }
    put_mb_header(k + 0x40, 0x10003);
    wr32(k + 0x4c, header_addr);
    wr32(k + 0x50, load_addr);
    wr32(k + 0x54, load_end);
    wr32(k + 0x58, bss_end);
    wr32(k + 0x5c, entry);
    *len = 0x200;
    return k;
}

static void test_aout(void)
{
    size_t len;
    uint8_t *k = make_aout(&len, 0x100040, 0x100000, 0x100100, 0x101000, 0x100080);
    X86BootConfig cfg = config(NULL, NULL);
    X86BootImage img = { 0 };

    g_assert_true(multiboot_build(&cfg, k, len, &img, &error_abort));
    const X86BootBlob *kb = blob(&img, "multiboot kernel");
    g_assert_cmphex(kb->addr, ==, 0x100000);
    g_assert_cmpuint(kb->len, ==, 0x1000);
    g_assert_cmpmem(kb->data, 0x100, k, 0x100);
    for (size_t i = 0x100; i < 0x1000; i++) {
        g_assert_cmpuint(kb->data[i], ==, 0);
    }
    g_assert_cmphex(img.entry.entry, ==, 0x100080);
    g_assert_cmphex(img.entry.boot_info, ==, 0x101000);
    x86_boot_image_free(&img);
    g_free(k);

    /* The text starts before the header: header_addr - load_addr = 0x20 -> file 0x20. */
    k = make_aout(&len, 0x200020, 0x200000, 0, 0, 0x200000);
    g_assert_true(multiboot_build(&cfg, k, len, &img, &error_abort));
    kb = blob(&img, "multiboot kernel");
    g_assert_cmphex(kb->addr, ==, 0x200000);
    g_assert_cmpuint(kb->len, ==, 0x200 - 0x20);     /* load_end 0: to the end of file */
    g_assert_cmpmem(kb->data, kb->len, k + 0x20, 0x200 - 0x20);
    x86_boot_image_free(&img);
    g_free(k);
}

static void expect_aout_error(uint32_t header_addr, uint32_t load_addr, uint32_t load_end,
                              uint32_t bss_end, const char *msg)
{
    size_t len;
    uint8_t *k = make_aout(&len, header_addr, load_addr, load_end, bss_end, 0x100000);
    X86BootConfig cfg = config(NULL, NULL);
    X86BootImage img = { 0 };
    Error *err = NULL;

    g_assert_false(multiboot_build(&cfg, k, len, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    x86_boot_image_free(&img);
    g_free(k);
}

static void test_aout_errors(void)
{
    expect_aout_error(0x0fffff, 0x100000, 0, 0, "invalid header_addr address");
    expect_aout_error(0x100100, 0x100000, 0, 0, "invalid header_addr address");
    expect_aout_error(0x100040, 0x100000, 0x0ff000, 0, "invalid load_end_addr address");
    expect_aout_error(0x100040, 0x100000, 0x100400, 0, "invalid kernel_file_size");
    expect_aout_error(0x100040, 0x100000, 0x100100, 0x100080, "invalid bss_end_addr address");
    expect_aout_error(0xffffff40, 0xffffff00, 0, 0x0, "kernel does not fit in address space");
    /* Loads fine but lands outside RAM (128 MiB). */
    expect_aout_error(0x10000040, 0x10000000, 0, 0,
                      "not enough guest RAM for the multiboot kernel at 0x10000000 "
                      "(512 bytes)");
}

static void expect_build_error(const uint8_t *k, size_t len, const char *msg)
{
    X86BootConfig cfg = config(NULL, NULL);
    X86BootImage img = { 0 };
    Error *err = NULL;

    g_assert_false(multiboot_build(&cfg, k, len, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    x86_boot_image_free(&img);
}

static void test_rejections(void)
{
    size_t len;
    uint8_t *k;

    k = make_elf32(&len, 0x3, 2);    /* ELFCLASS64 */
    expect_build_error(k, len, "Cannot load x86-64 image, give a 32bit one.");
    /* Same through the file path, as -kernel would. */
    char *p = stub_write_temp(k, len, "elf64-mb");
    X86BootConfig cfg = config(NULL, NULL);
    cfg.kernel_filename = p;
    X86BootImage img;
    Error *err = NULL;
    g_assert_false(x86_boot_prepare(&cfg, &img, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Cannot load x86-64 image, give a 32bit one.");
    error_free(err);
    g_free(p);
    g_free(k);

    k = make_elf32(&len, 0x8 | 0x3, 1);   /* required flag bit 3: unknown */
    expect_build_error(k, len, "multiboot: unsupported required header flags 0x0008");
    g_free(k);

    k = make_elf32(&len, 0x3, 1);
    memcpy(k, "NOPE", 4);                  /* not ELF, no address fields */
    expect_build_error(k, len, "invalid kernel header: Multiboot image is not ELF and has no "
                       "address fields (header flag 16)");
    g_free(k);

    /* Program headers pointing outside the file. */
    k = make_elf32(&len, 0x3, 1);
    wr32(k + 28, 0x11f0);
    expect_build_error(k, len, "Error while loading elf kernel: program headers outside "
                       "the file");
    g_free(k);
    k = make_elf32(&len, 0x3, 1);
    wr32(k + 52 + 32 + 16, 0x1000);        /* segment 1 filesz past the end */
    expect_build_error(k, len, "Error while loading elf kernel: segment 1 is malformed");
    g_free(k);
}

static void test_find_header(void)
{
    uint8_t buf[8192 + 64] = { 0 };

    g_assert_cmpint(multiboot_find_header(buf, sizeof(buf)), ==, -1);
    put_mb_header(buf + 8192 - 12, 0);      /* last slot that fits entirely */
    g_assert_cmpint(multiboot_find_header(buf, sizeof(buf)), ==, 8192 - 12);
    memset(buf, 0, sizeof(buf));
    put_mb_header(buf + 8192, 0);           /* beyond the first 8 KiB */
    g_assert_cmpint(multiboot_find_header(buf, sizeof(buf)), ==, -1);
    memset(buf, 0, sizeof(buf));
    put_mb_header(buf + 6, 0);              /* not 4-byte aligned */
    g_assert_cmpint(multiboot_find_header(buf, sizeof(buf)), ==, -1);
    memset(buf, 0, sizeof(buf));
    put_mb_header(buf + 8, 0);
    buf[16] ^= 1;                           /* bad checksum */
    g_assert_cmpint(multiboot_find_header(buf, sizeof(buf)), ==, -1);
    g_assert_cmpint(multiboot_find_header(buf, 10), ==, -1);
}

static void test_vbe_warning(void)
{
    size_t len;
    uint8_t *k = make_elf32(&len, 0x7, 1);
    X86BootConfig cfg = config(NULL, NULL);
    X86BootImage img = { 0 };

    g_assert_true(multiboot_build(&cfg, k, len, &img, &error_abort));
    g_assert_nonnull(img.warnings);
    g_assert_cmpstr(img.warnings[0], ==, "multiboot knows VBE. we don't.");
    x86_boot_image_free(&img);
    g_free(k);
}

/* Mutated ELF/a.out headers and truncations: an error or a valid image, never a crash. */
static void test_fuzz(void)
{
    GRand *r = g_rand_new_with_seed(1994);
    size_t elf_len, aout_len;
    uint8_t *elf = make_elf32(&elf_len, 0x3, 1);
    uint8_t *aout = make_aout(&aout_len, 0x100040, 0x100000, 0x100100, 0x101000, 0x100080);

    int n_ok = 0, n_err = 0;

    for (int iter = 0; iter < 4000; iter++) {
        bool is_elf = g_rand_boolean(r);
        size_t len = is_elf ? elf_len : aout_len;
        uint8_t *k = g_memdup2(is_elf ? elf : aout, len);
        int n = g_rand_int_range(r, 1, 6);

        for (int i = 0; i < n; i++) {
            if (is_elf) {
                /* ELF header, program headers, or the multiboot header fields */
                uint32_t at = g_rand_boolean(r) ? g_rand_int_range(r, 0, 116)
                                                : g_rand_int_range(r, 0x1004, 0x1008);
                k[at] = g_rand_int_range(r, 0, 256);
            } else {
                /* one of the five address fields gets a random value */
                wr32(k + 0x4c + 4 * g_rand_int_range(r, 0, 5), g_rand_int(r));
            }
        }
        if (!is_elf) {
            /* keep the checksum right so the address fields are what gets tested */
            put_mb_header(k + 0x40, 0x10003);
        }
        if (g_rand_int_range(r, 0, 4) == 0) {
            len = g_rand_int_range(r, 0, len + 1);
        }
        X86BootConfig cfg = config(NULL, NULL);
        X86BootImage img = { 0 };
        Error *err = NULL;
        bool ok;

        if (multiboot_find_header(k, len) < 0) {
            g_free(k);
            continue;
        }
        ok = multiboot_build(&cfg, k, len, &img, &err);
        g_assert_true(ok == (err == NULL));
        ok ? n_ok++ : n_err++;
        if (ok) {
            for (unsigned i = 0; i < img.nr_blobs; i++) {
                g_assert_true(e820_range_is_ram(&e820, img.blobs[i].addr, img.blobs[i].len));
            }
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
    g_free(elf);
    g_free(aout);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i386/multiboot/elf32", test_elf32);
    g_test_add_func("/i386/multiboot/modules", test_modules);
    g_test_add_func("/i386/multiboot/aout-kludge", test_aout);
    g_test_add_func("/i386/multiboot/aout-errors", test_aout_errors);
    g_test_add_func("/i386/multiboot/rejections", test_rejections);
    g_test_add_func("/i386/multiboot/find-header", test_find_header);
    g_test_add_func("/i386/multiboot/vbe-warning", test_vbe_warning);
    g_test_add_func("/i386/multiboot/fuzz", test_fuzz);
    return g_test_run();
}
