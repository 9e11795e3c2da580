/*
 * qcow2 image creation (qcow2 spec "Header", "Host cluster management"): writes
 * a minimal image (header, one-cluster refcount table, one refcount block), then
 * opens it and lets the normal paths grow the L1 table to the requested size,
 * write header extensions and preallocate (incompatible bit 4 for "Extended L2
 * Entries", which makes every L2 table hold cluster_size / 16 entries).  Option
 * names, defaults and error texts are those of qemu-img's qcow2 create options.
 * data_file (qcow2 spec: incompatible bit 2 and the "External data file name"
 * extension) first creates that file, empty, under the name as given (from the
 * current directory, as qemu-img); the resize to the virtual size then sizes it.
 * data_file_raw (autoclear bit 1) implies at least metadata preallocation, so that
 * every guest cluster maps to its place in the data file.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* In the order qemu-img prints them after "Formatting". */
const BlockCreateOption qcow2_create_opts[] = {
    { "encryption", "bool (on/off)",
      "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)", NULL,
      .create_only = true },
    { "encrypt.format", "str", "Encrypt the image, format choices: 'aes', 'luks'", NULL,
      .create_only = true },
    { "cluster_size", "size", "qcow2 cluster size", "65536", .create_only = true },
    { "extended_l2", "bool (on/off)", "Extended L2 tables", "off", .create_only = true },
    { "preallocation", "str", "Preallocation mode (allowed values: off, metadata, falloc, full)",
      NULL, .create_only = true },
    { "compression_type", "str", "Compression method used for image cluster compression",
      "zlib", .create_only = true },
    { "size", "size", "Virtual disk size", NULL },
    { "compat", "str", "Compatibility level (v2 [0.10] or v3 [1.1])", NULL },
    { "backing_file", "str", "File name of a base image", NULL },
    { "backing_fmt", "str", "Image format of the base image", NULL },
    { "data_file", "str", "File name of an external data file", NULL },
    { "data_file_raw", "bool (on/off)", "The external data file must stay valid as a raw image",
      NULL },
    { "lazy_refcounts", "bool (on/off)", "Postpone refcount updates", "off" },
    { "refcount_bits", "num", "Width of a reference count entry in bits", "16" },
    { "nocow", "bool (on/off)", "Turn off copy-on-write (valid only on btrfs)", NULL,
      .protocol = true, .create_only = true },
    { "extent_size_hint", "size", "Extent size hint for the image file, 0 to disable", NULL,
      .protocol = true, .create_only = true },
    { NULL },
};

static inline void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

typedef struct Qcow2CreateParams {
    uint64_t size;
    int version;
    int cluster_bits;
    int refcount_order;
    bool lazy_refcounts;
    bool extended_l2;
    uint8_t compression_type;
    PreallocMode prealloc;
    const char *backing_file;
    const char *backing_fmt;
    const char *data_file;
    bool data_file_raw;
} Qcow2CreateParams;

