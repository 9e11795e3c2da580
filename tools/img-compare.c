/*
 * kemu-img compare and map: the read-only sub-commands that walk two images or
 * one image's allocation through block status.  Behaviour and messages follow
 * qemu-img 7.2: compare reports the first differing 512-byte sector, map merges
 * runs with the same (depth, present, zero, data, offset) into one entry.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "kemu-img.h"
#include "kemu/error.h"
#include "kemu/option.h"
#include "tool-util.h"

#define COMPARE_CHUNK (1024 * 1024)

/* ---- compare ---- */

/* Offset (relative) of the first 512-byte sector that differs, or -1. */
static int64_t first_difference(const uint8_t *a, const uint8_t *b, int64_t n)
{
    for (int64_t o = 0; o < n; o += BDRV_SECTOR_SIZE) {
        int64_t l = MIN(BDRV_SECTOR_SIZE, n - o);
        if (memcmp(a + o, b + o, l)) {
            return o;
        }
    }
    return -1;
}

static int64_t first_nonzero(const uint8_t *a, int64_t n)
{
    for (int64_t o = 0; o < n; o += BDRV_SECTOR_SIZE) {
        if (!buffer_is_zero(a + o, MIN(BDRV_SECTOR_SIZE, n - o))) {
            return o;
        }
    }
    return -1;
}

