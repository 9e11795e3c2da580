/*
 * -drive: the legacy drive option of kemu-system, with QEMU's option names,
 * defaults and error messages.  drive_new() parses one option string, opens
 * the image (honouring cache, aio, readonly, snapshot, discard, detect-zeroes,
 * werror/rerror) and registers the drive so boards and devices can look it up
 * by interface and index, or by id (if=none drives, -device drive=ID).
 *
 * Usage from the system emulator:
 *     drive_set_snapshot_all(true);              // before drive_new, for -snapshot
 *     DriveInfo *d = drive_new("file=disk.qcow2,if=virtio", IF_IDE, &err);
 *     ...                                        // board: drive_get(IF_IDE, 0, 0)
 *     drive_cleanup_all();                       // at exit: flush and close
 * Errors are returned without location; the caller prefixes "-drive <str>: ".
 */
#ifndef BLOCK_DRIVE_H
#define BLOCK_DRIVE_H

#include <stdbool.h>
#include <glib.h>

#include "block/block-backend.h"

typedef enum BlockInterfaceType {
    IF_DEFAULT = -1,
    IF_NONE = 0,
    IF_IDE,
    IF_SCSI,
    IF_FLOPPY,
    IF_PFLASH,
    IF_MTD,
    IF_SD,
    IF_VIRTIO,
    IF_XEN,
    IF_COUNT,
} BlockInterfaceType;

typedef struct DriveInfo {
    char *id;
    BlockInterfaceType type;
    int bus;
    int unit;
    bool is_cdrom;
    bool claimed;            /* a device took it (drive_claim) */
    char *filename;          /* NULL for an empty drive (e.g. a CD-ROM without media) */
    BlockBackend *blk;       /* NULL for an empty drive */
    Opts *opts;              /* everything given, for device-level keys (addr, serial) */
} DriveInfo;

/* Parse and open; default_if is the machine's default interface (IF_IDE for pc). */
DriveInfo *drive_new(const char *optstr, BlockInterfaceType default_if, Error **errp);
/* -snapshot: every drive opened afterwards gets snapshot=on. */
void drive_set_snapshot_all(bool on);

DriveInfo *drive_get(BlockInterfaceType type, int bus, int unit);
DriveInfo *drive_get_by_index(BlockInterfaceType type, int index);
DriveInfo *drive_get_by_id(const char *id);
/* Highest bus number used by drives of this interface, -1 if none. */
int drive_get_max_bus(BlockInterfaceType type);
/* Units per bus for the interface (IDE 2, SCSI 7), 0 = unlimited. */
int drive_if_max_devs(BlockInterfaceType type);
const char *drive_if_name(BlockInterfaceType type);
/* All drives in creation order (do not free the list). */
GList *drive_list(void);
/* Mark a drive as used by a device; false (with error) if already claimed. */
bool drive_claim(DriveInfo *dinfo, Error **errp);
/* Flush and close every drive. */
void drive_cleanup_all(void);

#endif
