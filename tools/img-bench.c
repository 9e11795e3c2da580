/*
 * kemu-img bench and dd, with qemu-img 7.2's options and output.
 * bench keeps `depth` asynchronous requests in flight through the BlockBackend
 * and completes them in the main loop, as qemu-img bench does.
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
