/*
 * kemu-img convert: copies one or more source images (concatenated) into a new
 * or existing target, with qemu-img 7.2's options, messages and exit codes.
 *
 * The copy walks the sources by block status and cuts the target into chunks
 * (at most 2 MiB of data, one cluster when compressing).  Up to -m chunks (8 by
 * default, as qemu-img's coroutines) are in flight at once through the
 * BlockBackend's asynchronous API; their reads run in parallel, and their writes
 * go out in target order one at a time unless -W allows any order.  Completions
 * arrive in the main loop, which this thread iterates; callbacks only record
 * results and the loop in convert_run() decides what to issue next.
 *
 * Zero handling follows qemu-img: areas that read as zero are skipped on a
 * target that already reads as zero and written as zeroes otherwise; data is
 * scanned for zero runs of -S bytes (default 4k); -S 0 writes everything as
 * data; -C (copy offloading, here a plain copy) disables only the scan.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "kemu-img.h"
#include "kemu/error.h"
#include "kemu/option.h"
#include "tool-util.h"

#define CONVERT_CHUNK (2 * 1024 * 1024)
#define CONVERT_ZERO_MAX (INT64_C(1) << 30)
#define CONVERT_MAX_PARALLEL 16
#define CONVERT_DEFAULT_PARALLEL 8

typedef enum ChunkState {
    CHUNK_FREE,
    CHUNK_READING,      /* source reads in flight */
    CHUNK_READY,        /* data in buf, waiting for its turn to write */
    CHUNK_WRITING,      /* one write request in flight */
    CHUNK_WRITE_NEXT,   /* a write completed: issue the next run or finish */
} ChunkState;

/* Part of a chunk that comes from one source (src < 0: reads as zero). */
typedef struct ConvertPiece {
    struct ConvertChunk *chunk;
    int src;
    int64_t src_off;
    int64_t len;
    int64_t buf_off;
    IOVector qiov;
} ConvertPiece;

typedef struct ConvertChunk {
    struct ConvertState *s;
    ChunkState state;
    bool zero;            /* write zeroes, nothing was read */
    int64_t seq;          /* order among the chunks that write */
    int64_t offset;       /* in the target */
    int64_t bytes;
    int64_t wpos;         /* next byte of the chunk to write */
    uint8_t *buf;
    ConvertPiece *pieces;
    int npieces;
    int pending;
    int ret;
    int64_t err_off;      /* where a failed request started (target offset) */
    bool err_write;
    IOVector wqiov;
} ConvertChunk;

typedef struct ConvertState {
    BlockBackend **src;
    int64_t *src_sizes;
    int nsrc;
    BlockBackend *target;
    bool target_zero;        /* target reads as zeroes where we do not write */
    bool target_has_backing; /* copy only what the top source layer allocates */
    bool compressed;
    bool zero_as_data;       /* -S 0: zero areas are written as data too */
    bool in_order;           /* no -W: writes in target order, one at a time */
    bool salvage;
    bool quiet;
    int64_t sparse;          /* zero-run granularity in data, 0 = no scan */
    int64_t cluster_size;    /* of the target, for compressed writes */
    int64_t align;           /* data chunks end on multiples of this (target cluster) */
    int64_t total;
    /* Progress counts, as qemu-img, only the bytes copied as data. */
    int64_t data_total;
    int64_t data_done;
    /* Planning position. */
    int64_t pos;             /* target offset of the next chunk */
    int cur_src;
    int64_t src_pos;
    bool planned_all;
    int64_t next_seq;        /* seq of the next chunk planned */
    int64_t write_seq;       /* seq allowed to write next (in order) */
    /* -r rate limit (bytes per second of data read, 0 = none). */
    int64_t rate;
    int64_t rate_sent;
    struct timespec rate_start;
    /* -C: target host file for copy_file_range (-1: no offload), source fds by node. */
    int offload_fd;
    GHashTable *offload_src;
    int nchunks;
    ConvertChunk chunks[CONVERT_MAX_PARALLEL];
    int in_flight;           /* chunks not FREE */
    int ret;                 /* first error, stops planning */
} ConvertState;

static void convert_read_cb(void *opaque, int ret);
static void convert_write_cb(void *opaque, int ret);

/* ---- planning ---- */

enum { RANGE_DATA, RANGE_ZERO, RANGE_KEEP };

