/*
 * kemu-img convert, compare and map: the sub-commands that walk an image's
 * allocation through block status.  Behaviour and messages follow qemu-img 7.2:
 * convert skips zero areas on targets that read as zero (-S sparse detection),
 * compare reports the first differing 512-byte sector, map merges runs with the
 * same (depth, present, zero, data, offset) into one entry.
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

#define CONVERT_CHUNK (2 * 1024 * 1024)
#define COMPARE_CHUNK (1024 * 1024)

int img_do_create(const char *fmt, const char *filename, Opts *opts, bool quiet);

/* ---- convert ---- */

typedef struct ConvertState {
    BlockBackend **src;
    int64_t *src_sizes;
    int nsrc;
    BlockBackend *target;
    bool target_zero;        /* target reads as zeroes where we do not write */
    bool target_has_backing;
    bool compressed;
    int64_t sparse;          /* -S granularity, 0 = off */
    int64_t cluster_size;    /* of the target, for compressed writes */
    int64_t total;
    int64_t done;
} ConvertState;

static int convert_write(ConvertState *s, int64_t offset, int64_t n, uint8_t *buf)
{
    if (!s->sparse) {
        return blk_pwrite(s->target, offset, n, buf, 0);
    }
    /* Sparse: skip (or zero) granules that are entirely zero. */
    int64_t o = 0;
    while (o < n) {
        int64_t len = MIN(s->sparse - ((offset + o) % s->sparse), n - o);
        bool zero = buffer_is_zero(buf + o, len);
        int64_t run = len;
        while (o + run < n) {
            int64_t l2 = MIN(s->sparse, n - o - run);
            if (buffer_is_zero(buf + o + run, l2) != zero) {
                break;
            }
            run += l2;
        }
        int ret = 0;
        if (!zero) {
            ret = blk_pwrite(s->target, offset + o, run, buf + o, 0);
        } else if (!s->target_zero) {
            ret = blk_pwrite_zeroes(s->target, offset + o, run, BDRV_REQ_MAY_UNMAP);
        }
        if (ret < 0) {
            return ret;
        }
        o += run;
    }
    return 0;
}

/* Read target range [off, off+len) from the concatenated sources. */
static int convert_read_range(ConvertState *s, int64_t off, int64_t len, uint8_t *buf,
                              bool *all_zero)
{
    int64_t base = 0;
    *all_zero = true;
    memset(buf, 0, len);
    for (int i = 0; i < s->nsrc && len > 0; i++) {
        int64_t size = s->src_sizes[i];
        if (off >= base + size) {
            base += size;
            continue;
        }
        int64_t in = off - base;
        int64_t n = MIN(len, size - in);
        int64_t pnum;
        int st = bdrv_block_status_above(blk_bs(s->src[i]), NULL, in, n, &pnum, NULL, NULL,
                                         NULL);
        if (st < 0) {
            return st;
        }
        if (!((st & BDRV_BLOCK_ZERO) && !(st & BDRV_BLOCK_DATA) && pnum >= n)) {
            int ret = blk_pread(s->src[i], in, n, buf, 0);
            if (ret < 0) {
                return ret;
            }
            if (!buffer_is_zero(buf, n)) {
                *all_zero = false;
            }
        }
        buf += n;
        off += n;
        len -= n;
        base += size;
    }
    return 0;
}

/* Compressed conversion goes cluster by cluster of the target, skipping zero clusters. */
static int convert_copy_compressed(ConvertState *s)
{
    uint8_t *buf = g_malloc(s->cluster_size);
    int ret = 0;
    for (int64_t off = 0; off < s->total; off += s->cluster_size) {
        int64_t n = MIN(s->cluster_size, s->total - off);
        bool zero;
        ret = convert_read_range(s, off, n, buf, &zero);
        if (ret < 0) {
            error_report("error while reading at byte %" PRId64 ": %s", off, strerror(-ret));
            break;
        }
        if (!zero) {
            ret = blk_pwrite(s->target, off, n, buf, BDRV_REQ_WRITE_COMPRESSED);
            if (ret < 0) {
                error_report("error while compressing sector %" PRId64 ": %s", off >> 9,
                             strerror(-ret));
                break;
            }
        }
        s->done += n;
        img_progress_print(100.0 * s->done / MAX(s->total, 1));
    }
    g_free(buf);
    return ret;
}

