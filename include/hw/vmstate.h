/*
 * Device state descriptions (vmstate): the fields that define a device's
 * state, with a version, so that snapshots and migration are generic.
 * vmstate_save/vmstate_load serialise a struct to a byte stream (big-endian,
 * as QEMU's migration stream) by walking the description.
 */
#ifndef HW_VMSTATE_H
#define HW_VMSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "kemu/error.h"

typedef enum VMStateFieldType {
    VMS_END = 0,
    VMS_BOOL,
    VMS_UINT8,
    VMS_UINT16,
    VMS_UINT32,
    VMS_UINT64,
    VMS_INT32,
    VMS_INT64,
    VMS_BUFFER,   /* raw bytes, `size` long */
    VMS_STRUCT,   /* nested description `vmsd` */
} VMStateFieldType;

typedef struct VMStateDescription VMStateDescription;

typedef struct VMStateField {
    const char *name;
    VMStateFieldType type;
    size_t offset;
    size_t size;       /* element size (for BUFFER: the whole length) */
    unsigned num;      /* array length, 1 for scalars */
    int version_id;    /* first version carrying this field */
    const VMStateDescription *vmsd;
} VMStateField;

struct VMStateDescription {
    const char *name;
    int version_id;
    int minimum_version_id;
    int (*pre_save)(void *opaque);
    int (*post_load)(void *opaque, int version_id);
    const VMStateField *fields;
};

#define VMSTATE_SCALAR_(f, st, t, ty, n) \
    { .name = #f, .type = (t), .offset = offsetof(st, f), .size = sizeof(ty), .num = (n) }

#define VMSTATE_BOOL(f, st)      VMSTATE_SCALAR_(f, st, VMS_BOOL, bool, 1)
#define VMSTATE_UINT8(f, st)     VMSTATE_SCALAR_(f, st, VMS_UINT8, uint8_t, 1)
#define VMSTATE_UINT16(f, st)    VMSTATE_SCALAR_(f, st, VMS_UINT16, uint16_t, 1)
#define VMSTATE_UINT32(f, st)    VMSTATE_SCALAR_(f, st, VMS_UINT32, uint32_t, 1)
#define VMSTATE_UINT64(f, st)    VMSTATE_SCALAR_(f, st, VMS_UINT64, uint64_t, 1)
#define VMSTATE_INT32(f, st)     VMSTATE_SCALAR_(f, st, VMS_INT32, int32_t, 1)
#define VMSTATE_INT64(f, st)     VMSTATE_SCALAR_(f, st, VMS_INT64, int64_t, 1)
#define VMSTATE_UINT8_ARRAY(f, st, n)  VMSTATE_SCALAR_(f, st, VMS_UINT8, uint8_t, n)
#define VMSTATE_UINT16_ARRAY(f, st, n) VMSTATE_SCALAR_(f, st, VMS_UINT16, uint16_t, n)
#define VMSTATE_UINT32_ARRAY(f, st, n) VMSTATE_SCALAR_(f, st, VMS_UINT32, uint32_t, n)
#define VMSTATE_UINT64_ARRAY(f, st, n) VMSTATE_SCALAR_(f, st, VMS_UINT64, uint64_t, n)
#define VMSTATE_BUFFER(f, st) \
    { .name = #f, .type = VMS_BUFFER, .offset = offsetof(st, f), \
      .size = sizeof(((st *)0)->f), .num = 1 }
#define VMSTATE_STRUCT(f, st, desc, ty) \
    { .name = #f, .type = VMS_STRUCT, .offset = offsetof(st, f), .size = sizeof(ty), \
      .num = 1, .vmsd = &(desc) }
#define VMSTATE_END_OF_LIST() { .name = NULL, .type = VMS_END }

void vmstate_save(const VMStateDescription *vmsd, const void *opaque, GByteArray *out);
/* Returns false (errp set) on truncated input or an unsupported version. */
bool vmstate_load(const VMStateDescription *vmsd, void *opaque, const uint8_t *buf,
                  size_t len, size_t *consumed, Error **errp);

#endif
