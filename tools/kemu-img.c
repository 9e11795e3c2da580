/*
 * kemu-img: image utility with qemu-img 7.2's sub-commands, options, messages,
 * exit codes and output layouts (human and --output=json), since scripts parse
 * them.  This file: main dispatch, create, info, check, resize, snapshot -l.
 * convert/compare/map live in img-convert.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

#include "config-host.h"
#include "json-writer.h"
#include "kemu-img.h"
#include "kemu/error.h"
#include "kemu/option.h"
#include "tool-util.h"

void img_qprintf(bool quiet, const char *fmt, ...)
{
    if (quiet) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

static bool progress_enabled;
static double progress_last = -1;

void img_progress_init(bool enabled)
{
    progress_enabled = enabled;
    progress_last = -1;
    img_progress_print(0);
}

void img_progress_print(double percent)
{
    if (!progress_enabled) {
        return;
    }
    /* As qemu-img: print when the value moved by more than 1%, and always at 0 and 100. */
    if (progress_last >= 0 && percent <= progress_last + 1.0 && percent >= progress_last - 1.0 &&
        percent != 0.0 && percent != 100.0) {
        return;
    }
    progress_last = percent;
    printf("    (%3.2f/100%%)\r", percent);
    fflush(stdout);
}

void img_progress_at(int64_t done, int64_t total)
{
    img_progress_print(100.0 * done / MAX(total, 1));
}

void img_progress_end(void)
{
    if (progress_enabled) {
        if (progress_last < 100.0) {
            img_progress_print(100.0);
        }
        printf("\n");
    }
}

bool img_one_filename(int argc)
{
    if (optind != argc - 1) {
        error_report("Expecting one image file name");
        return false;
    }
    return true;
}

int img_common_opt(ImgCommon *co, int c, char **argv)
{
    switch (c) {
    case 'f':
        co->fmt = optarg;
        return IMG_OPT_NEXT;
    case 'q':
        co->quiet = true;
        return IMG_OPT_NEXT;
    case 'U':
        co->share = BDRV_O_NO_LOCK;
        return IMG_OPT_NEXT;
    case IMG_OPT_OUTPUT:
        return img_parse_output(optarg, &co->ofmt) ? IMG_OPT_NEXT : 1;
    case IMG_OPT_OBJECT:
        return IMG_OPT_NEXT;
    case IMG_OPT_IMAGE_OPTS:
        co->image_opts = true;
        return IMG_OPT_NEXT;
    case 'h':
        printf("%s\n", co->usage);
        return 0;
    case '?':
    case ':':
        tool_getopt_error(c, argv);
        return co->error_ret;
    default:
        return IMG_OPT_OWN;
    }
}

bool img_parse_output(const char *arg, OutputFormat *fmt)
{
    if (!strcmp(arg, "json")) {
        *fmt = OFORMAT_JSON;
    } else if (!strcmp(arg, "human")) {
        *fmt = OFORMAT_HUMAN;
    } else {
        error_report("--output must be used with human or json as argument.");
        return false;
    }
    return true;
}

BlockBackend *img_open(const char *filename, const char *fmt, int flags, const char *cache,
                       bool quiet)
{
    if ((flags & BDRV_O_NO_LOCK) && (flags & BDRV_O_RDWR)) {
        error_report("Could not open '%s': force-share=on can only be used with read-only "
                     "images", filename);
        return NULL;
    }
    bool writethrough = false;
    if (cache && !tool_parse_cache(cache, &flags, &writethrough)) {
        return NULL;
    }
    Error *err = NULL;
    BlockBackend *blk = blk_new_open(filename, fmt, NULL, flags, writethrough, &err);
    if (!blk) {
        error_prepend(&err, "Could not open '%s': ", filename);
        error_report_err(err);
        return NULL;
    }
    return blk;
}

/* ---- create ---- */

