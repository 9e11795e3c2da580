/*
 * kemu-img bench, dd and measure, with qemu-img 7.2's options and output.
 * bench keeps `depth` asynchronous requests in flight through the BlockBackend
 * and completes them in the main loop, as qemu-img bench does; measure uses the
 * qcow2 metadata-size formula of the qcow2 spec's layout (header, L1, L2,
 * refcount table and blocks found as a fixed point).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "json-writer.h"
#include "kemu-img.h"
#include "kemu/error.h"
#include "kemu/option.h"
#include "tool-util.h"

/* ---- bench ---- */

typedef struct BenchData {
    BlockBackend *blk;
    int64_t image_size;
    bool write;
    int bufsize;
    int64_t step;
    int nrreq;
    int n;                          /* requests not sent yet */
    int flushed_at;                 /* n at the last flush */
    int flush_interval;
    bool drain_on_flush;
    bool draining;                  /* waiting for the queue to empty before a flush */
    int *idle;                      /* slots without a request while draining */
    int n_idle;
    uint8_t *buf;
    IOVector *qiov;
    int in_flight;
    int64_t offset;
    int error;
} BenchData;

static void bench_cb(void *opaque, int ret);

static void bench_submit(BenchData *b, int slot)
{
    if (b->write) {
        blk_aio_pwritev(b->blk, b->offset, &b->qiov[slot], 0, bench_cb,
                        GINT_TO_POINTER(slot + 1));
    } else {
        blk_aio_preadv(b->blk, b->offset, &b->qiov[slot], 0, bench_cb, GINT_TO_POINTER(slot + 1));
    }
    b->in_flight++;
    b->n--;
    /* As qemu-img: wrap at the image size; a request that then crosses the end
     * fails (EIO) rather than being moved.  (qemu-img divides by zero on an
     * empty image; here its requests just fail.) */
    b->offset = b->image_size > 0 ? (b->offset + b->step) % b->image_size : 0;
}

/* An integer option in [min, max] into *out, or error_report(msg) and false. */
static bool bench_int_arg(const char *arg, uint64_t min, uint64_t max, const char *msg, int *out)
{
    uint64_t v;
    if (!parse_uint(arg, &v) || v < min || v > max) {
        error_report("%s", msg);
        return false;
    }
    *out = (int)v;
    return true;
}

static BenchData *bench_state;

/* Flush; then, after a drain, send new requests from every idle slot. */
static void bench_flush_and_resume(BenchData *b)
{
    b->flushed_at = b->n;
    int r = blk_flush(b->blk);
    if (r < 0) {
        error_report("Failed flush request: %s", strerror(-r));
        exit(EXIT_FAILURE);
    }
    b->draining = false;
    while (b->n_idle > 0 && b->n > 0) {
        bench_submit(b, b->idle[--b->n_idle]);
    }
}

/*
 * --flush-interval as qemu-img documents it: whenever the number of requests
 * still to send is a multiple of the interval, the queue is drained and a flush
 * issued before new requests are made (with --no-drain the flush goes out at
 * once and requests keep flowing).  So with the default drain exactly
 * flush_interval writes lie between two flushes, and the last one follows the
 * last write.
 */
static void bench_cb(void *opaque, int ret)
{
    BenchData *b = bench_state;
    int slot = GPOINTER_TO_INT(opaque) - 1;
    if (ret < 0) {
        error_report("Failed request: %s", strerror(-ret));
        exit(EXIT_FAILURE);
    }
    b->in_flight--;
    if (!b->draining && b->flush_interval && b->n % b->flush_interval == 0 &&
        b->n != b->flushed_at) {
        if (b->drain_on_flush) {
            b->draining = true;
        } else {
            bench_flush_and_resume(b);
        }
    }
    if (b->draining) {
        b->idle[b->n_idle++] = slot;
        if (b->in_flight == 0) {
            bench_flush_and_resume(b);
        }
        return;
    }
    if (b->n > 0) {
        bench_submit(b, slot);
    }
}

