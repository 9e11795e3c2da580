/*
 * AML builder.  Grammar per ACPI 6.4 §20.2: NameString (§20.2.2), PkgLength (§20.2.4),
 * data objects (§20.2.3), named objects (§20.2.5.2: DeviceOp 0x5B 0x82, MethodOp 0x14),
 * ScopeOp 0x10, NameOp 0x08, PackageOp 0x12, BufferOp 0x11, ReturnOp 0xA4.  Resource
 * descriptors per §6.4.2 (small) and §6.4.3 (large).  EISA IDs per §6.1.5 (_HID).
 */
#include "hw/i386/aml.h"

#include <stdlib.h>
#include <glib.h>
#include <string.h>

typedef enum AmlKind {
    AML_RAW,        /* bytes as they are */
    AML_BLOCK,      /* op + PkgLength + bytes (scope, device, method) */
    AML_PACKAGE,    /* PackageOp PkgLength NumElements elements */
    AML_RESOURCES,  /* BufferOp PkgLength BufferSize descriptors EndTag */
    AML_ROOT,
} AmlKind;

struct Aml {
    AmlKind kind;
    uint8_t op[2];
    unsigned op_len;
    unsigned nelems;
    GByteArray *buf;
};

static Aml *aml_new(AmlKind kind)
{
    Aml *a = g_new0(Aml, 1);
    a->kind = kind;
    a->buf = g_byte_array_new();
    return a;
}

static void put(Aml *a, const void *p, size_t n)
{
    g_byte_array_append(a->buf, p, n);
}

static void put8(Aml *a, uint8_t v)
{
    put(a, &v, 1);
}

static void put16(Aml *a, uint16_t v)
{
    put8(a, v);
    put8(a, v >> 8);
}

static void put32(Aml *a, uint32_t v)
{
    put16(a, v);
    put16(a, v >> 16);
}

static void put64(Aml *a, uint64_t v)
{
    put32(a, v);
    put32(a, v >> 32);
}

void aml_free(Aml *a)
{
    if (a) {
        g_byte_array_free(a->buf, TRUE);
        g_free(a);
    }
}

Aml *aml_block_root(void)
{
    return aml_new(AML_ROOT);
}

uint8_t *aml_take_bytes(Aml *root, size_t *len)
{
    *len = root->buf->len;
    uint8_t *data = g_byte_array_free(root->buf, FALSE);
    g_free(root);
    return data;
}

size_t aml_encode_pkglength(uint8_t *out, size_t payload)
{
    /* The length counts its own bytes; 1 byte holds up to 63, then 4 bits + N bytes. */
    size_t n, total;

    if (payload + 1 < 64) {
        out[0] = payload + 1;
        return 1;
    }
    for (n = 2; n <= 4; n++) {
        total = payload + n;
        if (total < (1ull << (4 + 8 * (n - 1)))) {
            break;
        }
    }
    g_assert(n <= 4);  /* 2^28: far beyond any table we build */
    out[0] = ((n - 1) << 6) | (total & 0xf);
    for (size_t i = 1; i < n; i++) {
        out[i] = total >> (4 + 8 * (i - 1));
    }
    return n;
}

size_t aml_encode_namestring(uint8_t *out, size_t cap, const char *name)
{
    size_t o = 0;
    const char *p = name;
    char **segs;
    unsigned nseg;

    while (*p == '\\' || *p == '^') {
        if (o >= cap || (*p == '\\' && p != name)) {
            return 0;
        }
        out[o++] = *p++;
    }
    if (!*p) {
        if (o >= cap) {
            return 0;
        }
        out[o++] = 0x00;   /* NullName */
        return o;
    }
    segs = g_strsplit(p, ".", -1);
    nseg = g_strv_length(segs);
    if (nseg == 2) {
        if (o >= cap) {
            goto bad;
        }
        out[o++] = 0x2e;   /* DualNamePrefix */
    } else if (nseg > 2) {
        if (o + 2 > cap || nseg > 255) {
            goto bad;
        }
        out[o++] = 0x2f;   /* MultiNamePrefix */
        out[o++] = nseg;
    }
    for (unsigned i = 0; i < nseg; i++) {
        size_t l = strlen(segs[i]);
        if (l == 0 || l > 4 || o + 4 > cap) {
            goto bad;
        }
        for (size_t j = 0; j < 4; j++) {
            char c = j < l ? segs[i][j] : '_';
            bool ok = (c >= 'A' && c <= 'Z') || c == '_' || (j > 0 && c >= '0' && c <= '9');
            if (!ok) {
                goto bad;
            }
            out[o++] = c;
        }
    }
    g_strfreev(segs);
    return o;
bad:
    g_strfreev(segs);
    return 0;
}