/* What [off, off + max) of source i holds at its start; *n gets the run length. */
static int convert_range_status(ConvertState *s, int i, int64_t off, int64_t max, int64_t *n)
{
    BlockDriverState *bs = blk_bs(s->src[i]);
    int st;
    if (s->target_has_backing) {
        /* Only what the top source image itself allocates is copied. */
        st = bdrv_block_status(bs, off, max, n, NULL, NULL);
        if (st >= 0 && !(st & BDRV_BLOCK_ALLOCATED)) {
            *n = MIN(*n, max);
            return RANGE_KEEP;
        }
    } else {
        st = bdrv_block_status_above(bs, NULL, off, max, n, NULL, NULL, NULL);
    }
    if (st < 0) {
        error_report("error while reading block status at offset %" PRId64 ": %s", off,
                     strerror(-st));
        return st;
    }
    *n = MIN(*n, max);
    if ((st & BDRV_BLOCK_ZERO) && !(st & BDRV_BLOCK_DATA)) {
        return RANGE_ZERO;
    }
    return RANGE_DATA;
}

static void chunk_add_piece(ConvertChunk *c, int src, int64_t src_off, int64_t len)
{
    c->pieces = g_renew(ConvertPiece, c->pieces, c->npieces + 1);
    c->pieces[c->npieces++] = (ConvertPiece) {
        .chunk = c, .src = src, .src_off = src_off, .len = len, .buf_off = c->bytes,
    };
    c->bytes += len;
}

/* Advance the planning position by n bytes of the current source. */
static void convert_advance(ConvertState *s, int64_t n)
{
    s->pos += n;
    s->src_pos += n;
    while (s->cur_src < s->nsrc && s->src_pos >= s->src_sizes[s->cur_src]) {
        s->cur_src++;
        s->src_pos = 0;
    }
    if (s->cur_src >= s->nsrc) {
        s->planned_all = true;
    }
}

/*
 * Plan the chunk at the planning position into c (pieces, zero), or report
 * through *skip a range that needs no write.  Returns <0 on error.
 */
static int convert_plan_plain(ConvertState *s, ConvertChunk *c, int64_t *skip)
{
    int i = s->cur_src;
    int64_t size = s->src_sizes[i];
    int64_t n;
    int kind = convert_range_status(s, i, s->src_pos, MIN(size - s->src_pos, CONVERT_ZERO_MAX),
                                    &n);
    if (kind < 0) {
        return kind;
    }
    if (kind == RANGE_KEEP || (kind == RANGE_ZERO && !s->zero_as_data && s->target_zero)) {
        *skip = n;
        return 0;
    }
    if (kind == RANGE_ZERO && !s->zero_as_data) {
        c->zero = true;
        c->bytes = n;
        return 0;
    }
    /* At most CONVERT_CHUNK, ending on a target cluster boundary where one is crossed. */
    n = MIN(n, CONVERT_CHUNK);
    int64_t end = (s->pos + n) / s->align * s->align;
    if (end > s->pos) {
        n = end - s->pos;
    }
    chunk_add_piece(c, kind == RANGE_DATA ? i : -1, s->src_pos, n);
    return 0;
}

/* Compressed: one target cluster, which may span several sources. */
static int convert_plan_cluster(ConvertState *s, ConvertChunk *c, int64_t *skip)
{
    int64_t end = MIN(s->total, (s->pos / s->cluster_size + 1) * s->cluster_size);
    int i = s->cur_src;
    int64_t off = s->src_pos;
    bool any_data = false;
    for (int64_t at = s->pos; at < end && i < s->nsrc;) {
        int64_t n;
        int kind = convert_range_status(s, i, off, MIN(s->src_sizes[i] - off, end - at), &n);
        if (kind < 0) {
            return kind;
        }
        any_data |= kind == RANGE_DATA;
        chunk_add_piece(c, kind == RANGE_DATA ? i : -1, off, n);
        at += n;
        off += n;
        if (off >= s->src_sizes[i]) {
            i++;
            off = 0;
        }
    }
    if (!any_data) {
        int64_t len = c->bytes;
        g_free(c->pieces);
        c->pieces = NULL;
        c->npieces = 0;
        c->bytes = 0;
        if (s->target_zero) {
            *skip = len;
        } else {
            c->zero = true;
            c->bytes = len;
        }
    }
    return 0;
}

