/*
 * kemu-io: the disk exerciser, command-compatible with qemu-io 7.2 (its command
 * language is what block tests are written in): read/write with patterns and
 * dumps, vectored and asynchronous I/O, discard, zero writes, flush, map, alloc,
 * truncate, info, length, open/close.  Output lines match qemu-io's formats.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <unistd.h>
#include <glib.h>

#include "block/block-backend.h"
#include "block/block_int.h"
#include "config-host.h"
#include "kemu/error.h"
#include "tool-util.h"

/* The largest request qemu-io sends: INT_MAX rounded down to 512 (BDRV_REQUEST_MAX_BYTES). */
#define IO_MAX_BYTES (INT64_C(2147483647) & ~INT64_C(511))

static BlockBackend *qio_blk;
static int qio_exit_code;
static bool qio_quit;
static int qio_aio_pending;

typedef int (*CmdFunc)(int argc, char **argv);

typedef struct Cmd {
    const char *name;
    const char *altname;
    CmdFunc func;
    int argmin;
    int argmax;      /* -1: unlimited */
    bool needs_file;
    bool writes;
    const char *args;
    const char *oneline;
} Cmd;

static const Cmd *find_cmd(const char *name);

static void print_cvtnum_err(int64_t rc, const char *arg)
{
    if (rc == -ERANGE) {
        printf("Parsing error: argument too large -- %s\n", arg);
    } else {
        printf("Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- %s\n",
               arg);
    }
}

/* A size argument (suffixes allowed) into *out, or qemu-io's parse error and false. */
static bool parse_num(const char *arg, int64_t *out)
{
    *out = tool_cvtnum(arg);
    if (*out < 0) {
        print_cvtnum_err(*out, arg);
        return false;
    }
    return true;
}

/* A command's getopt failure and argument count error, as qemu-io prints them. */
static void help_oneline(const Cmd *ct);

/* An unknown option: getopt has said so on stderr; qemu-io then shows the command's
 * usage line. */
static int bad_option(const char *cmd)
{
    const Cmd *ct = find_cmd(cmd);
    if (ct) {
        help_oneline(ct);
    }
    return -EINVAL;
}

static int wrong_args(const char *cmd)
{
    printf("%s: wrong number of arguments\n", cmd);
    return -EINVAL;
}

/* False (after qemu-io's message naming off and len) unless buf holds only pattern. */
static bool verify_pattern(const uint8_t *buf, int64_t n, int pattern, int64_t off, int64_t len)
{
    for (int64_t i = 0; i < n; i++) {
        if (buf[i] != pattern) {
            printf("Pattern verification failed at offset %" PRId64 ", %" PRId64 " bytes\n",
                   off, len);
            return false;
        }
    }
    return true;
}

static void print_report(const char *op, struct timespec t, int64_t offset, int64_t count,
                         int64_t total, int cnt)
{
    char s1[64], s2[64], ts[64];
    tool_timestr(&t, ts, sizeof(ts));
    printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n", op, total, count, offset);
    tool_cvtstr((double)total, s1, sizeof(s1));
    tool_cvtstr(tool_tdiv((double)total, t), s2, sizeof(s2));
    printf("%s, %d ops; %s (%s/sec and %.4f ops/sec)\n", s1, cnt, ts, s2,
           tool_tdiv((double)cnt, t));
}

static void dump_buffer(const uint8_t *buf, int64_t offset, int64_t len)
{
    for (int64_t i = 0; i < len; i += 16) {
        printf("%08" PRIx64 ":  ", (uint64_t)(offset + i));
        for (int64_t j = 0; j < 16 && i + j < len; j++) {
            printf("%02x ", buf[i + j]);
        }
        printf(" ");
        for (int64_t j = 0; j < 16 && i + j < len; j++) {
            printf("%c", isalnum(buf[i + j]) ? buf[i + j] : '.');
        }
        printf("\n");
    }
}

static struct timespec now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static bool parse_pattern(const char *arg, int *pattern)
{
    char *end;
    long v = strtol(arg, &end, 0);
    if (*end || end == arg) {
        printf("non-numeric pattern argument -- %s\n", arg);
        return false;
    }
    *pattern = (int)(v & 0xff);
    return true;
}

/* "off len" with len at most IO_MAX_BYTES (unless unlimited: write -z -n, which
 * sends no data); write words its limit " without -n". */
static bool parse_offset_len_limit(char *off_s, char *len_s, int64_t *offset, int64_t *count,
                                   bool is_write, bool unlimited)
{
    if (!parse_num(off_s, offset)) {
        return false;
    }
    if (len_s) {
        if (!parse_num(len_s, count)) {
            return false;
        }
        if (*count > IO_MAX_BYTES && !unlimited) {
            printf("length cannot exceed %" PRId64 "%s, given %s\n", IO_MAX_BYTES,
                   is_write ? " without -n" : "", len_s);
            return false;
        }
    }
    return true;
}

static bool parse_offset_len(char *off_s, char *len_s, int64_t *offset, int64_t *count)
{
    return parse_offset_len_limit(off_s, len_s, offset, count, false, false);
}

/* The two arguments "off len" left after a command's options, or false after qemu-io's
 * message. */