void img_size_error(const char *what)
{
    error_report("%s You may use k, M, G, T, P or E suffixes for", what);
    error_report("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
}

/* Merge "-o a=b,c=d" strings into opts; "help" asks for the option list. */
bool img_add_opts(Opts **opts, const char *str, bool *help)
{
    Error *err = NULL;
    if (opts_str_is_help(str)) {
        *help = true;
        return true;
    }
    Opts *o = opts_parse(str, NULL, &err);
    if (!o) {
        error_report_err(err);
        return false;
    }
    if (opts_wants_help(o)) {
        *help = true;
    }
    if (!*opts) {
        *opts = opts_new();
    }
    for (size_t i = 0; i < opts_count(o); i++) {
        if (strcmp(opts_key_at(o, i), "help") != 0) {
            opts_set(*opts, opts_key_at(o, i), opts_value_at(o, i));
        }
    }
    opts_free(o);
    return true;
}

/* Create an image, printing "Formatting ..." unless quiet.  Shared with convert. */
int img_do_create(const char *fmt, const char *filename, Opts *opts, bool quiet)
{
    return img_do_create_ctx(fmt, filename, opts, quiet, NULL);
}

int img_do_create_ctx(const char *fmt, const char *filename, Opts *opts, bool quiet,
                      const char *context)
{
    Error *err = NULL;
    char *summary = NULL;
    int ret = bdrv_create(fmt, filename, opts, &summary, &err);
    if (summary) {
        img_qprintf(quiet, "Formatting '%s', %s\n", filename, summary);
        fflush(stdout);
        g_free(summary);
    }
    if (ret < 0) {
        if (context) {
            error_prepend(&err, "%s: %s: ", filename, context);
        } else {
            error_prepend(&err, "%s: ", filename);
        }
        error_report_err(err);
        return 1;
    }
    return 0;
}

static int img_create(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'O' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = "raw", *base = NULL, *base_fmt = NULL;
    bool quiet = false, unsafe = false, help = false;
    Opts *opts = NULL;
    int c, ret = 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":F:b:f:ho:qu", long_options, NULL)) != -1) {
        switch (c) {
        case 'F':
            base_fmt = optarg;
            break;
        case 'b':
            base = optarg;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'o':
            if (!img_add_opts(&opts, optarg, &help)) {
                goto out;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'u':
            unsafe = true;
            break;
        case 'h':
            printf("create [--object objectdef] [-q] [-f fmt] [-b backing_file [-F backing_fmt]] "
                   "[-u] [-o options] filename [size]\n");
            ret = 0;
            goto out;
        default:
            tool_getopt_error(c, argv);
            goto out;
        }
    }
    if (!bdrv_find_format(fmt)) {
        error_report("Unknown file format '%s'", fmt);
        goto out;
    }
    if (help) {
        bdrv_print_create_options(fmt, optind < argc);    /* with a filename: its protocol's too */
        ret = 0;
        goto out;
    }
    if (optind >= argc) {
        error_report("Expecting image file name");
        goto out;
    }
    const char *filename = argv[optind++];
    if (!opts) {
        opts = opts_new();
    }
    if (optind < argc) {
        uint64_t size;
        if (!parse_size(argv[optind], &size) || size > INT64_MAX) {
            img_size_error("Invalid image size specified.");
            goto out;
        }
        char *s = g_strdup_printf("%" PRIu64, size);
        opts_set(opts, "size", s);
        g_free(s);
        optind++;
    }
    if (optind != argc) {
        error_report("Unexpected argument: %s", argv[optind]);
        goto out;
    }
    if (base) {
        opts_set(opts, "backing_file", base);
    }
    if (base_fmt) {
        opts_set(opts, "backing_fmt", base_fmt);
    }
    base = opts_get(opts, "backing_file");
    base_fmt = opts_get(opts, "backing_fmt");
    if (base && strcmp(fmt, "qcow2") != 0) {
        error_report("%s: Backing file not supported for file format '%s'", filename, fmt);
        goto out;
    }
    if (base && (!base_fmt || !opts_has(opts, "size")) && !unsafe) {
        /* Open the backing file: it supplies the size and must exist. */
        char *path = bdrv_path_combine(filename, base);
        Error *err = NULL;
        BlockDriverState *bbs = bdrv_open(path, base_fmt, NULL, BDRV_O_NO_BACKING, &err);
        g_free(path);
        if (!bbs) {
            error_prepend(&err, "%s: ", filename);
            error_report_err(err);
            error_report("Could not open backing image.");
            goto out;
        }
        if (!base_fmt) {
            error_report("%s: Backing file specified without backing format", filename);
            fprintf(stderr, "Detected format of %s.", bdrv_get_format_name(bbs));
            bdrv_unref(bbs);
            goto out;
        }
        if (!opts_has(opts, "size")) {
            char *s = g_strdup_printf("%" PRId64, bdrv_getlength(bbs));
            opts_set(opts, "size", s);
            g_free(s);
        }
        bdrv_unref(bbs);
    } else if (base && !base_fmt) {
        error_report("%s: Backing file specified without backing format", filename);
        goto out;
    }
    if (!opts_has(opts, "size")) {
        error_report("%s: Image creation needs a size parameter", filename);
        goto out;
    }
    ret = img_do_create(fmt, filename, opts, quiet);
out:
    opts_free(opts);
    return ret;
}

