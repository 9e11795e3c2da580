/*
 * Block node graph: driver registry, format probing, opening a format node over
 * its protocol node and the backing chain below it, reference counting.
 * Behaviour follows QEMU's documented -drive/qemu-img semantics: probing reads the
 * first bytes of the file and never turns an explicitly given format into another;
 * backing files are resolved relative to the overlay and opened read-only.
 */
#include "block/block_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

static const BlockDriver *const block_drivers[] = {
    &bdrv_raw,
    &bdrv_qcow2,
    &bdrv_file,
};

#define PROBE_BUF_SIZE 2048
#define BACKING_CHAIN_MAX 256

BlockDriver *bdrv_find_format(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(block_drivers); i++) {
        if (!strcmp(block_drivers[i]->format_name, name)) {
            return (BlockDriver *)block_drivers[i];
        }
    }
    return NULL;
}

char *bdrv_format_list(void)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(block_drivers); i++) {
        g_string_append_printf(s, "%s%s", i ? " " : "", block_drivers[i]->format_name);
    }
    return g_string_free(s, false);
}

const char *bdrv_get_format_name(const BlockDriverState *bs)
{
    return bs->drv->format_name;
}

bool bdrv_probed_raw(const BlockDriverState *bs)
{
    return bs->probed && bs->drv == &bdrv_raw;
}

const char *bdrv_get_filename(const BlockDriverState *bs)
{
    return bs->filename;
}

BlockDriverState *bdrv_get_backing(const BlockDriverState *bs)
{
    return bs->backing;
}

BlockDriverState *bdrv_get_file(const BlockDriverState *bs)
{
    return bs->file;
}

const char *bdrv_get_backing_filename(const BlockDriverState *bs)
{
    return bs->backing_file;
}

const char *bdrv_get_full_backing_filename(const BlockDriverState *bs)
{
    return bs->full_backing_filename;
}

const char *bdrv_get_backing_format(const BlockDriverState *bs)
{
    return bs->backing_format;
}

bool bdrv_is_read_only(const BlockDriverState *bs)
{
    return bs->read_only;
}

int bdrv_get_flags(const BlockDriverState *bs)
{
    return bs->open_flags;
}

void *qemu_memalign(size_t align, size_t size)
{
    void *p = NULL;
    if (align < sizeof(void *)) {
        align = sizeof(void *);
    }
    if (posix_memalign(&p, align, size ? size : align)) {
        g_error("out of memory allocating %zu bytes", size);
    }
    return p;
}

void qemu_vfree(void *ptr)
{
    free(ptr);
}

void *bdrv_blockalign(BlockDriverState *bs, size_t size)
{
    size_t align = 4096;
    for (BlockDriverState *b = bs; b; b = b->file) {
        if (b->buf_alignment > align) {
            align = b->buf_alignment;
        }
    }
    return qemu_memalign(align, size);
}

char *bdrv_path_combine(const char *base, const char *backing)
{
    if (backing[0] == '/' || strstr(backing, "://")) {
        return g_strdup(backing);
    }
    const char *slash = strrchr(base, '/');
    if (!slash) {
        return g_strdup(backing);
    }
    return g_strdup_printf("%.*s%s", (int)(slash - base + 1), base, backing);
}

static const BlockDriver *bdrv_probe(BlockDriverState *file, Error **errp)
{
    uint8_t buf[PROBE_BUF_SIZE];
    int64_t len = bdrv_getlength(file);
    if (len < 0) {
        error_setg_errno(errp, (int)-len, "Could not determine image size");
        return NULL;
    }
    int n = len < PROBE_BUF_SIZE ? (int)len : PROBE_BUF_SIZE;
    memset(buf, 0, sizeof(buf));
    if (n > 0) {
        int ret = bdrv_pread(file, 0, n, buf, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read image for determining its format");
            return NULL;
        }
    }
    const BlockDriver *best = &bdrv_raw;
    int best_score = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(block_drivers); i++) {
        const BlockDriver *d = block_drivers[i];
        if (d->probe) {
            int score = d->probe(buf, n, file->filename);
            if (score > best_score) {
                best_score = score;
                best = d;
            }
        }
    }
    return best;
}

