/*
 * ACPI tables: checksums, RSDP/RSDT/XSDT/FADT pointers, FADT fields, MADT contents for
 * 1/2/4 CPUs, HPET, and (when iasl is installed) a disassemble + recompile round trip
 * of the generated DSDT.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "boot-stubs.h"
#include "hw/i386/acpi.h"

#define MiB (1024ull * 1024)

static uint16_t rd16(const uint8_t *p)
{
    return p[0] | (p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return rd16(p) | ((uint32_t)rd16(p + 2) << 16);
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* Guest address -> bytes in the tables blob. */
static const uint8_t *at(const AcpiTables *t, uint64_t addr)
{
    g_assert_cmphex(addr, >=, t->tables_addr);
    g_assert_cmphex(addr, <, t->tables_addr + t->tables_len);
    return t->tables + (addr - t->tables_addr);
}

static void build(unsigned cpus, unsigned max_cpus, bool hpet, AcpiTables *t)
{
    AcpiConfig cfg;

    acpi_config_init_pc(&cfg, cpus, 128 * MiB, 0);
    cfg.max_cpus = max_cpus;
    cfg.hpet = hpet;
    g_assert_true(acpi_build_tables(&cfg, t, &error_abort));
}

static void test_checksums_and_pointers(void)
{
    AcpiTables t;
    const uint8_t *rsdp, *rsdt, *xsdt, *fadt;

    build(2, 2, true, &t);
    g_assert_cmphex(t.rsdp_addr, ==, 0xf0000);
    g_assert_cmphex(t.tables_addr, ==, 0xe0000);
    g_assert_cmpuint(t.tables_len, <=, 0x10000);
    /* Every table: header length matches, bytes sum to zero (FACS has no checksum). */
    g_assert_cmpuint(t.nr_info, ==, 7);
    for (unsigned i = 0; i < t.nr_info; i++) {
        const uint8_t *tab = t.tables + t.info[i].offset;
        g_assert_cmpuint(rd32(tab + 4), ==, t.info[i].len);
        if (strcmp(t.info[i].sig, "FACS")) {
            g_assert_cmpuint(acpi_checksum(tab, t.info[i].len), ==, 0);
            g_assert_cmpmem(tab + 10, 6, "KEMU  ", 6);
        }
    }
    /* FACS is 64-byte aligned. */
    g_assert_cmpuint((t.tables_addr + t.info[0].offset) % 64, ==, 0);

    rsdp = t.rsdp;
    g_assert_cmpmem(rsdp, 8, "RSD PTR ", 8);
    g_assert_cmpuint(acpi_checksum(rsdp, 20), ==, 0);
    g_assert_cmpuint(acpi_checksum(rsdp, 36), ==, 0);
    g_assert_cmpuint(rsdp[15], ==, 2);
    g_assert_cmpuint(rd32(rsdp + 20), ==, 36);
    rsdt = at(&t, rd32(rsdp + 16));
    xsdt = at(&t, rd64(rsdp + 24));
    g_assert_cmpmem(rsdt, 4, "RSDT", 4);
    g_assert_cmpmem(xsdt, 4, "XSDT", 4);
    g_assert_cmpuint(rd32(rsdt + 4), ==, 36 + 3 * 4);
    g_assert_cmpuint(rd32(xsdt + 4), ==, 36 + 3 * 8);
    static const char *const sigs[3] = { "FACP", "APIC", "HPET" };
    for (int i = 0; i < 3; i++) {
        g_assert_cmpmem(at(&t, rd32(rsdt + 36 + 4 * i)), 4, sigs[i], 4);
        g_assert_cmphex(rd64(xsdt + 36 + 8 * i), ==, rd32(rsdt + 36 + 4 * i));
    }
    fadt = at(&t, rd32(rsdt + 36));
    g_assert_cmpmem(at(&t, rd32(fadt + 36)), 4, "FACS", 4);
    g_assert_cmpmem(at(&t, rd32(fadt + 40)), 4, "DSDT", 4);
    g_assert_cmphex(rd64(fadt + 132), ==, 0);           /* X_FIRMWARE_CTRL: must be 0 */
    g_assert_cmphex(rd64(fadt + 140), ==, rd32(fadt + 40));

    /* Pointer records say exactly where each pointer is (for the fw_cfg form). */
    g_assert_cmpuint(t.nr_pointers, ==, 3 + 3 + 3 + 2);
    for (unsigned i = 0; i < t.nr_pointers; i++) {
        const AcpiPointer *p = &t.pointers[i];
        const uint8_t *field = (p->in_rsdp ? t.rsdp : t.tables) + p->offset;
        uint64_t v = p->size == 4 ? rd32(field) : rd64(field);
        g_assert_cmphex(v, ==, t.tables_addr + p->target);
    }
    acpi_tables_free(&t);
}