/* ---- info ---- */

static void dump_snapshot_header(void)
{
    printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
}

static void dump_snapshot(const BlockSnapshotInfo *sn)
{
    char date[128], clock_buf[128], icount[32] = "";
    time_t t = sn->date_sec;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    uint64_t secs = sn->vm_clock_nsec / 1000000000ULL;
    snprintf(clock_buf, sizeof(clock_buf), "%02d:%02d:%02d.%03d", (int)(secs / 3600),
             (int)((secs / 60) % 60), (int)(secs % 60),
             (int)((sn->vm_clock_nsec / 1000000) % 1000));
    char *size = tool_size_to_str(sn->vm_state_size);
    if (sn->icount != UINT64_MAX) {
        snprintf(icount, sizeof(icount), "%" PRIu64, sn->icount);
    }
    printf("%-9s %-16s %8s%20s%13s%11s\n", sn->id, sn->name, size, date, clock_buf, icount);
    g_free(size);
}

/* "Snapshot list:" and the table, when the image has snapshots (info and snapshot -l). */
static void dump_snapshot_list(BlockDriverState *bs)
{
    BlockSnapshotInfo *sn = NULL;
    int n = bdrv_snapshot_list(bs, &sn);
    if (n > 0) {
        printf("Snapshot list:\n");
        dump_snapshot_header();
        for (int i = 0; i < n; i++) {
            dump_snapshot(&sn[i]);
        }
        bdrv_snapshot_list_free(sn, n);
    } else {
        g_free(sn);
    }
}