int img_bench(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, 'F' },
        { "image-opts", no_argument, NULL, 'I' },
        { "pattern", required_argument, NULL, 'P' },
        { "no-drain", no_argument, NULL, 'N' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *cache = "writeback";
    bool quiet = false, is_write = false, drain_on_flush = true;
    int count = 75000, depth = 64, bufsize = 4096, pattern = 0, flush_interval = 0;
    int64_t offset = 0, step = 0;
    int flags = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU", long_options, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (!bench_int_arg(optarg, 0, INT_MAX, "Invalid request count specified", &count)) {
                return 1;
            }
            break;
        case 'd':
            if (!bench_int_arg(optarg, 1, INT_MAX, "Invalid queue depth specified", &depth)) {
                return 1;
            }
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'n':
            flags |= BDRV_O_NOCACHE;
            cache = "none";
            break;
        case 'i':
            if (!tool_parse_aio(optarg, &flags)) {
                return 1;
            }
            break;
        case 'o': {
            int64_t v = tool_cvtnum(optarg);
            if (v < 0) {
                error_report("Invalid offset specified");
                return 1;
            }
            offset = v;
            break;
        }
        case 'q':
            quiet = true;
            break;
        case 's': {
            int64_t v = tool_cvtnum(optarg);
            if (v <= 0 || v > INT_MAX) {
                error_report("Invalid buffer size specified");
                return 1;
            }
            bufsize = (int)v;
            break;
        }
        case 'S': {
            int64_t v = tool_cvtnum(optarg);
            if (v < 0 || v > INT_MAX) {
                error_report("Invalid step size specified");
                return 1;
            }
            step = v;
            break;
        }
        case 't':
            cache = optarg;
            break;
        case 'w':
            flags |= BDRV_O_RDWR;
            is_write = true;
            break;
        case 'F':
            if (!bench_int_arg(optarg, 0, INT_MAX, "Invalid flush interval specified",
                               &flush_interval)) {
                return 1;
            }
            break;
        case 'P':
            if (!bench_int_arg(optarg, 0, 0xff, "Invalid pattern byte specified", &pattern)) {
                return 1;
            }
            break;
        case 'N':
            drain_on_flush = false;
            break;
        case 'U':
            flags |= BDRV_O_NO_LOCK;
            break;
        case 'I':
            break;
        case 'h':
            printf("bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] "
                   "[-i aio] [-n] [--no-drain] [-o offset] [--pattern=pattern] [-q] "
                   "[-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename\n");
            return 0;
        default:
            tool_getopt_error(c, argv);
            return 1;
        }
    }
    if (!img_one_filename(argc)) {
        return 1;
    }
    if (flush_interval && flush_interval < depth) {
        error_report("Flush interval can't be smaller than depth");
        return 1;
    }
    if (!is_write && flush_interval) {
        error_report("--flush-interval is only available in write tests");
        return 1;
    }
    if (!is_write && !drain_on_flush) {
        error_report("--no-drain is only available in write tests");
        return 1;
    }
    BlockBackend *blk = img_open(argv[optind], fmt, flags, cache, quiet);
    if (!blk) {
        return 1;
    }
    BenchData b = {
        .blk = blk,
        .image_size = blk_getlength(blk),
        .write = is_write,
        .bufsize = bufsize,
        .step = step ? step : bufsize,
        .nrreq = depth,
        .n = count,
        .flushed_at = -1,
        .offset = offset,
        .flush_interval = flush_interval,
        .drain_on_flush = drain_on_flush,
    };
    bench_state = &b;
    img_qprintf(quiet, "Sending %d %s requests, %d bytes each, %d in parallel (starting at offset "
                "%" PRId64 ", step size %" PRId64 ")\n", count, is_write ? "write" : "read",
                bufsize, depth, offset, b.step);
    if (flush_interval) {
        img_qprintf(quiet, "Sending flush every %d requests\n", flush_interval);
    }
    b.buf = bdrv_blockalign(blk_bs(blk), (size_t)depth * bufsize);
    memset(b.buf, pattern, (size_t)depth * bufsize);
    b.qiov = g_new(IOVector, depth);
    b.idle = g_new(int, depth);
    for (int i = 0; i < depth; i++) {
        iovec_init_buf(&b.qiov[i], b.buf + (size_t)i * bufsize, bufsize);
    }
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < depth && b.n > 0; i++) {
        bench_submit(&b, i);
    }
    GMainContext *ctx = g_main_context_default();
    while (b.n > 0 || b.in_flight > 0) {
        g_main_context_iteration(ctx, TRUE);
    }
    gint64 t1 = g_get_monotonic_time();
    img_qprintf(quiet, "Run completed in %3.3f seconds.\n", (t1 - t0) / 1e6);
    for (int i = 0; i < depth; i++) {
        iovec_destroy(&b.qiov[i]);
    }
    g_free(b.qiov);
    g_free(b.idle);
    qemu_vfree(b.buf);
    blk_unref(blk);
    return 0;
}