static void test_fadt(void)
{
    AcpiTables t;
    uint32_t len;
    const uint8_t *f;

    build(1, 1, true, &t);
    f = acpi_find_table(&t, "FACP", &len);
    g_assert_nonnull(f);
    g_assert_cmpuint(len, ==, 244);
    g_assert_cmpuint(f[8], ==, 3);                     /* revision */
    g_assert_cmpuint(rd16(f + 46), ==, 9);             /* SCI_INT */
    g_assert_cmphex(rd32(f + 48), ==, 0xb2);           /* SMI_CMD */
    g_assert_cmphex(f[52], ==, 0xf1);
    g_assert_cmphex(f[53], ==, 0xf0);
    g_assert_cmphex(rd32(f + 56), ==, 0x600);          /* PM1a_EVT_BLK */
    g_assert_cmphex(rd32(f + 60), ==, 0);              /* no PM1b */
    g_assert_cmphex(rd32(f + 64), ==, 0x604);          /* PM1a_CNT_BLK */
    g_assert_cmphex(rd32(f + 76), ==, 0x608);          /* PM_TMR_BLK */
    g_assert_cmphex(rd32(f + 80), ==, 0xafe0);         /* GPE0_BLK */
    g_assert_cmpuint(f[88], ==, 4);
    g_assert_cmpuint(f[89], ==, 2);
    g_assert_cmpuint(f[91], ==, 4);
    g_assert_cmpuint(f[92], ==, 4);
    g_assert_cmphex(rd16(f + 96), ==, 0xfff);
    g_assert_cmphex(f[108], ==, 0x32);                 /* RTC century */
    g_assert_cmphex(rd16(f + 109), ==, 0x3);           /* legacy devices + 8042 */
    g_assert_cmphex(rd32(f + 112), ==, 0x80a5);        /* as QEMU pc; TMR_VAL_EXT off */
    g_assert_cmpuint(f[116], ==, 0);                   /* no reset register */
    /* X_PM1a_EVT_BLK: SystemIO, 32 bits at 0x600; X_PM_TMR_BLK 32 bits at 0x608. */
    g_assert_cmpuint(f[148], ==, 1);
    g_assert_cmpuint(f[149], ==, 32);
    g_assert_cmphex(rd64(f + 152), ==, 0x600);
    g_assert_cmpuint(f[173], ==, 16);
    g_assert_cmphex(rd64(f + 176), ==, 0x604);
    g_assert_cmphex(rd64(f + 212), ==, 0x608);
    g_assert_cmphex(rd64(f + 224), ==, 0xafe0);
    acpi_tables_free(&t);

    /* Reset register and > 8 CPUs. */
    AcpiConfig cfg;
    acpi_config_init_pc(&cfg, 9, 128 * MiB, 0);
    cfg.reset_reg = true;
    g_assert_true(acpi_build_tables(&cfg, &t, &error_abort));
    f = acpi_find_table(&t, "FACP", NULL);
    g_assert_cmphex(rd32(f + 112), ==, 0x80a5 | (1u << 10) | (1u << 18));
    g_assert_cmpuint(f[116], ==, 1);
    g_assert_cmpuint(f[117], ==, 8);
    g_assert_cmphex(rd64(f + 120), ==, 0xcf9);
    g_assert_cmphex(f[128], ==, 0x06);
    acpi_tables_free(&t);
}

