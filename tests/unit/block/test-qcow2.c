/*
 * Unit tests of the block layer's metadata code: refcount entry packing for every
 * refcount width, cluster allocation and freeing, refcount table growth, L2 cache
 * eviction, copy-on-write from a backing file, zero clusters, the snapshot table
 * parser, header validation, zstd cluster compression (well-formed and malformed frames),
 * and async completion in the caller's main context.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include <zstd.h>

#include "block/block-backend.h"
#include "block/qcow2.h"

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void create_qcow2(const char *path, const char *optstr)
{
    Error *err = NULL;
    Opts *opts = opts_parse(optstr, NULL, &err);
    g_assert_null(err);
    int ret = bdrv_create("qcow2", path, opts, NULL, &err);
    if (err) {
        g_printerr("%s\n", error_get_pretty(err));
    }
    g_assert_cmpint(ret, ==, 0);
    opts_free(opts);
}

static BlockDriverState *open_rw(const char *path, Opts *opts)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "qcow2", opts, BDRV_O_RDWR | BDRV_O_UNMAP, &err);
    if (!bs) {
        g_printerr("%s\n", error_get_pretty(err));
    }
    g_assert_nonnull(bs);
    return bs;
}

static void fill_write(BlockDriverState *bs, int64_t off, int64_t len, int pattern)
{
    uint8_t *buf = g_malloc(len);
    memset(buf, pattern, len);
    g_assert_cmpint(bdrv_pwrite(bs, off, len, buf, 0), ==, 0);
    g_free(buf);
}

static void check_pattern(BlockDriverState *bs, int64_t off, int64_t len, int pattern)
{
    uint8_t *buf = g_malloc(len);
    g_assert_cmpint(bdrv_pread(bs, off, len, buf, 0), ==, 0);
    for (int64_t i = 0; i < len; i++) {
        if (buf[i] != pattern) {
            g_error("offset %" PRId64 ": got %#x want %#x", off + i, buf[i], pattern);
        }
    }
    g_free(buf);
}

static void assert_clean(BlockDriverState *bs)
{
    BdrvCheckResult r;
    g_assert_cmpint(bdrv_check(bs, &r, 0), ==, 0);
    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.leaks, ==, 0);
    g_assert_cmpint(r.check_errors, ==, 0);
}

static void test_refcount_widths(void)
{
    for (int order = 0; order <= 6; order++) {
        BDRVQcow2State s = { .refcount_order = order };
        uint8_t block[512];
        memset(block, 0, sizeof(block));
        int bits = 1 << order;
        uint64_t max = bits == 64 ? UINT64_MAX : (1ULL << bits) - 1;
        int entries = 512 * 8 / bits;
        for (int i = 0; i < entries; i += 3) {
            qcow2_set_refcount_ro(&s, block, i, (i * 7 + 1) & max);
        }
        for (int i = 0; i < entries; i++) {
            uint64_t want = (i % 3 == 0) ? ((i * 7 + 1) & max) : 0;
            g_assert_cmpuint(qcow2_get_refcount_ro(&s, block, i), ==, want);
        }
        qcow2_set_refcount_ro(&s, block, 1, max);
        g_assert_cmpuint(qcow2_get_refcount_ro(&s, block, 1), ==, max);
        g_assert_cmpuint(qcow2_get_refcount_ro(&s, block, 0), ==, 1);
        g_assert_cmpuint(qcow2_get_refcount_ro(&s, block, 2), ==, 0);
    }
    /* Sub-byte widths are packed lowest bits first (qcow2 spec). */
    BDRVQcow2State s1 = { .refcount_order = 0 };
    uint8_t b = 0;
    qcow2_set_refcount_ro(&s1, &b, 0, 1);
    qcow2_set_refcount_ro(&s1, &b, 3, 1);
    g_assert_cmpuint(b, ==, 0x09);
}