static int convert_copy(ConvertState *s)
{
    if (s->compressed) {
        return convert_copy_compressed(s);
    }
    uint8_t *buf = bdrv_blockalign(blk_bs(s->target), CONVERT_CHUNK);
    int64_t target_off = 0;
    int ret = 0;
    img_progress_print(0);
    for (int i = 0; i < s->nsrc && ret == 0; i++) {
        BlockDriverState *bs = blk_bs(s->src[i]);
        int64_t size = s->src_sizes[i];
        int64_t off = 0;
        while (off < size) {
            int64_t want = MIN(size - off, CONVERT_CHUNK);
            int64_t n;
            int st;
            if (s->target_has_backing) {
                /* Only what the top source image itself allocates is copied. */
                st = bdrv_block_status(bs, off, want, &n, NULL, NULL);
                if (st >= 0 && !(st & (BDRV_BLOCK_ALLOCATED))) {
                    off += n;
                    target_off += n;
                    s->done += n;
                    img_progress_print(100.0 * s->done / MAX(s->total, 1));
                    continue;
                }
            } else {
                st = bdrv_block_status_above(bs, NULL, off, want, &n, NULL, NULL, NULL);
            }
            if (st < 0) {
                error_report("error while reading block status at offset %" PRId64 ": %s",
                             off, strerror(-st));
                ret = st;
                break;
            }
            n = MIN(n, want);
            if ((st & BDRV_BLOCK_ZERO) && !(st & BDRV_BLOCK_DATA) && !s->compressed) {
                if (!s->target_zero || s->target_has_backing) {
                    ret = blk_pwrite_zeroes(s->target, target_off, n, BDRV_REQ_MAY_UNMAP);
                    if (ret < 0) {
                        error_report("error while writing at byte %" PRId64 ": %s", target_off,
                                     strerror(-ret));
                        break;
                    }
                }
            } else {
                ret = blk_pread(s->src[i], off, n, buf, 0);
                if (ret < 0) {
                    error_report("error while reading at byte %" PRId64 ": %s", off,
                                 strerror(-ret));
                    break;
                }
                ret = convert_write(s, target_off, n, buf);
                if (ret < 0) {
                    error_report("error while writing at byte %" PRId64 ": %s", target_off,
                                 strerror(-ret));
                    break;
                }
            }
            off += n;
            target_off += n;
            s->done += n;
            img_progress_print(100.0 * s->done / MAX(s->total, 1));
        }
    }
    qemu_vfree(buf);
    return ret;
}