/* Wait needed before `bytes` more may be read under -r (0: go now). */
static int64_t convert_rate_delay_us(ConvertState *s)
{
    if (!s->rate) {
        return 0;
    }
    /* As qemu-img: a request may go once what went before fits the rate. */
    double due = (double)s->rate_sent / s->rate;
    struct timespec el = tool_tsub(tool_now(), s->rate_start);
    double now = el.tv_sec + el.tv_nsec / 1e9;
    return due > now ? (int64_t)((due - now) * 1e6) + 1 : 0;
}

static void chunk_start_reads(ConvertChunk *c)
{
    ConvertState *s = c->s;
    c->state = CHUNK_READING;
    c->pending = 1;     /* held until every read is issued */
    for (int k = 0; k < c->npieces; k++) {
        ConvertPiece *p = &c->pieces[k];
        if (p->src < 0) {
            memset(c->buf + p->buf_off, 0, p->len);
            continue;
        }
        iovec_init_buf(&p->qiov, c->buf + p->buf_off, p->len);
        c->pending++;
        s->rate_sent += p->len;
        blk_aio_preadv(s->src[p->src], p->src_off, &p->qiov, 0, convert_read_cb, p);
    }
    convert_read_cb(&c->pieces[0], 0);
}

/* Host fd of a protocol node for copy offloading (opened once), or -1. */
static int offload_src_fd(ConvertState *s, BlockDriverState *file)
{
    if (strcmp(bdrv_get_format_name(file), "file") != 0) {
        return -1;
    }
    gpointer fd;
    if (!g_hash_table_lookup_extended(s->offload_src, file, NULL, &fd)) {
        fd = GINT_TO_POINTER(open(bdrv_get_filename(file), O_RDONLY));
        g_hash_table_insert(s->offload_src, file, fd);
    }
    return GPOINTER_TO_INT(fd);
}

/*
 * -C: copy a one-piece data chunk inside the kernel (copy_file_range) from where
 * its clusters lie in the source's host file to the raw target file.  False when
 * some part lies elsewhere (compressed, another protocol) or the kernel refuses:
 * then the chunk is copied by reading and writing, as qemu-img falls back.
 */
static bool convert_offload(ConvertState *s, ConvertChunk *c)
{
    ConvertPiece *p = &c->pieces[0];
    if (s->offload_fd < 0 || c->npieces != 1 || p->src < 0) {
        return false;
    }
    BlockDriverState *bs = blk_bs(s->src[p->src]);
    struct { int fd; loff_t from; int64_t len; } runs[64];
    int nruns = 0;
    for (int64_t o = 0; o < p->len;) {
        int64_t n, map;
        BlockDriverState *file = NULL;
        int st = bdrv_block_status_above(bs, NULL, p->src_off + o, p->len - o, &n, &map, &file,
                                         NULL);
        if (st < 0 || !(st & BDRV_BLOCK_OFFSET_VALID) || !file || nruns == G_N_ELEMENTS(runs)) {
            return false;
        }
        int fd = offload_src_fd(s, file);
        if (fd < 0) {
            return false;
        }
        n = MIN(n, p->len - o);
        runs[nruns].fd = fd;
        runs[nruns].from = map;
        runs[nruns++].len = n;
        o += n;
    }
    loff_t to = c->offset;
    for (int i = 0; i < nruns; i++) {
        while (runs[i].len > 0) {
            ssize_t r = copy_file_range(runs[i].fd, &runs[i].from, s->offload_fd, &to,
                                        runs[i].len, 0);
            if (r <= 0) {
                /* Not supported here (or failed): copy normally from now on. */
                close(s->offload_fd);
                s->offload_fd = -1;
                return false;
            }
            runs[i].len -= r;
        }
    }
    return true;
}