static void info_json(JsonWriter *w, BlockDriverState *bs, const char *filename)
{
    BlockDriverInfo bdi;
    bool has_bdi = bdrv_get_info(bs, &bdi) == 0;
    BlockSnapshotInfo *sn = NULL;
    int nsn = bdrv_snapshot_list(bs, &sn);
    json_start_object(w, NULL);
    if (nsn > 0) {
        json_start_array(w, "snapshots");
        for (int i = 0; i < nsn; i++) {
            json_start_object(w, NULL);
            if (sn[i].icount != UINT64_MAX) {
                json_uint(w, "icount", sn[i].icount);
            }
            json_uint(w, "vm-clock-nsec", sn[i].vm_clock_nsec % 1000000000ULL);
            json_str(w, "name", sn[i].name);
            json_uint(w, "date-sec", sn[i].date_sec);
            json_uint(w, "date-nsec", sn[i].date_nsec);
            json_uint(w, "vm-clock-sec", sn[i].vm_clock_nsec / 1000000000ULL);
            json_str(w, "id", sn[i].id);
            json_uint(w, "vm-state-size", sn[i].vm_state_size);
            json_end_object(w);
        }
        json_end_array(w);
    }
    const char *bfmt = bdrv_get_backing_format(bs);
    const char *bfile = bdrv_get_backing_filename(bs);
    if (bfile[0] && bfmt[0]) {
        json_str(w, "backing-filename-format", bfmt);
    }
    json_int(w, "virtual-size", bdrv_getlength(bs));
    json_str(w, "filename", filename);
    if (has_bdi && bdi.cluster_size) {
        json_int(w, "cluster-size", bdi.cluster_size);
    }
    json_str(w, "format", bdrv_get_format_name(bs));
    int64_t actual = bdrv_get_allocated_file_size(bs);
    if (actual >= 0) {
        json_int(w, "actual-size", actual);
    }
    if (has_bdi && bdi.has_qcow2_info) {
        json_start_object(w, "format-specific");
        json_str(w, "type", "qcow2");
        json_start_object(w, "data");
        json_str(w, "compat", bdi.qcow_version >= 3 ? "1.1" : "0.10");
        json_str(w, "compression-type", bdi.compression_type);
        if (bdi.qcow_version >= 3) {
            json_bool(w, "lazy-refcounts", bdi.lazy_refcounts);
        }
        json_int(w, "refcount-bits", bdi.refcount_bits);
        if (bdi.data_file) {
            json_str(w, "data-file", bdi.data_file);
        }
        if (bdi.has_data_file) {
            json_bool(w, "data-file-raw", bdi.data_file_raw);
        }
        if (bdi.qcow_version >= 3) {
            json_bool(w, "corrupt", bdi.corrupt);
            json_bool(w, "extended-l2", bdi.extended_l2);
        }
        json_end_object(w);
        json_end_object(w);
    }
    if (bfile[0]) {
        json_str(w, "full-backing-filename", bdrv_get_full_backing_filename(bs));
        json_str(w, "backing-filename", bfile);
    }
    json_bool(w, "dirty-flag", has_bdi && bdi.is_dirty);
    json_end_object(w);
    if (nsn > 0) {
        bdrv_snapshot_list_free(sn, nsn);
    } else {
        g_free(sn);
    }
}

static void info_human(BlockDriverState *bs, const char *filename)
{
    BlockDriverInfo bdi;
    bool has_bdi = bdrv_get_info(bs, &bdi) == 0;
    int64_t size = bdrv_getlength(bs);
    char *vs = tool_size_to_str(size);
    printf("image: %s\n", filename);
    printf("file format: %s\n", bdrv_get_format_name(bs));
    printf("virtual size: %s (%" PRId64 " bytes)\n", vs, size);
    g_free(vs);
    int64_t actual = bdrv_get_allocated_file_size(bs);
    if (actual >= 0) {
        char *ds = tool_size_to_str(actual);
        printf("disk size: %s\n", ds);
        g_free(ds);
    } else {
        printf("disk size: unavailable\n");
    }
    if (has_bdi && bdi.cluster_size) {
        printf("cluster_size: %" PRId64 "\n", bdi.cluster_size);
    }
    if (has_bdi && bdi.is_dirty) {
        printf("cleanly shut down: no\n");
    }
    const char *bfile = bdrv_get_backing_filename(bs);
    if (bfile[0]) {
        const char *full = bdrv_get_full_backing_filename(bs);
        printf("backing file: %s", bfile);
        if (strcmp(bfile, full) != 0) {
            printf(" (actual path: %s)", full);
        }
        printf("\n");
        if (bdrv_get_backing_format(bs)[0]) {
            printf("backing file format: %s\n", bdrv_get_backing_format(bs));
        }
    }
    dump_snapshot_list(bs);
    if (has_bdi) {
        tool_print_format_info(&bdi);
    }
}