int img_compare(int argc, char **argv)
{
    static const struct option long_options[] = {
        IMG_LONG_COMMON,
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommon co = {
        .usage = "compare [--object objectdef] [--image-opts] [-f fmt] [-F fmt] [-T src_cache] "
                 "[-p] [-q] [-s] [-U] filename1 filename2",
        .error_ret = 2,
    };
    const char *fmt2 = NULL, *cache = "writeback";
    bool strict = false, progress = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:F:T:pqsU", long_options, NULL)) != -1) {
        int r = img_common_opt(&co, c, argv);
        if (r >= 0) {
            return r;
        }
        fmt2 = c == 'F' ? optarg : fmt2;
        cache = c == 'T' ? optarg : cache;
        progress |= c == 'p';
        strict |= c == 's';
    }
    const char *fmt1 = co.fmt;
    bool quiet = co.quiet;
    int share = co.share;
    if (quiet) {
        progress = false;
    }
    if (optind != argc - 2) {
        error_report("Expecting two image file names");
        return 2;
    }
    const char *name1 = argv[optind], *name2 = argv[optind + 1];
    int ret = 2;
    uint8_t *b1 = NULL, *b2 = NULL;
    BlockBackend *blk2 = NULL;
    BlockBackend *blk1 = img_open(name1, fmt1, share, cache, quiet);
    if (!blk1) {
        return 2;
    }
    blk2 = img_open(name2, fmt2, share, cache, quiet);
    if (!blk2) {
        goto out;
    }
    BlockDriverState *bs1 = blk_bs(blk1), *bs2 = blk_bs(blk2);
    int64_t total1 = blk_getlength(blk1), total2 = blk_getlength(blk2);
    if (total1 < 0 || total2 < 0) {
        error_report("Can't get size of %s: %s", total1 < 0 ? name1 : name2,
                     strerror((int)-(total1 < 0 ? total1 : total2)));
        ret = 4;
        goto out;
    }
    if (strict && total1 != total2) {
        img_qprintf(quiet, "Strict mode: Image size mismatch!\n");
        ret = 1;
        goto out;
    }
    b1 = g_malloc(COMPARE_CHUNK);
    b2 = g_malloc(COMPARE_CHUNK);
    int64_t common = MIN(total1, total2);
    int64_t big = MAX(total1, total2);
    img_progress_init(progress);
    int64_t off = 0;
    while (off < common) {
        int64_t n1, n2;
        int st1 = bdrv_block_status_above(bs1, NULL, off, common - off, &n1, NULL, NULL, NULL);
        int st2 = bdrv_block_status_above(bs2, NULL, off, common - off, &n2, NULL, NULL, NULL);
        if (st1 < 0 || st2 < 0) {
            error_report("Sector allocation test failed for %s", st1 < 0 ? name1 : name2);
            ret = 3;
            goto out;
        }
        bool a1 = st1 & BDRV_BLOCK_ALLOCATED, a2 = st2 & BDRV_BLOCK_ALLOCATED;
        if (strict && a1 != a2) {
            img_qprintf(quiet, "Strict mode: Offset %" PRId64 " allocation mismatch!\n", off);
            ret = 1;
            goto out;
        }
        int64_t n = MIN(MIN(n1, n2), COMPARE_CHUNK);
        bool z1 = (st1 & BDRV_BLOCK_ZERO) && !(st1 & BDRV_BLOCK_DATA);
        bool z2 = (st2 & BDRV_BLOCK_ZERO) && !(st2 & BDRV_BLOCK_DATA);
        if (!(z1 && z2)) {
            int r = z1 ? 0 : blk_pread(blk1, off, n, b1, 0);
            if (r == 0) {
                r = z2 ? 0 : blk_pread(blk2, off, n, b2, 0);
            }
            if (r < 0) {
                error_report("Error while reading offset %" PRId64 ": %s", off, strerror(-r));
                ret = 4;
                goto out;
            }
            if (z1) {
                memset(b1, 0, n);
            }
            if (z2) {
                memset(b2, 0, n);
            }
            int64_t d = first_difference(b1, b2, n);
            if (d >= 0) {
                img_qprintf(quiet, "Content mismatch at offset %" PRId64 "!\n", off + d);
                ret = 1;
                goto out;
            }
        }
        off += n;
        img_progress_at(off, big);
    }
    if (total1 != total2) {
        BlockBackend *blk_over = total1 > total2 ? blk1 : blk2;
        BlockDriverState *bs_over = blk_bs(blk_over);
        img_qprintf(quiet, "Warning: Image size mismatch!\n");
        while (off < big) {
            int64_t n;
            int st = bdrv_block_status_above(bs_over, NULL, off, big - off, &n, NULL, NULL, NULL);
            if (st < 0) {
                error_report("Sector allocation test failed for %s",
                             total1 > total2 ? name1 : name2);
                ret = 3;
                goto out;
            }
            n = MIN(n, COMPARE_CHUNK);
            if (strict && (st & BDRV_BLOCK_ALLOCATED)) {
                img_qprintf(quiet, "Strict mode: Offset %" PRId64 " allocation mismatch!\n", off);
                ret = 1;
                goto out;
            }
            if (!((st & BDRV_BLOCK_ZERO) && !(st & BDRV_BLOCK_DATA))) {
                int r = blk_pread(blk_over, off, n, b1, 0);
                if (r < 0) {
                    error_report("Error while reading offset %" PRId64 ": %s", off, strerror(-r));
                    ret = 4;
                    goto out;
                }
                int64_t d = first_nonzero(b1, n);
                if (d >= 0) {
                    img_qprintf(quiet, "Content mismatch at offset %" PRId64 "!\n", off + d);
                    ret = 1;
                    goto out;
                }
            }
            off += n;
            img_progress_at(off, big);
        }
    }
    img_progress_end();
    img_qprintf(quiet, "Images are identical.\n");
    ret = 0;
out:
    g_free(b1);
    g_free(b2);
    if (blk2) {
        blk_unref(blk2);
    }
    blk_unref(blk1);
    return ret;
}

/* ---- map ---- */

typedef struct MapEntry {
    int64_t start;
    int64_t length;
    int depth;
    bool present;
    bool zero;
    bool data;
    bool has_offset;
    int64_t offset;
    const char *filename;
} MapEntry;

/*
 * One entry as qemu-img prints it.  In JSON, an entry that has a successor ends with ",\n":
 * an error part way leaves the array open after the last entry printed, as qemu-img does.
 */
static int map_dump(const MapEntry *e, OutputFormat ofmt, bool has_next)
{
    if (ofmt == OFORMAT_HUMAN) {
        if (e->data && !e->has_offset) {
            error_report("File contains external, encrypted or compressed clusters.");
            return -1;
        }
        if (e->data && !e->zero) {
            printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", (uint64_t)e->start,
                   (uint64_t)e->length, (uint64_t)(e->has_offset ? e->offset : 0),
                   e->filename ? e->filename : "");
        }
        return 0;
    }
    printf("{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", \"depth\": %d, "
           "\"present\": %s, \"zero\": %s, \"data\": %s", e->start, e->length, e->depth,
           e->present ? "true" : "false", e->zero ? "true" : "false",
           e->data ? "true" : "false");
    if (e->has_offset) {
        printf(", \"offset\": %" PRId64, e->offset);
    }
    printf(has_next ? "},\n" : "}");
    return 0;
}