static void put_name(Aml *a, const char *name)
{
    uint8_t tmp[2 + 2 + 255 * 4];
    size_t n = aml_encode_namestring(tmp, sizeof(tmp), name);

    g_assert(n > 0);   /* names come from our own code, never from the guest */
    put(a, tmp, n);
}

static void encode_into(GByteArray *out, Aml *c)
{
    uint8_t pl[4];
    size_t n;

    switch (c->kind) {
    case AML_RAW:
    case AML_ROOT:
        g_byte_array_append(out, c->buf->data, c->buf->len);
        break;
    case AML_BLOCK:
        g_byte_array_append(out, c->op, c->op_len);
        n = aml_encode_pkglength(pl, c->buf->len);
        g_byte_array_append(out, pl, n);
        g_byte_array_append(out, c->buf->data, c->buf->len);
        break;
    case AML_PACKAGE: {
        uint8_t cnt = c->nelems;
        g_assert(c->nelems <= 255);
        g_byte_array_append(out, (const uint8_t *)"\x12", 1);
        n = aml_encode_pkglength(pl, c->buf->len + 1);
        g_byte_array_append(out, pl, n);
        g_byte_array_append(out, &cnt, 1);
        g_byte_array_append(out, c->buf->data, c->buf->len);
        break;
    }
    case AML_RESOURCES: {
        /* End Tag (§6.4.2.9): checksum 0 means "treat as correct". */
        Aml *size;
        GByteArray *sz = g_byte_array_new();
        put8(c, 0x79);
        put8(c, 0x00);
        size = aml_int(c->buf->len);
        encode_into(sz, size);
        aml_free(size);
        g_byte_array_append(out, (const uint8_t *)"\x11", 1);
        n = aml_encode_pkglength(pl, sz->len + c->buf->len);
        g_byte_array_append(out, pl, n);
        g_byte_array_append(out, sz->data, sz->len);
        g_byte_array_append(out, c->buf->data, c->buf->len);
        g_byte_array_free(sz, TRUE);
        break;
    }
    }
}

void aml_append(Aml *parent, Aml *child)
{
    encode_into(parent->buf, child);
    parent->nelems++;
    aml_free(child);
}

Aml *aml_int(uint64_t v)
{
    Aml *a = aml_new(AML_RAW);

    if (v == 0) {
        put8(a, 0x00);          /* ZeroOp */
    } else if (v == 1) {
        put8(a, 0x01);          /* OneOp */
    } else if (v == UINT64_MAX) {
        put8(a, 0xff);          /* OnesOp */
    } else if (v <= 0xff) {
        put8(a, 0x0a);
        put8(a, v);
    } else if (v <= 0xffff) {
        put8(a, 0x0b);
        put16(a, v);
    } else if (v <= 0xffffffffull) {
        put8(a, 0x0c);
        put32(a, v);
    } else {
        put8(a, 0x0e);
        put64(a, v);
    }
    return a;
}

Aml *aml_string(const char *s)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x0d);              /* StringPrefix, ASCII chars, NullChar */
    put(a, s, strlen(s) + 1);
    return a;
}

Aml *aml_eisaid(const char *id)
{
    uint32_t v;

    /* Three uppercase letters (5 bits each, 'A' = 1) and four hex digits, big-endian. */
    g_assert(strlen(id) == 7);
    v = ((uint32_t)(id[0] - '@') << 26) | ((uint32_t)(id[1] - '@') << 21) |
        ((uint32_t)(id[2] - '@') << 16) | (uint32_t)strtoul(id + 3, NULL, 16);
    Aml *a = aml_new(AML_RAW);
    put8(a, 0x0c);
    put8(a, v >> 24);
    put8(a, v >> 16);
    put8(a, v >> 8);
    put8(a, v);
    return a;
}

Aml *aml_name(const char *name)
{
    Aml *a = aml_new(AML_RAW);
    put_name(a, name);
    return a;
}

Aml *aml_buffer(const uint8_t *data, size_t len)
{
    Aml *a = aml_new(AML_RAW);
    Aml *size = aml_int(len);
    GByteArray *body = g_byte_array_new();
    uint8_t pl[4];
    size_t n;

    encode_into(body, size);
    aml_free(size);
    g_byte_array_append(body, data, len);
    put8(a, 0x11);
    n = aml_encode_pkglength(pl, body->len);
    put(a, pl, n);
    put(a, body->data, body->len);
    g_byte_array_free(body, TRUE);
    return a;
}

Aml *aml_package(void)
{
    return aml_new(AML_PACKAGE);
}