static int img_info(int argc, char **argv)
{
    static const struct option long_options[] = {
        IMG_LONG_COMMON,
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, 'c' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommon co = {
        .usage = "info [--object objectdef] [--image-opts] [-f fmt] [--output=ofmt] "
                 "[--backing-chain] [-U] filename",
        .error_ret = 1,
    };
    bool chain = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":f:hU", long_options, NULL)) != -1) {
        int r = img_common_opt(&co, c, argv);
        if (r >= 0) {
            return r;
        }
        chain |= c == 'c';
    }
    if (!img_one_filename(argc)) {
        return 1;
    }
    const char *fmt = co.fmt;
    OutputFormat ofmt = co.ofmt;
    int share = co.share;
    GPtrArray *seen = g_ptr_array_new_with_free_func(g_free);
    JsonWriter w;
    json_init(&w);
    if (chain && ofmt == OFORMAT_JSON) {
        json_start_array(&w, NULL);
    }
    char *filename = g_strdup(argv[optind]);
    char *cur_fmt = g_strdup(fmt);
    int ret = 0;
    bool first = true;
    while (filename) {
        for (guint i = 0; i < seen->len; i++) {
            if (!strcmp(seen->pdata[i], filename)) {
                error_report("Backing file '%s' creates an infinite loop.", filename);
                ret = 1;
                goto out;
            }
        }
        g_ptr_array_add(seen, g_strdup(filename));
        BlockBackend *blk = img_open(filename, cur_fmt, BDRV_O_NO_BACKING | BDRV_O_NO_IO | share,
                                     NULL, false);
        if (!blk) {
            ret = 1;
            goto out;
        }
        BlockDriverState *bs = blk_bs(blk);
        if (ofmt == OFORMAT_JSON) {
            info_json(&w, bs, filename);
        } else {
            if (!first) {
                printf("\n");
            }
            info_human(bs, filename);
        }
        first = false;
        char *next = NULL;
        char *next_fmt = NULL;
        if (chain && bdrv_get_backing_filename(bs)[0]) {
            next = g_strdup(bdrv_get_full_backing_filename(bs));
            next_fmt = bdrv_get_backing_format(bs)[0] ? g_strdup(bdrv_get_backing_format(bs))
                                                      : NULL;
        }
        blk_unref(blk);
        g_free(filename);
        g_free(cur_fmt);
        filename = next;
        cur_fmt = next_fmt;
    }
    if (ofmt == OFORMAT_JSON) {
        if (chain) {
            json_end_array(&w);
        }
        char *s = json_finish(&w);
        printf("%s\n", s);
        g_free(s);
        w.out = NULL;
    }
out:
    if (w.out) {
        g_free(json_finish(&w));
    }
    g_free(filename);
    g_free(cur_fmt);
    g_ptr_array_free(seen, true);
    return ret;
}

/* ---- check ---- */