static BlockDriverState *bdrv_new_node(const BlockDriver *drv, const char *filename, int flags)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);
    bs->drv = drv;
    bs->refcnt = 1;
    bs->open_flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->request_alignment = 1;
    bs->buf_alignment = 1;
    g_strlcpy(bs->filename, filename, sizeof(bs->filename));
    if (drv->instance_size) {
        bs->opaque = g_malloc0(drv->instance_size);
    }
    return bs;
}

static void bdrv_free_node(BlockDriverState *bs)
{
    g_free(bs->opaque);
    g_free(bs);
}

/* Open one node (format over file) without its backing chain. */
static BlockDriverState *bdrv_open_one(const char *filename, const char *format, Opts *options,
                                       int flags, Error **errp)
{
    const BlockDriver *drv = NULL;
    if (format) {
        drv = bdrv_find_format(format);
        if (!drv) {
            error_setg(errp, "Unknown driver '%s'", format);
            return NULL;
        }
    }
    BlockDriverState *file = bdrv_new_node(&bdrv_file, filename, flags);
    if (bdrv_file.open(file, options, flags, errp) < 0) {
        bdrv_free_node(file);
        return NULL;
    }
    if (drv == &bdrv_file) {
        return file;
    }
    bool probed = false;
    if (!drv) {
        drv = bdrv_probe(file, errp);
        if (!drv) {
            bdrv_unref(file);
            return NULL;
        }
        probed = true;
    }
    BlockDriverState *bs = bdrv_new_node(drv, filename, flags);
    bs->file = file;
    bs->probed = probed;
    if (drv->open(bs, options, flags, errp) < 0) {
        bdrv_unref(file);
        bdrv_free_node(bs);
        return NULL;
    }
    /* Image locks as QEMU takes them: everyone reads consistently; a writer also
     * writes and resizes; qcow2 (whose metadata must not change under it) denies
     * others write and resize, raw shares everything. */
    unsigned perm = BLK_PERM_CONSISTENT_READ;
    if (flags & BDRV_O_RDWR) {
        perm |= BLK_PERM_WRITE | (drv == &bdrv_raw ? 0 : BLK_PERM_RESIZE);
    }
    unsigned shared = drv == &bdrv_raw ? BLK_PERM_ALL
                                       : BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED;
    if (file_lock_perms(file, perm, shared, errp) < 0) {
        bdrv_unref(bs);
        return NULL;
    }
    if (drv->grows_file) {
        file_set_grow_ahead(file);
    }
    return bs;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) < 0 || stat(b, &sb) < 0) {
        return !strcmp(a, b);
    }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int bdrv_open_backing(BlockDriverState *bs, int flags, Error **errp)
{
    /* Every file in the chain so far: top first. */
    GPtrArray *chain = g_ptr_array_new();
    g_ptr_array_add(chain, bs->filename);
    BlockDriverState *cur = bs;
    int ret = 0;
    while (cur->backing_file[0]) {
        char *path = bdrv_path_combine(cur->filename, cur->backing_file);
        g_strlcpy(cur->full_backing_filename, path, sizeof(cur->full_backing_filename));
        for (guint i = 0; i < chain->len; i++) {
            if (same_file(chain->pdata[i], path)) {
                error_setg(errp, "Backing file '%s' creates an infinite loop.", path);
                g_free(path);
                ret = -ELOOP;
                goto out;
            }
        }
        if (chain->len >= BACKING_CHAIN_MAX) {
            error_setg(errp, "Backing chain of '%s' is too long", bs->filename);
            g_free(path);
            ret = -EMLINK;
            goto out;
        }
        Error *local_err = NULL;
        int bflags = (flags & ~(BDRV_O_RDWR | BDRV_O_SNAPSHOT)) | BDRV_O_NO_BACKING;
        BlockDriverState *b = bdrv_open_one(path, cur->backing_format[0] ? cur->backing_format
                                                                          : NULL,
                                            NULL, bflags, &local_err);
        if (!b) {
            error_propagate(errp, local_err);
            error_prepend(errp, "Could not open backing file: ");
            g_free(path);
            ret = -EINVAL;
            goto out;
        }
        g_free(path);
        cur->backing = b;
        g_ptr_array_add(chain, b->filename);
        cur = b;
    }
out:
    g_ptr_array_free(chain, true);
    return ret;
}