static void test_iovec(void)
{
    uint8_t a[10], b[20];
    IOVector q, sub;
    iovec_init(&q, 1);
    iovec_add(&q, a, sizeof(a));
    iovec_add(&q, b, sizeof(b));
    g_assert_cmpuint(q.size, ==, 30);
    iovec_memset(&q, 0, 0, 30);
    g_assert_true(iovec_is_zero(&q, 0, 30));
    iovec_memset(&q, 8, 0x5a, 4);
    g_assert_cmpuint(a[8], ==, 0x5a);
    g_assert_cmpuint(b[1], ==, 0x5a);
    g_assert_cmpuint(b[2], ==, 0);
    iovec_init(&sub, 1);
    iovec_concat(&sub, &q, 9, 3);
    g_assert_cmpint(sub.niov, ==, 2);
    g_assert_cmpuint(sub.size, ==, 3);
    uint8_t out[3];
    g_assert_cmpuint(iovec_to_buf(&sub, 0, out, 3), ==, 3);
    g_assert_cmpuint(out[0], ==, 0x5a);
    g_assert_cmpuint(out[2], ==, 0x5a);
    iovec_destroy(&sub);
    iovec_destroy(&q);
}

static void test_alloc_free(void)
{
    char *path = tmp_path("alloc.qcow2");
    create_qcow2(path, "size=16M,cluster_size=4096");
    BlockDriverState *bs = open_rw(path, NULL);
    BDRVQcow2State *s = bs->opaque;
    int64_t a = qcow2_alloc_clusters(bs, 3 * 4096);
    g_assert_cmpint(a, >, 0);
    g_assert_cmpint(a % 4096, ==, 0);
    for (int i = 0; i < 3; i++) {
        uint64_t rc;
        g_assert_cmpint(qcow2_get_refcount(bs, (a >> 12) + i, &rc), ==, 0);
        g_assert_cmpuint(rc, ==, 1);
    }
    /* New clusters never overlap the header, L1 or refcount metadata. */
    g_assert_cmpint(a, >=, 4096);
    g_assert_false(a < (int64_t)(s->l1_table_offset + s->l1_size * 8) &&
                   (int64_t)s->l1_table_offset < a + 3 * 4096);
    qcow2_free_clusters(bs, a + 4096, 4096, false);
    uint64_t rc;
    g_assert_cmpint(qcow2_get_refcount(bs, (a >> 12) + 1, &rc), ==, 0);
    g_assert_cmpuint(rc, ==, 0);
    /* The hole is reused by the next single-cluster allocation. */
    g_assert_cmpint(qcow2_alloc_clusters(bs, 4096), ==, a + 4096);
    qcow2_free_clusters(bs, a, 3 * 4096, false);
    assert_clean(bs);
    bdrv_unref(bs);
    g_free(path);
}

static void test_reftable_growth(void)
{
    /* 512-byte clusters with 64-bit refcounts: one block covers 64 clusters and the
     * initial one-cluster table 4096 clusters (2 MiB), so 6 MiB of data forces the
     * refcount table to be relocated and grown. */
    char *path = tmp_path("grow.qcow2");
    create_qcow2(path, "size=64M,cluster_size=512,refcount_bits=64");
    BlockDriverState *bs = open_rw(path, NULL);
    BDRVQcow2State *s = bs->opaque;
    uint32_t old_size = s->refcount_table_size;
    for (int i = 0; i < 48; i++) {
        fill_write(bs, (int64_t)i * 1024 * 1024 + 100, 128 * 1024, i + 1);
    }
    g_assert_cmpuint(s->refcount_table_size, >, old_size);
    assert_clean(bs);
    bdrv_unref(bs);
    bs = open_rw(path, NULL);
    for (int i = 0; i < 48; i++) {
        check_pattern(bs, (int64_t)i * 1024 * 1024 + 100, 128 * 1024, i + 1);
        check_pattern(bs, (int64_t)i * 1024 * 1024, 100, 0);
    }
    assert_clean(bs);
    bdrv_unref(bs);
    g_free(path);
}