/* ---- dd ---- */

int img_dd(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "image-opts", no_argument, NULL, 'I' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw";
    const char *in = NULL, *out = NULL;
    int64_t bs = 512, count = -1, skip = 0;
    int share = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:O:U", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'U':
            share = BDRV_O_NO_LOCK;
            break;
        case 'I':
            break;
        case 'h':
            printf("dd [--image-opts] [-U] [-f fmt] [-O output_fmt] [bs=block_size] "
                   "[count=blocks] [skip=blocks] if=input of=output\n");
            return 0;
        default:
            tool_getopt_error(c, argv);
            return 1;
        }
    }
    for (int i = optind; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) {
            error_report("unrecognized operand %s", argv[i]);
            return 1;
        }
        char *key = g_strndup(argv[i], eq - argv[i]);
        const char *val = eq + 1;
        bool ok = true;
        if (!strcmp(key, "if")) {
            in = val;
        } else if (!strcmp(key, "of")) {
            out = val;
        } else if (!strcmp(key, "bs")) {
            bs = tool_cvtnum(val);
            if (bs <= 0 || bs > INT_MAX) {
                error_report("invalid number: '%s'", val);
                ok = false;
            }
        } else if (!strcmp(key, "count")) {
            count = tool_cvtnum(val);
            if (count < 0) {
                error_report("invalid number: '%s'", val);
                ok = false;
            }
        } else if (!strcmp(key, "skip")) {
            skip = tool_cvtnum(val);
            if (skip < 0) {
                error_report("invalid number: '%s'", val);
                ok = false;
            }
        } else {
            error_report("unrecognized operand %s", argv[i]);
            ok = false;
        }
        g_free(key);
        if (!ok) {
            return 1;
        }
    }
    if (!in || !out) {
        error_report("Must specify both input and output files");
        return 1;
    }
    BlockBackend *src = img_open(in, fmt, share, NULL, false);
    if (!src) {
        return 1;
    }
    int ret = 1;
    BlockBackend *dst = NULL;
    int64_t in_size = blk_getlength(src);
    int64_t start = skip * bs;
    int64_t size = start > in_size ? 0 : in_size - start;
    if (count >= 0 && count * bs < size) {
        size = count * bs;
    }
    Opts *opts = opts_new();
    char *sz = g_strdup_printf("%" PRId64, size);
    opts_set(opts, "size", sz);
    g_free(sz);
    if (img_do_create(out_fmt, out, opts, true)) {
        goto out;
    }
    dst = img_open(out, out_fmt, BDRV_O_RDWR, "unsafe", false);
    if (!dst) {
        goto out;
    }
    uint8_t *buf = g_malloc(bs);
    for (int64_t o = 0; o < size; o += bs) {
        int64_t n = MIN(bs, size - o);
        int r = blk_pread(src, start + o, n, buf, 0);
        if (r < 0) {
            error_report("error while reading from input image file: %s", strerror(-r));
            g_free(buf);
            goto out;
        }
        r = blk_pwrite(dst, o, n, buf, 0);
        if (r < 0) {
            error_report("error while writing to output image file: %s", strerror(-r));
            g_free(buf);
            goto out;
        }
    }
    g_free(buf);
    ret = 0;
