/* Unit tests for the QemuOpts-style option parser (util/option.c). */
#include <glib.h>
#include "kemu/option.h"

static void test_implied_and_escape(void)
{
    Error *err = NULL;
    Opts *o = opts_parse("disk.img,,x,format=raw,if=virtio,name=a,,b", "file", &err);
    g_assert_null(err);
    g_assert_cmpstr(opts_get(o, "file"), ==, "disk.img,x");
    g_assert_cmpstr(opts_get(o, "format"), ==, "raw");
    g_assert_cmpstr(opts_get(o, "name"), ==, "a,b");
    g_assert_cmpuint(opts_count(o), ==, 4);
    g_assert_cmpstr(opts_key_at(o, 1), ==, "format");
    char *s = opts_to_string(o);
    g_assert_cmpstr(s, ==, "file=disk.img,,x,format=raw,if=virtio,name=a,,b");
    g_free(s);
    opts_free(o);
}

static void test_repeat_last_wins(void)
{
    Opts *o = opts_parse("cpus=2,cpus=4", NULL, &error_abort);
    g_assert_cmpstr(opts_get(o, "cpus"), ==, "4");
    g_assert_true(opts_del(o, "cpus"));
    g_assert_false(opts_has(o, "cpus"));
    opts_free(o);
}

static void test_help(void)
{
    Opts *o = opts_parse("help", "type", &error_abort);
    g_assert_true(opts_wants_help(o));
    opts_free(o);
    o = opts_parse("e1000,help", "driver", &error_abort);
    g_assert_true(opts_wants_help(o));
    g_assert_cmpstr(opts_get(o, "driver"), ==, "e1000");
    opts_free(o);
    o = opts_parse("e1000,mac=52:54:00:12:34:56", "driver", &error_abort);
    g_assert_false(opts_wants_help(o));
    opts_free(o);
}

static void test_bool(void)
{
    Error *err = NULL;
    Opts *o = opts_parse("a=on,b=off,c=yes,d=maybe", NULL, &error_abort);
    g_assert_true(opts_get_bool(o, "a", false, &error_abort));
    g_assert_false(opts_get_bool(o, "b", true, &error_abort));
    g_assert_true(opts_get_bool(o, "c", false, &error_abort));
    g_assert_true(opts_get_bool(o, "zz", true, &error_abort));
    opts_get_bool(o, "d", false, &err);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "Parameter 'd' expects 'on' or 'off'");
    error_free(err);
    opts_free(o);
}

static void test_check_keys(void)
{
    static const char *const known[] = { "file", "format", NULL };
    Error *err = NULL;
    Opts *o = opts_parse("x.img,format=raw,bogus=1", "file", &error_abort);
    g_assert_false(opts_check_keys(o, known, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'bogus'");
    error_free(err);
    opts_free(o);
}

static void test_sizes(void)
{
    uint64_t v;
    g_assert_true(parse_size("512", &v));
    g_assert_cmpuint(v, ==, 512);
    g_assert_true(parse_size("1k", &v));
    g_assert_cmpuint(v, ==, 1024);
    g_assert_true(parse_size("2M", &v));
    g_assert_cmpuint(v, ==, 2u << 20);
    g_assert_true(parse_size("1.5G", &v));
    g_assert_cmpuint(v, ==, 3ull << 29);
    g_assert_true(parse_size("16E", &v) == false); /* 2^64 overflows */
    g_assert_true(parse_size("15E", &v));
    g_assert_true(parse_size("0x1000", &v));
    g_assert_cmpuint(v, ==, 4096);
    g_assert_false(parse_size("", &v));
    g_assert_false(parse_size("-1", &v));
    g_assert_false(parse_size("12Q", &v));
    g_assert_false(parse_size("1.5", &v)); /* fraction of a byte */
    g_assert_false(parse_size("1.5B", &v));
    g_assert_true(parse_size("1.0", &v));   /* as QEMU: no fraction after all */
    g_assert_cmpuint(v, ==, 1);
    g_assert_true(parse_size("1.", &v));
    g_assert_cmpuint(v, ==, 1);
    g_assert_true(parse_size("1.k", &v));
    g_assert_cmpuint(v, ==, 1024);
    g_assert_true(parse_size("1.0001k", &v)); /* to the nearest byte, as QEMU */
    g_assert_cmpuint(v, ==, 1024);
    g_assert_true(parse_size("1.00048828125k", &v));
    g_assert_cmpuint(v, ==, 1025);
    g_assert_true(parse_size("1.9999999k", &v));
    g_assert_cmpuint(v, ==, 2048);
    g_assert_false(parse_size(".5k", &v));
    g_assert_false(parse_size("1kk", &v));
    g_assert_true(parse_size_unit("256", 20, &v));
    g_assert_cmpuint(v, ==, 256ull << 20);
    g_assert_true(parse_size_unit("1G", 20, &v));
    g_assert_cmpuint(v, ==, 1ull << 30);
}

static void test_numbers(void)
{
    uint64_t v;
    g_assert_true(parse_uint("42", &v));
    g_assert_cmpuint(v, ==, 42);
    g_assert_true(parse_uint("0xf4", &v));
    g_assert_cmpuint(v, ==, 0xf4);
    g_assert_false(parse_uint("4x", &v));
    g_assert_false(parse_uint("-3", &v));
    g_assert_false(parse_uint("", &v));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/option/implied-escape", test_implied_and_escape);
    g_test_add_func("/option/repeat", test_repeat_last_wins);
    g_test_add_func("/option/help", test_help);
    g_test_add_func("/option/bool", test_bool);
    g_test_add_func("/option/check-keys", test_check_keys);
    g_test_add_func("/option/sizes", test_sizes);
    g_test_add_func("/option/numbers", test_numbers);
    return g_test_run();
}
