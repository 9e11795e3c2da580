/*
 * AML encodings checked byte by byte against the ACPI 6.4 §20.2 grammar (PkgLength
 * §20.2.4, NameString §20.2.2, data objects §20.2.3) and the resource descriptor
 * layouts of §6.4.  Expected bytes were worked out by hand from the spec.
 */
#include <glib.h>
#include <string.h>

#include "hw/i386/aml.h"

static void check(Aml *node, const uint8_t *want, size_t want_len)
{
    Aml *root = aml_block_root();
    size_t len;
    uint8_t *got;

    aml_append(root, node);
    got = aml_take_bytes(root, &len);
    if (len != want_len || memcmp(got, want, len)) {
        for (size_t i = 0; i < len; i++) {
            g_printerr("%02x%s", got[i], i + 1 < len ? " " : "\n");
        }
    }
    g_assert_cmpmem(got, len, want, want_len);
    g_free(got);
}

#define CHECK(node, ...) do { \
        static const uint8_t want_[] = { __VA_ARGS__ }; \
        check((node), want_, sizeof(want_)); \
    } while (0)

static void test_pkglength(void)
{
    uint8_t b[4];

    /* One byte up to 63 including itself. */
    g_assert_cmpuint(aml_encode_pkglength(b, 0), ==, 1);
    g_assert_cmphex(b[0], ==, 0x01);
    g_assert_cmpuint(aml_encode_pkglength(b, 62), ==, 1);
    g_assert_cmphex(b[0], ==, 0x3f);
    /* 63 bytes of payload + 2 = 65 = 0x041: lead 0x40|1, then 0x04. */
    g_assert_cmpuint(aml_encode_pkglength(b, 63), ==, 2);
    g_assert_cmphex(b[0], ==, 0x41);
    g_assert_cmphex(b[1], ==, 0x04);
    /* 4093 + 2 = 4095 = 0xfff: the largest two-byte length. */
    g_assert_cmpuint(aml_encode_pkglength(b, 4093), ==, 2);
    g_assert_cmphex(b[0], ==, 0x4f);
    g_assert_cmphex(b[1], ==, 0xff);
    /* 4094 + 3 = 4097 = 0x1001: lead 0x80|1, 0x00, 0x01. */
    g_assert_cmpuint(aml_encode_pkglength(b, 4094), ==, 3);
    g_assert_cmphex(b[0], ==, 0x81);
    g_assert_cmphex(b[1], ==, 0x00);
    g_assert_cmphex(b[2], ==, 0x01);
    /* 1 MiB: 0x100000 + 4 = 0x100004: lead 0xC0|4, 0x00, 0x00, 0x01. */
    g_assert_cmpuint(aml_encode_pkglength(b, 0x100000), ==, 4);
    g_assert_cmphex(b[0], ==, 0xc4);
    g_assert_cmphex(b[1], ==, 0x00);
    g_assert_cmphex(b[2], ==, 0x00);
    g_assert_cmphex(b[3], ==, 0x01);
}

static void test_namestring(void)
{
    uint8_t b[64];
    size_t n;

    n = aml_encode_namestring(b, sizeof(b), "_HID");
    g_assert_cmpmem(b, n, "_HID", 4);
    n = aml_encode_namestring(b, sizeof(b), "COM1");
    g_assert_cmpmem(b, n, "COM1", 4);
    n = aml_encode_namestring(b, sizeof(b), "ISA");          /* padded with '_' */
    g_assert_cmpmem(b, n, "ISA_", 4);
    n = aml_encode_namestring(b, sizeof(b), "\\_SB.PCI0");   /* RootChar DualNamePrefix */
    g_assert_cmpmem(b, n, "\\\x2e_SB_PCI0", 10);
    n = aml_encode_namestring(b, sizeof(b), "\\_SB.PCI0.ISA");
    g_assert_cmpmem(b, n, "\\\x2f\x03_SB_PCI0ISA_", 15);
    n = aml_encode_namestring(b, sizeof(b), "^^ABC");
    g_assert_cmpmem(b, n, "^^ABC_", 6);
    n = aml_encode_namestring(b, sizeof(b), "\\");           /* RootChar NullName */
    g_assert_cmpmem(b, n, "\\\x00", 2);
    g_assert_cmpuint(aml_encode_namestring(b, sizeof(b), "abcd"), ==, 0);
    g_assert_cmpuint(aml_encode_namestring(b, sizeof(b), "TOOLONG"), ==, 0);
    g_assert_cmpuint(aml_encode_namestring(b, sizeof(b), "1ABC"), ==, 0);
    g_assert_cmpuint(aml_encode_namestring(b, sizeof(b), "A..B"), ==, 0);
    g_assert_cmpuint(aml_encode_namestring(b, 3, "_HID"), ==, 0);
}

static void test_integers(void)
{
    CHECK(aml_int(0), 0x00);
    CHECK(aml_int(1), 0x01);
    CHECK(aml_int(UINT64_MAX), 0xff);
    CHECK(aml_int(2), 0x0a, 0x02);
    CHECK(aml_int(0xff), 0x0a, 0xff);
    CHECK(aml_int(0x100), 0x0b, 0x00, 0x01);
    CHECK(aml_int(0x1234), 0x0b, 0x34, 0x12);
    CHECK(aml_int(0x12345678), 0x0c, 0x78, 0x56, 0x34, 0x12);
    CHECK(aml_int(0x100000000ull), 0x0e, 0, 0, 0, 0, 1, 0, 0, 0);
}