int img_convert(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { "target-image-opts", no_argument, NULL, 'K' },
        { "salvage", no_argument, NULL, 'Y' },
        { "target-is-zero", no_argument, NULL, 'Z' },
        { "bitmaps", no_argument, NULL, 'X' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = NULL, *cache = "unsafe", *src_cache = "writeback";
    const char *out_baseimg = NULL, *backing_fmt = NULL;
    bool quiet = false, progress = false, skip_create = false, target_is_zero = false;
    bool compress = false, help = false;
    int64_t sparse = 4096;
    Opts *opts = NULL;
    int c, ret = 1;
    ConvertState s;
    memset(&s, 0, sizeof(s));
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:O:B:CcF:o:l:S:pt:T:qnm:WUr:", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'B':
            out_baseimg = optarg;
            break;
        case 'F':
            backing_fmt = optarg;
            break;
        case 'c':
            compress = true;
            break;
        case 'o':
            if (opts_str_is_help(optarg)) {
                help = true;
                break;
            }
            {
                Error *err = NULL;
                Opts *o = opts_parse(optarg, NULL, &err);
                if (!o) {
                    error_report_err(err);
                    goto out;
                }
                if (!opts) {
                    opts = opts_new();
                }
                for (size_t i = 0; i < opts_count(o); i++) {
                    opts_set(opts, opts_key_at(o, i), opts_value_at(o, i));
                }
                opts_free(o);
            }
            break;
        case 'S': {
            uint64_t v;
            if (!parse_size(optarg, &v) || v > 16 * 1024 * 1024 || (v % 512)) {
                error_report("Invalid buffer size for sparse output specified. Valid sizes are "
                             "multiples of 512 up to 16M.");
                goto out;
            }
            sparse = (int64_t)v;
            break;
        }
        case 'p':
            progress = true;
            break;
        case 't':
            cache = optarg;
            break;
        case 'T':
            src_cache = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'n':
            skip_create = true;
            break;
        case 'Z':
            target_is_zero = true;
            break;
        case 'l':
            error_report("Failed to load snapshot: Operation not supported");
            goto out;
        case 'C':
        case 'm':
        case 'W':
        case 'U':
        case 'r':
        case 'J':
        case 'I':
        case 'K':
        case 'Y':
        case 'X':
            break;
        case 'h':
            printf("convert [--object objectdef] [--image-opts] [--target-image-opts] "
                   "[--target-is-zero] [--bitmaps] [-U] [-C] [-c] [-p] [-q] [-n] [-f fmt] "
                   "[-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] "
                   "[-o options] [-l snapshot_param] [-S sparse_size] [-r rate_limit] "
                   "[-m num_coroutines] [-W] [--salvage] filename [filename2 [...]] "
                   "output_filename\n");
            ret = 0;
            goto out;
        case ':':
            error_report("option '%s' requires an argument", argv[optind - 1]);
            goto out;
        default:
            error_report("Invalid option");
            goto out;
        }
    }
    if (!out_fmt) {
        out_fmt = "raw";
    }
    if (!bdrv_find_format(out_fmt)) {
        error_report("Unknown file format '%s'", out_fmt);
        goto out;
    }
    if (help) {
        bdrv_print_create_options(out_fmt);
        ret = 0;
        goto out;
    }
    if (quiet) {
        progress = false;
    }
    if (argc - optind < 2) {
        error_report("Must specify image file name");
        goto out;
    }
    if (target_is_zero && !skip_create) {
        error_report("--target-is-zero requires use of -n flag");
        goto out;
    }
    if (compress && strcmp(out_fmt, "qcow2") != 0) {
        error_report("Compression not supported for this file format");
        goto out;
    }
    if (compress && out_baseimg) {
        error_report("Cannot use compression with a backing file");
        goto out;
    }
    if (out_baseimg && skip_create) {
        error_report("Use of -B and -n together is not supported");
        goto out;
    }
    s.nsrc = argc - optind - 1;
    s.src = g_new0(BlockBackend *, s.nsrc);
    s.src_sizes = g_new0(int64_t, s.nsrc);
    s.sparse = sparse;
    s.compressed = compress;
    for (int i = 0; i < s.nsrc; i++) {
        s.src[i] = img_open(argv[optind + i], fmt, 0, src_cache, quiet);
        if (!s.src[i]) {
            goto out;
        }
        s.src_sizes[i] = blk_getlength(s.src[i]);
        if (s.src_sizes[i] < 0) {
            error_report("Could not get size of %s: %s", argv[optind + i],
                         strerror((int)-s.src_sizes[i]));
            goto out;
        }
        s.total += s.src_sizes[i];
    }
    const char *out_filename = argv[argc - 1];
    if (!skip_create) {
        if (!opts) {
            opts = opts_new();
        }
        if (out_baseimg) {
            opts_set(opts, "backing_file", out_baseimg);
            if (backing_fmt) {
                opts_set(opts, "backing_fmt", backing_fmt);
            }
        }
        if (!opts_has(opts, "size")) {
            char *sz = g_strdup_printf("%" PRId64, s.total);
            opts_set(opts, "size", sz);
            g_free(sz);
        }
        if (out_baseimg && !backing_fmt) {
            error_report("%s: Backing file specified without backing format", out_filename);
            goto out;
        }
        if (img_do_create(out_fmt, out_filename, opts, true)) {
            goto out;
        }
    }
    int tflags = BDRV_O_RDWR | BDRV_O_UNMAP | BDRV_O_NO_BACKING;
    s.target = img_open(out_filename, out_fmt, tflags, cache, quiet);
    if (!s.target) {
        goto out;
    }
    BlockDriverState *tbs = blk_bs(s.target);
    s.target_has_backing = bdrv_get_backing_filename(tbs)[0] != 0;
    s.target_zero = (!skip_create && !s.target_has_backing) || target_is_zero;
    if (skip_create && blk_getlength(s.target) < s.total) {
        error_report("Output image is too small: %" PRId64 " < %" PRId64,
                     blk_getlength(s.target), s.total);
        goto out;
    }
    BlockDriverInfo bdi;
    s.cluster_size = (bdrv_get_info(tbs, &bdi) == 0 && bdi.cluster_size) ? bdi.cluster_size : 65536;
    img_progress_init(progress);
    ret = convert_copy(&s) < 0 ? 1 : 0;
    if (ret == 0) {
        int r = blk_flush(s.target);
        if (r < 0) {
            error_report("error while flushing the output image: %s", strerror(-r));
            ret = 1;
        }
    }
    if (ret == 0) {
        img_progress_end();
    }