static void test_l2_cache_eviction(void)
{
    /* 4 KiB clusters: one L2 table maps 2 MiB.  A two-table cache must evict (and
     * write back) while 16 tables are touched. */
    char *path = tmp_path("l2.qcow2");
    create_qcow2(path, "size=64M,cluster_size=4096");
    Error *err = NULL;
    Opts *opts = opts_parse("l2-cache-size=8192", NULL, &err);
    BlockDriverState *bs = open_rw(path, opts);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 16; i++) {
            fill_write(bs, (int64_t)i * 2 * 1024 * 1024 + round * 4096, 4096, 16 * round + i + 1);
        }
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 16; i++) {
            check_pattern(bs, (int64_t)i * 2 * 1024 * 1024 + round * 4096, 4096,
                          16 * round + i + 1);
        }
    }
    assert_clean(bs);
    bdrv_unref(bs);
    /* Everything reached the disk. */
    bs = open_rw(path, NULL);
    for (int i = 0; i < 16; i++) {
        check_pattern(bs, (int64_t)i * 2 * 1024 * 1024 + 4096, 4096, 16 + i + 1);
    }
    bdrv_unref(bs);
    opts_free(opts);
    g_free(path);
}

static void test_cow_from_backing(void)
{
    char *base = tmp_path("base.raw");
    char *top = tmp_path("top.qcow2");
    Error *err = NULL;
    Opts *o = opts_parse("size=1M", NULL, &err);
    g_assert_cmpint(bdrv_create("raw", base, o, NULL, &err), ==, 0);
    opts_free(o);
    BlockDriverState *b = bdrv_open(base, "raw", NULL, BDRV_O_RDWR, &err);
    g_assert_nonnull(b);
    fill_write(b, 0, 1024 * 1024, 0x42);
    bdrv_unref(b);
    char *optstr = g_strdup_printf("size=1M,cluster_size=65536,backing_file=%s,backing_fmt=raw",
                                   base);
    create_qcow2(top, optstr);
    BlockDriverState *bs = open_rw(top, NULL);
    g_assert_nonnull(bs->backing);
    fill_write(bs, 65536 + 1000, 3000, 0x17);       /* partial cluster: head and tail COW */
    check_pattern(bs, 65536, 1000, 0x42);
    check_pattern(bs, 65536 + 1000, 3000, 0x17);
    check_pattern(bs, 65536 + 4000, 65536 - 4000, 0x42);
    check_pattern(bs, 0, 65536, 0x42);              /* untouched: from the backing file */
    int64_t pnum;
    g_assert_cmpint(bdrv_is_allocated(bs, 65536, 65536, &pnum), ==, 1);
    g_assert_cmpint(bdrv_is_allocated(bs, 0, 65536, &pnum), ==, 0);
    /* Zeroing over a backing file must hide it (zero cluster, v3). */
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 131072, 65536, 0), ==, 0);
    check_pattern(bs, 131072, 65536, 0);
    /* Discard on v3 with a backing file reads zeroes too. */
    g_assert_cmpint(bdrv_pdiscard(bs, 65536, 65536), ==, 0);
    check_pattern(bs, 65536, 65536, 0);
    assert_clean(bs);
    bdrv_unref(bs);
    g_free(optstr);
    g_free(base);
    g_free(top);
}

static void test_zero_clusters(void)
{
    char *path = tmp_path("zero.qcow2");
    create_qcow2(path, "size=4M,cluster_size=65536");
    BlockDriverState *bs = open_rw(path, NULL);
    fill_write(bs, 0, 256 * 1024, 0x66);
    /* Unaligned zero write: partial clusters are written as data, the rest flagged. */
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 1000, 200000, BDRV_REQ_MAY_UNMAP), ==, 0);
    check_pattern(bs, 0, 1000, 0x66);
    check_pattern(bs, 1000, 200000, 0);
    check_pattern(bs, 201000, 256 * 1024 - 201000, 0x66);
    int64_t pnum, map;
    BlockDriverState *file;
    int st = bdrv_block_status(bs, 65536, 65536, &pnum, &map, &file);
    g_assert_cmpint(st & BDRV_BLOCK_ZERO, !=, 0);
    g_assert_cmpint(st & BDRV_BLOCK_DATA, ==, 0);
    assert_clean(bs);
    bdrv_unref(bs);
    g_free(path);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

static void patch_file(const char *path, off_t off, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, data, len, off), ==, (ssize_t)len);
    close(fd);
}