static void test_madt(void)
{
    for (unsigned n = 1; n <= 4; n *= 2) {
        AcpiTables t;
        uint32_t len;
        const uint8_t *m, *e;

        build(n, n, true, &t);
        m = acpi_find_table(&t, "APIC", &len);
        g_assert_nonnull(m);
        /* header+8, n LAPICs, IOAPIC, 5 overrides (0, 5, 9, 10, 11), LAPIC NMI */
        g_assert_cmpuint(len, ==, 44 + 8 * n + 12 + 5 * 10 + 6);
        g_assert_cmphex(rd32(m + 36), ==, 0xfee00000);
        g_assert_cmphex(rd32(m + 40), ==, 1);
        e = m + 44;
        for (unsigned i = 0; i < n; i++, e += 8) {
            const uint8_t want[8] = { 0, 8, i, i, 1, 0, 0, 0 };
            g_assert_cmpmem(e, 8, want, 8);
        }
        {
            static const uint8_t want[12] = { 1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0 };
            g_assert_cmpmem(e, 12, want, 12);
            e += 12;
        }
        {
            static const uint8_t want[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0, 0 };
            g_assert_cmpmem(e, 10, want, 10);
            e += 10;
        }
        static const uint8_t level_irqs[4] = { 5, 9, 10, 11 };
        for (int i = 0; i < 4; i++, e += 10) {
            const uint8_t want[10] = { 2, 10, 0, level_irqs[i], level_irqs[i], 0, 0, 0,
                                       0x0d, 0 };
            g_assert_cmpmem(e, 10, want, 10);
        }
        {
            static const uint8_t want[6] = { 4, 6, 0xff, 0, 0, 1 };
            g_assert_cmpmem(e, 6, want, 6);
        }
        acpi_tables_free(&t);
    }

    /* 2 present of 4 possible: the rest listed disabled. */
    AcpiTables t;
    const uint8_t *m;
    build(2, 4, true, &t);
    m = acpi_find_table(&t, "APIC", NULL);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmpuint(m[44 + 8 * i + 2], ==, i);
        g_assert_cmphex(rd32(m + 44 + 8 * i + 4), ==, i < 2 ? 1 : 0);
    }
    acpi_tables_free(&t);

    /* Explicit APIC IDs (e.g. sockets with gaps). */
    AcpiConfig cfg;
    static const uint32_t ids[2] = { 0, 4 };
    acpi_config_init_pc(&cfg, 2, 128 * MiB, 0);
    cfg.apic_ids = ids;
    g_assert_true(acpi_build_tables(&cfg, &t, &error_abort));
    m = acpi_find_table(&t, "APIC", NULL);
    g_assert_cmpuint(m[44 + 8 + 2], ==, 1);
    g_assert_cmpuint(m[44 + 8 + 3], ==, 4);
    acpi_tables_free(&t);
}

static void test_hpet(void)
{
    AcpiTables t;
    uint32_t len;
    const uint8_t *h;

    build(1, 1, true, &t);
    h = acpi_find_table(&t, "HPET", &len);
    g_assert_nonnull(h);
    g_assert_cmpuint(len, ==, 56);
    g_assert_cmphex(rd32(h + 36), ==, 0x8086a201);
    g_assert_cmpuint(h[40], ==, 0);
    g_assert_cmphex(rd64(h + 44), ==, 0xfed00000);
    acpi_tables_free(&t);

    build(1, 1, false, &t);
    g_assert_null(acpi_find_table(&t, "HPET", NULL));
    const uint8_t *rsdt = acpi_find_table(&t, "RSDT", &len);
    g_assert_cmpuint(len, ==, 36 + 2 * 4);
    g_assert_cmpuint(acpi_checksum(rsdt, len), ==, 0);
    acpi_tables_free(&t);
}

static void test_errors(void)
{
    AcpiConfig cfg;
    AcpiTables t;
    Error *err = NULL;

    acpi_config_init_pc(&cfg, 2, 128 * MiB, 0);
    cfg.tables_max = 256;
    g_assert_false(acpi_build_tables(&cfg, &t, &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err), "ACPI tables need "));
    error_free(err);
    err = NULL;
    acpi_config_init_pc(&cfg, 0, 128 * MiB, 0);
    g_assert_false(acpi_build_tables(&cfg, &t, &err));
    error_free(err);
}