/*
 * snapshot=on / -snapshot: open the image read-only below a temporary qcow2
 * overlay that receives every write and disappears on close.
 */
static BlockDriverState *bdrv_open_snapshot(const char *file, const char *format, Opts *opts,
                                            int flags, Error **errp)
{
    BlockDriverState *base = bdrv_open(file, format, opts,
                                       flags & ~(BDRV_O_RDWR | BDRV_O_SNAPSHOT), errp);
    if (!base) {
        return NULL;
    }
    char *abs = g_canonicalize_filename(file, NULL);
    char *base_fmt = g_strdup(bdrv_get_format_name(base));
    int64_t size = bdrv_getlength(base);
    bdrv_unref(base);
    const char *dir = g_getenv("TMPDIR") ? g_getenv("TMPDIR") : "/var/tmp";
    char *tmpl = g_build_filename(dir, "vl.XXXXXX", NULL);
    int fd = g_mkstemp(tmpl);
    BlockDriverState *bs = NULL;
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create temporary overlay '%s'", tmpl);
        goto out;
    }
    close(fd);
    Opts *co = opts_new();
    char *sz = g_strdup_printf("%" PRId64, size);
    opts_set(co, "size", sz);
    opts_set(co, "backing_file", abs);
    opts_set(co, "backing_fmt", base_fmt);
    int ret = bdrv_create("qcow2", tmpl, co, NULL, errp);
    opts_free(co);
    g_free(sz);
    if (ret == 0) {
        bs = bdrv_open(tmpl, "qcow2", NULL, (flags | BDRV_O_RDWR) & ~BDRV_O_SNAPSHOT, errp);
    }
    unlink(tmpl);   /* the open descriptor keeps it alive until close */
out:
    g_free(tmpl);
    g_free(abs);
    g_free(base_fmt);
    return bs;
}

BlockDriverState *bdrv_open(const char *filename, const char *format, Opts *options, int flags,
                            Error **errp)
{
    if (flags & BDRV_O_SNAPSHOT) {
        return bdrv_open_snapshot(filename, format, options, flags, errp);
    }
    BlockDriverState *bs = bdrv_open_one(filename, format, options, flags, errp);
    if (!bs) {
        return NULL;
    }
    if (bs->backing_file[0]) {
        char *path = bdrv_path_combine(bs->filename, bs->backing_file);
        g_strlcpy(bs->full_backing_filename, path, sizeof(bs->full_backing_filename));
        g_free(path);
        if (!(flags & BDRV_O_NO_BACKING) && bdrv_open_backing(bs, flags, errp) < 0) {
            bdrv_unref(bs);
            return NULL;
        }
    }
    return bs;
}

void bdrv_ref(BlockDriverState *bs)
{
    g_atomic_int_inc(&bs->refcnt);
}

void bdrv_unref(BlockDriverState *bs)
{
    if (!bs || !g_atomic_int_dec_and_test(&bs->refcnt)) {
        return;
    }
    if (bs->drv->close) {
        bs->drv->close(bs);
    }
    if (bs->backing) {
        bdrv_unref(bs->backing);
    }
    if (bs->file) {
        bdrv_unref(bs->file);
    }
    bdrv_free_node(bs);
}

int prealloc_mode_parse(const char *str)
{
    static const char *const names[] = { "off", "metadata", "falloc", "full" };
    for (int i = 0; i < 4; i++) {
        if (!strcmp(str, names[i])) {
            return i;
        }
    }
    return -1;
}