static void test_snapshot_table(void)
{
    char *path = tmp_path("snap.qcow2");
    create_qcow2(path, "size=1M,cluster_size=65536");
    /* Hand-build one snapshot entry (qcow2 spec "Snapshot table entry") at 1 MiB. */
    uint8_t e[128];
    memset(e, 0, sizeof(e));
    put_be64(e, 0x30000);                  /* its L1 table: the active one is fine */
    put_be32(e + 8, 1);
    e[13] = 1;                             /* id_str_size */
    e[15] = 5;                             /* name_size */
    put_be32(e + 16, 1700000000);
    put_be32(e + 32, 0);
    put_be32(e + 36, 24);                  /* extra data: vm_state_size_large, disk_size, icount */
    put_be64(e + 40, 12345);
    put_be64(e + 48, 1024 * 1024);
    put_be64(e + 56, 77);
    memcpy(e + 64, "1", 1);
    memcpy(e + 65, "first", 5);
    patch_file(path, 1024 * 1024, e, 72);
    uint8_t hdr[12];
    put_be32(hdr, 1);
    put_be64(hdr + 4, 1024 * 1024);
    patch_file(path, 60, hdr, 12);
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "qcow2", NULL, 0, &err);
    g_assert_nonnull(bs);
    BlockSnapshotInfo *list;
    int n = bdrv_snapshot_list(bs, &list);
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpstr(list[0].id, ==, "1");
    g_assert_cmpstr(list[0].name, ==, "first");
    g_assert_cmpuint(list[0].vm_state_size, ==, 12345);
    g_assert_cmpuint(list[0].icount, ==, 77);
    g_assert_cmpuint(list[0].date_sec, ==, 1700000000);
    bdrv_snapshot_list_free(list, n);
    bdrv_unref(bs);
    /* Claim a second entry that is not there: refused, no crash. */
    put_be32(hdr, 2);
    patch_file(path, 60, hdr, 4);
    bs = bdrv_open(path, "qcow2", NULL, 0, &err);
    g_assert_null(bs);
    g_assert_cmpstr(error_get_pretty(err), ==, "Snapshot table is truncated");
    error_free(err);
    g_free(path);
}

static void expect_open_error(const char *path, const char *msg)
{
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "qcow2", NULL, 0, &err);
    g_assert_null(bs);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_bad_headers(void)
{
    char *path = tmp_path("bad.qcow2");
    uint8_t b[8];

    create_qcow2(path, "size=1M");
    patch_file(path, 0, "QFI\xfa", 4);
    expect_open_error(path, "Image is not in qcow2 format");

    create_qcow2(path, "size=1M");
    put_be32(b, 0x10000000);                        /* l1_size: 2 GiB of L1 */
    patch_file(path, 36, b, 4);
    expect_open_error(path, "Active L1 table too large");

    create_qcow2(path, "size=1M");
    put_be64(b, 0);                                  /* refcount table at the header */
    patch_file(path, 48, b, 8);
    expect_open_error(path, "Reference count table overlaps with the image header");

    create_qcow2(path, "size=1M");
    put_be64(b, 1ULL << 40);                         /* L1 table far beyond the file */
    patch_file(path, 40, b, 8);
    expect_open_error(path, "Active L1 table is beyond the end of the image file");

    create_qcow2(path, "size=1M");
    put_be32(b, 40);                                 /* cluster_bits */
    patch_file(path, 20, b, 4);
    expect_open_error(path, "Unsupported cluster size: 2^40");

    create_qcow2(path, "size=1M");
    g_assert_cmpint(truncate(path, 50), ==, 0);
    expect_open_error(path, "qcow2 header too short");
    g_free(path);
}

/* Text-like data that compresses well. */
static void fill_text(uint8_t *buf, size_t len, guint32 seed)
{
    static const char *const words[] = { "alpha ", "beta ", "gamma ", "qcow2 ", "zstd\n" };
    GRand *r = g_rand_new_with_seed(seed);
    size_t pos = 0;
    while (pos < len) {
        const char *w = words[g_rand_int_range(r, 0, G_N_ELEMENTS(words))];
        size_t n = MIN(strlen(w), len - pos);
        memcpy(buf + pos, w, n);
        pos += n;
    }
    g_rand_free(r);
}