static bool offset_len_args(int argc, char **argv, const char *cmd, int64_t *offset,
                            int64_t *count)
{
    if (optind != argc - 2) {
        wrong_args(cmd);
        return false;
    }
    return parse_offset_len(argv[optind], argv[optind + 1], offset, count);
}

static uint8_t *io_alloc(int64_t len, int pattern)
{
    uint8_t *buf = bdrv_blockalign(blk_bs(qio_blk), len ? len : 1);
    memset(buf, pattern, len);
    return buf;
}

/* ---- read / write ---- */

static int read_f(int argc, char **argv)
{
    bool qflag = false, vflag = false, Pflag = false, sflag = false, lflag = false;
    int pattern = 0;
    int64_t pattern_offset = 0, pattern_count = 0;
    int c;
    optind = 0;
    while ((c = getopt(argc, argv, "bCl:pP:qs:v")) != -1) {
        switch (c) {
        case 'b':
        case 'C':
        case 'p':
            break;
        case 'l':
            lflag = true;
            if (!parse_num(optarg, &pattern_count)) {
                return -EINVAL;
            }
            break;
        case 'P':
            Pflag = true;
            if (!parse_pattern(optarg, &pattern)) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 's':
            sflag = true;
            if (!parse_num(optarg, &pattern_offset)) {
                return -EINVAL;
            }
            break;
        case 'v':
            vflag = true;
            break;
        default:
            return bad_option("read");
        }
    }
    int64_t offset, count;
    if (!offset_len_args(argc, argv, "read", &offset, &count)) {
        return -EINVAL;
    }
    if (!Pflag && (lflag || sflag)) {
        printf("read: -l and -s need -P\n");
        return -EINVAL;
    }
    if (!lflag) {
        pattern_count = count - pattern_offset;
    }
    if (pattern_count < 0 || pattern_offset + pattern_count > count) {
        printf("pattern verification range exceeds end of read data\n");
        return -EINVAL;
    }
    uint8_t *buf = io_alloc(count, 0xab);
    struct timespec t1 = now();
    int ret = blk_pread(qio_blk, offset, count, buf, 0);
    struct timespec t2 = now();
    if (ret < 0) {
        printf("read failed: %s\n", strerror(-ret));
        qemu_vfree(buf);
        return ret;
    }
    if (Pflag && !verify_pattern(buf + pattern_offset, pattern_count, pattern,
                                 offset + pattern_offset, pattern_count)) {
        ret = -EINVAL;
    }
    if (!qflag) {
        if (vflag) {
            dump_buffer(buf, offset, count);
        }
        print_report("read", tool_tsub(t2, t1), offset, count, count, 1);
    }
    qemu_vfree(buf);
    return ret;
}

/*
 * A buffer of len bytes filled from a file, repeated as often as needed (qemu-io's
 * write -s); errors go to stderr as "FILE: reason".
 */
static uint8_t *io_alloc_from_file(int64_t len, const char *file)
{
    FILE *f = fopen(file, "r");
    GByteArray *data = g_byte_array_new();
    uint8_t chunk[65536];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        g_byte_array_append(data, chunk, n);
    }
    uint8_t *buf = NULL;
    if (!f || ferror(f)) {
        fprintf(stderr, "%s: %s\n", file, strerror(errno));
    } else if (data->len == 0) {
        fprintf(stderr, "%s: file is empty\n", file);
    } else {
        buf = io_alloc(len, 0);
        for (int64_t o = 0; o < len; o += data->len) {
            memcpy(buf + o, data->data, MIN((int64_t)data->len, len - o));
        }
    }
    if (f) {
        fclose(f);
    }
    g_byte_array_free(data, true);
    return buf;
}