const char *prealloc_mode_name(PreallocMode mode)
{
    static const char *const names[] = { "off", "metadata", "falloc", "full" };
    return names[mode];
}

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    memset(bdi, 0, sizeof(*bdi));
    if (!bs->drv->get_info) {
        return -ENOTSUP;
    }
    return bs->drv->get_info(bs, bdi);
}

bool bdrv_can_check(const BlockDriverState *bs)
{
    return bs->drv->check != NULL;
}

int bdrv_check(BlockDriverState *bs, BdrvCheckResult *res, int fix)
{
    memset(res, 0, sizeof(*res));
    if (!bs->drv->check) {
        return -ENOTSUP;
    }
    return bs->drv->check(bs, res, fix);
}

int bdrv_snapshot_list(BlockDriverState *bs, BlockSnapshotInfo **list)
{
    *list = NULL;
    if (!bs->drv->snapshot_list) {
        return bs->file && !bs->drv->is_protocol ? bdrv_snapshot_list(bs->file, list)
                                                 : -ENOTSUP;
    }
    return bs->drv->snapshot_list(bs, list);
}

void bdrv_snapshot_list_free(BlockSnapshotInfo *list, int n)
{
    for (int i = 0; i < n; i++) {
        g_free(list[i].id);
        g_free(list[i].name);
    }
    g_free(list);
}

static const BlockDriver *bdrv_snapshot_driver(BlockDriverState *bs, Error **errp)
{
    if (bs->read_only) {
        error_setg(errp, "Image is read-only");
        return NULL;
    }
    if (!bs->drv->snapshot_create) {
        error_setg(errp, "Operation not supported");
        return NULL;
    }
    return bs->drv;
}

int bdrv_snapshot_create(BlockDriverState *bs, const char *name, Error **errp)
{
    const BlockDriver *drv = bdrv_snapshot_driver(bs, errp);
    return drv ? drv->snapshot_create(bs, name, errp) : -ENOTSUP;
}

int bdrv_snapshot_goto(BlockDriverState *bs, const char *id_or_name, Error **errp)
{
    const BlockDriver *drv = bdrv_snapshot_driver(bs, errp);
    return drv ? drv->snapshot_goto(bs, id_or_name, errp) : -ENOTSUP;
}

int bdrv_snapshot_delete(BlockDriverState *bs, const char *id_or_name, Error **errp)
{
    const BlockDriver *drv = bdrv_snapshot_driver(bs, errp);
    return drv ? drv->snapshot_delete(bs, id_or_name, errp) : -ENOTSUP;
}