static void check_print(const BdrvCheckResult *r, const char *filename, const char *fmt,
                        OutputFormat ofmt, bool quiet)
{
    if (ofmt == OFORMAT_JSON) {
        /* Keys in the order qemu-img prints them (its dictionary's bucket order). */
        JsonWriter w;
        json_init(&w);
        json_start_object(&w, NULL);
        json_int(&w, "image-end-offset", r->image_end_offset);
        if (r->compressed_clusters) {
            json_uint(&w, "compressed-clusters", r->compressed_clusters);
        }
        json_uint(&w, "total-clusters", r->total_clusters);
        if (r->corruptions) {
            json_int(&w, "corruptions", r->corruptions);
        }
        if (r->corruptions_fixed) {
            json_int(&w, "corruptions-fixed", r->corruptions_fixed);
        }
        json_int(&w, "check-errors", r->check_errors);
        if (r->leaks) {
            json_int(&w, "leaks", r->leaks);
        }
        if (r->leaks_fixed) {
            json_int(&w, "leaks-fixed", r->leaks_fixed);
        }
        if (r->allocated_clusters) {
            json_uint(&w, "allocated-clusters", r->allocated_clusters);
        }
        json_str(&w, "filename", filename);
        json_str(&w, "format", fmt);
        if (r->fragmented_clusters) {
            json_uint(&w, "fragmented-clusters", r->fragmented_clusters);
        }
        json_end_object(&w);
        char *s = json_finish(&w);
        printf("%s\n", s);
        g_free(s);
        return;
    }
    if (r->corruptions == 0 && r->leaks == 0 && r->check_errors == 0) {
        img_qprintf(quiet, "No errors were found on the image.\n");
    } else {
        if (r->corruptions) {
            img_qprintf(quiet, "\n%d errors were found on the image.\n"
                        "Data may be corrupted, or further writes to the image may corrupt it.\n",
                        r->corruptions);
        }
        if (r->leaks) {
            img_qprintf(quiet, "\n%d leaked clusters were found on the image.\n"
                        "This means waste of disk space, but no harm to data.\n", r->leaks);
        }
        if (r->check_errors) {
            img_qprintf(quiet, "\n%d internal errors have occurred during the check.\n",
                        r->check_errors);
        }
    }
    if (r->total_clusters != 0 && r->allocated_clusters != 0) {
        img_qprintf(quiet, "%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, "
                    "%0.2f%% compressed clusters\n", r->allocated_clusters, r->total_clusters,
                    r->allocated_clusters * 100.0 / r->total_clusters,
                    r->fragmented_clusters * 100.0 / r->allocated_clusters,
                    r->compressed_clusters * 100.0 / r->allocated_clusters);
    }
    if (r->image_end_offset > 0) {
        img_qprintf(quiet, "Image end offset: %" PRId64 "\n", r->image_end_offset);
    }
}

