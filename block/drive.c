/*
 * -drive option handling (see include/block/drive.h).  Option names, defaults,
 * generated ids and error texts follow QEMU's documented -drive behaviour
 * (qemu-system "Block device options": file, format, if, bus, unit, index, media,
 * cache, aio, readonly, snapshot, werror, rerror, discard, detect-zeroes, id).
 */
#include "block/drive.h"
#include "block/block_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static const char *const if_names[IF_COUNT] = {
    [IF_NONE] = "none",
    [IF_IDE] = "ide",
    [IF_SCSI] = "scsi",
    [IF_FLOPPY] = "floppy",
    [IF_PFLASH] = "pflash",
    [IF_MTD] = "mtd",
    [IF_SD] = "sd",
    [IF_VIRTIO] = "virtio",
    [IF_XEN] = "xen",
};

static GList *drives;
static bool snapshot_all;

static const char *const drive_keys[] = {
    "file", "format", "if", "bus", "unit", "index", "media", "cache", "cache.direct",
    "cache.no-flush", "aio", "readonly", "read-only", "snapshot", "werror", "rerror",
    "discard", "detect-zeroes", "id", "serial", "addr", "copy-on-read", "auto-read-only",
    "force-share", "l2-cache-size", "refcount-cache-size", NULL,
};

const char *drive_if_name(BlockInterfaceType type)
{
    return type >= 0 && type < IF_COUNT ? if_names[type] : "?";
}

int drive_if_max_devs(BlockInterfaceType type)
{
    return type == IF_IDE ? 2 : type == IF_SCSI ? 7 : 0;
}

void drive_set_snapshot_all(bool on)
{
    snapshot_all = on;
}

GList *drive_list(void)
{
    return drives;
}

DriveInfo *drive_get(BlockInterfaceType type, int bus, int unit)
{
    for (GList *l = drives; l; l = l->next) {
        DriveInfo *d = l->data;
        if (d->type == type && d->bus == bus && d->unit == unit) {
            return d;
        }
    }
    return NULL;
}

DriveInfo *drive_get_by_index(BlockInterfaceType type, int index)
{
    int max = drive_if_max_devs(type);
    return max ? drive_get(type, index / max, index % max) : drive_get(type, 0, index);
}

DriveInfo *drive_get_by_id(const char *id)
{
    for (GList *l = drives; l; l = l->next) {
        DriveInfo *d = l->data;
        if (!strcmp(d->id, id)) {
            return d;
        }
    }
    return NULL;
}

int drive_get_max_bus(BlockInterfaceType type)
{
    int max = -1;
    for (GList *l = drives; l; l = l->next) {
        DriveInfo *d = l->data;
        if (d->type == type && d->bus > max) {
            max = d->bus;
        }
    }
    return max;
}

bool drive_claim(DriveInfo *dinfo, Error **errp)
{
    if (dinfo->claimed) {
        error_setg(errp, "Drive '%s' is already in use by another device", dinfo->id);
        return false;
    }
    dinfo->claimed = true;
    return true;
}

static bool parse_on_error(const char *value, bool is_read, BlockdevOnError *out, Error **errp)
{
    if (!strcmp(value, "ignore")) {
        *out = BLOCKDEV_ON_ERROR_IGNORE;
    } else if (!is_read && !strcmp(value, "enospc")) {
        *out = BLOCKDEV_ON_ERROR_ENOSPC;
    } else if (!strcmp(value, "stop")) {
        *out = BLOCKDEV_ON_ERROR_STOP;
    } else if (!strcmp(value, "report")) {
        *out = BLOCKDEV_ON_ERROR_REPORT;
    } else {
        error_setg(errp, "'%s' invalid %s error action", value, is_read ? "read" : "write");
        return false;
    }
    return true;
}

static bool get_int_opt(Opts *opts, const char *key, int *out, Error **errp)
{
    const char *v = opts_get(opts, key);
    uint64_t n;
    *out = -1;
    if (!v) {
        return true;
    }
    if (!parse_uint(v, &n) || n > INT32_MAX) {
        error_setg(errp, "Parameter '%s' expects a number", key);
        return false;
    }
    *out = (int)n;
    return true;
}