static int write_f(int argc, char **argv)
{
    bool qflag = false, zflag = false, Pflag = false;
    const char *source = NULL;
    int flags = 0;
    int pattern = 0xcd;
    int c;
    optind = 0;
    while ((c = getopt(argc, argv, "bcCfnpP:qs:uz")) != -1) {
        switch (c) {
        case 'b':
        case 'C':
        case 'p':
            break;
        case 'c':
            flags |= BDRV_REQ_WRITE_COMPRESSED;
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'n':
            flags |= BDRV_REQ_NO_FALLBACK;
            break;
        case 'P':
            Pflag = true;
            if (!parse_pattern(optarg, &pattern)) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 's':
            source = optarg;
            break;
        case 'u':
            flags |= BDRV_REQ_MAY_UNMAP;
            break;
        case 'z':
            zflag = true;
            break;
        default:
            return bad_option("write");
        }
    }
    if (optind != argc - 2) {
        return wrong_args("write");
    }
    if (zflag + Pflag + (source != NULL) > 1) {
        printf("Only one of -z, -P, and -s can be specified at the same time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_MAY_UNMAP) && !zflag) {
        printf("-u requires -z to be specified\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_NO_FALLBACK) && !zflag) {
        printf("-n requires -z to be specified\n");
        return -EINVAL;
    }
    int64_t offset = 0, count = 0;
    if (!parse_offset_len_limit(argv[optind], argv[optind + 1], &offset, &count, true,
                                zflag && (flags & BDRV_REQ_NO_FALLBACK))) {
        return -EINVAL;
    }
    uint8_t *buf = NULL;
    if (source) {
        buf = io_alloc_from_file(count, source);
        if (!buf) {
            return -EINVAL;
        }
    } else if (!zflag) {
        buf = io_alloc(count, pattern);
    }
    struct timespec t1 = now();
    int ret;
    if (zflag) {
        ret = blk_pwrite_zeroes(qio_blk, offset, count, flags);
    } else {
        ret = blk_pwrite(qio_blk, offset, count, buf, flags);
    }
    struct timespec t2 = now();
    if (buf) {
        qemu_vfree(buf);
    }
    if (ret < 0) {
        printf("write failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        print_report("wrote", tool_tsub(t2, t1), offset, count, count, 1);
    }
    return 0;
}

/* Build an I/O vector of buffers of the lengths in argv (qemu-io's create_iovec). */
static uint8_t *create_iovec(IOVector *qiov, char **argv, int nr, int pattern)
{
    int64_t total = 0;
    int64_t *lens = g_new(int64_t, nr);
    for (int i = 0; i < nr; i++) {
        lens[i] = tool_cvtnum(argv[i]);
        if (lens[i] < 0) {
            print_cvtnum_err(lens[i], argv[i]);
            g_free(lens);
            return NULL;
        }
        if (lens[i] > IO_MAX_BYTES) {
            printf("Argument '%s' exceeds maximum size %" PRId64 "\n", argv[i], IO_MAX_BYTES);
            g_free(lens);
            return NULL;
        }
        if (lens[i] > IO_MAX_BYTES - total) {
            printf("The total number of bytes exceed the maximum size %" PRId64 "\n",
                   IO_MAX_BYTES);
            g_free(lens);
            return NULL;
        }
        total += lens[i];
    }
    uint8_t *buf = io_alloc(total, pattern);
    iovec_init(qiov, nr);
    uint8_t *p = buf;
    for (int i = 0; i < nr; i++) {
        iovec_add(qiov, p, lens[i]);
        p += lens[i];
    }
    g_free(lens);
    return buf;
}

static int readv_f(int argc, char **argv)
{
    bool qflag = false, vflag = false, Pflag = false;
    int pattern = 0;
    int c;
    optind = 0;
    while ((c = getopt(argc, argv, "CP:qv")) != -1) {
        switch (c) {
        case 'C':
            break;
        case 'P':
            Pflag = true;
            if (!parse_pattern(optarg, &pattern)) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 'v':
            vflag = true;
            break;
        default:
            return bad_option("readv");
        }
    }
    if (optind > argc - 2) {
        return wrong_args("readv");
    }
    int64_t offset;
    if (!parse_num(argv[optind], &offset)) {
        return -EINVAL;
    }
    IOVector qiov;
    uint8_t *buf = create_iovec(&qiov, argv + optind + 1, argc - optind - 1, 0xab);
    if (!buf) {
        return -EINVAL;
    }
    struct timespec t1 = now();
    int ret = blk_preadv(qio_blk, offset, qiov.size, &qiov, 0);
    struct timespec t2 = now();
    if (ret < 0) {
        printf("readv failed: %s\n", strerror(-ret));
    } else {
        if (Pflag && !verify_pattern(buf, qiov.size, pattern, offset, qiov.size)) {
            ret = -EINVAL;
        }
        if (!qflag) {
            if (vflag) {
                dump_buffer(buf, offset, qiov.size);
            }
            print_report("read", tool_tsub(t2, t1), offset, qiov.size, qiov.size, 1);
        }
    }
    iovec_destroy(&qiov);
    qemu_vfree(buf);
    return ret;
}

static int writev_f(int argc, char **argv)
{
    bool qflag = false;
    int flags = 0;
    int pattern = 0xcd;
    int c;
    optind = 0;
    while ((c = getopt(argc, argv, "CfqP:")) != -1) {
        switch (c) {
        case 'C':
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'q':
            qflag = true;
            break;
        case 'P':
            if (!parse_pattern(optarg, &pattern)) {
                return -EINVAL;
            }
            break;
        default:
            return bad_option("writev");
        }
    }
    if (optind > argc - 2) {
        return wrong_args("writev");
    }
    int64_t offset;
    if (!parse_num(argv[optind], &offset)) {
        return -EINVAL;
    }
    IOVector qiov;
    uint8_t *buf = create_iovec(&qiov, argv + optind + 1, argc - optind - 1, pattern);
    if (!buf) {
        return -EINVAL;
    }
    struct timespec t1 = now();
    int ret = blk_pwritev(qio_blk, offset, qiov.size, &qiov, flags);
    struct timespec t2 = now();
    if (ret < 0) {
        printf("writev failed: %s\n", strerror(-ret));
    } else if (!qflag) {
        print_report("wrote", tool_tsub(t2, t1), offset, qiov.size, qiov.size, 1);
    }
    iovec_destroy(&qiov);
    qemu_vfree(buf);
    return ret;
}

/* ---- asynchronous I/O ---- */

typedef struct AioCtx {
    IOVector qiov;
    uint8_t *buf;
    int64_t offset;
    bool is_write;
    bool qflag;
    bool vflag;
    bool Pflag;
    bool zflag;
    int64_t zbytes;
    int pattern;
    struct timespec t1;
} AioCtx;

static void aio_done(void *opaque, int ret)
{
    AioCtx *ctx = opaque;
    struct timespec t2 = now();
    int64_t size = ctx->zflag ? ctx->zbytes : (int64_t)ctx->qiov.size;
    qio_aio_pending--;
    if (ret < 0) {
        printf("%s failed: %s\n", ctx->is_write ? "aio_write" : "aio_read", strerror(-ret));
        qio_exit_code = 1;
    } else {
        if (!ctx->is_write && ctx->Pflag &&
            !verify_pattern(ctx->buf, size, ctx->pattern, ctx->offset, size)) {
            qio_exit_code = 1;
        }
        if (!ctx->qflag) {
            if (ctx->vflag) {
                dump_buffer(ctx->buf, ctx->offset, size);
            }
            print_report(ctx->is_write ? "wrote" : "read", tool_tsub(t2, ctx->t1), ctx->offset,
                         size, size, 1);
        }
    }
    if (!ctx->zflag) {
        iovec_destroy(&ctx->qiov);
        qemu_vfree(ctx->buf);
    }
    g_free(ctx);
}

static int aio_rw_f(int argc, char **argv, bool is_write)
{
    AioCtx *ctx = g_new0(AioCtx, 1);
    int flags = 0;
    int c;
    ctx->is_write = is_write;
    ctx->pattern = is_write ? 0xcd : 0;
    optind = 0;
    while ((c = getopt(argc, argv, is_write ? "CfiqP:uz" : "CiqP:v")) != -1) {
        switch (c) {
        case 'C':
        case 'i':
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'u':
            flags |= BDRV_REQ_MAY_UNMAP;
            break;
        case 'z':
            ctx->zflag = true;
            break;
        case 'q':
            ctx->qflag = true;
            break;
        case 'v':
            ctx->vflag = true;
            break;
        case 'P':
            ctx->Pflag = true;
            if (!parse_pattern(optarg, &ctx->pattern)) {
                g_free(ctx);
                return -EINVAL;
            }
            break;
        default:
            g_free(ctx);
            return bad_option(argv[0]);
        }
    }
    if (optind > argc - 2) {
        g_free(ctx);
        return wrong_args(argv[0]);
    }
    if (!parse_num(argv[optind], &ctx->offset)) {
        g_free(ctx);
        return -EINVAL;
    }
    if (ctx->zflag) {
        if (argc - optind != 2) {
            printf("-z supports only a single length parameter\n");
            g_free(ctx);
            return -EINVAL;
        }
        if (!parse_num(argv[optind + 1], &ctx->zbytes)) {
            g_free(ctx);
            return -EINVAL;
        }
        ctx->t1 = now();
        qio_aio_pending++;
        blk_aio_pwrite_zeroes(qio_blk, ctx->offset, ctx->zbytes, flags, aio_done, ctx);
        return 0;
    }
    ctx->buf = create_iovec(&ctx->qiov, argv + optind + 1, argc - optind - 1,
                            is_write ? ctx->pattern : 0xab);
    if (!ctx->buf) {
        g_free(ctx);
        return -EINVAL;
    }
    ctx->t1 = now();
    qio_aio_pending++;
    if (is_write) {
        blk_aio_pwritev(qio_blk, ctx->offset, &ctx->qiov, flags, aio_done, ctx);
    } else {
        blk_aio_preadv(qio_blk, ctx->offset, &ctx->qiov, 0, aio_done, ctx);
    }
    return 0;
}

static int aio_read_f(int argc, char **argv)
{
    return aio_rw_f(argc, argv, false);
}

static int aio_write_f(int argc, char **argv)
{
    return aio_rw_f(argc, argv, true);
}

static int aio_flush_f(int argc, char **argv)
{
    blk_drain(qio_blk);
    return blk_flush(qio_blk);
}

/* ---- other commands ---- */

static int discard_f(int argc, char **argv)
{
    bool qflag = false;
    int c;
    optind = 0;
    while ((c = getopt(argc, argv, "Cq")) != -1) {
        switch (c) {
        case 'C':
            break;
        case 'q':
            qflag = true;
            break;
        default:
            return bad_option("discard");
        }
    }
    int64_t offset, count;
    if (!offset_len_args(argc, argv, "discard", &offset, &count)) {
        return -EINVAL;
    }
    struct timespec t1 = now();
    int ret = blk_pdiscard(qio_blk, offset, count);
    struct timespec t2 = now();
    if (ret < 0) {
        printf("discard failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        print_report("discard", tool_tsub(t2, t1), offset, count, count, 1);
    }
    return 0;
}

static int flush_f(int argc, char **argv)
{
    return blk_flush(qio_blk);
}

static int truncate_f(int argc, char **argv)
{
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    int c;
    optind = 0;
    while ((c = getopt(argc, argv, "m:")) != -1) {
        if (c == 'm') {
            int m = prealloc_mode_parse(optarg);
            if (m < 0) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return -EINVAL;
            }
            prealloc = m;
        } else {
            return bad_option("truncate");
        }
    }
    if (optind != argc - 1) {
        return wrong_args("truncate");
    }
    int64_t offset;
    if (!parse_num(argv[optind], &offset)) {
        return -EINVAL;
    }
    Error *err = NULL;
    int ret = blk_truncate(qio_blk, offset, false, prealloc, &err);
    if (ret < 0) {
        error_report_err(err);
        return ret;
    }
    return 0;
}

static int length_f(int argc, char **argv)
{
    char s[64];
    int64_t size = blk_getlength(qio_blk);
    if (size < 0) {
        printf("getlength: %s\n", strerror((int)-size));
        return (int)size;
    }
    tool_cvtstr((double)size, s, sizeof(s));
    printf("%s\n", s);
    return 0;
}

static int info_f(int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(qio_blk);
    BlockDriverInfo bdi;
    char s1[64], s2[64];
    printf("format name: %s\n", bdrv_get_format_name(bs));
    int ret = bdrv_get_info(bs, &bdi);
    if (ret) {
        return ret;
    }
    tool_cvtstr((double)bdi.cluster_size, s1, sizeof(s1));
    tool_cvtstr((double)bdi.vm_state_offset, s2, sizeof(s2));
    printf("cluster size: %s\n", s1);
    printf("vm state offset: %s\n", s2);
    tool_print_format_info(&bdi);
    return 0;
}

/* Allocated in the image itself, not its backing chain (qemu-io's map semantics: with
 * extended L2 entries that is per subcluster). */
static int is_allocated_above(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum)
{
    if (offset >= bdrv_getlength(bs)) {
        *pnum = bytes;
        return 0;
    }
    int ret = bdrv_block_status(bs, offset, bytes, pnum, NULL, NULL);
    if (ret < 0) {
        return ret;
    }
    return !!(ret & BDRV_BLOCK_ALLOCATED);
}

static int map_f(int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(qio_blk);
    int64_t length = blk_getlength(qio_blk);
    if (length < 0) {
        error_report("Failed to query image length: %s", strerror((int)-length));
        return (int)length;
    }
    int64_t offset = 0;
    int64_t bytes = length;
    while (bytes > 0) {
        int64_t num;
        int first = is_allocated_above(bs, offset, bytes, &num);
        if (first < 0) {
            error_report("Failed to get allocation status: %s", strerror(-first));
            return first;
        }
        int64_t total = num;
        while (bytes - total > 0) {
            int64_t n;
            int r = is_allocated_above(bs, offset + total, bytes - total, &n);
            if (r != first || n == 0) {
                break;
            }
            total += n;
        }
        char s1[64], s2[64];
        tool_cvtstr((double)total, s1, sizeof(s1));
        tool_cvtstr((double)offset, s2, sizeof(s2));
        printf("%s (0x%" PRIx64 ") bytes %s at offset %s (0x%" PRIx64 ")\n", s1, (uint64_t)total,
               first ? "    allocated" : "not allocated", s2, (uint64_t)offset);
        offset += total;
        bytes -= total;
    }
    return 0;
}

static int alloc_f(int argc, char **argv)
{
    int64_t offset = tool_cvtnum(argv[1]);
    if (offset < 0) {
        print_cvtnum_err(offset, argv[1]);
        return -EINVAL;
    }
    int64_t count = BDRV_SECTOR_SIZE;
    if (argc == 3) {
        count = tool_cvtnum(argv[2]);
        if (count < 0) {
            print_cvtnum_err(count, argv[2]);
            return -EINVAL;
        }
    }
    int64_t start = offset, remaining = count, sum = 0;
    int64_t length = blk_getlength(qio_blk);
    while (remaining > 0) {
        int64_t num = 0;
        int ret = 0;
        if (offset < length) {
            ret = bdrv_is_allocated(blk_bs(qio_blk), offset, remaining, &num);
            if (ret < 0) {
                printf("is_allocated failed: %s\n", strerror(-ret));
                return ret;
            }
        }
        if (num == 0) {
            count -= remaining;
            break;
        }
        offset += num;
        remaining -= num;
        if (ret) {
            sum += num;
        }
    }
    char s1[64];
    tool_cvtstr((double)start, s1, sizeof(s1));
    printf("%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n", sum, count, s1);
    return 0;
}

/* -o of open/reopen: the last one given counts; false after printing a parse error. */
static bool replace_opts(Opts **opts, const char *arg)
{
    Error *err = NULL;
    opts_free(*opts);
    *opts = opts_parse(arg, NULL, &err);
    if (!*opts) {
        error_report_err(err);
        return false;
    }
    return true;
}

/* How the open image was opened, for reopen. */
static struct {
    char *name;
    char *fmt;
    int flags;
    bool writethrough;
    Opts *opts;
} qio_open;

static void forget_open(void)
{
    g_free(qio_open.name);
    g_free(qio_open.fmt);
    opts_free(qio_open.opts);
    memset(&qio_open, 0, sizeof(qio_open));
}

static int open_image(const char *name, const char *fmt, int flags, bool writethrough,
                      Opts *opts)
{
    if (qio_blk) {
        fprintf(stderr, "file open already, try 'help close'\n");
        return 1;
    }
    Error *err = NULL;
    qio_blk = blk_new_open(name, fmt, opts, flags, writethrough, &err);
    if (!qio_blk) {
        error_prepend(&err, "can't open device %s: ", name);
        error_report_err(err);
        return 1;
    }
    blk_set_detect_zeroes(qio_blk, BLOCKDEV_DETECT_ZEROES_OFF);
    forget_open();
    qio_open.name = g_strdup(name);
    qio_open.fmt = g_strdup(fmt ? fmt : bdrv_get_format_name(blk_bs(qio_blk)));
    qio_open.flags = flags;
    qio_open.writethrough = writethrough;
    qio_open.opts = opts ? opts_copy(opts) : NULL;
    return 0;
}

static int open_f(int argc, char **argv)
{
    int flags = BDRV_O_UNMAP | BDRV_O_RDWR;
    bool writethrough = true;
    Opts *opts = NULL;
    int c;
    optind = 0;
    while ((c = getopt(argc, argv, "snCrkUo:t:d:i:")) != -1) {
        switch (c) {
        case 's':
            flags |= BDRV_O_SNAPSHOT;
            break;
        case 'n':
            flags |= BDRV_O_NOCACHE;
            writethrough = false;
            break;
        case 'r':
            flags &= ~BDRV_O_RDWR;
            break;
        case 'k':
            flags |= BDRV_O_NATIVE_AIO;
            break;
        case 'C':
        case 'U':
            break;
        case 't':
            if (!tool_parse_cache(optarg, &flags, &writethrough)) {
                opts_free(opts);
                return -EINVAL;
            }
            break;
        case 'd':
            if (!tool_parse_discard(optarg, &flags)) {
                opts_free(opts);
                return -EINVAL;
            }
            break;
        case 'i':
            if (!tool_parse_aio(optarg, &flags)) {
                opts_free(opts);
                return -EINVAL;
            }
            break;
        case 'o':
            if (!replace_opts(&opts, optarg)) {
                return -EINVAL;
            }
            break;
        default:
            opts_free(opts);
            return bad_option("open");
        }
    }
    const char *fmt = opts ? opts_get(opts, "driver") : NULL;
    if (optind != argc - 1) {
        opts_free(opts);
        return wrong_args("open");
    }
    int r = open_image(argv[optind], fmt, flags, writethrough, opts);
    opts_free(opts);
    return r ? -EINVAL : 0;
}

static int close_f(int argc, char **argv)
{
    blk_unref(qio_blk);
    qio_blk = NULL;
    forget_open();
    return 0;
}

/*
 * reopen: change read-only/read-write, cache mode and driver options of the open
 * image.  The block layer has no in-place reopen, so the image is closed and
 * opened again with the new settings (and with the old ones if that fails).
 */
static int reopen_f(int argc, char **argv)
{
    static const char *const changeable[] = { "l2-cache-size", NULL };
    int flags = qio_open.flags;
    bool writethrough = qio_open.writethrough;
    bool ro = false, rw = false;
    Opts *opts = NULL;
    int c, ret = -EINVAL;
    optind = 0;
    while ((c = getopt(argc, argv, "c:o:rw")) != -1) {
        switch (c) {
        case 'c':
            flags &= ~(BDRV_O_NOCACHE | BDRV_O_NO_FLUSH);
            if (!tool_parse_cache(optarg, &flags, &writethrough)) {
                goto out;
            }
            break;
        case 'o':
            if (!replace_opts(&opts, optarg)) {
                goto out;
            }
            break;
        case 'r':
        case 'w':
            if (ro || rw) {
                error_report("Only one -r/-w option may be given");
                goto out;
            }
            ro = c == 'r';
            rw = c == 'w';
            break;
        default:
            help_oneline(find_cmd("reopen"));
            goto out;
        }
    }
    if (optind != argc) {
        help_oneline(find_cmd("reopen"));
        goto out;
    }
    for (size_t i = 0; opts && i < opts_count(opts); i++) {
        const char *k = opts_key_at(opts, i);
        if (!g_strv_contains(changeable, k)) {
            error_report("Cannot change the option '%s'", k);
            goto out;
        }
    }
    if (qio_open.flags & BDRV_O_SNAPSHOT) {
        error_report("reopen of an image opened with -s (temporary overlay) is not supported");
        ret = -ENOTSUP;
        goto out;
    }
    if (ro) {
        flags &= ~BDRV_O_RDWR;
    } else if (rw) {
        flags |= BDRV_O_RDWR;
    }
    Opts *all = qio_open.opts ? opts_copy(qio_open.opts) : opts_new();
    for (size_t i = 0; opts && i < opts_count(opts); i++) {
        opts_del(all, opts_key_at(opts, i));
        opts_set(all, opts_key_at(opts, i), opts_value_at(opts, i));
    }
    char *name = g_strdup(qio_open.name), *fmt = g_strdup(qio_open.fmt);
    int old_flags = qio_open.flags;
    bool old_wt = qio_open.writethrough;
    Opts *old_opts = qio_open.opts ? opts_copy(qio_open.opts) : NULL;
    blk_drain(qio_blk);
    close_f(0, NULL);
    ret = 0;
    if (open_image(name, fmt, flags, writethrough, all)) {
        ret = -EINVAL;
        open_image(name, fmt, old_flags, old_wt, old_opts);
    }
    opts_free(old_opts);
    opts_free(all);
    g_free(name);
    g_free(fmt);
out:
    opts_free(opts);
    return ret;
}

static int abort_f(int argc, char **argv)
{
    fflush(stdout);
    abort();
}

static int sigraise_f(int argc, char **argv)
{
    int64_t sig = tool_cvtnum(argv[1]);
    if (sig < 0) {
        print_cvtnum_err(sig, argv[1]);
        return -EINVAL;
    }
    if (sig > INT_MAX) {
        printf("signal argument '%s' is too large to be a valid signal\n", argv[1]);
        return -EINVAL;
    }
    /* Whatever the signal does, what was printed so far must be out first. */
    fflush(stdout);
    fflush(stderr);
    raise((int)sig);
    return 0;
}

static int quit_f(int argc, char **argv)
{
    qio_quit = true;
    return 0;
}

static int sleep_f(int argc, char **argv)
{
    char *end;
    long ms = strtol(argv[1], &end, 10);
    if (ms < 0 || *end) {
        printf("%s is not a valid number\n", argv[1]);
        return -EINVAL;
    }
    g_usleep(ms * 1000);
    return 0;
}

static int help_f(int argc, char **argv);

static const Cmd cmdtab[] = {
    { "abort", NULL, abort_f, 0, 0, false, false, NULL,
      "simulate a program crash using abort(3)" },
    { "aio_flush", NULL, aio_flush_f, 0, 0, true, false, NULL,
      "completes all outstanding aio requests" },
    { "aio_read", NULL, aio_read_f, 2, -1, true, false, "[-Ciqv] [-P pattern] off len [len..]",
      "asynchronously reads a number of bytes" },
    { "aio_write", NULL, aio_write_f, 2, -1, true, true,
      "[-Cfiquz] [-P pattern] off len [len..]", "asynchronously writes a number of bytes" },
    { "alloc", NULL, alloc_f, 1, 2, true, false, "offset [count]",
      "checks if offset is allocated in the file" },
    { "close", "c", close_f, 0, 0, true, false, NULL, "close the current open file" },
    { "discard", "d", discard_f, 2, -1, true, true, "[-Cq] off len",
      "discards a number of bytes at a specified offset" },
    { "flush", "f", flush_f, 0, 0, true, false, NULL, "flush all in-core file state to disk" },
    { "help", "?", help_f, 0, 1, false, false, "[command]", "help for one or all commands" },
    { "info", "i", info_f, 0, 0, true, false, NULL, "prints information about the current file" },
    { "length", "l", length_f, 0, 0, true, false, NULL, "gets the length of the current file" },
    { "map", NULL, map_f, 0, 0, true, false, "", "prints the allocated areas of a file" },
    { "open", "o", open_f, 1, -1, false, false, "[-rsCnkU] [-t cache] [-d discard] [-o options] "
      "[path]", "open the file specified by path" },
    { "quit", "q", quit_f, 0, 0, false, false, NULL, "exit the program" },
    { "read", "r", read_f, 2, -1, true, false,
      "[-abCqv] [-P pattern [-s off] [-l len]] off len",
      "reads a number of bytes at a specified offset" },
    { "readv", NULL, readv_f, 2, -1, true, false, "[-Cqv] [-P pattern] off len [len..]",
      "reads a number of bytes at a specified offset" },
    { "reopen", NULL, reopen_f, 0, -1, true, false, "[(-r|-w)] [-c cache] [-o options]",
      "reopens an image with new options" },
    { "sigraise", NULL, sigraise_f, 1, 1, false, false, "signal",
      "raises a signal" },
    { "sleep", NULL, sleep_f, 1, 1, false, false, NULL,
      "waits for the given value in milliseconds" },
    { "truncate", "t", truncate_f, 1, 3, true, true, "[-m prealloc_mode] off",
      "truncates the current file at the given offset" },
    { "write", "w", write_f, 2, -1, true, true,
      "[-bcCfnquz] [-P pattern | -s source_file] off len",
      "writes a number of bytes at a specified offset" },
    { "writev", NULL, writev_f, 2, -1, true, true, "[-Cfq] [-P pattern] off len [len..]",
      "writes a number of bytes at a specified offset" },
};

static const Cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cmdtab); i++) {
        if (!strcmp(cmdtab[i].name, name) ||
            (cmdtab[i].altname && !strcmp(cmdtab[i].altname, name))) {
            return &cmdtab[i];
        }
    }
    return NULL;
}