static int img_check(int argc, char **argv)
{
    static const struct option long_options[] = {
        IMG_LONG_COMMON,
        { "format", required_argument, NULL, 'f' },
        { "repair", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommon co = {
        .usage = "check [--object objectdef] [--image-opts] [-q] [-f fmt] [--output=ofmt] "
                 "[-r [leaks | all]] [-T src_cache] [-U] filename",
        .error_ret = 1,
    };
    const char *cache = "writeback";
    int fix = 0;
    int flags = BDRV_O_CHECK;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:r:T:qU", long_options, NULL)) != -1) {
        int r = img_common_opt(&co, c, argv);
        if (r >= 0) {
            return r;
        }
        switch (c) {
        case 'r':
            flags |= BDRV_O_RDWR;
            if (!strcmp(optarg, "leaks")) {
                fix = BDRV_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
            } else {
                error_report("Unknown option value for -r (expecting 'leaks' or 'all'): %s",
                             optarg);
                return 1;
            }
            break;
        case 'T':
            cache = optarg;
            break;
        }
    }
    const char *fmt = co.fmt;
    OutputFormat ofmt = co.ofmt;
    bool quiet = co.quiet;
    flags |= co.share;
    if (!img_one_filename(argc)) {
        return 1;
    }
    const char *filename = argv[optind];
    BlockBackend *blk = img_open(filename, fmt, flags, cache, quiet);
    if (!blk) {
        return 1;
    }
    BlockDriverState *bs = blk_bs(blk);
    if (!bdrv_can_check(bs)) {
        error_report("This image format does not support checks");
        blk_unref(blk);
        return 63;
    }
    BdrvCheckResult r;
    int ret = bdrv_check(bs, &r, fix);
    if (ret == 0 && fix && (r.corruptions_fixed || r.leaks_fixed)) {
        img_qprintf(quiet || ofmt == OFORMAT_JSON,
                    "The following inconsistencies were found and repaired:\n\n"
                    "    %d leaked clusters\n"
                    "    %d corruptions\n\n"
                    "Double checking the fixed image now...\n", r.leaks_fixed,
                    r.corruptions_fixed);
        int leaks_fixed = r.leaks_fixed, corruptions_fixed = r.corruptions_fixed;
        ret = bdrv_check(bs, &r, 0);
        r.leaks_fixed = leaks_fixed;
        r.corruptions_fixed = corruptions_fixed;
    }
    if (ret < 0) {
        error_report("Check failed: %s", strerror(-ret));
        blk_unref(blk);
        return 1;
    }
    check_print(&r, filename, bdrv_get_format_name(bs), ofmt, quiet);
    blk_unref(blk);
    if (r.check_errors) {
        error_report("Check failed");
        return 1;
    }
    if (r.corruptions) {
        return 2;
    }
    if (r.leaks) {
        return 3;
    }
    return 0;
}

/* ---- resize ---- */

static int img_resize(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "preallocation", required_argument, NULL, 'p' },
        { "shrink", no_argument, NULL, 's' },
        { "object", required_argument, NULL, 'O' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    bool quiet = false, shrink = false;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    /* Sizes may be negative ("-1G"): stop option parsing at them. */
    if (argc >= 2 && argv[argc - 1][0] == '-' && g_ascii_isdigit(argv[argc - 1][1])) {
        argv[argc - 1][0] = '~';
    }
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":f:hqU", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'p': {
            int m = prealloc_mode_parse(optarg);
            if (m < 0) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return 1;
            }
            prealloc = m;
            break;
        }
        case 's':
            shrink = true;
            break;
        case 'U':
        case 'O':
        case 'I':
            break;
        case 'h':
            printf("resize [--object objectdef] [--image-opts] [-f fmt] [--preallocation=prealloc] "
                   "[-q] [--shrink] filename [+ | -]size\n");
            return 0;
        default:
            tool_getopt_error(c, argv);
            return 1;
        }
    }
    if (optind != argc - 2) {
        error_report("Expecting image file name and size");
        return 1;
    }
    const char *filename = argv[optind];
    char *size_s = argv[optind + 1];
    int sign = 0;
    if (size_s[0] == '+') {
        sign = 1;
        size_s++;
    } else if (size_s[0] == '~') {
        sign = -1;
        size_s++;
    }
    uint64_t n;
    if (!parse_size(size_s, &n) || n > INT64_MAX) {
        if (*size_s && strspn(size_s, "0123456789") == strlen(size_s)) {
            error_report("Value '%s' is out of range for parameter 'size'", size_s);
        } else {
            error_report("Parameter 'size' expects a non-negative number below 2^64");
            fprintf(stderr, "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, "
                    "tera-, peta-\nand exabytes, respectively.\n");
        }
        return 1;
    }
    BlockBackend *blk = img_open(filename, fmt, BDRV_O_RDWR, NULL, quiet);
    if (!blk) {
        return 1;
    }
    int64_t cur = blk_getlength(blk);
    int64_t total = sign > 0 ? cur + (int64_t)n : sign < 0 ? cur - (int64_t)n : (int64_t)n;
    int ret = 1;
    if (total < 0) {
        error_report("New image size must be positive");
        goto out;
    }
    if (total < cur && !shrink) {
        error_report("Use the --shrink option to perform a shrink operation.");
        goto out;
    }
    if (total < cur && prealloc != PREALLOC_MODE_OFF) {
        error_report("Preallocation can only be used for growing images");
        goto out;
    }
    Error *err = NULL;
    if (blk_truncate(blk, total, false, prealloc, &err) < 0) {
        error_report_err(err);
        goto out;
    }
    img_qprintf(quiet, "Image resized.\n");
    ret = 0;
out:
    blk_unref(blk);
    return ret;
}

/* ---- snapshot ---- */

