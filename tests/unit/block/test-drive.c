/*
 * Unit tests of -drive parsing (block/drive.c): placement by if/index/bus/unit,
 * generated ids, option errors with QEMU's texts, read-only and cdrom media,
 * snapshot=on writing to a throw-away overlay, lookups.
 */
#include <string.h>
#include <glib.h>

#include "block/drive.h"
#include "block/block_int.h"

static char *tmpdir;
static char *img;
static char *img2;
static char *img3;

static void expect_error(const char *optstr, const char *msg)
{
    Error *err = NULL;
    DriveInfo *d = drive_new(optstr, IF_IDE, &err);
    g_assert_null(d);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static DriveInfo *expect_ok(const char *optstr, BlockInterfaceType def)
{
    Error *err = NULL;
    DriveInfo *d = drive_new(optstr, def, &err);
    if (!d) {
        g_error("%s: %s", optstr, error_get_pretty(err));
    }
    return d;
}

static void test_placement_and_ids(void)
{
    char *s = g_strdup_printf("file=%s,format=qcow2", img);
    DriveInfo *a = expect_ok(s, IF_IDE);
    g_assert_cmpstr(a->id, ==, "ide0-hd0");
    g_assert_cmpint(a->bus, ==, 0);
    g_assert_cmpint(a->unit, ==, 0);
    DriveInfo *b = expect_ok("if=ide,media=cdrom", IF_IDE);
    g_assert_cmpstr(b->id, ==, "ide0-cd1");
    g_assert_null(b->blk);              /* empty CD-ROM drive */
    DriveInfo *c = expect_ok("if=ide,media=cdrom", IF_IDE);
    g_assert_cmpstr(c->id, ==, "ide1-cd0");
    g_assert_cmpint(c->bus, ==, 1);
    g_free(s);
    /* The same image twice is refused by the image locks, as in QEMU. */
    s = g_strdup_printf("file=%s,format=qcow2,if=virtio,readonly=on", img);
    expect_error(s, "Failed to get shared \"write\" lock");
    g_free(s);
    s = g_strdup_printf("file=%s,format=qcow2,if=virtio,readonly=on", img2);
    DriveInfo *v = expect_ok(s, IF_IDE);
    g_assert_cmpstr(v->id, ==, "virtio0");
    g_assert_true(blk_is_read_only(v->blk));
    g_free(s);
    s = g_strdup_printf("file=%s,format=qcow2,if=none,id=disk1,cache=none,aio=native,"
                        "discard=unmap,detect-zeroes=unmap,werror=stop,rerror=ignore", img3);
    DriveInfo *n = expect_ok(s, IF_IDE);
    g_assert_true(drive_get_by_id("disk1") == n);
    g_assert_cmpint(blk_get_on_error(n->blk, false), ==, BLOCKDEV_ON_ERROR_STOP);
    g_assert_cmpint(blk_get_on_error(n->blk, true), ==, BLOCKDEV_ON_ERROR_IGNORE);
    g_assert_true(bdrv_get_flags(blk_bs(n->blk)) & BDRV_O_NOCACHE);
    g_assert_true(bdrv_get_flags(blk_bs(n->blk)) & BDRV_O_UNMAP);
    g_free(s);
    g_assert_true(drive_get_by_index(IF_IDE, 2) == c);
    g_assert_cmpint(drive_get_max_bus(IF_IDE), ==, 1);
    g_assert_true(drive_claim(n, NULL));
    g_assert_false(drive_claim(n, NULL));

    expect_error("if=ide,index=0", "drive with bus=0, unit=0 (index=0) exists");
    expect_error("if=none,id=disk1", "Duplicate ID 'disk1' for drive");
    expect_error("if=ide,unit=5", "unit 5 too big (max is 1)");
    expect_error("index=1,unit=1", "index cannot be used with bus and unit");
    expect_error("if=bogus", "unsupported bus type 'bogus'");
    expect_error("media=bogus", "'bogus' invalid media");
    expect_error("cache=bogus", "invalid cache option");
    expect_error("aio=bogus", "invalid aio option");
    expect_error("werror=bogus", "'bogus' invalid write error action");
    expect_error("rerror=enospc", "'enospc' invalid read error action");
    expect_error("if=floppy,werror=stop", "werror is not supported by this bus type");
    expect_error("discard=bogus", "Invalid discard option");
    expect_error("detect-zeroes=bogus", "invalid parameter value: bogus");
    expect_error("readonly=maybe", "Parameter 'read-only' expects 'on' or 'off'");
    expect_error("file=/nonexistent/x.img",
                 "Could not open '/nonexistent/x.img': No such file or directory");
    s = g_strdup_printf("file=%s,format=foo", img);
    expect_error(s, "Unknown driver 'foo'");
    g_free(s);
    s = g_strdup_printf("file=%s,aio=native", img);
    expect_error(s, "aio=native was specified, but it requires cache.direct=on, which was not "
                 "specified.");
    g_free(s);
    drive_cleanup_all();
    g_assert_null(drive_list());
    s = g_strdup_printf("file=%s,format=qcow2,bogus=1", img);
    expect_error(s, "Block format 'qcow2' does not support the option 'bogus'");
    g_free(s);
}

static void test_snapshot_on(void)
{
    char *s = g_strdup_printf("file=%s,format=qcow2,if=virtio,snapshot=on", img);
    DriveInfo *d = expect_ok(s, IF_IDE);
    uint8_t buf[4096];
    memset(buf, 0x5d, sizeof(buf));
    g_assert_cmpint(blk_pwrite(d->blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(blk_pread(d->blk, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpuint(buf[100], ==, 0x5d);
    drive_cleanup_all();
    /* The image itself is untouched. */
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open(img, "qcow2", NULL, 0, &err);
    g_assert_nonnull(bs);
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpuint(buf[100], ==, 0);
    bdrv_unref(bs);
    /* -snapshot applies to drives created afterwards. */
    drive_set_snapshot_all(true);
    d = expect_ok(s, IF_IDE);
    memset(buf, 0x6e, sizeof(buf));
    g_assert_cmpint(blk_pwrite(d->blk, 0, sizeof(buf), buf, 0), ==, 0);
    drive_cleanup_all();
    drive_set_snapshot_all(false);
    bs = bdrv_open(img, "qcow2", NULL, 0, &err);
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpuint(buf[100], ==, 0);
    bdrv_unref(bs);
    g_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("kemu-drive-XXXXXX", NULL);
    g_setenv("TMPDIR", tmpdir, true);
    img = g_build_filename(tmpdir, "disk.qcow2", NULL);
    img2 = g_build_filename(tmpdir, "disk2.qcow2", NULL);
    img3 = g_build_filename(tmpdir, "disk3.qcow2", NULL);
    Error *err = NULL;
    Opts *o = opts_parse("size=4M", NULL, &err);
    g_assert_cmpint(bdrv_create("qcow2", img, o, NULL, &err), ==, 0);
    g_assert_cmpint(bdrv_create("qcow2", img2, o, NULL, &err), ==, 0);
    g_assert_cmpint(bdrv_create("qcow2", img3, o, NULL, &err), ==, 0);
    opts_free(o);
    g_test_add_func("/drive/placement-and-ids", test_placement_and_ids);
    g_test_add_func("/drive/snapshot", test_snapshot_on);
    int ret = g_test_run();
    char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(cmd);
    g_free(img);
    g_free(img2);
    g_free(img3);
    return ret;
}