DriveInfo *drive_new(const char *optstr, BlockInterfaceType default_if, Error **errp)
{
    Error *err = NULL;
    Opts *opts = opts_parse(optstr, "file", errp);
    if (!opts) {
        return NULL;
    }
    DriveInfo *d = NULL;

    BlockInterfaceType type = default_if == IF_DEFAULT ? IF_IDE : default_if;
    const char *v = opts_get(opts, "if");
    if (v) {
        type = IF_COUNT;
        for (int i = 0; i < IF_COUNT; i++) {
            if (!strcmp(v, if_names[i])) {
                type = i;
            }
        }
        if (type == IF_COUNT) {
            error_setg(errp, "unsupported bus type '%s'", v);
            goto fail;
        }
    }
    bool is_cdrom = false;
    v = opts_get(opts, "media");
    if (v) {
        if (!strcmp(v, "cdrom")) {
            is_cdrom = true;
        } else if (strcmp(v, "disk") != 0) {
            error_setg(errp, "'%s' invalid media", v);
            goto fail;
        }
    }

    /* bus/unit/index placement */
    int bus, unit, index;
    if (!get_int_opt(opts, "bus", &bus, errp) || !get_int_opt(opts, "unit", &unit, errp) ||
        !get_int_opt(opts, "index", &index, errp)) {
        goto fail;
    }
    int max_devs = drive_if_max_devs(type);
    if (index >= 0) {
        if (bus >= 0 || unit >= 0) {
            error_setg(errp, "index cannot be used with bus and unit");
            goto fail;
        }
        bus = max_devs ? index / max_devs : 0;
        unit = max_devs ? index % max_devs : index;
    }
    if (bus < 0) {
        bus = 0;
    }
    if (unit < 0) {
        unit = 0;
        while (drive_get(type, bus, unit)) {
            unit++;
            if (max_devs && unit >= max_devs) {
                unit -= max_devs;
                bus++;
            }
        }
    }
    if (max_devs && unit >= max_devs) {
        error_setg(errp, "unit %d too big (max is %d)", unit, max_devs - 1);
        goto fail;
    }
    if (drive_get(type, bus, unit)) {
        error_setg(errp, "drive with bus=%d, unit=%d (index=%d) exists", bus, unit,
                   max_devs ? bus * max_devs + unit : unit);
        goto fail;
    }

    char *id = g_strdup(opts_get(opts, "id"));
    if (!id) {
        const char *mediastr = (type == IF_IDE || type == IF_SCSI) ? (is_cdrom ? "-cd" : "-hd")
                                                                     : "";
        id = max_devs ? g_strdup_printf("%s%d%s%d", if_names[type], bus, mediastr, unit)
                      : g_strdup_printf("%s%s%d", if_names[type], mediastr, unit);
    } else if (drive_get_by_id(id)) {
        error_setg(errp, "Duplicate ID '%s' for drive", id);
        g_free(id);
        goto fail;
    }

    /* Cache, aio, read-only, snapshot, discard */
    int flags = 0;
    bool writethrough = false;
    v = opts_get(opts, "cache");
    if (v && bdrv_parse_cache_mode(v, &flags, &writethrough) < 0) {
        error_setg(errp, "invalid cache option");
        g_free(id);
        goto fail;
    }
    if (opts_has(opts, "cache.direct")) {
        bool b = opts_get_bool(opts, "cache.direct", false, &err);
        flags = b ? (flags | BDRV_O_NOCACHE) : (flags & ~BDRV_O_NOCACHE);
    }
    if (!err && opts_has(opts, "cache.no-flush")) {
        bool b = opts_get_bool(opts, "cache.no-flush", false, &err);
        flags = b ? (flags | BDRV_O_NO_FLUSH) : (flags & ~BDRV_O_NO_FLUSH);
    }
    bool read_only = false;
    const char *ro = opts_has(opts, "read-only") ? opts_get(opts, "read-only")
                                                 : opts_get(opts, "readonly");
    if (!err && ro && !parse_bool("read-only", ro, &read_only, &err)) {
        read_only = false;
    }
    bool snapshot = !err && opts_get_bool(opts, "snapshot", snapshot_all, &err);
    if (err) {
        error_propagate(errp, err);
        g_free(id);
        goto fail;
    }
    v = opts_get(opts, "aio");
    if (v && bdrv_parse_aio(v, &flags) < 0) {
        error_setg(errp, "invalid aio option");
        g_free(id);
        goto fail;
    }
    v = opts_get(opts, "discard");
    bool unmap = false;
    if (v) {
        if (!strcmp(v, "unmap") || !strcmp(v, "on")) {
            unmap = true;
        } else if (strcmp(v, "ignore") != 0 && strcmp(v, "off") != 0) {
            error_setg(errp, "Invalid discard option");
            g_free(id);
            goto fail;
        }
    }
    if (unmap) {
        flags |= BDRV_O_UNMAP;
    }
    BlockdevDetectZeroes dz = BLOCKDEV_DETECT_ZEROES_OFF;
    v = opts_get(opts, "detect-zeroes");
    if (v) {
        if (!strcmp(v, "on")) {
            dz = BLOCKDEV_DETECT_ZEROES_ON;
        } else if (!strcmp(v, "unmap")) {
            dz = BLOCKDEV_DETECT_ZEROES_UNMAP;
        } else if (strcmp(v, "off") != 0) {
            error_setg(errp, "invalid parameter value: %s", v);
            g_free(id);
            goto fail;
        }
    }
    BlockdevOnError on_write = BLOCKDEV_ON_ERROR_ENOSPC, on_read = BLOCKDEV_ON_ERROR_REPORT;
    v = opts_get(opts, "werror");
    if (v) {
        if (type != IF_IDE && type != IF_VIRTIO && type != IF_SCSI && type != IF_NONE) {
            error_setg(errp, "werror is not supported by this bus type");
            g_free(id);
            goto fail;
        }
        if (!parse_on_error(v, false, &on_write, errp)) {
            g_free(id);
            goto fail;
        }
    }
    v = opts_get(opts, "rerror");
    if (v) {
        if (type != IF_IDE && type != IF_VIRTIO && type != IF_SCSI && type != IF_NONE) {
            error_setg(errp, "rerror is not supported by this bus type");
            g_free(id);
            goto fail;
        }
        if (!parse_on_error(v, true, &on_read, errp)) {
            g_free(id);
            goto fail;
        }
    }
    if (is_cdrom) {
        read_only = true;
    }
    if (!read_only) {
        flags |= BDRV_O_RDWR;
    }
    if ((flags & BDRV_O_NATIVE_AIO) && !(flags & BDRV_O_NOCACHE)) {
        error_setg(errp, "aio=native was specified, but it requires cache.direct=on, which was "
                   "not specified.");
        g_free(id);
        goto fail;
    }

    /* Open */
    const char *file = opts_get(opts, "file");
    const char *format = opts_get(opts, "format");
    if (format && opts_str_is_help(format)) {
        char *list = bdrv_format_list();
        error_setg(errp, "Supported formats: %s", list);
        g_free(list);
        g_free(id);
        goto fail;
    }
    BlockBackend *blk = NULL;
    if (file && *file) {
        BlockDriverState *bs = bdrv_open(file, format, opts,
                                         flags | (snapshot ? BDRV_O_SNAPSHOT : 0), errp);
        if (!bs) {
            g_free(id);
            goto fail;
        }
        for (size_t i = 0; i < opts_count(opts); i++) {
            const char *key = opts_key_at(opts, i);
            bool known = false;
            for (const char *const *k = drive_keys; *k; k++) {
                known |= !strcmp(*k, key);
            }
            /* qcow2 external data file name, overriding the image header's */
            known |= (!strcmp(key, "data-file") || !strcmp(key, "data-file.filename")) &&
                     !strcmp(bdrv_get_format_name(bs), "qcow2");
            if (!known) {
                error_setg(errp, "Block format '%s' does not support the option '%s'",
                           bdrv_get_format_name(bs), key);
                bdrv_unref(bs);
                g_free(id);
                goto fail;
            }
        }
        blk = blk_new_with_bs(bs, writethrough);
        blk_set_on_error(blk, on_read, on_write);
        blk_set_detect_zeroes(blk, dz);
    }

    d = g_new0(DriveInfo, 1);
    d->id = id;
    d->type = type;
    d->bus = bus;
    d->unit = unit;
    d->is_cdrom = is_cdrom;
    d->filename = file && *file ? g_strdup(file) : NULL;
    d->blk = blk;
    d->opts = opts;
    drives = g_list_append(drives, d);
    return d;

fail:
    opts_free(opts);
    return NULL;
}

void drive_cleanup_all(void)
{
    for (GList *l = drives; l; l = l->next) {
        DriveInfo *d = l->data;
        if (d->blk) {
            blk_unref(d->blk);
        }
        g_free(d->id);
        g_free(d->filename);
        opts_free(d->opts);
        g_free(d);
    }
    g_list_free(drives);
    drives = NULL;
}