Aml *aml_name_decl(const char *name, Aml *value)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x08);
    put_name(a, name);
    encode_into(a->buf, value);
    aml_free(value);
    return a;
}

static Aml *aml_block(const uint8_t *op, unsigned op_len, const char *name)
{
    Aml *a = aml_new(AML_BLOCK);

    memcpy(a->op, op, op_len);
    a->op_len = op_len;
    put_name(a, name);
    return a;
}

Aml *aml_scope(const char *name)
{
    return aml_block((const uint8_t *)"\x10", 1, name);
}

Aml *aml_device(const char *name)
{
    return aml_block((const uint8_t *)"\x5b\x82", 2, name);
}

Aml *aml_method(const char *name, unsigned nargs, bool serialized)
{
    Aml *a = aml_block((const uint8_t *)"\x14", 1, name);

    g_assert(nargs <= 7);
    put8(a, nargs | (serialized ? 0x08 : 0));   /* MethodFlags: ArgCount, SerializeFlag */
    return a;
}

Aml *aml_return(Aml *value)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0xa4);
    encode_into(a->buf, value);
    aml_free(value);
    return a;
}

Aml *aml_resource_template(void)
{
    return aml_new(AML_RESOURCES);
}

Aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x47);              /* I/O port descriptor, small item 0x08, length 7 */
    put8(a, 0x01);              /* decodes 16 address bits */
    put16(a, min);
    put16(a, max);
    put8(a, align);
    put8(a, len);
    return a;
}

Aml *aml_irq_no_flags(uint8_t irq)
{
    Aml *a = aml_new(AML_RAW);

    g_assert(irq < 16);
    put8(a, 0x22);              /* IRQ descriptor, small item 0x04, length 2 */
    put16(a, 1u << irq);
    return a;
}

Aml *aml_interrupt(bool level, bool active_low, bool shared, uint32_t irq)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x89);              /* Extended Interrupt Descriptor (large item 0x09) */
    put16(a, 6);
    /* bit0 consumer, bit1 edge, bit2 active-low, bit3 shared */
    put8(a, 0x01 | (level ? 0 : 0x02) | (active_low ? 0x04 : 0) | (shared ? 0x08 : 0));
    put8(a, 1);
    put32(a, irq);
    return a;
}

Aml *aml_memory32_fixed(uint32_t base, uint32_t len, bool read_write)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x86);              /* 32-bit Fixed Memory Range Descriptor */
    put16(a, 9);
    put8(a, read_write ? 1 : 0);
    put32(a, base);
    put32(a, len);
    return a;
}

/* General flags for a producer with MinFixed, MaxFixed, PosDecode (§6.4.3.5.1). */
#define ADDR_GENERAL_FLAGS 0x0c

Aml *aml_word_bus_number(uint16_t min, uint16_t max)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x88);              /* Word Address Space Descriptor */
    put16(a, 13);
    put8(a, 2);                 /* bus number range */
    put8(a, ADDR_GENERAL_FLAGS);
    put8(a, 0);
    put16(a, 0);                /* granularity */
    put16(a, min);
    put16(a, max);
    put16(a, 0);                /* translation offset */
    put16(a, max - min + 1);
    return a;
}

Aml *aml_word_io(uint16_t min, uint16_t max)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x88);
    put16(a, 13);
    put8(a, 1);                 /* I/O range */
    put8(a, ADDR_GENERAL_FLAGS);
    put8(a, 0x03);              /* _RNG: ISA and non-ISA ranges (EntireRange) */
    put16(a, 0);
    put16(a, min);
    put16(a, max);
    put16(a, 0);
    put16(a, max - min + 1);
    return a;
}

Aml *aml_dword_memory(uint32_t min, uint32_t max, bool cacheable)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x87);              /* DWord Address Space Descriptor */
    put16(a, 23);
    put8(a, 0);                 /* memory range */
    put8(a, ADDR_GENERAL_FLAGS);
    put8(a, 0x01 | (cacheable ? 0x02 : 0));   /* _RW, _MEM cacheable */
    put32(a, 0);
    put32(a, min);
    put32(a, max);
    put32(a, 0);
    put32(a, max - min + 1);
    return a;
}

Aml *aml_qword_memory(uint64_t min, uint64_t max, bool cacheable)
{
    Aml *a = aml_new(AML_RAW);

    put8(a, 0x8a);              /* QWord Address Space Descriptor */
    put16(a, 43);
    put8(a, 0);
    put8(a, ADDR_GENERAL_FLAGS);
    put8(a, 0x01 | (cacheable ? 0x02 : 0));
    put64(a, 0);
    put64(a, min);
    put64(a, max);
    put64(a, 0);
    put64(a, max - min + 1);
    return a;
}
