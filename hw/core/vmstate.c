/*
 * Generic device state serialisation driven by VMStateDescription tables.
 * Stream layout per description: name length (u8) + name, version (be32), then
 * each field present in that version, scalars big-endian, as QEMU's migration
 * stream encodes them.
 */
#include "hw/vmstate.h"

#include <string.h>

static void put_be(GByteArray *out, uint64_t v, unsigned size)
{
    uint8_t b[8];
    for (unsigned i = 0; i < size; i++) {
        b[i] = v >> (8 * (size - 1 - i));
    }
    g_byte_array_append(out, b, size);
}

static uint64_t get_be(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t load_scalar(const void *p, size_t size)
{
    switch (size) {
    case 1:
        return *(const uint8_t *)p;
    case 2:
        return *(const uint16_t *)p;
    case 4:
        return *(const uint32_t *)p;
    default:
        return *(const uint64_t *)p;
    }
}

static void store_scalar(void *p, size_t size, uint64_t v)
{
    switch (size) {
    case 1:
        *(uint8_t *)p = v;
        break;
    case 2:
        *(uint16_t *)p = v;
        break;
    case 4:
        *(uint32_t *)p = v;
        break;
    default:
        *(uint64_t *)p = v;
        break;
    }
}

void vmstate_save(const VMStateDescription *vmsd, const void *opaque, GByteArray *out)
{
    uint8_t nlen = strlen(vmsd->name);
    if (vmsd->pre_save) {
        vmsd->pre_save((void *)opaque);
    }
    g_byte_array_append(out, &nlen, 1);
    g_byte_array_append(out, (const uint8_t *)vmsd->name, nlen);
    put_be(out, vmsd->version_id, 4);
    for (const VMStateField *f = vmsd->fields; f && f->name; f++) {
        const uint8_t *base = (const uint8_t *)opaque + f->offset;
        for (unsigned i = 0; i < f->num; i++) {
            const uint8_t *p = base + i * f->size;
            switch (f->type) {
            case VMS_BUFFER:
                g_byte_array_append(out, p, f->size);
                break;
            case VMS_STRUCT:
                vmstate_save(f->vmsd, p, out);
                break;
            case VMS_BOOL:
                put_be(out, *(const bool *)p, 1);
                break;
            default:
                put_be(out, load_scalar(p, f->size), f->size);
                break;
            }
        }
    }
}

bool vmstate_load(const VMStateDescription *vmsd, void *opaque, const uint8_t *buf, size_t len,
                  size_t *consumed, Error **errp)
{
    size_t pos = 0;
#define NEED(n) \
    do { \
        if (len - pos < (size_t)(n)) { \
            error_setg(errp, "vmstate '%s': truncated input", vmsd->name); \
            return false; \
        } \
    } while (0)
    NEED(1);
    uint8_t nlen = buf[pos++];
    NEED(nlen + 4);
    if (nlen != strlen(vmsd->name) || memcmp(buf + pos, vmsd->name, nlen)) {
        error_setg(errp, "vmstate: expected section '%s'", vmsd->name);
        return false;
    }
    pos += nlen;
    int version = get_be(buf + pos, 4);
    pos += 4;
    if (version > vmsd->version_id || version < vmsd->minimum_version_id) {
        error_setg(errp, "vmstate '%s': unsupported version %d (supported %d..%d)", vmsd->name,
                   version, vmsd->minimum_version_id, vmsd->version_id);
        return false;
    }
    for (const VMStateField *f = vmsd->fields; f && f->name; f++) {
        if (f->version_id > version) {
            continue;
        }
        uint8_t *base = (uint8_t *)opaque + f->offset;
        for (unsigned i = 0; i < f->num; i++) {
            uint8_t *p = base + i * f->size;
            if (f->type == VMS_STRUCT) {
                size_t used;
                if (!vmstate_load(f->vmsd, p, buf + pos, len - pos, &used, errp)) {
                    return false;
                }
                pos += used;
                continue;
            }
            size_t sz = f->type == VMS_BOOL ? 1 : f->size;
            NEED(sz);
            if (f->type == VMS_BUFFER) {
                memcpy(p, buf + pos, sz);
            } else if (f->type == VMS_BOOL) {
                *(bool *)p = buf[pos] != 0;
            } else {
                store_scalar(p, f->size, get_be(buf + pos, sz));
            }
            pos += sz;
        }
    }
#undef NEED
    if (consumed) {
        *consumed = pos;
    }
    if (vmsd->post_load && vmsd->post_load(opaque, version) < 0) {
        error_setg(errp, "vmstate '%s': post-load failed", vmsd->name);
        return false;
    }
    return true;
}
