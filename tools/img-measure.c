/*
 * kemu-img measure, with qemu-img 7.2's options, checks (in its order), messages and
 * output.  The qcow2 sizes follow the qcow2 spec's layout: header, L1 and L2 tables,
 * refcount table and blocks found as a fixed point, and a LUKS header (8 key slots
 * of 4000 anti-forensic stripes) rounded up to a cluster when the image is encrypted.
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

/* Formats qemu-img 7.2 knows and kemu has no driver for: none of them can measure. */
static const char *const foreign_formats[] = {
    "blkdebug", "blklogwrites", "blkverify", "bochs", "cloop", "compress", "copy-before-write",
    "copy-on-read", "dmg", "ftp", "ftps", "gluster", "host_cdrom", "host_device", "http",
    "https", "iscsi", "iser", "luks", "nbd", "nfs", "null-aio", "null-co", "nvme", "parallels",
    "preallocate", "qcow", "qed", "quorum", "rbd", "replication", "snapshot-access", "ssh",
    "throttle", "vdi", "vhdx", "vmdk", "vpc", "vvfat", NULL,
};

/* qcow2's encrypt.* options beyond its create table (LUKS parameters). */
static const BlockCreateOption qcow2_luks_opts[] = {
    { "encrypt.key-secret", "str", NULL, NULL },
    { "encrypt.cipher-alg", "str", NULL, NULL },
    { "encrypt.cipher-mode", "str", NULL, NULL },
    { "encrypt.ivgen-alg", "str", NULL, NULL },
    { "encrypt.ivgen-hash-alg", "str", NULL, NULL },
    { "encrypt.hash-alg", "str", NULL, NULL },
    { "encrypt.iter-time", "num", NULL, NULL },
    { NULL },
};

typedef struct MeasureArgs {
    const char *fmt, *out_fmt, *filename;
    OutputFormat ofmt;
    int64_t size;
    int share;
    bool image_opts, has_snapshot;
    SnapshotParam snapshot;
    GString *opts;          /* the -o lists joined by ',' */
    GPtrArray *secrets;     /* ids of --object secret,... */
} MeasureArgs;

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++) {
        if (!strcmp(*list, s)) {
            return true;
        }
    }
    return false;
}

/* qemu-img refuses an empty -o list and one that starts or ends with a separator. */
static bool valid_option_list(const char *s)
{
    size_t len = strlen(s), commas = 0;
    while (commas < len && s[len - 1 - commas] == ',') {
        commas++;
    }
    return len && s[0] != ',' && commas % 2 == 0;
}

/* --size: qemu-img's two messages (not a size / out of range). */
static bool parse_measure_size(const char *arg, int64_t *out)
{
    uint64_t v;
    if (parse_size(arg, &v) && v <= INT64_MAX) {
        *out = (int64_t)v;
        return true;
    }
    /* Digits with an optional fraction and suffix: a size, only too large. */
    size_t digits = strspn(arg, "0123456789");
    const char *end = arg + digits;
    if (digits && *end == '.') {
        end += 1 + strspn(end + 1, "0123456789");
    }
    if (digits && (!*end || (!end[1] && strchr("bkKMGTPE", *end)))) {
        error_report("Invalid image size specified. Must be between 0 and %" PRId64 ".",
                     INT64_MAX);
    } else {
        img_size_error("Invalid image size specified.");
    }
    return false;
}

/* --object secret,id=ID,...: remember the id for encrypt.key-secret. */
static void add_object(MeasureArgs *a, const char *arg)
{
    Opts *o = opts_parse(arg, "qom-type", NULL);
    if (o && !g_strcmp0(opts_get(o, "qom-type"), "secret") && opts_get(o, "id")) {
        g_ptr_array_add(a->secrets, g_strdup(opts_get(o, "id")));
    }
    opts_free(o);
}