out:
    opts_free(opts);
    if (dst) {
        blk_unref(dst);
    }
    blk_unref(src);
    return ret;
}

/* ---- measure ---- */

static int64_t refcount_metadata_size(int64_t clusters, int64_t cluster_size, int refcount_order)
{
    int64_t per_table = cluster_size / 8;
    int64_t per_block = cluster_size * 8 / (1 << refcount_order);
    int64_t table = 0, blocks = 0, n = 0, last;
    do {
        last = n;
        blocks = (clusters + table + blocks + per_block - 1) / per_block;
        table = (blocks + per_table - 1) / per_table;
        n = clusters + blocks + table;
    } while (n != last);
    return (blocks + table) * cluster_size;
}

/* Header, L1 and L2 tables (entries of l2_entry bytes: 16 with extended L2 entries),
 * refcounts and data of a fully allocated image. */
static int64_t qcow2_prealloc_size(int64_t total, int64_t cs, int refcount_order, int l2_entry)
{
    int64_t aligned = (total + cs - 1) / cs * cs;
    int64_t meta = cs;
    int64_t nl2e = aligned / cs;
    nl2e = (nl2e + cs / l2_entry - 1) / (cs / l2_entry) * (cs / l2_entry);
    meta += nl2e * l2_entry;
    int64_t nl1e = nl2e * l2_entry / cs;
    nl1e = (nl1e + cs / 8 - 1) / (cs / 8) * (cs / 8);
    meta += nl1e * 8;
    meta += refcount_metadata_size((meta + aligned) / cs, cs, refcount_order);
    return meta + aligned;
}