/* Frame of `len` bytes of text, compressed with the given zstd parameters. */
static size_t zstd_frame(uint8_t *out, size_t out_len, const uint8_t *in, size_t len,
                         bool content_size, bool checksum)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    g_assert_nonnull(c);
    g_assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, content_size)));
    g_assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum)));
    size_t n = ZSTD_compress2(c, out, out_len, in, len);
    g_assert_false(ZSTD_isError(n));
    ZSTD_freeCCtx(c);
    return n;
}

#define ZSTD_TEST_CLUSTER 65536
#define ZSTD_GUARD 4096

/* Decompress into a cluster followed by a guard area that must stay untouched. */
static int zstd_decompress_guarded(BDRVQcow2State *s, const uint8_t *in, size_t in_len,
                                   uint8_t *out)
{
    memset(out, 0xa5, ZSTD_TEST_CLUSTER + ZSTD_GUARD);
    int ret = qcow2_decompress_buf(s, out, ZSTD_TEST_CLUSTER, in, in_len);
    for (size_t i = ZSTD_TEST_CLUSTER; i < ZSTD_TEST_CLUSTER + ZSTD_GUARD; i++) {
        g_assert_cmpint(out[i], ==, 0xa5);
    }
    return ret;
}

static void test_zstd_buffers(void)
{
    BDRVQcow2State s = { .compression_type = QCOW2_COMPRESSION_TYPE_ZSTD };
    const size_t cs = ZSTD_TEST_CLUSTER;
    uint8_t *data = g_malloc(cs + 1);
    uint8_t *frame = g_malloc(2 * cs);
    uint8_t *out = g_malloc(cs + ZSTD_GUARD);
    fill_text(data, cs + 1, 7);

    /* Our own frame, followed by the rest of its last 512-byte sector (garbage). */
    ssize_t n = qcow2_compress_buf(&s, frame, cs - 1, data, cs);
    g_assert_cmpint(n, >, 0);
    g_assert_cmpint(n, <, (ssize_t)cs / 4);
    size_t padded = (size_t)(n + 511) & ~(size_t)511;
    memset(frame + n, 0xee, padded + 512 - n);
    g_assert_cmpint(zstd_decompress_guarded(&s, frame, padded + 512, out), ==, 0);
    g_assert_cmpmem(out, cs, data, cs);
    /* Exactly the frame, no trailing byte. */
    g_assert_cmpint(zstd_decompress_guarded(&s, frame, n, out), ==, 0);
    g_assert_cmpmem(out, cs, data, cs);
    /* Every truncation fails, and the context recovers for the next cluster. */
    for (ssize_t cut = 0; cut < n; cut += (cut < 32 ? 1 : 97)) {
        g_assert_cmpint(zstd_decompress_guarded(&s, frame, cut, out), ==, -EIO);
    }
    g_assert_cmpint(zstd_decompress_guarded(&s, frame, n, out), ==, 0);
    g_assert_cmpmem(out, cs, data, cs);
    /* Flipped bytes inside the frame: an error (or, by chance, other data), never more. */
    for (ssize_t pos = 0; pos < n; pos += 13) {
        uint8_t *bad = g_malloc(n);
        memcpy(bad, frame, n);
        bad[pos] ^= 0xff;
        int ret = zstd_decompress_guarded(&s, bad, n, out);
        g_assert_true(ret == 0 || ret == -EIO);
        g_free(bad);
    }

    /* Frames without the content size, and with a checksum, are fine too. */
    size_t m = zstd_frame(frame, 2 * cs, data, cs, false, true);
    g_assert_cmpint(zstd_decompress_guarded(&s, frame, m, out), ==, 0);
    g_assert_cmpmem(out, cs, data, cs);
    frame[m - 1] ^= 1;                                  /* checksum mismatch */
    g_assert_cmpint(zstd_decompress_guarded(&s, frame, m, out), ==, -EIO);

    /* Frames of one byte more or less than a cluster, with or without content size. */
    for (int cflag = 0; cflag <= 1; cflag++) {
        m = zstd_frame(frame, 2 * cs, data, cs + 1, cflag, false);
        g_assert_cmpint(zstd_decompress_guarded(&s, frame, m, out), ==, -EIO);
        m = zstd_frame(frame, 2 * cs, data, cs - 1, cflag, false);
        memset(frame + m, 0, 512);
        g_assert_cmpint(zstd_decompress_guarded(&s, frame, m + 512, out), ==, -EIO);
    }
    /* A short frame followed by a frame with the rest: only the first one counts. */
    m = zstd_frame(frame, 2 * cs, data, cs / 2, true, false);
    m += zstd_frame(frame + m, 2 * cs - m, data + cs / 2, cs / 2, true, false);
    g_assert_cmpint(zstd_decompress_guarded(&s, frame, m, out), ==, -EIO);
    /* Not zstd at all, and nothing. */
    memset(frame, 0, 4096);
    g_assert_cmpint(zstd_decompress_guarded(&s, frame, 4096, out), ==, -EIO);
    g_assert_cmpint(zstd_decompress_guarded(&s, frame, 0, out), ==, -EIO);

    /* Incompressible data does not fit in a cluster less one byte. */
    GRand *r = g_rand_new_with_seed(3);
    for (size_t i = 0; i < cs; i++) {
        data[i] = g_rand_int(r);
    }
    g_rand_free(r);
    g_assert_cmpint(qcow2_compress_buf(&s, frame, cs - 1, data, cs), ==, -ENOSPC);
    qcow2_compress_cleanup(&s);
    g_free(data);
    g_free(frame);
    g_free(out);
}

