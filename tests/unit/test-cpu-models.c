/* Unit tests for x86 CPU models (hw/i386/cpu-models.c). */
#include <glib.h>
#include <string.h>

#include "hw/i386/cpu-models.h"

static void test_qemu64(void)
{
    /* A pretend host: Intel, leaf 7 with AVX2, SSSE3/SSE4.2/AVX in leaf 1. */
    X86CPUIDEntry e[] = {
        { 0, 0, 0x16, 0x756e6547, 0x6c65746e, 0x49656e69 },
        { 1, 0, 0x000906ea, 0, 0xfffaf3bf | (1u << 9) | (1u << 19) | (1u << 20) | (1u << 28),
          0xbfebfbff },
        { 7, 0, 0, 0x029c6fbf, 0, 0 },
        { 0x80000000, 0, 0x80000008, 0, 0, 0 },
        { 0x80000001, 0, 0, 0, 0x121, 0x2c100800 },
        { 0x80000002, 0, 1, 2, 3, 4 },
    };
    const X86CPUModel *m = x86_cpu_model_find("qemu64");
    g_assert_nonnull(m);
    x86_cpu_model_apply(m, e, G_N_ELEMENTS(e));
    char vendor[13] = { 0 };
    memcpy(vendor, &e[0].ebx, 4);
    memcpy(vendor + 4, &e[0].edx, 4);
    memcpy(vendor + 8, &e[0].ecx, 4);
    g_assert_cmpstr(vendor, ==, "AuthenticAMD");
    g_assert_cmphex(e[0].eax, ==, 0xd);
    /* family 15, model 107 (0x6b), stepping 1 */
    g_assert_cmpuint((e[1].eax >> 8) & 0xf, ==, 0xf);
    g_assert_cmpuint(((e[1].eax >> 4) & 0xf) | (((e[1].eax >> 16) & 0xf) << 4), ==, 107);
    g_assert_cmpuint(e[1].eax & 0xf, ==, 1);
    /* SSE3 and CX16 kept; SSSE3 (9), SSE4.1 (19), SSE4.2 (20), AVX (28) gone; hypervisor set */
    g_assert_true(e[1].ecx & 1);
    g_assert_true(e[1].ecx & (1u << 13));
    g_assert_false(e[1].ecx & ((1u << 9) | (1u << 19) | (1u << 20) | (1u << 28)));
    g_assert_true(e[1].ecx & (1u << 31));
    g_assert_cmphex(e[2].ebx, ==, 0); /* no AVX2 etc. */
    g_assert_cmphex(e[3].eax, ==, 0x80000008); /* below xlevel: kept */
    g_assert_true(e[4].edx & (1u << 29)); /* LM */
    char brand[17] = { 0 };
    memcpy(brand, &e[5].eax, 16);
    g_assert_cmpstr(brand, ==, "QEMU Virtual CPU");
}

static void test_host_passthrough(void)
{
    X86CPUIDEntry e[] = { { 1, 0, 0x906ea, 1, 2, 3 } };
    x86_cpu_model_apply(x86_cpu_model_find("host"), e, 1);
    g_assert_cmphex(e[0].eax, ==, 0x906ea);
    g_assert_cmphex(e[0].ecx, ==, 2);
    g_assert_null(x86_cpu_model_find("pentium9"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpu-models/qemu64", test_qemu64);
    g_test_add_func("/cpu-models/host", test_host_passthrough);
    return g_test_run();
}