/* Plan and start chunks while slots are free; false when waiting for -r. */
static int convert_fill(ConvertState *s)
{
    for (int k = 0; k < s->nchunks && !s->planned_all && s->ret == 0; k++) {
        ConvertChunk *c = &s->chunks[k];
        if (c->state != CHUNK_FREE) {
            continue;
        }
        int64_t delay = convert_rate_delay_us(s);
        if (delay) {
            if (s->in_flight) {
                return 0;       /* a completion will bring us back */
            }
            g_usleep(delay);
        }
        int64_t skip = 0;
        c->bytes = 0;
        c->zero = false;
        c->ret = 0;
        c->wpos = 0;
        c->offset = s->pos;
        int r = s->compressed ? convert_plan_cluster(s, c, &skip)
                              : convert_plan_plain(s, c, &skip);
        if (r < 0) {
            s->ret = r;
            return r;
        }
        if (skip) {
            convert_advance(s, skip);
            k--;                /* the slot is still free */
            continue;
        }
        convert_advance(s, c->bytes);
        c->seq = s->next_seq++;
        s->in_flight++;
        if (c->zero) {
            c->state = CHUNK_READY;
        } else if (convert_offload(s, c)) {
            c->wpos = c->bytes;     /* written already: only its turn is left */
            c->state = CHUNK_READY;
        } else {
            if (!c->buf) {
                c->buf = bdrv_blockalign(blk_bs(s->target),
                                         s->compressed ? s->cluster_size : CONVERT_CHUNK);
            }
            chunk_start_reads(c);
        }
    }
    return 0;
}

/* ---- completions (main loop) ---- */

static void convert_salvage(ConvertPiece *p)
{
    ConvertChunk *c = p->chunk;
    ConvertState *s = c->s;
    /* Read sector by sector; what fails reads as zero, with a warning. */
    for (int64_t o = 0; o < p->len; o += BDRV_SECTOR_SIZE) {
        int64_t n = MIN(BDRV_SECTOR_SIZE, p->len - o);
        uint8_t *b = c->buf + p->buf_off + o;
        int r = blk_pread(s->src[p->src], p->src_off + o, n, b, 0);
        if (r < 0) {
            if (!s->quiet) {
                warn_report("error while reading offset %" PRId64 ": %s",
                            c->offset + p->buf_off + o, strerror(-r));
            }
            memset(b, 0, n);
        }
    }
}

static void convert_read_cb(void *opaque, int ret)
{
    ConvertPiece *p = opaque;
    ConvertChunk *c = p->chunk;
    if (ret < 0 && c->s->salvage) {
        convert_salvage(p);
    } else if (ret < 0 && c->ret == 0) {
        c->ret = ret;
        c->err_off = c->offset + p->buf_off;
        c->err_write = false;
    }
    if (--c->pending == 0) {
        c->state = CHUNK_READY;
    }
}

static void convert_write_cb(void *opaque, int ret)
{
    ConvertChunk *c = opaque;
    if (ret < 0 && c->ret == 0) {
        c->ret = ret;
        c->err_write = true;
    }
    c->pending = 0;
    c->state = CHUNK_WRITE_NEXT;
}

static void chunk_release(ConvertChunk *c)
{
    for (int k = 0; k < c->npieces; k++) {
        iovec_destroy(&c->pieces[k].qiov);
    }
    g_free(c->pieces);
    c->pieces = NULL;
    c->npieces = 0;
    c->state = CHUNK_FREE;
    c->s->in_flight--;
}

/* Length of the run at c->wpos that is all zero (*zero) or holds data. */
static int64_t convert_next_run(ConvertState *s, ConvertChunk *c, bool *zero)
{
    int64_t n = c->bytes - c->wpos;
    uint8_t *buf = c->buf + c->wpos;
    if (s->compressed || !s->sparse) {
        *zero = s->compressed && buffer_is_zero(buf, n);
        return n;
    }
    int64_t off = c->offset + c->wpos;
    int64_t len = MIN(s->sparse - off % s->sparse, n);
    *zero = buffer_is_zero(buf, len);
    while (len < n) {
        int64_t l2 = MIN(s->sparse, n - len);
        if (buffer_is_zero(buf + len, l2) != *zero) {
            break;
        }
        len += l2;
    }
    /* As qemu-img: runs inside the chunk end on target cluster boundaries, data
     * rounded up and zeroes down, so no cluster is left partly written. */
    int64_t tail = (off + len) % s->align;
    if (len < n && tail) {
        if (*zero && len <= tail) {
            *zero = false;
        }
        len = *zero ? len - tail : MIN(len + s->align - tail, n);
    }
    return len;
}