static void test_zstd_image(void)
{
    char *path = tmp_path("zstd.qcow2");
    create_qcow2(path, "size=1M,compression_type=zstd");
    uint8_t hdr[112];
    int fd = open(path, O_RDONLY);
    g_assert_cmpint(pread(fd, hdr, sizeof(hdr), 0), ==, (ssize_t)sizeof(hdr));
    close(fd);
    g_assert_cmpint(hdr[79], ==, QCOW2_INCOMPAT_COMPRESSION);     /* incompatible bit 3 */
    g_assert_cmpint(hdr[103], ==, 112);                           /* header_length */
    g_assert_cmpint(hdr[104], ==, QCOW2_COMPRESSION_TYPE_ZSTD);

    BlockDriverState *bs = open_rw(path, NULL);
    uint8_t *buf = g_malloc(65536);
    fill_text(buf, 65536, 11);
    g_assert_cmpint(bdrv_pwrite(bs, 65536, 65536, buf, BDRV_REQ_WRITE_COMPRESSED), ==, 0);
    memset(buf, 0x3c, 65536);
    g_assert_cmpint(bdrv_pwrite(bs, 0, 65536, buf, BDRV_REQ_WRITE_COMPRESSED), ==, 0);
    BDRVQcow2State *s = bs->opaque;
    uint64_t l2 = s->l1_table[0] & L1E_OFFSET_MASK;
    assert_clean(bs);
    bdrv_unref(bs);

    bs = open_rw(path, NULL);
    check_pattern(bs, 0, 65536, 0x3c);
    uint8_t *want = g_malloc(65536);
    fill_text(want, 65536, 11);
    g_assert_cmpint(bdrv_pread(bs, 65536, 65536, buf, 0), ==, 0);
    g_assert_cmpmem(buf, 65536, want, 65536);
    bdrv_unref(bs);

    /* Corrupt the second cluster's frame: reads fail with -EIO, the first one still reads. */
    uint8_t e[8];
    fd = open(path, O_RDONLY);
    g_assert_cmpint(pread(fd, e, 8, l2 + 8), ==, 8);
    close(fd);
    uint64_t entry;
    memcpy(&entry, e, 8);
    entry = GUINT64_FROM_BE(entry);
    g_assert_true(entry & QCOW_OFLAG_COMPRESSED);
    uint64_t coffset = entry & ((1ULL << (62 - 8)) - 1);
    memset(want, 0x77, 64);
    patch_file(path, coffset + 8, want, 64);
    bs = open_rw(path, NULL);
    g_assert_cmpint(bdrv_pread(bs, 65536, 512, buf, 0), ==, -EIO);
    check_pattern(bs, 0, 65536, 0x3c);
    bdrv_unref(bs);
    g_free(buf);
    g_free(want);

    /* compression_type against incompatible bit 3. */
    uint8_t b[8];
    create_qcow2(path, "size=1M,compression_type=zstd");
    b[0] = 2;
    patch_file(path, 104, b, 1);
    expect_open_error(path, "qcow2: unknown compression type: 2");
    create_qcow2(path, "size=1M");
    b[0] = 1;
    patch_file(path, 104, b, 1);
    expect_open_error(path, "qcow2: Compression type incompatible feature bit must be set");
    create_qcow2(path, "size=1M,compression_type=zstd");
    put_be32(b, 104);                                /* header without compression_type */
    patch_file(path, 100, b, 4);
    expect_open_error(path, "qcow2: Compression type incompatible feature bit must not be set");
    g_free(path);
}