static bool map_mergeable(const MapEntry *a, const MapEntry *b)
{
    return a->start + a->length == b->start && a->depth == b->depth &&
           a->present == b->present && a->zero == b->zero && a->data == b->data &&
           a->has_offset == b->has_offset &&
           (!a->has_offset || a->offset + a->length == b->offset) &&
           ((!a->filename && !b->filename) ||
            (a->filename && b->filename && !strcmp(a->filename, b->filename)));
}

/* The block status of [off, off + bytes) as a map entry; negative errno on failure. */
static int map_status(BlockDriverState *bs, int64_t off, int64_t bytes, MapEntry *e)
{
    int64_t n, map;
    BlockDriverState *file;
    int depth;
    int st = bdrv_block_status_above(bs, NULL, off, bytes, &n, &map, &file, &depth);
    if (st < 0) {
        return st;
    }
    *e = (MapEntry) {
        .start = off,
        .length = n,
        .depth = depth,
        .present = st & BDRV_BLOCK_ALLOCATED,
        .zero = st & BDRV_BLOCK_ZERO,
        .data = st & BDRV_BLOCK_DATA,
        .has_offset = st & BDRV_BLOCK_OFFSET_VALID,
        .offset = (st & BDRV_BLOCK_OFFSET_VALID) ? map : 0,
        .filename = file ? bdrv_get_filename(file) : NULL,
    };
    return 0;
}

int img_map(int argc, char **argv)
{
    static const struct option long_options[] = {
        IMG_LONG_COMMON,
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "start-offset", required_argument, NULL, 's' },
        { "max-length", required_argument, NULL, 'l' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommon co = {
        .usage = "map [--object objectdef] [--image-opts] [-f fmt] [--start-offset=offset] "
                 "[--max-length=len] [--output=ofmt] [-U] filename",
        .error_ret = 1,
    };
    int64_t start = 0, max_len = -1;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":f:s:l:hU", long_options, NULL)) != -1) {
        int r = img_common_opt(&co, c, argv);
        if (r >= 0) {
            return r;
        }
        if (c == 's' && (start = tool_cvtnum(optarg)) < 0) {
            img_size_error("Invalid start offset specified.");
            return 1;
        }
        if (c == 'l' && (max_len = tool_cvtnum(optarg)) < 0) {
            img_size_error("Invalid max length specified.");
            return 1;
        }
    }
    OutputFormat ofmt = co.ofmt;
    if (!img_one_filename(argc)) {
        return 1;
    }
    BlockBackend *blk = img_open(argv[optind], co.fmt, co.share, NULL, false);
    if (!blk) {
        return 1;
    }
    BlockDriverState *bs = blk_bs(blk);
    int64_t length = blk_getlength(blk);
    int64_t end = max_len >= 0 ? MIN(length, start + max_len) : length;
    if (ofmt == OFORMAT_HUMAN) {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    } else {
        printf("[");
    }
    /* An empty range still prints its one zero-length entry, as qemu-img does. */
    MapEntry cur = { .start = start };
    int ret = 0;
    for (int64_t off = start; off < end;) {
        MapEntry e;
        int st = map_status(bs, off, MIN(end - off, INT64_C(1) << 30), &e);
        if (st < 0) {
            error_report("Could not read file metadata: %s", strerror(-st));
            ret = 1;
            break;
        }
        if (cur.length > 0 && map_mergeable(&cur, &e)) {
            cur.length += e.length;
        } else {
            if (cur.length > 0 && map_dump(&cur, ofmt, true) < 0) {
                ret = 1;
                break;
            }
            cur = e;
        }
        off += e.length;
    }
    if (ret == 0) {
        ret = map_dump(&cur, ofmt, false) < 0 ? 1 : 0;
        if (ofmt == OFORMAT_JSON) {
            printf("]\n");
        }
    }
    blk_unref(blk);
    return ret;
}