/* Issue the chunk's next write request, or free the chunk when all is written. */
static void chunk_write_step(ConvertChunk *c)
{
    ConvertState *s = c->s;
    if (c->ret < 0) {
        return;
    }
    while (c->wpos < c->bytes) {
        int64_t at = c->offset + c->wpos;
        bool zero = c->zero;
        int64_t len = zero ? c->bytes : convert_next_run(s, c, &zero);
        uint8_t *data = c->zero ? NULL : c->buf + c->wpos;
        c->wpos += len;
        if (zero && s->target_zero) {
            continue;
        }
        c->err_off = at;
        c->state = CHUNK_WRITING;
        c->pending = 1;
        if (zero) {
            blk_aio_pwrite_zeroes(s->target, at, len, BDRV_REQ_MAY_UNMAP, convert_write_cb, c);
        } else {
            iovec_destroy(&c->wqiov);
            iovec_init_buf(&c->wqiov, data, len);
            blk_aio_pwritev(s->target, at, &c->wqiov, s->compressed ?
                            BDRV_REQ_WRITE_COMPRESSED : 0, convert_write_cb, c);
        }
        return;
    }
    if (!c->zero) {
        s->data_done += c->bytes;
        img_progress_print(100.0 * s->data_done / s->data_total);
    }
    if (c->seq == s->write_seq) {
        s->write_seq++;
    }
    chunk_release(c);
}

static void convert_report_error(ConvertState *s, ConvertChunk *c)
{
    /* qemu-img 7.2 words a failed compressed write as any other (a qcow2 target with
     * an external data file refuses them: "error while writing at byte 0"). */
    if (!c->err_write) {
        error_report("error while reading at byte %" PRId64 ": %s", c->err_off,
                     strerror(-c->ret));
    } else {
        error_report("error while writing at byte %" PRId64 ": %s", c->err_off,
                     strerror(-c->ret));
    }
}

/* Handle finished requests; true if anything moved. */
static bool convert_complete(ConvertState *s)
{
    bool moved = false;
    for (int k = 0; k < s->nchunks; k++) {
        ConvertChunk *c = &s->chunks[k];
        bool idle = c->state == CHUNK_READY || c->state == CHUNK_WRITE_NEXT;
        if (idle && c->ret < 0 && s->ret == 0) {
            convert_report_error(s, c);
            s->ret = c->ret;
        }
        if (idle && s->ret < 0) {
            /* After an error, chunks are dropped as their requests finish. */
            chunk_release(c);
            moved = true;
        } else if (c->state == CHUNK_WRITE_NEXT) {
            chunk_write_step(c);
            moved = true;
        }
    }
    if (s->ret < 0) {
        return moved;
    }
    /* Start the writes whose turn it is (all ready ones under -W). */
    for (int k = 0; k < s->nchunks; k++) {
        ConvertChunk *c = &s->chunks[k];
        if (c->state == CHUNK_READY && (!s->in_order || c->seq == s->write_seq)) {
            chunk_write_step(c);
            moved = true;
            if (s->in_order) {
                k = -1;         /* it may have finished at once: look for the next */
            }
        }
    }
    return moved;
}

static void convert_start(ConvertState *s)
{
    s->pos = 0;
    s->src_pos = 0;
    s->cur_src = 0;
    s->planned_all = s->total == 0;
    while (s->cur_src < s->nsrc && s->src_sizes[s->cur_src] == 0) {
        s->cur_src++;
    }
}

/* Plan the whole copy without I/O to learn how much data it moves. */
static int convert_count_data(ConvertState *s)
{
    ConvertChunk c = { .s = s };
    convert_start(s);
    while (!s->planned_all) {
        int64_t skip = 0;
        c.bytes = 0;
        c.zero = false;
        int r = s->compressed ? convert_plan_cluster(s, &c, &skip)
                              : convert_plan_plain(s, &c, &skip);
        if (r < 0) {
            return r;
        }
        if (!skip && !c.zero) {
            s->data_total += c.bytes;
        }
        convert_advance(s, skip ? skip : c.bytes);
        g_free(c.pieces);
        c.pieces = NULL;
        c.npieces = 0;
    }
    return 0;
}