/* "name [args ]-- oneline", as qemu-io (args NULL: none shown, "": an empty field). */
static void help_oneline(const Cmd *ct)
{
    printf("%s ", ct->name);
    if (ct->args) {
        printf("%s ", ct->args);
    }
    printf("-- %s\n", ct->oneline);
}

static int help_f(int argc, char **argv)
{
    if (argc == 2) {
        const Cmd *ct = find_cmd(argv[1]);
        if (!ct) {
            printf("command %s not found\n", argv[1]);
            return -EINVAL;
        }
        help_oneline(ct);
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(cmdtab); i++) {
        help_oneline(&cmdtab[i]);
    }
    printf("\nUse 'help commandname' for extended help.\n");
    return 0;
}

static int run_command(const char *line)
{
    gchar **argv = g_strsplit_set(line, " \t\n", -1);
    /* Drop empty words produced by repeated separators. */
    int argc = 0;
    for (int i = 0; argv[i]; i++) {
        if (*argv[i]) {
            argv[argc++] = argv[i];
        } else {
            g_free(argv[i]);
        }
    }
    argv[argc] = NULL;
    int ret = 0;
    if (argc == 0) {
        g_free(argv);
        return 0;
    }
    const Cmd *ct = find_cmd(argv[0]);
    if (!ct) {
        fprintf(stderr, "command \"%s\" not found\n", argv[0]);
        ret = -EINVAL;
    } else if (ct->needs_file && !qio_blk) {
        fprintf(stderr, "no file open, try 'help open'\n");
        ret = -EINVAL;
    } else if (argc - 1 < ct->argmin || (ct->argmax >= 0 && argc - 1 > ct->argmax)) {
        if (ct->argmax == -1) {
            fprintf(stderr, "bad argument count %d to %s, expected at least %d arguments\n",
                    argc - 1, ct->name, ct->argmin);
        } else if (ct->argmin == ct->argmax) {
            fprintf(stderr, "bad argument count %d to %s, expected %d arguments\n", argc - 1,
                    ct->name, ct->argmin);
        } else {
            fprintf(stderr, "bad argument count %d to %s, expected between %d and %d "
                    "arguments\n", argc - 1, ct->name, ct->argmin, ct->argmax);
        }
        ret = -EINVAL;
    } else if (ct->writes && blk_is_read_only(qio_blk)) {
        error_report("Block node is read-only");
        ret = -EPERM;
    } else {
        ret = ct->func(argc, argv);
    }
    g_strfreev(argv);
    return ret;
}