static int qcow2_parse_create_opts(Opts *opts, Qcow2CreateParams *p, Error **errp)
{
    Error *err = NULL;
    memset(p, 0, sizeof(*p));
    if (!opts_has(opts, "size")) {
        error_setg(errp, "Image creation needs a size parameter");
        return -EINVAL;
    }
    p->size = opts_get_size(opts, "size", 0, &err);
    if (err) {
        error_propagate(errp, err);
        return -EINVAL;
    }
    if (p->size > INT64_MAX) {
        error_setg(errp, "Image size must be less than 8 EiB!");
        return -EINVAL;
    }
    p->version = 3;
    const char *compat = opts_get(opts, "compat");
    if (compat) {
        if (!strcmp(compat, "0.10") || !strcmp(compat, "v2")) {
            p->version = 2;
        } else if (!strcmp(compat, "1.1") || !strcmp(compat, "v3")) {
            p->version = 3;
        } else {
            error_setg(errp, "Parameter 'version' does not accept value '%s'", compat);
            return -EINVAL;
        }
    }
    uint64_t cs = opts_get_size(opts, "cluster_size", 65536, &err);
    if (err) {
        error_propagate(errp, err);
        return -EINVAL;
    }
    if (cs < 512 || cs > 2 * 1024 * 1024 || (cs & (cs - 1))) {
        error_setg(errp, "Cluster size must be a power of two between 512 and 2048k");
        return -EINVAL;
    }
    p->cluster_bits = __builtin_ctzll(cs);
    uint64_t rb = opts_get_number(opts, "refcount_bits", 16, &err);
    if (err) {
        error_propagate(errp, err);
        return -EINVAL;
    }
    if (rb == 0 || rb > 64 || (rb & (rb - 1))) {
        error_setg(errp, "Refcount width must be a power of two and may not exceed 64 bits");
        return -EINVAL;
    }
    if (p->version < 3 && rb != 16) {
        error_setg(errp, "Different refcount widths than 16 bits require compatibility level 1.1 "
                   "or above (use version=v3 or greater)");
        return -EINVAL;
    }
    p->refcount_order = __builtin_ctzll(rb);
    p->lazy_refcounts = opts_get_bool(opts, "lazy_refcounts", false, &err);
    if (err) {
        error_propagate(errp, err);
        return -EINVAL;
    }
    if (p->lazy_refcounts && p->version < 3) {
        error_setg(errp, "Lazy refcounts only supported with compatibility level 1.1 and above "
                   "(use version=v3 or greater)");
        return -EINVAL;
    }
    const char *pre = opts_get(opts, "preallocation");
    int mode = pre ? prealloc_mode_parse(pre) : PREALLOC_MODE_OFF;
    if (mode < 0) {
        error_setg(errp, "Parameter 'preallocation' does not accept value '%s'", pre);
        return -EINVAL;
    }
    p->prealloc = mode;
    const char *ct = opts_get(opts, "compression_type");
    if (!ct || !strcmp(ct, "zlib")) {
        p->compression_type = QCOW2_COMPRESSION_TYPE_ZLIB;
    } else if (!strcmp(ct, "zstd")) {
        p->compression_type = QCOW2_COMPRESSION_TYPE_ZSTD;
    } else {
        error_setg(errp, "Parameter 'compression-type' does not accept value '%s'", ct);
        return -EINVAL;
    }
    /* "Extended L2 Entries": v3 only, and subclusters of at least 512 bytes. */
    p->extended_l2 = opts_get_bool(opts, "extended_l2", false, &err);
    if (err) {
        error_propagate(errp, err);
        return -EINVAL;
    }
    if (p->extended_l2 && p->version < 3) {
        error_setg(errp, "Extended L2 entries are only supported with compatibility level 1.1 "
                   "and above (use version=v3 or greater)");
        return -EINVAL;
    }
    if (p->extended_l2 && p->cluster_bits < QCOW2_EXTL2_MIN_CLUSTER_BITS) {
        error_setg(errp, "Extended L2 entries are only supported with cluster sizes of at least "
                   "%d bytes", 1 << QCOW2_EXTL2_MIN_CLUSTER_BITS);
        return -EINVAL;
    }
    p->data_file = opts_get(opts, "data_file");
    p->data_file_raw = opts_get_bool(opts, "data_file_raw", false, &err);
    if (err) {
        error_propagate(errp, err);
        return -EINVAL;
    }
    p->backing_file = opts_get(opts, "backing_file");
    p->backing_fmt = opts_get(opts, "backing_fmt");
    if (p->backing_fmt && !p->backing_file) {
        error_setg(errp, "Backing format cannot be used without backing file");
        return -EINVAL;
    }
    if (p->backing_file && p->prealloc != PREALLOC_MODE_OFF && !p->extended_l2) {
        error_setg(errp, "Backing file and preallocation can only be used at the same time if "
                   "extended_l2 is on");
        return -EINVAL;
    }
    if (p->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB && p->version < 3) {
        error_setg(errp, "Non-zlib compression type is only supported with compatibility level "
                   "1.1 and above (use version=v3 or greater)");
        return -EINVAL;
    }
    if (opts_get_bool(opts, "encryption", false, NULL) || opts_has(opts, "encrypt.format")) {
        error_setg(errp, "Encrypted images are not supported");
        return -ENOTSUP;
    }
    if (p->backing_file && strlen(p->backing_file) > QCOW2_MAX_BACKING_NAME) {
        error_setg(errp, "Backing file name too long");
        return -EINVAL;
    }
    if (p->backing_fmt && strlen(p->backing_fmt) >= 32) {
        error_setg(errp, "Backing format name too long");
        return -EINVAL;
    }
    if (p->data_file_raw && !p->data_file) {
        error_setg(errp, "data-file-raw requires data-file");
        return -EINVAL;
    }
    if (p->data_file_raw && p->backing_file) {
        error_setg(errp, "Backing file and data-file-raw cannot be used at the same time");
        return -EINVAL;
    }
    if (p->data_file_raw && p->prealloc == PREALLOC_MODE_OFF) {
        p->prealloc = PREALLOC_MODE_METADATA;
    }
    if (p->data_file && p->version < 3) {
        error_setg(errp, "External data files are only supported with compatibility level 1.1 "
                   "and above (use version=v3 or greater)");
        return -EINVAL;
    }
    /* The name goes into the header cluster with the other extensions. */
    if (p->data_file && strlen(p->data_file) > (1u << p->cluster_bits) / 2) {
        error_setg(errp, "Data file name too long");
        return -EINVAL;
    }
    return 0;
}

