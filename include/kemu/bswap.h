/*
 * Unaligned little- and big-endian loads and stores on byte buffers (guest
 * structures, image metadata, firmware tables).  Names follow the
 * ld/st + size + endianness + "_p" convention: stl_le_p stores 32 bits LE.
 */
#ifndef KEMU_BSWAP_H
#define KEMU_BSWAP_H

#include <stdint.h>
#include <string.h>

static inline uint16_t lduw_le_p(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t ldl_le_p(const void *p)
{
    const uint8_t *b = p;
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t ldq_le_p(const void *p)
{
    const uint8_t *b = p;
    return ldl_le_p(b) | (uint64_t)ldl_le_p(b + 4) << 32;
}

static inline void stw_le_p(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = v;
    b[1] = v >> 8;
}

static inline void stl_le_p(void *p, uint32_t v)
{
    uint8_t *b = p;
    stw_le_p(b, v);
    stw_le_p(b + 2, v >> 16);
}

static inline void stq_le_p(void *p, uint64_t v)
{
    uint8_t *b = p;
    stl_le_p(b, v);
    stl_le_p(b + 4, v >> 32);
}

static inline uint16_t lduw_be_p(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t ldl_be_p(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

static inline uint64_t ldq_be_p(const void *p)
{
    const uint8_t *b = p;
    return (uint64_t)ldl_be_p(b) << 32 | ldl_be_p(b + 4);
}

static inline void stw_be_p(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = v >> 8;
    b[1] = v;
}

static inline void stl_be_p(void *p, uint32_t v)
{
    uint8_t *b = p;
    stw_be_p(b, v >> 16);
    stw_be_p(b + 2, v);
}

static inline void stq_be_p(void *p, uint64_t v)
{
    uint8_t *b = p;
    stl_be_p(b, v >> 32);
    stl_be_p(b + 4, v);
}

#endif