static void usage(const char *name)
{
    printf("Usage: %s [OPTIONS]... [-c STRING]... [file]\n"
           "kemu Disk exerciser\n"
           "\n"
           "  -c, --cmd STRING     execute command with its arguments\n"
           "                       from the given string\n"
           "  -f, --format FMT     specifies the block driver to use\n"
           "  -r, --read-only      export read-only\n"
           "  -s, --snapshot       use snapshot file\n"
           "  -n, --nocache        disable host cache, short for -t none\n"
           "  -C, --copy-on-read   enable copy-on-read\n"
           "  -m, --misalign       misalign allocations for O_DIRECT\n"
           "  -k, --native-aio     use kernel AIO implementation\n"
           "                       (Linux only, prefer use of -i)\n"
           "  -i, --aio=MODE       use AIO mode (threads, native or io_uring)\n"
           "  -t, --cache=MODE     use the given cache mode for the image\n"
           "  -d, --discard=MODE   use the given discard mode for the image\n"
           "  -U, --force-share    force shared permissions\n"
           "  -h, --help           display this help and exit\n"
           "  -V, --version        output version information and exit\n"
           "\n"
           "See '%s -c help' for information on available commands.\n", name, name);
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "cmd", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'f' },
        { "read-only", no_argument, NULL, 'r' },
        { "snapshot", no_argument, NULL, 's' },
        { "nocache", no_argument, NULL, 'n' },
        { "copy-on-read", no_argument, NULL, 'C' },
        { "misalign", no_argument, NULL, 'm' },
        { "native-aio", no_argument, NULL, 'k' },
        { "discard", required_argument, NULL, 'd' },
        { "cache", required_argument, NULL, 't' },
        { "aio", required_argument, NULL, 'i' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    error_set_progname(argv[0]);
    /* Line-buffered even into a pipe: a test killing us sees every completed request. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    GPtrArray *cmds = g_ptr_array_new();
    const char *fmt = NULL;
    int flags = BDRV_O_UNMAP;
    bool readonly = false;
    bool writethrough = true;
    int c;
    while ((c = getopt_long(argc, argv, "+hVc:f:rsnCmkd:t:i:T:U", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(error_get_progname());
            return 0;
        case 'V':
            printf("%s version " KEMU_VERSION "\n", error_get_progname());
            return 0;
        case 'c':
            g_ptr_array_add(cmds, optarg);
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'r':
            readonly = true;
            break;
        case 's':
            flags |= BDRV_O_SNAPSHOT;
            break;
        case 'n':
            flags |= BDRV_O_NOCACHE;
            writethrough = false;
            break;
        case 'U':
            flags |= BDRV_O_NO_LOCK;
            break;
        case 'C':
        case 'm':
        case 'T':
            break;
        case 'k':
            flags |= BDRV_O_NATIVE_AIO;
            break;
        case 'd':
            if (!tool_parse_discard(optarg, &flags)) {
                return 1;
            }
            break;
        case 't':
            if (!tool_parse_cache(optarg, &flags, &writethrough)) {
                return 1;
            }
            break;
        case 'i':
            if (!tool_parse_aio(optarg, &flags)) {
                return 1;
            }
            break;
        default:
            usage(error_get_progname());
            return 1;
        }
    }
    if (argc - optind > 1) {
        usage(error_get_progname());
        return 1;
    }
    if (!readonly) {
        flags |= BDRV_O_RDWR;
    }
    if (optind < argc && open_image(argv[optind], fmt, flags, writethrough, NULL)) {
        g_ptr_array_free(cmds, true);
        return 1;
    }
    if (cmds->len) {
        for (guint i = 0; i < cmds->len && !qio_quit; i++) {
            if (run_command(cmds->pdata[i]) < 0) {
                qio_exit_code = 1;
            }
        }
    } else {
        char line[4096];
        while (!qio_quit) {
            if (isatty(STDIN_FILENO)) {
                printf("%s> ", error_get_progname());
                fflush(stdout);
            }
            if (!fgets(line, sizeof(line), stdin)) {
                break;
            }
            if (run_command(line) < 0) {
                qio_exit_code = 1;
            }
        }
    }
    if (qio_blk) {
        blk_drain(qio_blk);
        blk_unref(qio_blk);
    }
    forget_open();
    g_ptr_array_free(cmds, true);
    fflush(stdout);
    return qio_exit_code;
}