static int convert_run(ConvertState *s)
{
    GMainContext *ctx = g_main_context_default();
    s->rate_start = tool_now();
    for (int k = 0; k < s->nchunks; k++) {
        s->chunks[k].s = s;
    }
    convert_start(s);
    for (;;) {
        while (convert_complete(s)) {
        }
        if (s->ret == 0) {
            convert_fill(s);
            convert_complete(s);
        }
        if (s->in_flight == 0 && (s->planned_all || s->ret < 0)) {
            break;
        }
        if (s->in_flight) {
            g_main_context_iteration(ctx, TRUE);
        }
    }
    for (int k = 0; k < s->nchunks; k++) {
        qemu_vfree(s->chunks[k].buf);
        iovec_destroy(&s->chunks[k].wqiov);
    }
    return s->ret;
}

/* ---- option parsing ---- */

typedef struct ConvertOpts {
    const char *fmt, *out_fmt, *cache, *src_cache, *out_baseimg, *backing_fmt;
    bool quiet, progress, skip_create, target_is_zero, compress, help, copy_range;
    bool force_share, image_opts, target_image_opts, salvage, in_order, explicit_sparse;
    int64_t sparse;
    int64_t rate;
    int parallel;
    SnapshotParam snapshot;
    bool has_snapshot;
    Opts *opts;
} ConvertOpts;

static void convert_usage(void)
{
    printf("convert [--object objectdef] [--image-opts] [--target-image-opts] "
           "[--target-is-zero] [--bitmaps] [-U] [-C] [-c] [-p] [-q] [-n] [-f fmt] "
           "[-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] "
           "[-o options] [-l snapshot_param] [-S sparse_size] [-r rate_limit] "
           "[-m num_coroutines] [-W] [--salvage] filename [filename2 [...]] "
           "output_filename\n");
}

/* Parse the options; 0 = go on, 1 = error, 2 = done (help printed). */
static int convert_parse(int argc, char **argv, ConvertOpts *o)
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
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:O:B:CcF:o:l:S:pt:T:qnm:WUr:", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            o->fmt = optarg;
            break;
        case 'O':
            o->out_fmt = optarg;
            break;
        case 'B':
            o->out_baseimg = optarg;
            break;
        case 'F':
            o->backing_fmt = optarg;
            break;
        case 'c':
            o->compress = true;
            break;
        case 'C':
            o->copy_range = true;
            break;
        case 'o':
            if (!img_add_opts(&o->opts, optarg, &o->help)) {
                return 1;
            }
            break;
        case 'l':
            if (!img_parse_snapshot_param(optarg, &o->snapshot)) {
                return 1;
            }
            o->has_snapshot = true;
            break;
        case 'S': {
            uint64_t v;
            if (!parse_size(optarg, &v) || v > 16 * 1024 * 1024 || (v % 512)) {
                error_report("Invalid buffer size for sparse output specified. Valid sizes are "
                             "multiples of 512 up to 16777216. Select 0 to disable sparse "
                             "detection (fully allocates output).");
                return 1;
            }
            o->sparse = (int64_t)v;
            o->explicit_sparse = true;
            break;
        }
        case 'p':
            o->progress = true;
            break;
        case 't':
            o->cache = optarg;
            break;
        case 'T':
            o->src_cache = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'n':
            o->skip_create = true;
            break;
        case 'm': {
            uint64_t v;
            if (!parse_uint(optarg, &v) || v < 1 || v > CONVERT_MAX_PARALLEL) {
                error_report("Invalid number of coroutines. Allowed number of coroutines is "
                             "between 1 and %d", CONVERT_MAX_PARALLEL);
                return 1;
            }
            o->parallel = (int)v;
            break;
        }
        case 'W':
            o->in_order = false;
            break;
        case 'r': {
            int64_t v = tool_cvtnum(optarg);
            if (v < 0) {
                img_size_error("Invalid rate limit specified.");
                return 1;
            }
            o->rate = v;
            break;
        }
        case 'U':
            o->force_share = true;
            break;
        case 'I':
            o->image_opts = true;
            break;
        case 'K':
            o->target_image_opts = true;
            break;
        case 'Y':
            o->salvage = true;
            break;
        case 'Z':
            o->target_is_zero = true;
            break;
        case 'J':
        case 'X':
            break;
        case 'h':
            convert_usage();
            return 2;
        default:
            tool_getopt_error(c, argv);
            return 1;
        }
    }
    return 0;
}