out:
    if (s.target) {
        blk_unref(s.target);
    }
    for (int i = 0; s.src && i < s.nsrc; i++) {
        if (s.src[i]) {
            blk_unref(s.src[i]);
        }
    }
    g_free(s.src);
    g_free(s.src_sizes);
    opts_free(opts);
    return ret;
}

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
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt1 = NULL, *fmt2 = NULL, *cache = "writeback";
    bool quiet = false, strict = false, progress = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:F:T:pqsU", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt1 = optarg;
            break;
        case 'F':
            fmt2 = optarg;
            break;
        case 'T':
            cache = optarg;
            break;
        case 'p':
            progress = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 's':
            strict = true;
            break;
        case 'U':
        case 'J':
        case 'I':
            break;
        case 'h':
            printf("compare [--object objectdef] [--image-opts] [-f fmt] [-F fmt] [-T src_cache] "
                   "[-p] [-q] [-s] [-U] filename1 filename2\n");
            return 0;
        default:
            error_report("Invalid option");
            return 2;
        }
    }
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
    BlockBackend *blk1 = img_open(name1, fmt1, 0, cache, quiet);
    if (!blk1) {
        return 2;
    }
    blk2 = img_open(name2, fmt2, 0, cache, quiet);
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
        img_progress_print(100.0 * off / MAX(big, 1));
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
            img_progress_print(100.0 * off / MAX(big, 1));
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

static int map_dump(const MapEntry *e, OutputFormat ofmt, bool first)
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
    printf("%s{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", \"depth\": %d, "
           "\"present\": %s, \"zero\": %s, \"data\": %s", first ? "[" : ",\n", e->start,
           e->length, e->depth, e->present ? "true" : "false", e->zero ? "true" : "false",
           e->data ? "true" : "false");
    if (e->has_offset) {
        printf(", \"offset\": %" PRId64, e->offset);
    }
    printf("}");
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

int img_map(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "start-offset", required_argument, NULL, 's' },
        { "max-length", required_argument, NULL, 'l' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    OutputFormat ofmt = OFORMAT_HUMAN;
    int64_t start = 0, max_len = -1;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":f:hU", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'o':
            if (!img_parse_output(optarg, &ofmt)) {
                return 1;
            }
            break;
        case 's':
            start = tool_cvtnum(optarg);
            if (start < 0) {
                error_report("Invalid start offset specified! You may use k, M, G, T, P or E "
                             "suffixes for ");
                error_report("kilobytes, megabytes, gigabytes, terabytes, petabytes and "
                             "exabytes.");
                return 1;
            }
            break;
        case 'l':
            max_len = tool_cvtnum(optarg);
            if (max_len < 0) {
                error_report("Invalid length specified! You may use k, M, G, T, P or E "
                             "suffixes for ");
                error_report("kilobytes, megabytes, gigabytes, terabytes, petabytes and "
                             "exabytes.");
                return 1;
            }
            break;
        case 'U':
        case 'J':
        case 'I':
            break;
        case 'h':
            printf("map [--object objectdef] [--image-opts] [-f fmt] [--start-offset=offset] "
                   "[--max-length=len] [--output=ofmt] [-U] filename\n");
            return 0;
        default:
            error_report("Invalid option");
            return 1;
        }
    }
    if (optind != argc - 1) {
        error_report("Expecting one image file name");
        return 1;
    }
    BlockBackend *blk = img_open(argv[optind], fmt, 0, NULL, false);
    if (!blk) {
        return 1;
    }
    BlockDriverState *bs = blk_bs(blk);
    int64_t length = blk_getlength(blk);
    int64_t end = max_len >= 0 ? MIN(length, start + max_len) : length;
    if (ofmt == OFORMAT_HUMAN) {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    }
    MapEntry cur = { 0 };
    bool have = false, first = true;
    int ret = 0;
    for (int64_t off = start; off < end;) {
        int64_t n, map;
        BlockDriverState *file;
        int depth;
        int st = bdrv_block_status_above(bs, NULL, off, MIN(end - off, INT64_C(1) << 30), &n,
                                         &map, &file, &depth);
        if (st < 0) {
            error_report("Could not read file metadata: %s", strerror(-st));
            ret = 1;
            break;
        }
        MapEntry e = {
            .start = off,
            .length = n,
            .depth = depth,
            .present = st & BDRV_BLOCK_ALLOCATED,
            .zero = st & BDRV_BLOCK_ZERO,
            .data = st & BDRV_BLOCK_DATA,
            .has_offset = st & BDRV_BLOCK_OFFSET_VALID,
            .offset = map,
            .filename = file ? bdrv_get_filename(file) : NULL,
        };
        if (!e.has_offset) {
            e.offset = 0;
        }
        if (have && map_mergeable(&cur, &e)) {
            cur.length += e.length;
        } else {
            if (have) {
                if (map_dump(&cur, ofmt, first) < 0) {
                    ret = 1;
                    break;
                }
                first = false;
            }
            cur = e;
            have = true;
        }
        off += n;
    }
    if (ret == 0 && have) {
        ret = map_dump(&cur, ofmt, first) < 0 ? 1 : 0;
        first = false;
    }
    if (ofmt == OFORMAT_JSON) {
        printf(first ? "[]\n" : "]\n");
    }
    blk_unref(blk);
    return ret;
}