static int img_snapshot(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'O' },
        { "image-opts", no_argument, NULL, 'I' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    char action = 0;
    const char *name = NULL;
    bool quiet = false;
    int share = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":la:c:d:f:hqU", long_options, NULL)) != -1) {
        switch (c) {
        case 'l':
        case 'a':
        case 'c':
        case 'd':
            if (action) {
                error_report("Cannot mix '-l', '-a', '-c', '-d'");
                return 1;
            }
            action = c;
            name = optarg;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            share = BDRV_O_NO_LOCK;
            break;
        case 'O':
        case 'I':
            break;
        case 'h':
            printf("snapshot [--object objectdef] [--image-opts] [-U] [-q] "
                   "[-l | -a snapshot | -c snapshot | -d snapshot] filename\n");
            return 0;
        default:
            tool_getopt_error(c, argv);
            return 1;
        }
    }
    if (!img_one_filename(argc)) {
        return 1;
    }
    bool list = !action || action == 'l';
    BlockBackend *blk = img_open(argv[optind], fmt,
                                 BDRV_O_NO_BACKING | share | (list ? 0 : BDRV_O_RDWR), NULL,
                                 quiet);
    if (!blk) {
        return 1;
    }
    if (!list) {
        Error *err = NULL;
        int ret;
        const char *what;
        if (action == 'c') {
            what = "create";
            ret = bdrv_snapshot_create(blk_bs(blk), name, &err);
        } else if (action == 'a') {
            what = "apply";
            ret = bdrv_snapshot_goto(blk_bs(blk), name, &err);
        } else {
            what = "delete";
            ret = bdrv_snapshot_delete(blk_bs(blk), name, &err);
        }
        if (ret < 0) {
            error_prepend(&err, "Could not %s snapshot '%s': ", what, name);
            error_report_err(err);
        }
        blk_unref(blk);
        return ret < 0 ? 1 : 0;
    }
    dump_snapshot_list(blk_bs(blk));
    blk_unref(blk);
    return 0;
}

/* ---- main ---- */

typedef struct ImgCmd {
    const char *name;
    int (*handler)(int argc, char **argv);
} ImgCmd;


static const ImgCmd img_cmds[] = {
    { "amend", img_amend },
    { "bench", img_bench },
    { "check", img_check },
    { "commit", img_commit },
    { "compare", img_compare },
    { "convert", img_convert },
    { "create", img_create },
    { "dd", img_dd },
    { "info", img_info },
    { "map", img_map },
    { "measure", img_measure },
    { "rebase", img_rebase },
    { "resize", img_resize },
    { "snapshot", img_snapshot },
};

void img_help(void)
{
    printf("kemu-img version " KEMU_VERSION "\n"
           "usage: kemu-img [standard options] command [command options]\n"
           "QEMU disk image utility\n"
           "\n"
           "    '-h', '--help'       display this help and exit\n"
           "    '-V', '--version'    output version information and exit\n"
           "\n"
           "Command syntax:\n"
           "  check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-T src_cache] filename\n"
           "  compare [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] filename1 filename2\n"
           "  convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] "
           "[-o options] [-S sparse_size] filename [filename2 [...]] output_filename\n"
           "  create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] "
           "filename [size]\n"
           "  info [-f fmt] [--output=ofmt] [--backing-chain] filename\n"
           "  map [-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] filename\n"
           "  resize [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size\n"
           "  snapshot [-q] -l filename\n"
           "\n"
           "Supported formats: ");
    char *list = bdrv_format_list();
    printf("%s\n", list);
    g_free(list);
}

static int usage_error(const char *bad_option)
{
    if (bad_option) {
        error_report("Invalid option '%s'", bad_option);
    } else {
        error_report("Not enough arguments");
    }
    fprintf(stderr, "Try '%s --help' for more information\n", error_get_progname());
    return 1;
}

int main(int argc, char **argv)
{
    error_set_progname(argv[0]);
    if (argc < 2) {
        return usage_error(NULL);
    }
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            img_help();
            return 0;
        }
        if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("%s version " KEMU_VERSION "\n", error_get_progname());
            return 0;
        }
        if (!strcmp(argv[i], "-T") || !strcmp(argv[i], "--trace")) {
            i += 2;
            continue;
        }
        return usage_error(argv[i]);
    }
    if (i >= argc) {
        return usage_error(NULL);
    }
    for (size_t k = 0; k < G_N_ELEMENTS(img_cmds); k++) {
        if (!strcmp(img_cmds[k].name, argv[i])) {
            int ret = img_cmds[k].handler(argc - i, argv + i);
            fflush(stdout);
            return ret;
        }
    }
    error_report("Command not found: %s", argv[i]);
    return 1;
}