int bdrv_change_backing_file(BlockDriverState *bs, const char *file, const char *fmt)
{
    if (!bs->drv->change_backing_file) {
        return -ENOTSUP;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    int ret = bs->drv->change_backing_file(bs, file, fmt);
    if (ret == 0 && file && *file) {
        char *path = bdrv_path_combine(bs->filename, file);
        g_strlcpy(bs->full_backing_filename, path, sizeof(bs->full_backing_filename));
        g_free(path);
    } else if (ret == 0) {
        bs->full_backing_filename[0] = 0;
    }
    return ret;
}

int bdrv_make_empty(BlockDriverState *bs)
{
    if (!bs->drv->make_empty) {
        return -ENOTSUP;
    }
    return bs->read_only ? -EPERM : bs->drv->make_empty(bs);
}

int bdrv_amend(BlockDriverState *bs, Opts *opts, bool force, Error **errp)
{
    if (!bs->drv->amend) {
        error_setg(errp, "Format driver '%s' does not support option amendment",
                   bs->drv->format_name);
        return -ENOTSUP;
    }
    return bs->drv->amend(bs, opts, force, errp);
}

bool bdrv_has_create(const char *format)
{
    BlockDriver *drv = bdrv_find_format(format);
    return drv && drv->create;
}

int bdrv_create(const char *format, const char *filename, Opts *opts, char **summary,
                Error **errp)
{
    BlockDriver *drv = bdrv_find_format(format);
    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", format);
        return -EINVAL;
    }
    if (!drv->create) {
        error_setg(errp, "Format driver '%s' does not support image creation", format);
        return -ENOTSUP;
    }
    /* Reject unknown -o keys with qemu-img's message. */
    for (size_t i = 0; i < opts_count(opts); i++) {
        const char *key = opts_key_at(opts, i);
        bool known = false;
        for (const BlockCreateOption *o = drv->create_opts; o && o->name; o++) {
            known |= !strcmp(o->name, key);
        }
        if (!known) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return -EINVAL;
        }
    }
    /* Boolean options are parsed with the rest of -o, before "Formatting" (as qemu-img). */
    for (const BlockCreateOption *o = drv->create_opts; o && o->name; o++) {
        Error *err = NULL;
        if (!strcmp(o->type, "bool (on/off)") && opts_has(opts, o->name)) {
            opts_get_bool(opts, o->name, false, &err);
            if (err) {
                error_propagate(errp, err);
                return -EINVAL;
            }
        }
    }
    if (summary) {
        GString *s = g_string_new(NULL);
        g_string_append_printf(s, "fmt=%s", format);
        for (const BlockCreateOption *o = drv->create_opts; o && o->name; o++) {
            const char *v = opts_get(opts, o->name);
            if (!v) {
                v = o->def;
            }
            if (!v) {
                continue;
            }
            if (!strcmp(o->type, "size")) {
                uint64_t n;
                if (parse_size(v, &n)) {
                    g_string_append_printf(s, " %s=%" PRIu64, o->name, n);
                    continue;
                }
            }
            g_string_append_printf(s, " %s=%s", o->name, v);
        }
        *summary = g_string_free(s, false);
    }
    return drv->create(filename, opts, errp);
}

static int create_opt_cmp(const void *a, const void *b)
{
    const BlockCreateOption *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* A driver's options sorted by name, as qemu-img lists them; which ones: keep(). */
static void bdrv_print_options(BlockDriver *drv, bool (*keep)(const BlockCreateOption *, bool),
                               bool arg)
{
    GPtrArray *sorted = g_ptr_array_new();
    for (const BlockCreateOption *o = drv->create_opts; o->name; o++) {
        if (keep(o, arg)) {
            g_ptr_array_add(sorted, (gpointer)o);
        }
    }
    qsort(sorted->pdata, sorted->len, sizeof(gpointer), create_opt_cmp);
    for (guint i = 0; i < sorted->len; i++) {
        const BlockCreateOption *o = sorted->pdata[i];
        char *lhs = g_strdup_printf("%s=<%s>", o->name, o->type);
        printf("  %-22s - %s\n", lhs, o->help);
        g_free(lhs);
    }
    g_ptr_array_free(sorted, true);
}

static bool create_opt_listed(const BlockCreateOption *o, bool with_protocol)
{
    return with_protocol || !o->protocol;
}

void bdrv_print_create_options(const char *format, bool with_protocol)
{
    BlockDriver *drv = bdrv_find_format(format);
    if (!drv || !drv->create_opts) {
        return;
    }
    if (with_protocol) {
        printf("Supported options:\n");
    } else {
        printf("Supported %s options:\n", format);
    }
    bdrv_print_options(drv, create_opt_listed, with_protocol);
    if (!with_protocol) {
        printf("\nThe protocol level may support further options.\n"
               "Specify the target filename to include those options.\n");
    }
}

static bool amend_opt_listed(const BlockCreateOption *o, bool unused)
{
    return !o->create_only && !o->protocol;
}

bool bdrv_print_amend_options(const char *format)
{
    BlockDriver *drv = bdrv_find_format(format);
    if (!drv || !drv->create_opts || !drv->amend) {
        return false;
    }
    printf("Amend options for '%s':\n", format);
    bdrv_print_options(drv, amend_opt_listed, false);
    return true;
}