static void test_data(void)
{
    CHECK(aml_string("ab"), 0x0d, 'a', 'b', 0x00);
    CHECK(aml_eisaid("PNP0A03"), 0x0c, 0x41, 0xd0, 0x0a, 0x03);
    CHECK(aml_eisaid("PNP0501"), 0x0c, 0x41, 0xd0, 0x05, 0x01);
    CHECK(aml_eisaid("PNP0C0F"), 0x0c, 0x41, 0xd0, 0x0c, 0x0f);
    CHECK(aml_buffer((const uint8_t *)"\x01\x02\x03", 3), 0x11, 0x06, 0x0a, 0x03, 1, 2, 3);
    CHECK(aml_name("\\_SB.LNKA"), '\\', 0x2e, '_', 'S', 'B', '_', 'L', 'N', 'K', 'A');

    Aml *pkg = aml_package();
    aml_append(pkg, aml_int(0));
    aml_append(pkg, aml_int(1));
    CHECK(pkg, 0x12, 0x04, 0x02, 0x00, 0x01);
    /* Nested: Package(){Package(){0x10}} */
    Aml *outer = aml_package();
    Aml *inner = aml_package();
    aml_append(inner, aml_int(0x10));
    aml_append(outer, inner);
    CHECK(outer, 0x12, 0x07, 0x01, 0x12, 0x04, 0x01, 0x0a, 0x10);
}

static void test_named(void)
{
    CHECK(aml_name_decl("_UID", aml_int(1)), 0x08, '_', 'U', 'I', 'D', 0x01);

    Aml *dev = aml_device("FOO");
    aml_append(dev, aml_name_decl("_ADR", aml_int(0)));
    CHECK(dev, 0x5b, 0x82, 0x0b, 'F', 'O', 'O', '_', 0x08, '_', 'A', 'D', 'R', 0x00);

    Aml *scope = aml_scope("\\_SB");
    CHECK(scope, 0x10, 0x06, '\\', '_', 'S', 'B', '_');

    CHECK(aml_method("_SRS", 1, false), 0x14, 0x06, '_', 'S', 'R', 'S', 0x01);
    Aml *m = aml_method("_STA", 0, true);
    aml_append(m, aml_return(aml_int(0xf)));
    CHECK(m, 0x14, 0x09, '_', 'S', 'T', 'A', 0x08, 0xa4, 0x0a, 0x0f);
}

static void test_resources(void)
{
    Aml *rt = aml_resource_template();
    aml_append(rt, aml_io(0x3f8, 0x3f8, 0x00, 0x08));
    aml_append(rt, aml_irq_no_flags(4));
    CHECK(rt, 0x11, 0x10, 0x0a, 0x0d,
          0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08,
          0x22, 0x10, 0x00,
          0x79, 0x00);

    rt = aml_resource_template();
    aml_append(rt, aml_interrupt(true, false, true, 10));
    CHECK(rt, 0x11, 0x0e, 0x0a, 0x0b,
          0x89, 0x06, 0x00, 0x09, 0x01, 0x0a, 0x00, 0x00, 0x00,
          0x79, 0x00);

    rt = aml_resource_template();
    aml_append(rt, aml_word_bus_number(0, 0xff));
    CHECK(rt, 0x11, 0x15, 0x0a, 0x12,
          0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00,
          0x00, 0x00, 0x00, 0x01,
          0x79, 0x00);

    rt = aml_resource_template();
    aml_append(rt, aml_word_io(0x0d00, 0xffff));
    CHECK(rt, 0x11, 0x15, 0x0a, 0x12,
          0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff,
          0x00, 0x00, 0x00, 0xf3,
          0x79, 0x00);

    rt = aml_resource_template();
    aml_append(rt, aml_dword_memory(0x000a0000, 0x000bffff, true));
    CHECK(rt, 0x11, 0x1f, 0x0a, 0x1c,
          0x87, 0x17, 0x00, 0x00, 0x0c, 0x03,
          0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x0a, 0x00,  0xff, 0xff, 0x0b, 0x00,
          0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x02, 0x00,
          0x79, 0x00);

    rt = aml_resource_template();
    aml_append(rt, aml_memory32_fixed(0xfed00000, 0x400, false));
    CHECK(rt, 0x11, 0x11, 0x0a, 0x0e,
          0x86, 0x09, 0x00, 0x00, 0x00, 0x00, 0xd0, 0xfe, 0x00, 0x04, 0x00, 0x00,
          0x79, 0x00);

    rt = aml_resource_template();
    aml_append(rt, aml_qword_memory(0x100000000ull, 0x17fffffffull, true));
    CHECK(rt, 0x11, 0x33, 0x0a, 0x30,
          0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03,
          0, 0, 0, 0, 0, 0, 0, 0,
          0, 0, 0, 0, 1, 0, 0, 0,
          0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0,
          0, 0, 0, 0, 0, 0, 0, 0,
          0, 0, 0, 0x80, 0, 0, 0, 0,
          0x79, 0x00);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i386/aml/pkglength", test_pkglength);
    g_test_add_func("/i386/aml/namestring", test_namestring);
    g_test_add_func("/i386/aml/integers", test_integers);
    g_test_add_func("/i386/aml/data", test_data);
    g_test_add_func("/i386/aml/named", test_named);
    g_test_add_func("/i386/aml/resources", test_resources);
    return g_test_run();
}