static void measure_usage(void)
{
    printf("measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | "
           "[--object objectdef] [--image-opts] [-f fmt] [-l snapshot_param] filename]\n");
}

/* One getopt option; false when measure ends (*ret says how). */
static bool measure_opt(MeasureArgs *a, int c, char **argv, int *ret)
{
    switch (c) {
    case 'f':
        a->fmt = optarg;
        return true;
    case 'O':
        a->out_fmt = optarg;
        return true;
    case 'o':
        if (!valid_option_list(optarg)) {
            error_report("Invalid option list: %s", optarg);
            return false;
        }
        g_string_append_printf(a->opts, "%s%s", a->opts->len ? "," : "", optarg);
        return true;
    case 'l':
        a->has_snapshot = true;
        return img_parse_snapshot_param(optarg, &a->snapshot);
    case 'J':
        return img_parse_output(optarg, &a->ofmt);
    case 's':
        return parse_measure_size(optarg, &a->size);
    case 'U':
        a->share = BDRV_O_NO_LOCK;
        return true;
    case 'I':
        a->image_opts = true;
        return true;
    case 'Y':
        add_object(a, optarg);
        return true;
    case 'h':
        measure_usage();
        *ret = 0;
        return false;
    default:
        /* qemu-img 7.2's measure lets getopt report it, then shows the help: exit 0. */
        img_help();
        *ret = 0;
        return false;
    }
}

static bool measure_getopt(MeasureArgs *a, int argc, char **argv, int *ret)
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
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "hf:O:o:l:U", long_options, NULL)) != -1) {
        if (!measure_opt(a, c, argv, ret)) {
            return false;
        }
    }
    if (optind < argc - 1) {
        error_report("At most one filename argument is allowed.");
        return false;
    }
    a->filename = optind < argc ? argv[optind] : NULL;
    if (!a->filename && (a->image_opts || a->fmt || a->has_snapshot)) {
        error_report("--image-opts, -f, and -l require a filename argument.");
        return false;
    }
    if (a->filename && a->size >= 0) {
        error_report("--size N cannot be used together with a filename.");
        return false;
    }
    if (!a->filename && a->size < 0) {
        error_report("Either --size N or one filename must be specified.");
        return false;
    }
    if (a->image_opts && a->fmt) {
        error_report("--image-opts and --format are mutually exclusive");
        return false;
    }
    return true;
}

/* The source image (at the -l snapshot), or NULL with the error printed. */
static BlockBackend *measure_open(MeasureArgs *a)
{
    BlockBackend *blk = img_open_source(a->filename, a->image_opts, a->fmt, a->share, NULL,
                                        false);
    if (blk && a->has_snapshot) {
        BlockBackend *snap = img_open_snapshot(blk, &a->snapshot, "writeback", a->share);
        blk_unref(blk);
        blk = snap;
    }
    return blk;
}

/* A number option as qemu parses it: a negative value wraps around ("-1" is 2^64 - 1). */
static uint64_t opts_get_num(const Opts *opts, const char *key, uint64_t def, Error **errp)
{
    const char *v = opts_get(opts, key);
    if (!v) {
        return def;
    }
    char *end;
    errno = 0;
    uint64_t n = strtoull(v, &end, 0);
    if (!*v || *end || errno) {
        error_setg(errp, "Parameter '%s' expects a number", key);
        return def;
    }
    return n;
}

static const BlockCreateOption *find_create_opt(const BlockCreateOption *table, const char *key)
{
    for (const BlockCreateOption *o = table; o && o->name; o++) {
        if (!strcmp(o->name, key)) {
            return o;
        }
    }
    return NULL;
}