/* Header + refcount table + one refcount block: clusters 0, 1, 2. */
static int qcow2_write_empty_image(const char *filename, const Qcow2CreateParams *p,
                                   Error **errp)
{
    int64_t cs = 1LL << p->cluster_bits;
    int ret = file_create_with_size(filename, 0, PREALLOC_MODE_OFF, errp);
    if (ret < 0) {
        return ret;
    }
    BlockDriverState *file = bdrv_open(filename, "file", NULL, BDRV_O_RDWR, errp);
    if (!file) {
        return -EIO;
    }
    uint8_t *buf = g_malloc0(3 * cs);
    put_be32(buf, QCOW_MAGIC);
    put_be32(buf + 4, p->version);
    put_be32(buf + 20, p->cluster_bits);
    put_be64(buf + 48, cs);                 /* refcount table at cluster 1 */
    put_be32(buf + 56, 1);
    if (p->version >= 3) {
        uint64_t incompat = (p->data_file ? QCOW2_INCOMPAT_DATA_FILE : 0) |
                            (p->extended_l2 ? QCOW2_INCOMPAT_EXTL2 : 0);
        if (p->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB) {
            incompat |= QCOW2_INCOMPAT_COMPRESSION;
        }
        put_be64(buf + 72, incompat);
        put_be64(buf + 80, p->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
        put_be64(buf + 88, p->data_file_raw ? QCOW2_AUTOCLEAR_DATA_FILE_RAW : 0);
        put_be32(buf + 96, p->refcount_order);
        /* compression_type (byte 104) plus padding to a multiple of 8 */
        put_be32(buf + 100, QCOW2_DEFAULT_HEADER_LENGTH);
        buf[104] = p->compression_type;
        if (p->data_file) {
            /* "External data file name", so that the open below finds the file; the
             * header rewrite after it keeps the extension. */
            size_t n = strlen(p->data_file);
            put_be32(buf + QCOW2_DEFAULT_HEADER_LENGTH, QCOW2_EXT_DATA_FILE);
            put_be32(buf + QCOW2_DEFAULT_HEADER_LENGTH + 4, n);
            memcpy(buf + QCOW2_DEFAULT_HEADER_LENGTH + 8, p->data_file, n);
        }
    }
    put_be64(buf + cs, 2 * cs);             /* refcount block at cluster 2 */
    BDRVQcow2State tmp = { .refcount_order = p->refcount_order };
    for (int i = 0; i < 3; i++) {
        qcow2_set_refcount_ro(&tmp, buf + 2 * cs, i, 1);
    }
    ret = bdrv_pwrite(file, 0, 3 * cs, buf, 0);
    if (ret == 0) {
        ret = bdrv_flush(file);
    }
    g_free(buf);
    bdrv_unref(file);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not write qcow2 header");
    }
    return ret;
}

int qcow2_create(const char *filename, Opts *opts, Error **errp)
{
    Qcow2CreateParams p;
    int ret = qcow2_parse_create_opts(opts, &p, errp);
    if (ret < 0) {
        return ret;
    }
    if (p.data_file) {
        ret = file_create_with_size(p.data_file, 0, PREALLOC_MODE_OFF, errp);
        if (ret < 0) {
            return ret;
        }
    }
    ret = qcow2_write_empty_image(filename, &p, errp);
    if (ret < 0) {
        return ret;
    }
    BlockDriverState *bs = bdrv_open(filename, "qcow2", NULL, BDRV_O_RDWR | BDRV_O_NO_BACKING,
                                     errp);
    if (!bs) {
        return -EIO;
    }
    BDRVQcow2State *s = bs->opaque;
    if (p.backing_file) {
        g_strlcpy(bs->backing_file, p.backing_file, sizeof(bs->backing_file));
        if (p.backing_fmt) {
            g_strlcpy(bs->backing_format, p.backing_fmt, sizeof(bs->backing_format));
        }
    }
    g_mutex_lock(&s->lock);
    ret = qcow2_update_header(bs);
    g_mutex_unlock(&s->lock);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not write qcow2 header");
        goto out;
    }
    ret = bdrv_truncate(bs, (int64_t)p.size, true, p.prealloc, errp);
    if (ret < 0) {
        goto out;
    }
    ret = bdrv_flush(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not flush the new image");
    }
out:
    bdrv_unref(bs);
    return ret;
}