/* Checks qemu-img makes before opening anything, in its order. */
static bool convert_check(const ConvertOpts *o, int nfiles)
{
    if (o->image_opts && o->fmt) {
        error_report("--image-opts and --format are mutually exclusive");
        return false;
    }
    if (nfiles < 2) {
        error_report("Must specify image file name");
        return false;
    }
    if (o->compress && o->copy_range) {
        error_report("Cannot enable copy offloading when -c is used");
        return false;
    }
    if (o->explicit_sparse && o->copy_range) {
        error_report("Cannot enable copy offloading when -S is used");
        return false;
    }
    if (o->target_image_opts && !o->skip_create) {
        error_report("--target-image-opts requires use of -n flag");
        return false;
    }
    if (o->target_is_zero && !o->skip_create) {
        error_report("--target-is-zero requires use of -n flag");
        return false;
    }
    if (o->out_baseimg && !o->backing_fmt && !o->skip_create) {
        error_report("Use of backing file requires explicit backing format");
        return false;
    }
    if (o->has_snapshot && nfiles > 2) {
        error_report("No support for concatenating multiple snapshot");
        return false;
    }
    return true;
}

/* Open one convert source (or image-opts string); prints qemu-img's error. */
static BlockBackend *convert_open_source(const ConvertOpts *o, const char *arg, int flags)
{
    return img_open_source(arg, o->image_opts, o->fmt, flags, o->src_cache, o->quiet);
}