/* Check one -o value against its type, as qemu-img parses -o for the target format. */
static bool check_create_opt(const Opts *opts, const BlockCreateOption *o, Error **errp)
{
    Error *err = NULL;
    if (!strcmp(o->type, "size")) {
        opts_get_size(opts, o->name, 0, &err);
    } else if (!strcmp(o->type, "num")) {
        opts_get_num(opts, o->name, 0, &err);
    } else if (g_str_has_prefix(o->type, "bool")) {
        opts_get_bool(opts, o->name, false, &err);
    }
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

/* The -o lists as options of the target format, or NULL with qemu-img's errors printed. */
static Opts *measure_parse_opts(const BlockDriver *drv, const char *str)
{
    Error *err = NULL;
    Opts *opts = opts_parse(str, NULL, &err);
    for (size_t i = 0; opts && i < opts_count(opts); i++) {
        const char *key = opts_key_at(opts, i);
        const BlockCreateOption *o = find_create_opt(drv->create_opts, key);
        if (!o && drv == &bdrv_qcow2) {
            o = find_create_opt(qcow2_luks_opts, key);
        }
        if (!o) {
            error_setg(&err, "Invalid parameter '%s'", key);
        }
        if (!o || !check_create_opt(opts, o, &err)) {
            opts_free(opts);
            opts = NULL;
        }
    }
    if (!opts) {
        error_report_err(err);
        error_report("Invalid options for file format '%s'", drv->format_name);
    }
    return opts;
}

/* ---- qcow2 ---- */

static int64_t round_up(int64_t n, int64_t align)
{
    return (n + align - 1) / align * align;
}

typedef struct Qcow2Measure {
    int64_t cluster_size;
    int refcount_order;
    bool extended_l2;
    bool prealloc_data;     /* preallocation=falloc/full: all data counts as allocated */
    int64_t luks_size;      /* LUKS header, whole clusters */
} Qcow2Measure;

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

/* encrypt.<key> of a LUKS image must be one of values (NULL-terminated). */
static bool luks_enum(const Opts *opts, const char *key, const char *const *values)
{
    char *name = g_strdup_printf("encrypt.%s", key);
    const char *v = opts_get(opts, name);
    g_free(name);
    if (v && !in_list(values, v)) {
        error_report("Parameter '%s' does not accept value '%s'", key, v);
        return false;
    }
    return true;
}

static bool luks_enums_valid(const Opts *opts)
{
    static const char *const algs[] = {
        "aes-128", "aes-192", "aes-256", "des", "3des", "cast5-128", "serpent-128",
        "serpent-192", "serpent-256", "twofish-128", "twofish-192", "twofish-256", NULL,
    };
    static const char *const modes[] = { "ecb", "cbc", "xts", "ctr", NULL };
    static const char *const ivgens[] = { "plain", "plain64", "essiv", NULL };
    static const char *const hashes[] = {
        "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160", NULL,
    };
    return luks_enum(opts, "cipher-alg", algs) && luks_enum(opts, "cipher-mode", modes) &&
           luks_enum(opts, "ivgen-alg", ivgens) && luks_enum(opts, "ivgen-hash-alg", hashes) &&
           luks_enum(opts, "hash-alg", hashes);
}

/* Key bytes of a LUKS cipher (aes-256 in xts mode by default), or 0 with the error printed. */
static int luks_key_bytes(const Opts *opts)
{
    const char *alg = opts_get(opts, "encrypt.cipher-alg");
    const char *mode = opts_get(opts, "encrypt.cipher-mode");
    alg = alg ? alg : "aes-256";
    mode = mode ? mode : "xts";
    if (!strcmp(alg, "des") || !strcmp(alg, "3des")) {
        error_report("Algorithm '%s' not supported", alg);
        return 0;
    }
    if (!strcmp(alg, "cast5-128") && !strcmp(mode, "xts")) {
        error_report("Unsupported cipher mode xts");
        return 0;
    }
    int bits = atoi(strrchr(alg, '-') + 1);
    return bits / 8 * (strcmp(mode, "xts") ? 1 : 2);
}

/* The LUKS header of encrypt.format=luks in whole clusters (0 when not encrypted with
 * LUKS), or -1 with the error printed. */
static int64_t luks_size(const Opts *opts, const GPtrArray *secrets, int64_t cs)
{
    if (g_strcmp0(opts_get(opts, "encrypt.format"), "luks")) {
        return 0;
    }
    if (!luks_enums_valid(opts)) {
        return -1;
    }
    const char *secret = opts_get(opts, "encrypt.key-secret");
    if (!secret) {
        error_report("Parameter 'encrypt.key-secret' is required for cipher");
        return -1;
    }
    bool found = false;
    for (guint i = 0; i < secrets->len; i++) {
        found |= !strcmp(g_ptr_array_index(secrets, i), secret);
    }
    if (!found) {
        error_report("No secret with id '%s'", secret);
        return -1;
    }
    int key = luks_key_bytes(opts);
    if (!key) {
        return -1;
    }
    int64_t slot = round_up((int64_t)key * 4000, 4096);
    return round_up(4096 + 8 * slot, cs);
}

/* qcow2's -o values, checked in qemu-img's order; false with the error printed. */
static bool qcow2_measure_opts(const Opts *opts, const GPtrArray *secrets, Qcow2Measure *m)
{
    m->extended_l2 = opts_get_bool(opts, "extended_l2", false, NULL);
    m->cluster_size = opts_get_size(opts, "cluster_size", 65536, NULL);
    int64_t cs = m->cluster_size;
    if (cs < 512 || cs > 2 * 1024 * 1024 || (cs & (cs - 1))) {
        error_report("Cluster size must be a power of two between 512 and 2048k");
        return false;
    }
    if (m->extended_l2 && cs < 16384) {
        error_report("Extended L2 entries are only supported with cluster sizes of at least "
                     "16384 bytes");
        return false;
    }
    const char *compat = opts_get(opts, "compat");
    if (compat && strcmp(compat, "0.10") && strcmp(compat, "1.1")) {
        error_report("Invalid compatibility level: '%s'", compat);
        return false;
    }
    uint64_t rb = opts_get_num(opts, "refcount_bits", 16, NULL);
    if (rb == 0 || rb > 64 || (rb & (rb - 1))) {
        error_report("Refcount width must be a power of two and may not exceed 64 bits");
        return false;
    }
    if (compat && !strcmp(compat, "0.10") && rb != 16) {
        error_report("Different refcount widths than 16 bits require compatibility level 1.1 "
                     "or above (use compat=1.1 or greater)");
        return false;
    }
    m->refcount_order = __builtin_ctzll(rb);
    static const char *const prealloc[] = { "off", "metadata", "falloc", "full", NULL };
    const char *pre = opts_get(opts, "preallocation");
    if (pre && !in_list(prealloc, pre)) {
        error_report("invalid parameter value: %s", pre);
        return false;
    }
    m->prealloc_data = pre && (!strcmp(pre, "falloc") || !strcmp(pre, "full"));
    m->luks_size = luks_size(opts, secrets, cs);
    return m->luks_size >= 0;
}

/* Bytes of whole clusters that hold data in the source; -1 with the error printed. */
static int64_t qcow2_allocated_data(BlockDriverState *bs, int64_t virtual_size, int64_t cs)
{
    int64_t data = 0;
    for (int64_t off = 0; off < virtual_size;) {
        int64_t pnum;
        int st = bdrv_block_status_above(bs, NULL, off, virtual_size - off, &pnum, NULL, NULL,
                                         NULL);
        if (st < 0) {
            error_report("Unable to get block status: %s", strerror(-st));
            return -1;
        }
        if (!(st & BDRV_BLOCK_ZERO) && (st & BDRV_BLOCK_DATA) && (st & BDRV_BLOCK_ALLOCATED)) {
            pnum = round_up(off + pnum, cs) - off;
            data += off % cs + pnum;
        }
        off += pnum;
    }
    return data;
}

static bool qcow2_measure(const Opts *opts, const GPtrArray *secrets, BlockBackend *blk,
                          int64_t virtual_size, uint64_t *required, uint64_t *fully)
{
    Qcow2Measure m;
    if (!qcow2_measure_opts(opts, secrets, &m)) {
        return false;
    }
    int64_t cs = m.cluster_size, l2_entry = m.extended_l2 ? 16 : 8;
    int64_t vsize = round_up(virtual_size, cs);
    uint64_t l2_tables = ((uint64_t)vsize / cs + cs / l2_entry - 1) / (cs / l2_entry);
    if (vsize < virtual_size || l2_tables * 8 > 32 * 1024 * 1024) {
        error_report("The image size is too large (try using a larger cluster size)");
        return false;
    }
    int64_t data = blk ? qcow2_allocated_data(blk_bs(blk), virtual_size, cs) : 0;
    if (data < 0) {
        return false;
    }
    if (m.prealloc_data) {
        data = vsize;
    }
    *fully = qcow2_prealloc_size(vsize, cs, m.refcount_order, l2_entry) + m.luks_size;
    *required = *fully - vsize + data;
    return true;
}

/* ---- measure ---- */

static void measure_print(OutputFormat ofmt, uint64_t required, uint64_t fully,
                          bool has_bitmaps)
{
    if (ofmt == OFORMAT_HUMAN) {
        printf("required size: %" PRIu64 "\n", required);
        printf("fully allocated size: %" PRIu64 "\n", fully);
        if (has_bitmaps) {
            printf("bitmaps size: %" PRIu64 "\n", (uint64_t)0);
        }
        return;
    }
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
}

/* The target format's driver, or NULL with qemu-img's error printed. */
static const BlockDriver *measure_driver(const char *name)
{
    const BlockDriver *drv = bdrv_find_format(name);
    if (!drv) {
        if (in_list(foreign_formats, name)) {
            error_report("Block driver '%s' does not support size measurement", name);
        } else {
            error_report("Unknown file format '%s'", name);
        }
    }
    return drv;
}

static int measure_run(MeasureArgs *a, BlockBackend *blk)
{
    const BlockDriver *drv = measure_driver(a->out_fmt);
    Opts *opts = drv ? measure_parse_opts(drv, a->opts->str) : NULL;
    if (!opts) {
        return 1;
    }
    int ret = 1;
    int64_t virtual_size = blk ? blk_getlength(blk) : a->size;
    uint64_t required, fully;
    bool has_bitmaps = false;
    if (drv == &bdrv_raw) {
        required = fully = virtual_size;
    } else if (drv == &bdrv_qcow2) {
        if (!qcow2_measure(opts, a->secrets, blk, virtual_size, &required, &fully)) {
            goto out;
        }
        BlockDriverInfo bdi;
        has_bitmaps = blk && bdrv_get_info(blk_bs(blk), &bdi) == 0 && bdi.has_qcow2_info &&
                      bdi.qcow_version >= 3;
    } else {
        error_report("Block driver '%s' does not support size measurement", a->out_fmt);
        goto out;
    }
    measure_print(a->ofmt, required, fully, has_bitmaps);
    ret = 0;
out:
    opts_free(opts);
    return ret;
}

int img_measure(int argc, char **argv)
{
    MeasureArgs a = {
        .out_fmt = "raw",
        .ofmt = OFORMAT_HUMAN,
        .size = -1,
        .opts = g_string_new(NULL),
        .secrets = g_ptr_array_new_with_free_func(g_free),
    };
    int ret = 1;
    if (measure_getopt(&a, argc, argv, &ret)) {
        BlockBackend *blk = a.filename ? measure_open(&a) : NULL;
        if (blk || !a.filename) {
            ret = measure_run(&a, blk);
        }
        if (blk) {
            blk_unref(blk);
        }
    }
    img_snapshot_param_clear(&a.snapshot);
    g_string_free(a.opts, true);
    g_ptr_array_free(a.secrets, true);
    return ret;
}
