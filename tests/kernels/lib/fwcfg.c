/*
 * fwcfg.c: QEMU firmware configuration device, traditional I/O interface (QEMU
 * docs/specs/fw_cfg.rst: 16-bit selector at 0x510, 8-bit data at 0x511; numbers little-endian
 * except the file directory, which is big-endian).
 */
#include "libk.h"

#define FW_CFG_PORT_SEL  0x510
#define FW_CFG_PORT_DATA 0x511

void fw_cfg_read(uint16_t key, void *buf, uint32_t len)
{
    uint8_t *p = buf;
    outw(FW_CFG_PORT_SEL, key);
    for (uint32_t i = 0; i < len; i++) {
        p[i] = inb(FW_CFG_PORT_DATA);
    }
}

bool fw_cfg_present(void)
{
    char sig[4];
    fw_cfg_read(FW_CFG_SIGNATURE, sig, 4);
    return !memcmp(sig, "QEMU", 4);
}

uint64_t fw_cfg_read64(uint16_t key)
{
    uint64_t v;
    fw_cfg_read(key, &v, 8);
    return v;
}

uint32_t fw_cfg_read32(uint16_t key)
{
    uint32_t v;
    fw_cfg_read(key, &v, 4);
    return v;
}

uint16_t fw_cfg_read16(uint16_t key)
{
    uint16_t v;
    fw_cfg_read(key, &v, 2);
    return v;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

bool fw_cfg_find_file(const char *name, uint16_t *select, uint32_t *size)
{
    uint8_t hdr[4], ent[64];
    fw_cfg_read(FW_CFG_FILE_DIR, hdr, 4);
    uint32_t count = be32(hdr);
    /* The directory is read sequentially after the count: size, select, reserved, name[56]. */
    for (uint32_t i = 0; i < count && i < 4096; i++) {
        for (int j = 0; j < 64; j++) {
            ent[j] = inb(FW_CFG_PORT_DATA);
        }
        ent[63] = '\0';
        if (!strcmp((const char *)ent + 8, name)) {
            *size = be32(ent);
            *select = (uint16_t)((ent[4] << 8) | ent[5]);
            return true;
        }
    }
    return false;
}