int img_convert(int argc, char **argv)
{
    ConvertOpts o = {
        .cache = "unsafe", .src_cache = "writeback", .sparse = 4096,
        .parallel = CONVERT_DEFAULT_PARALLEL, .in_order = true,
    };
    int ret = 1;
    ConvertState s;
    memset(&s, 0, sizeof(s));
    s.offload_fd = -1;
    char *target_file = NULL, *target_fmt = NULL;
    int r = convert_parse(argc, argv, &o);
    if (r) {
        ret = r == 2 ? 0 : 1;
        goto out;
    }
    if (o.target_image_opts && !o.skip_create) {
        error_report("--target-image-opts requires use of -n flag");
        goto out;
    }
    if (o.target_image_opts && o.out_fmt) {
        error_report("--image-opts and --format are mutually exclusive");
        goto out;
    }
    if (!o.out_fmt && !o.target_image_opts) {
        o.out_fmt = "raw";
    }
    if (o.help) {
        if (!bdrv_find_format(o.out_fmt ? o.out_fmt : "raw")) {
            error_report("Unknown file format '%s'", o.out_fmt);
            goto out;
        }
        /* With a target filename (after a source) the protocol's options too. */
        bdrv_print_create_options(o.out_fmt ? o.out_fmt : "raw", argc - optind >= 2);
        ret = 0;
        goto out;
    }
    if (o.quiet) {
        o.progress = false;
    }
    if (!convert_check(&o, argc - optind)) {
        goto out;
    }
    if (o.out_fmt && !bdrv_find_format(o.out_fmt)) {
        error_report("Unknown file format '%s'", o.out_fmt);
        goto out;
    }
    const char *out_arg = argv[argc - 1];
    const char *out_filename = out_arg;
    if (o.target_image_opts) {
        char *msg;
        if (!tool_parse_image_opts(out_arg, &target_file, &target_fmt, &msg)) {
            error_report("Could not open '%s': %s", out_arg, msg);
            g_free(msg);
            goto out;
        }
        out_filename = target_file;
        o.out_fmt = target_fmt;
    }
    if (o.out_fmt && o.compress && strcmp(o.out_fmt, "qcow2") != 0) {
        error_report("Compression not supported for this file format");
        goto out;
    }
    s.nsrc = argc - optind - 1;
    s.src = g_new0(BlockBackend *, s.nsrc);
    s.src_sizes = g_new0(int64_t, s.nsrc);
    s.sparse = o.copy_range ? 0 : o.sparse;
    s.zero_as_data = o.explicit_sparse && o.sparse == 0;
    s.compressed = o.compress;
    s.in_order = o.in_order;
    s.salvage = o.salvage;
    s.quiet = o.quiet;
    s.rate = o.rate;
    s.nchunks = o.parallel;
    int sflags = o.force_share ? BDRV_O_NO_LOCK : 0;
    for (int i = 0; i < s.nsrc; i++) {
        s.src[i] = convert_open_source(&o, argv[optind + i], sflags);
        if (!s.src[i]) {
            goto out;
        }
        if (o.has_snapshot) {
            BlockBackend *snap = img_open_snapshot(s.src[i], &o.snapshot, o.src_cache, sflags);
            blk_unref(s.src[i]);
            s.src[i] = snap;
            if (!snap) {
                goto out;
            }
        }
        s.src_sizes[i] = blk_getlength(s.src[i]);
        if (s.src_sizes[i] < 0) {
            error_report("Could not get size of %s: %s", argv[optind + i],
                         strerror((int)-s.src_sizes[i]));
            goto out;
        }
        s.total += s.src_sizes[i];
    }
    if (!o.skip_create) {
        if (!o.opts) {
            o.opts = opts_new();
        }
        if (o.out_baseimg) {
            opts_set(o.opts, "backing_file", o.out_baseimg);
            if (o.backing_fmt) {
                opts_set(o.opts, "backing_fmt", o.backing_fmt);
            }
        }
        if (!opts_has(o.opts, "size")) {
            char *sz = g_strdup_printf("%" PRId64, s.total);
            opts_set(o.opts, "size", sz);
            g_free(sz);
        }
        if (o.out_baseimg && strcmp(o.out_fmt, "qcow2") != 0) {
            error_report("Backing file not supported for file format '%s'", o.out_fmt);
            goto out;
        }
        /* qemu-img: "<target>: error while converting <fmt>: <why>" */
        char *ctx = g_strdup_printf("error while converting %s", o.out_fmt);
        int cr = img_do_create_ctx(o.out_fmt, out_filename, o.opts, true, ctx);
        g_free(ctx);
        if (cr) {
            goto out;
        }
    }
    /* A new target's backing file must open (it is not read from). */
    int tflags = BDRV_O_RDWR | BDRV_O_UNMAP |
                 (o.out_baseimg && !o.skip_create ? 0 : BDRV_O_NO_BACKING);
    s.target = img_open(out_filename, o.out_fmt, tflags, o.cache, o.quiet);
    if (!s.target) {
        goto out;
    }
    BlockDriverState *tbs = blk_bs(s.target);
    if (o.compress && strcmp(bdrv_get_format_name(tbs), "qcow2") != 0) {
        error_report("Compression not supported for this file format");
        goto out;
    }
    s.target_has_backing = bdrv_get_backing_filename(tbs)[0] != 0;
    s.target_zero = (!o.skip_create && !s.target_has_backing) || o.target_is_zero;
    if (o.skip_create && blk_getlength(s.target) < s.total) {
        error_report("output file is smaller than input file");
        goto out;
    }
    BlockDriverInfo bdi;
    bool has_clusters = bdrv_get_info(tbs, &bdi) == 0 && bdi.cluster_size;
    s.cluster_size = has_clusters ? bdi.cluster_size : 65536;
    s.align = has_clusters ? bdi.cluster_size : BDRV_SECTOR_SIZE;
    if (o.progress && convert_count_data(&s) < 0) {
        goto out;
    }
    s.offload_src = g_hash_table_new(NULL, NULL);
    BlockDriverState *tfile = bdrv_get_file(tbs);
    if (o.copy_range && !strcmp(bdrv_get_format_name(tbs), "raw") && tfile &&
        !strcmp(bdrv_get_format_name(tfile), "file") &&
        blk_getlength(s.target) == bdrv_getlength(tfile)) {
        s.offload_fd = open(bdrv_get_filename(tfile), O_WRONLY);
    }
    img_progress_init(o.progress);
    ret = convert_run(&s) < 0 ? 1 : 0;
    if (ret == 0) {
        int fr = blk_flush(s.target);
        if (fr < 0) {
            error_report("error while flushing the output image: %s", strerror(-fr));
            ret = 1;
        }
    }
    if (ret == 0) {
        img_progress_print(100);
        img_progress_end();
    }
out:
    if (s.offload_src) {
        GHashTableIter it;
        gpointer fd;
        g_hash_table_iter_init(&it, s.offload_src);
        while (g_hash_table_iter_next(&it, NULL, &fd)) {
            if (GPOINTER_TO_INT(fd) >= 0) {
                close(GPOINTER_TO_INT(fd));
            }
        }
        g_hash_table_destroy(s.offload_src);
    }
    if (s.offload_fd >= 0) {
        close(s.offload_fd);
    }
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
    g_free(target_file);
    g_free(target_fmt);
    img_snapshot_param_clear(&o.snapshot);
    opts_free(o.opts);
    return ret;
}