static void test_corrupt_l2_entry(void)
{
    char *path = tmp_path("corrupt.qcow2");
    create_qcow2(path, "size=1M,cluster_size=65536");
    BlockDriverState *bs = open_rw(path, NULL);
    fill_write(bs, 0, 4096, 1);
    BDRVQcow2State *s = bs->opaque;
    uint64_t l2 = s->l1_table[0] & L1E_OFFSET_MASK;
    bdrv_unref(bs);
    uint8_t e[8];
    put_be64(e, QCOW_OFLAG_COPIED | 0x12345);          /* unaligned host offset */
    patch_file(path, l2, e, 8);
    bs = open_rw(path, NULL);
    uint8_t buf[512];
    g_assert_cmpint(bdrv_pread(bs, 0, 512, buf, 0), ==, -EIO);
    /* The corrupt bit is now set: writes are refused, and reopening rw fails. */
    g_assert_cmpint(bdrv_pwrite(bs, 65536, 512, buf, 0), ==, -EIO);
    bdrv_unref(bs);
    Error *err = NULL;
    g_assert_null(bdrv_open(path, "qcow2", NULL, BDRV_O_RDWR, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "qcow2: Image is corrupt; cannot be opened read/write");
    error_free(err);
    g_free(path);
}

static GThread *main_thread;
static int cb_calls;

static void aio_cb(void *opaque, int ret)
{
    g_assert_cmpint(ret, ==, 0);
    g_assert_true(g_thread_self() == main_thread);
    cb_calls++;
}

static void test_async_completion(void)
{
    char *path = tmp_path("aio.qcow2");
    create_qcow2(path, "size=1M");
    Error *err = NULL;
    BlockBackend *blk = blk_new_open(path, "qcow2", NULL, BDRV_O_RDWR, false, &err);
    g_assert_nonnull(blk);
    main_thread = g_thread_self();
    uint8_t *wbuf = g_malloc(65536), *rbuf = g_malloc0(65536);
    memset(wbuf, 0x3c, 65536);
    IOVector wq, rq;
    iovec_init_buf(&wq, wbuf, 65536);
    iovec_init_buf(&rq, rbuf, 65536);
    cb_calls = 0;
    blk_aio_pwritev(blk, 0, &wq, 0, aio_cb, NULL);
    blk_aio_flush(blk, aio_cb, NULL);
    /* Completions only run from the main context, never behind our back. */
    g_usleep(50000);
    g_assert_cmpint(cb_calls, ==, 0);
    blk_drain(blk);
    g_assert_cmpint(cb_calls, ==, 2);
    blk_aio_preadv(blk, 0, &rq, 0, aio_cb, NULL);
    blk_drain(blk);
    g_assert_cmpint(cb_calls, ==, 3);
    g_assert_cmpint(memcmp(wbuf, rbuf, 65536), ==, 0);
    iovec_destroy(&wq);
    iovec_destroy(&rq);
    g_free(wbuf);
    g_free(rbuf);
    blk_unref(blk);
    g_free(path);
}

typedef struct StressReq {
    IOVector qiov;
    uint8_t *buf;
    int64_t offset;
    int pattern;
    bool verify;
} StressReq;

static int stress_pending;
static int stress_errors;

static void stress_cb(void *opaque, int ret)
{
    StressReq *r = opaque;
    if (ret < 0) {
        stress_errors++;
    } else if (r->verify) {
        for (size_t i = 0; i < r->qiov.size; i++) {
            if (r->buf[i] != r->pattern) {
                stress_errors++;
                break;
            }
        }
    }
    iovec_destroy(&r->qiov);
    g_free(r->buf);
    g_free(r);
    stress_pending--;
}

static void stress_submit(BlockBackend *blk, int64_t off, int64_t len, int pattern, bool write)
{
    StressReq *r = g_new0(StressReq, 1);
    r->buf = g_malloc(len);
    memset(r->buf, write ? pattern : 0xee, len);
    r->offset = off;
    r->pattern = pattern;
    r->verify = !write;
    iovec_init_buf(&r->qiov, r->buf, len);
    stress_pending++;
    if (write) {
        blk_aio_pwritev(blk, off, &r->qiov, 0, stress_cb, r);
    } else {
        blk_aio_preadv(blk, off, &r->qiov, 0, stress_cb, r);
    }
}

static void stress_cb_discard(void *opaque, int ret)
{
    if (ret < 0) {
        stress_errors++;
    }
    stress_pending--;
}

static void test_concurrent_requests(void)
{
    /* Many requests in flight on disjoint ranges: allocating writes, in-place rewrites,
     * reads without the metadata lock and discards interleave in the worker pool. */
    char *path = tmp_path("stress.qcow2");
    create_qcow2(path, "size=64M,cluster_size=4096");
    Error *err = NULL;
    BlockBackend *blk = blk_new_open(path, "qcow2", NULL, BDRV_O_RDWR | BDRV_O_UNMAP, false,
                                     &err);
    g_assert_nonnull(blk);
    GRand *rnd = g_rand_new_with_seed(99);
    const int slots = 2048;
    const int64_t slot = 32768;
    int *pattern = g_new0(int, slots);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < slots; i++) {
            pattern[i] = (round * 7 + i) % 250 + 1;
            int64_t len = g_rand_int_range(rnd, 1, slot / 512) * 512;
            stress_submit(blk, i * slot, len, pattern[i], true);
            if (stress_pending > 64) {
                g_main_context_iteration(NULL, TRUE);
            }
        }
        blk_drain(blk);
        g_assert_cmpint(stress_errors, ==, 0);
        for (int i = 0; i < slots; i++) {
            stress_submit(blk, i * slot, 512, pattern[i], false);
            if (i % 5 == 0) {
                blk_aio_pdiscard(blk, i * slot + 16384, 16384, stress_cb_discard, NULL);
                stress_pending++;
            }
            if (stress_pending > 64) {
                g_main_context_iteration(NULL, TRUE);
            }
        }
        blk_drain(blk);
        g_assert_cmpint(stress_errors, ==, 0);
    }
    g_assert_cmpint(blk_flush(blk), ==, 0);
    assert_clean(blk_bs(blk));
    blk_unref(blk);
    g_rand_free(rnd);
    g_free(pattern);
    g_free(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    error_set_progname("test-qcow2");
    tmpdir = g_dir_make_tmp("kemu-block-XXXXXX", NULL);
    g_test_add_func("/block/refcount-widths", test_refcount_widths);
    g_test_add_func("/block/iovec", test_iovec);
    g_test_add_func("/qcow2/alloc-free", test_alloc_free);
    g_test_add_func("/qcow2/reftable-growth", test_reftable_growth);
    g_test_add_func("/qcow2/l2-cache-eviction", test_l2_cache_eviction);
    g_test_add_func("/qcow2/cow-from-backing", test_cow_from_backing);
    g_test_add_func("/qcow2/zero-clusters", test_zero_clusters);
    g_test_add_func("/qcow2/snapshot-table", test_snapshot_table);
    g_test_add_func("/qcow2/bad-headers", test_bad_headers);
    g_test_add_func("/qcow2/corrupt-l2-entry", test_corrupt_l2_entry);
    g_test_add_func("/qcow2/zstd-buffers", test_zstd_buffers);
    g_test_add_func("/qcow2/zstd-image", test_zstd_image);
    g_test_add_func("/block/async-completion", test_async_completion);
    g_test_add_func("/qcow2/concurrent-requests", test_concurrent_requests);
    int ret = g_test_run();
    char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(cmd);
    return ret;
}