static void test_install(void)
{
    AcpiConfig cfg;
    AcpiTables t;
    E820Table e820;

    acpi_config_init_pc(&cfg, 1, 128 * MiB, 0);
    g_assert_true(acpi_build_tables(&cfg, &t, &error_abort));
    e820_build_pc(&e820, 128 * MiB, 0, true, false);
    stub_blobs_reset();
    acpi_tables_install(&t, cfg.tables_max, &e820);
    g_assert_cmpuint(stub_nr_blobs, ==, 2);
    g_assert_cmpstr(stub_blobs[0].name, ==, "acpi tables");
    g_assert_cmphex(stub_blobs[0].addr, ==, 0xe0000);
    g_assert_cmpmem(stub_blobs[0].data, stub_blobs[0].len, t.tables, t.tables_len);
    g_assert_cmphex(stub_blobs[1].addr, ==, 0xf0000);
    g_assert_cmpmem(stub_blobs[1].data, 8, "RSD PTR ", 8);
    /* [0xe0000, 0xf0000) is now ACPI, between the EBDA and the BIOS area. */
    g_assert_cmpuint(e820.nr, ==, 5);
    g_assert_cmphex(e820.entries[2].addr, ==, 0xe0000);
    g_assert_cmphex(e820.entries[2].size, ==, 0x10000);
    g_assert_cmpuint(e820.entries[2].type, ==, E820_ACPI);
    g_assert_cmpuint(e820_type_at(&e820, 0xf0000), ==, E820_RESERVED);
    stub_blobs_reset();
    acpi_tables_free(&t);
}

static void test_dsdt_bytes(void)
{
    AcpiTables t;
    uint32_t len;
    const uint8_t *d;

    build(1, 1, true, &t);
    d = acpi_find_table(&t, "DSDT", &len);
    g_assert_nonnull(d);
    g_assert_cmpuint(d[8], ==, 2);
    /* The AML starts with Scope(\_SB): 0x10 PkgLength(3 bytes for > 4 KiB) '\' _SB_. */
    g_assert_cmphex(d[36], ==, 0x10);
    /* \_S5 Package(4){0,0,0,0} closes the table: 08 '\' _S5_ 12 06 04 00 00 00 00. */
    static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0 };
    g_assert_cmpmem(d + len - sizeof(s5), sizeof(s5), s5, sizeof(s5));
    /* _HID PNP0A03 for the host bridge appears once. */
    static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    g_assert_nonnull(memmem(d, len, hid, sizeof(hid)));
    /* Processor device C001: Device(C001){Name(_HID,"ACPI0007") Name(_UID,One)
     * Name(_STA,0x0F)}: payload 4 + 15 + 6 + 7 = 32 bytes, PkgLength 33. */
    static const uint8_t c001[] = {
        0x5b, 0x82, 0x21, 'C', '0', '0', '1',
        0x08, '_', 'H', 'I', 'D', 0x0d, 'A', 'C', 'P', 'I', '0', '0', '0', '7', 0x00,
        0x08, '_', 'U', 'I', 'D', 0x01,
        0x08, '_', 'S', 'T', 'A', 0x0a, 0x0f,
    };
    g_assert_null(memmem(d, len, c001, sizeof(c001)));   /* 1 CPU: no C001 */
    acpi_tables_free(&t);
    build(1, 2, true, &t);
    d = acpi_find_table(&t, "DSDT", &len);
    g_assert_null(memmem(d, len, c001, sizeof(c001)));   /* possible, not present: _STA 0 */
    g_assert_nonnull(memmem(d, len, "\x5b\x82\x20" "C001", 7));
    acpi_tables_free(&t);
    build(2, 2, true, &t);
    d = acpi_find_table(&t, "DSDT", &len);
    g_assert_nonnull(memmem(d, len, c001, sizeof(c001)));
    acpi_tables_free(&t);
}

