/*
 * Fuzz target for image open + read (libFuzzer entry point LLVMFuzzerTestOneInput):
 * the input bytes are an image file; it is probed and opened read-only without
 * its backing chain, then read, block-status-mapped, snapshot-listed and checked.
 * Any input must be refused or handled without crashing (run under ASan/UBSan).
 *
 * Built with clang -fsanitize=fuzzer when available (fuzz-qcow2).  The same file
 * also builds a deterministic driver (test-fuzz-qcow2, part of make check): with
 * file arguments it replays them; without, it mutates valid images with a fixed
 * seed and feeds a few thousand variants through the target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "block/block_int.h"

#define FUZZ_MAX_READ (8 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_path;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_path) {
        fuzz_path = g_strdup_printf("/tmp/kemu-fuzz-%d.img", (int)getpid());
        error_set_progname("fuzz-qcow2");
    }
    FILE *f = fopen(fuzz_path, "wb");
    if (!f) {
        return 0;
    }
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open(fuzz_path, "qcow2", NULL, BDRV_O_NO_BACKING, &err);
    if (!bs) {
        error_free(err);
        return 0;
    }
    int64_t len = MIN(bdrv_getlength(bs), FUZZ_MAX_READ);
    uint8_t *buf = g_malloc(65536);
    for (int64_t off = 0; off < len; off += 65536) {
        bdrv_pread(bs, off, MIN(65536, len - off), buf, 0);
    }
    for (int64_t off = 0; off < len;) {
        int64_t pnum;
        if (bdrv_block_status(bs, off, len - off, &pnum, NULL, NULL) < 0 || pnum <= 0) {
            break;
        }
        off += pnum;
    }
    BlockSnapshotInfo *list;
    int n = bdrv_snapshot_list(bs, &list);
    if (n >= 0) {
        bdrv_snapshot_list_free(list, n);
    }
    BdrvCheckResult res;
    bdrv_check(bs, &res, 0);
    g_free(buf);
    bdrv_unref(bs);
    return 0;
}

#ifndef KEMU_LIBFUZZER
static uint8_t *make_seed(const char *optstr, size_t *size)
{
    char *path = g_strdup_printf("/tmp/kemu-fuzz-seed-%d.qcow2", (int)getpid());
    Error *err = NULL;
    Opts *opts = opts_parse(optstr, NULL, &err);
    g_assert(bdrv_create("qcow2", path, opts, NULL, &err) == 0);
    opts_free(opts);
    BlockDriverState *bs = bdrv_open(path, "qcow2", NULL, BDRV_O_RDWR, &err);
    g_assert(bs);
    uint8_t data[8192];
    memset(data, 0x5a, sizeof(data));
    bdrv_pwrite(bs, 0, sizeof(data), data, 0);
    bdrv_pwrite(bs, 3 * 65536 + 100, 3000, data, 0);
    bdrv_pwrite(bs, 200000, 1000, data, BDRV_REQ_WRITE_COMPRESSED);
    /* Whole compressed clusters (zlib or zstd, as the image says). */
    BlockDriverInfo bdi;
    g_assert(bdrv_get_info(bs, &bdi) == 0);
    int64_t ccs = MIN(bdi.cluster_size, (int64_t)sizeof(data));
    for (int64_t off = 5 * 65536; ccs == bdi.cluster_size && off < 5 * 65536 + 2 * ccs;
         off += ccs) {
        bdrv_pwrite(bs, off, ccs, data, BDRV_REQ_WRITE_COMPRESSED);
    }
    bdrv_pwrite_zeroes(bs, 131072, 65536, 0);
    bdrv_snapshot_create(bs, "s", NULL);
    bdrv_pwrite(bs, 4096, 4096, data, 0);
    bdrv_unref(bs);
    gchar *contents;
    gsize len;
    g_assert(g_file_get_contents(path, &contents, &len, NULL));
    unlink(path);
    g_free(path);
    *size = len;
    return (uint8_t *)contents;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            gchar *contents;
            gsize len;
            if (g_file_get_contents(argv[i], &contents, &len, NULL)) {
                LLVMFuzzerTestOneInput((uint8_t *)contents, len);
                g_free(contents);
            }
        }
    } else {
        static const char *const seeds[] = {
            "size=1M,cluster_size=512", "size=4M,cluster_size=4096,refcount_bits=1",
            "size=1M,compat=0.10", "size=2M,refcount_bits=64,cluster_size=8192",
            "size=1M,cluster_size=4096,compression_type=zstd",
        };
        GRand *rnd = g_rand_new_with_seed(20261122);
        for (size_t s = 0; s < G_N_ELEMENTS(seeds); s++) {
            size_t size;
            uint8_t *seed = make_seed(seeds[s], &size);
            LLVMFuzzerTestOneInput(seed, size);
            uint8_t *mut = g_malloc(size);
            for (int iter = 0; iter < 500; iter++) {
                memcpy(mut, seed, size);
                int flips = g_rand_int_range(rnd, 1, 8);
                for (int k = 0; k < flips; k++) {
                    /* Mostly the header and first tables, where the structure lives. */
                    size_t limit = g_rand_boolean(rnd) ? MIN(size, 4096) : size;
                    size_t pos = g_rand_int_range(rnd, 0, (gint32)limit);
                    mut[pos] = g_rand_boolean(rnd) ? (uint8_t)g_rand_int(rnd)
                                                   : mut[pos] ^ (1u << g_rand_int_range(rnd, 0, 8));
                }
                size_t cut = g_rand_int_range(rnd, 0, 10) == 0 ? (size_t)g_rand_int_range(rnd, 0, size)
                                                              : size;
                LLVMFuzzerTestOneInput(mut, cut);
            }
            g_free(mut);
            g_free(seed);
        }
        g_rand_free(rnd);
        printf("fuzz driver: %zu seeds x 500 mutations done\n", G_N_ELEMENTS(seeds));
    }
    if (fuzz_path) {
        unlink(fuzz_path);
    }
    return 0;
}
#endif