int img_measure(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "image-opts", no_argument, NULL, 'I' },
        { "object", required_argument, NULL, 'Y' },
        { "output", required_argument, NULL, 'J' },
        { "size", required_argument, NULL, 's' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw";
    OutputFormat ofmt = OFORMAT_HUMAN;
    int64_t img_size = -1;
    int share = 0;
    bool help = false;     /* measure has no -o help: the word is ignored */
    Opts *opts = NULL;
    int c, ret = 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:O:o:l:U", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'o':
            if (!img_add_opts(&opts, optarg, &help)) {
                goto out;
            }
            break;
        case 'J':
            if (!img_parse_output(optarg, &ofmt)) {
                goto out;
            }
            break;
        case 's': {
            uint64_t v;
            if (!parse_size(optarg, &v) || v > INT64_MAX) {
                img_size_error("Invalid image size specified.");
                goto out;
            }
            img_size = (int64_t)v;
            break;
        }
        case 'U':
            share = BDRV_O_NO_LOCK;
            break;
        case 'l':
        case 'I':
        case 'Y':
            break;
        case 'h':
            printf("measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | "
                   "[--object objectdef] [--image-opts] [-f fmt] [-l snapshot_param] "
                   "filename]\n");
            ret = 0;
            goto out;
        default:
            tool_getopt_error(c, argv);
            goto out;
        }
    }
    if (optind < argc - 1) {
        error_report("Expecting one image file name");
        goto out;
    }
    const char *filename = optind < argc ? argv[optind] : NULL;
    if (filename && img_size >= 0) {
        error_report("--size N cannot be used together with a filename.");
        goto out;
    }
    if (!filename && img_size < 0) {
        error_report("Either --size N or one filename must be specified.");
        goto out;
    }
    if (strcmp(out_fmt, "raw") && strcmp(out_fmt, "qcow2")) {
        error_report("Format driver '%s' does not support size measurement", out_fmt);
        goto out;
    }
    BlockBackend *blk = NULL;
    int64_t virtual_size = img_size;
    if (filename) {
        blk = img_open(filename, fmt, share, NULL, false);
        if (!blk) {
            goto out;
        }
        virtual_size = blk_getlength(blk);
    }
    uint64_t required, fully;
    bool has_bitmaps = false;
    if (!strcmp(out_fmt, "raw")) {
        required = fully = virtual_size;
    } else {
        Error *err = NULL;
        int64_t cs = opts ? (int64_t)opts_get_size(opts, "cluster_size", 65536, &err) : 65536;
        uint64_t rb = opts ? opts_get_number(opts, "refcount_bits", 16, &err) : 16;
        const char *pre = opts ? opts_get(opts, "preallocation") : NULL;
        if (err) {
            error_report_err(err);
            blk_unref(blk);
            goto out;
        }
        bool extended_l2 = opts ? opts_get_bool(opts, "extended_l2", false, &err) : false;
        if (err) {
            error_report_err(err);
            error_report("Invalid options for file format 'qcow2'");
            blk_unref(blk);
            goto out;
        }
        if (extended_l2 && cs < 16384) {
            error_report("Extended L2 entries are only supported with cluster sizes of at least "
                         "16384 bytes");
            blk_unref(blk);
            goto out;
        }
        if (cs < 512 || cs > 2 * 1024 * 1024 || (cs & (cs - 1))) {
            error_report("Cluster size must be a power of two between 512 and 2048k");
            blk_unref(blk);
            goto out;
        }
        if (rb == 0 || rb > 64 || (rb & (rb - 1))) {
            error_report("Refcount width must be a power of two and may not exceed 64 bits");
            blk_unref(blk);
            goto out;
        }
        int64_t vsize = (virtual_size + cs - 1) / cs * cs;
        int64_t data = 0;       /* --size: nothing allocated yet */
        if (blk) {
            BlockDriverState *bs = blk_bs(blk);
            for (int64_t off = 0; off < vsize && off < virtual_size;) {
                int64_t pnum;
                int st = bdrv_block_status_above(bs, NULL, off, virtual_size - off, &pnum, NULL,
                                                 NULL, NULL);
                if (st < 0) {
                    error_report("Unable to get block status: %s", strerror(-st));
                    blk_unref(blk);
                    goto out;
                }
                if (!(st & BDRV_BLOCK_ZERO) && (st & BDRV_BLOCK_DATA) &&
                    (st & BDRV_BLOCK_ALLOCATED)) {
                    pnum = (off + pnum + cs - 1) / cs * cs - off;
                    data += off % cs + pnum;
                }
                off += pnum;
            }
            BlockDriverInfo bdi;
            has_bitmaps = bdrv_get_info(bs, &bdi) == 0 && bdi.has_qcow2_info &&
                          bdi.qcow_version >= 3;
        }
        if (pre && (!strcmp(pre, "full") || !strcmp(pre, "falloc"))) {
            data = vsize;
        }
        fully = qcow2_prealloc_size(vsize, cs, __builtin_ctzll(rb), extended_l2 ? 16 : 8);
        required = fully - vsize + data;
    }
    if (ofmt == OFORMAT_JSON) {
        JsonWriter w;
        json_init(&w);
        json_start_object(&w, NULL);
        if (has_bitmaps) {
            json_uint(&w, "bitmaps", 0);
        }
        json_uint(&w, "required", required);
        json_uint(&w, "fully-allocated", fully);
        json_end_object(&w);
        char *s = json_finish(&w);
        printf("%s\n", s);
        g_free(s);
    } else {
        printf("required size: %" PRIu64 "\n", required);
        printf("fully allocated size: %" PRIu64 "\n", fully);
        if (has_bitmaps) {
            printf("bitmaps size: %" PRIu64 "\n", (uint64_t)0);
        }
    }
    if (blk) {
        blk_unref(blk);
    }
    ret = 0;
out:
    opts_free(opts);
    return ret;
}