static void test_iasl(void)
{
    const char *iasl = g_getenv("IASL");
    AcpiTables t;
    uint32_t len;
    const uint8_t *d;
    char *dir, *dat, *dsl, *out = NULL, *errout = NULL, *text = NULL;
    int status;

    if (!iasl || !*iasl) {
        g_test_skip("iasl not installed (Debian package acpica-tools)");
        return;
    }
    build(4, 4, true, &t);
    d = acpi_find_table(&t, "DSDT", &len);
    dir = g_dir_make_tmp("kemu-acpi-XXXXXX", NULL);
    dat = g_build_filename(dir, "dsdt.dat", NULL);
    dsl = g_build_filename(dir, "dsdt.dsl", NULL);
    g_assert_true(g_file_set_contents(dat, (const char *)d, len, NULL));

    /* Disassemble. */
    const char *argv1[] = { iasl, "-d", dat, NULL };
    g_assert_true(g_spawn_sync(dir, (char **)argv1, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &errout, &status, NULL));
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_printerr("%s\n%s\n", out, errout);
    }
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_true(g_file_get_contents(dsl, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "Device (PCI0)"));
    g_assert_nonnull(strstr(text, "EisaId (\"PNP0A03\")"));
    g_assert_nonnull(strstr(text, "Device (COM1)"));
    g_assert_nonnull(strstr(text, "IO (Decode16,"));
    g_assert_nonnull(strstr(text, "0x03F8"));
    g_assert_nonnull(strstr(text, "_S5, Package (0x04)"));
    g_assert_nonnull(strstr(text, "Interrupt (ResourceConsumer, Level, ActiveHigh, Shared"));
    g_assert_nonnull(strstr(text, "Name (_PRT, Package (0x80)"));
    g_assert_nonnull(strstr(text, "Memory32Fixed (ReadOnly,"));
    g_assert_nonnull(strstr(text, "Device (C003)"));
    g_assert_nonnull(strstr(text, "Name (_HID, \"ACPI0007\""));
    g_free(out);
    g_free(errout);

    /* Compile it back: the compiler checks names, types and reserved-object rules. */
    const char *argv2[] = { iasl, "-p", "recompiled", dsl, NULL };
    g_assert_true(g_spawn_sync(dir, (char **)argv2, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &errout, &status, NULL));
    if (!g_spawn_check_wait_status(status, NULL) || !strstr(out, " 0 Errors, 0 Warnings")) {
        g_printerr("%s\n%s\n", out, errout);
    }
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_nonnull(strstr(out, " 0 Errors, 0 Warnings"));

    g_free(out);
    g_free(errout);
    g_free(text);

    /* The data tables through iasl's table disassembler (it checks lengths, checksums). */
    static const char *const sigs[] = { "FACP", "APIC", "HPET", "RSDT", "XSDT", "FACS" };
    for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++) {
        uint32_t tlen;
        const uint8_t *tab = acpi_find_table(&t, sigs[i], &tlen);
        char *name = g_strdup_printf("%s.dat", sigs[i]);
        char *path = g_build_filename(dir, name, NULL);
        char *dslpath = g_strdup_printf("%.*s.dsl", (int)strlen(path) - 4, path);
        const char *argv3[] = { iasl, "-d", path, NULL };

        g_assert_nonnull(tab);
        g_assert_true(g_file_set_contents(path, (const char *)tab, tlen, NULL));
        g_assert_true(g_spawn_sync(dir, (char **)argv3, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &errout, &status, NULL));
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        g_assert_true(g_file_get_contents(dslpath, &text, NULL, NULL));
        g_assert_nonnull(strstr(text, sigs[i]));
        g_assert_null(strstr(text, "Invalid"));
        g_assert_null(strstr(text, "Error"));
        g_assert_null(strstr(text, "Warning"));
        g_free(text);
        g_free(out);
        g_free(errout);
        g_free(dslpath);
        g_free(path);
        g_free(name);
    }
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(cmd);
    g_free(dat);
    g_free(dsl);
    g_free(dir);
    acpi_tables_free(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i386/acpi/checksums-pointers", test_checksums_and_pointers);
    g_test_add_func("/i386/acpi/fadt", test_fadt);
    g_test_add_func("/i386/acpi/madt", test_madt);
    g_test_add_func("/i386/acpi/hpet", test_hpet);
    g_test_add_func("/i386/acpi/errors", test_errors);
    g_test_add_func("/i386/acpi/dsdt-bytes", test_dsdt_bytes);
    g_test_add_func("/i386/acpi/install", test_install);
    g_test_add_func("/i386/acpi/iasl", test_iasl);
    return g_test_run();
}
