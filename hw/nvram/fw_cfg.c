/*
 * QEMU firmware configuration device ("fw_cfg_io"), per QEMU's public interface
 * specification docs/specs/fw_cfg.txt:
 *   "Selector Register"   16-bit little-endian write at iobase (0x510); selecting an
 *                         item resets the data offset.  Bit 14 (write channel) is
 *                         ignored for reads, bit 15 selects the arch-local items.
 *   "Data Register"       iobase+1, read byte by byte with auto-increment; reads past
 *                         the end of an item (or of no item) return 0.  Data register
 *                         writes are ignored (no item is writable).
 *   "Selector Reg. Key Values": 0x00 signature "QEMU", 0x01 ID (bit 0 traditional
 *                         interface, bit 1 DMA), 0x19 file directory: be32 count then
 *                         64-byte entries {be32 size, be16 select, be16 reserved,
 *                         char name[56]} sorted by name.
 *   "DMA interface"       iobase+4: 64-bit big-endian address of an FWCfgDmaAccess
 *                         {be32 control, be32 length, be64 address}, written as two
 *                         be32 halves (the low half at +8 starts the transfer) or one
 *                         64-bit write; control bits error (0x01), read (0x02), skip
 *                         (0x04), select (0x08, selector in bits 31-16), write (0x10).
 *                         On completion control is cleared, or set to error (0x01).
 *                         Reading the DMA register returns the signature "QEMU CFG".
 * Guest memory is reached only through address_space_read/write, so a descriptor or
 * buffer outside RAM ends the transfer with the error bit.
 * As QEMU does, named files get the keys 0x20, 0x21, ... in name order (a file added
 * later shifts the keys of the files sorting after it; firmware uses the directory).
 */
#include <string.h>
#include <glib.h>

#include "hw/i386/fw_cfg.h"
#include "kemu/bswap.h"
#include "hw/qdev.h"
#include "kemu/error.h"
#include "system/memory.h"

#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ENTRY_MASK    0x3fff
#define FW_CFG_MAX_FILES     0x1000
#define FW_CFG_MAX_ENTRY     (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)
#define FW_CFG_MAX_NAME      56

#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10

#define FW_CFG_VERSION        0x01
#define FW_CFG_VERSION_DMA    0x02

static const uint8_t fw_cfg_dma_signature[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };

typedef struct FWCfgEntry {
    uint8_t *data;
    uint32_t len;
} FWCfgEntry;

typedef struct FWCfgFile {
    uint32_t size;
    uint16_t select;
    char name[FW_CFG_MAX_NAME];
} FWCfgFile;

struct FWCfgState {
    DeviceState parent;
    /* properties (QEMU's fw_cfg_io) */
    bool dma_enabled;
    uint16_t file_slots;
    bool acpi_mr_restore;
    /* configuration */
    uint16_t iobase;
    FWCfgEntry *entries[2];     /* [0] generic, [1] arch-local; FW_CFG_MAX_ENTRY each */
    FWCfgFile *files;           /* sorted by name */
    uint32_t nr_files;
    /* guest-visible state */
    uint16_t cur_key;
    uint32_t cur_offset;
    uint64_t dma_addr;
    MemoryRegion io_ctl;
    MemoryRegion io_dma;
};

static FWCfgState *fw_cfg_instance;

FWCfgState *fw_cfg_get(void)
{
    return fw_cfg_instance;
}

/* ---- items ------------------------------------------------------------------------ */

static FWCfgEntry *fw_cfg_entry(FWCfgState *s, uint16_t key)
{
    unsigned idx = key & FW_CFG_ENTRY_MASK;

    if (idx >= FW_CFG_MAX_ENTRY) {
        return NULL;
    }
    return &s->entries[(key & FW_CFG_ARCH_LOCAL) ? 1 : 0][idx];
}

static void fw_cfg_set_entry(FWCfgState *s, uint16_t key, const void *data, size_t len)
{
    FWCfgEntry *e = fw_cfg_entry(s, key);

    if (!e) {
        return;
    }
    g_free(e->data);
    e->data = NULL;
    if (len) {
        e->data = g_malloc(len);
        memcpy(e->data, data, len);
    }
    e->len = (uint32_t)len;
}

void fw_cfg_add_bytes(FWCfgState *s, uint16_t key, const void *data, size_t len)
{
    if (len > UINT32_MAX) {
        error_report("fw_cfg: item 0x%x too large", key);
        return;
    }
    fw_cfg_set_entry(s, key, data, len);
}

void fw_cfg_add_string(FWCfgState *s, uint16_t key, const char *str)
{
    fw_cfg_add_bytes(s, key, str, strlen(str) + 1);
}

void fw_cfg_add_i16(FWCfgState *s, uint16_t key, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, v >> 8 };
    fw_cfg_add_bytes(s, key, b, sizeof(b));
}

void fw_cfg_add_i32(FWCfgState *s, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    fw_cfg_add_bytes(s, key, b, sizeof(b));
}

void fw_cfg_add_i64(FWCfgState *s, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    fw_cfg_add_bytes(s, key, b, sizeof(b));
}

/* Regenerate item 0x19 from the sorted file list. */
static void fw_cfg_update_dir(FWCfgState *s)
{
    size_t len = 4 + (size_t)s->nr_files * 64;
    uint8_t *dir = g_malloc0(len);

    stl_be_p(dir, s->nr_files);
    for (uint32_t i = 0; i < s->nr_files; i++) {
        uint8_t *p = dir + 4 + i * 64;
        stl_be_p(p, s->files[i].size);
        stw_be_p(p + 4, s->files[i].select);
        memcpy(p + 8, s->files[i].name, FW_CFG_MAX_NAME);
    }
    fw_cfg_set_entry(s, FW_CFG_FILE_DIR, dir, len);
    g_free(dir);
}

void fw_cfg_add_file(FWCfgState *s, const char *name, const void *data, size_t len)
{
    if (strlen(name) >= FW_CFG_MAX_NAME) {
        error_report("fw_cfg: file name '%s' longer than %d characters", name,
                     FW_CFG_MAX_NAME - 1);
        return;
    }
    if (len > UINT32_MAX) {
        error_report("fw_cfg: file '%s' too large", name);
        return;
    }
    uint32_t pos = 0;
    while (pos < s->nr_files && strcmp(s->files[pos].name, name) < 0) {
        pos++;
    }
    if (pos < s->nr_files && !strcmp(s->files[pos].name, name)) {
        fw_cfg_modify_file(s, name, data, len);
        return;
    }
    if (s->nr_files >= FW_CFG_MAX_FILES) {
        error_report("fw_cfg: no free file slots for '%s'", name);
        return;
    }
    s->files = g_renew(FWCfgFile, s->files, s->nr_files + 1);
    /* Keys follow name order: shift the files (and their items) after `pos` up. */
    for (uint32_t i = s->nr_files; i > pos; i--) {
        s->files[i] = s->files[i - 1];
        s->files[i].select = FW_CFG_FILE_FIRST + i;
        s->entries[0][FW_CFG_FILE_FIRST + i] = s->entries[0][FW_CFG_FILE_FIRST + i - 1];
    }
    s->entries[0][FW_CFG_FILE_FIRST + pos] = (FWCfgEntry){ 0 };
    s->nr_files++;

    FWCfgFile *f = &s->files[pos];
    memset(f->name, 0, sizeof(f->name));
    strcpy(f->name, name);
    f->select = FW_CFG_FILE_FIRST + pos;
    f->size = (uint32_t)len;
    fw_cfg_set_entry(s, f->select, data, len);
    fw_cfg_update_dir(s);
}

void fw_cfg_modify_file(FWCfgState *s, const char *name, const void *data, size_t len)
{
    for (uint32_t i = 0; i < s->nr_files; i++) {
        if (!strcmp(s->files[i].name, name)) {
            if (len > UINT32_MAX) {
                return;
            }
            s->files[i].size = (uint32_t)len;
            fw_cfg_set_entry(s, s->files[i].select, data, len);
            fw_cfg_update_dir(s);
            return;
        }
    }
    fw_cfg_add_file(s, name, data, len);
}

/* ---- traditional interface ------------------------------------------------------ */

static void fw_cfg_select(FWCfgState *s, uint16_t key)
{
    s->cur_key = key;
    s->cur_offset = 0;
}

static uint8_t fw_cfg_read_byte(FWCfgState *s)
{
    FWCfgEntry *e = fw_cfg_entry(s, s->cur_key);

    if (!e || !e->data || s->cur_offset >= e->len) {
        return 0;
    }
    return e->data[s->cur_offset++];
}

static uint64_t fw_cfg_ctl_read(void *opaque, hwaddr addr, unsigned size)
{
    /* Either port reads the next data byte, as QEMU's combined region does. */
    return fw_cfg_read_byte(opaque);
}

static void fw_cfg_ctl_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    FWCfgState *s = opaque;

    if (size == 2 && addr == 0) {
        fw_cfg_select(s, (uint16_t)val);
    }
    /* Byte writes are data-register writes: no item is writable, they are ignored. */
}

static const MemoryRegionOps fw_cfg_ctl_ops = {
    .read = fw_cfg_ctl_read,
    .write = fw_cfg_ctl_write,
    .valid_min = 1,
    .valid_max = 2,
    .impl_min = 1,
    .impl_max = 2,
};

/* ---- DMA interface ----------------------------------------------------------------- */

static bool fw_cfg_dma_fill_zero(hwaddr addr, uint32_t len)
{
    static const uint8_t zeros[4096];

    while (len > 0) {
        uint32_t n = len < sizeof(zeros) ? len : sizeof(zeros);
        if (address_space_write(&address_space_memory, addr, zeros, n) != MEMTX_OK) {
            return false;
        }
        addr += n;
        len -= n;
    }
    return true;
}

static void fw_cfg_dma_transfer(FWCfgState *s)
{
    hwaddr desc = s->dma_addr;
    uint8_t raw[16];
    uint8_t status[4] = { 0 };

    s->dma_addr = 0;
    if (address_space_read(&address_space_memory, desc, raw, sizeof(raw)) != MEMTX_OK) {
        stl_be_p(status, FW_CFG_DMA_CTL_ERROR);
        address_space_write(&address_space_memory, desc, status, sizeof(status));
        return;
    }
    uint32_t control = ldl_be_p(raw);
    uint32_t length = ldl_be_p(raw + 4);
    hwaddr addr = ldq_be_p(raw + 8);
    bool error = false;

    if (control & FW_CFG_DMA_CTL_SELECT) {
        fw_cfg_select(s, control >> 16);
    }
    if (control & FW_CFG_DMA_CTL_READ) {
        control = FW_CFG_DMA_CTL_READ;
    } else if (control & FW_CFG_DMA_CTL_WRITE) {
        control = FW_CFG_DMA_CTL_WRITE;
    } else if (control & FW_CFG_DMA_CTL_SKIP) {
        control = FW_CFG_DMA_CTL_SKIP;
    } else {
        length = 0;
    }

    FWCfgEntry *e = fw_cfg_entry(s, s->cur_key);
    while (length > 0 && !error) {
        uint32_t avail = (e && e->data && s->cur_offset < e->len) ? e->len - s->cur_offset : 0;
        uint32_t n;
        if (avail == 0) {
            /* Past the end (or no item): reads give zeros, writes fail. */
            n = length;
            if (control == FW_CFG_DMA_CTL_READ) {
                error = !fw_cfg_dma_fill_zero(addr, n);
            } else if (control == FW_CFG_DMA_CTL_WRITE) {
                error = true;
            }
        } else {
            n = length < avail ? length : avail;
            if (control == FW_CFG_DMA_CTL_READ) {
                error = address_space_write(&address_space_memory, addr,
                                            e->data + s->cur_offset, n) != MEMTX_OK;
            } else if (control == FW_CFG_DMA_CTL_WRITE) {
                error = true; /* no writable items */
            }
            if (!error) {
                s->cur_offset += n;
            }
        }
        addr += n;
        length -= n;
    }
    stl_be_p(status, error ? FW_CFG_DMA_CTL_ERROR : 0);
    address_space_write(&address_space_memory, desc, status, sizeof(status));
}

static uint64_t fw_cfg_dma_read(void *opaque, hwaddr addr, unsigned size)
{
    uint64_t v = 0;

    /* The register reads as the big-endian signature: byte i of the port is sig[i]. */
    for (unsigned i = 0; i < size && addr + i < sizeof(fw_cfg_dma_signature); i++) {
        v |= (uint64_t)fw_cfg_dma_signature[addr + i] << (8 * i);
    }
    return v;
}

static void fw_cfg_dma_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    FWCfgState *s = opaque;

    if (!s->dma_enabled) {
        return;
    }
    if (size == 4 && addr == 0) {
        s->dma_addr = (uint64_t)__builtin_bswap32((uint32_t)val) << 32;
    } else if (size == 4 && addr == 4) {
        s->dma_addr |= __builtin_bswap32((uint32_t)val);
        fw_cfg_dma_transfer(s);
    } else if (size == 8 && addr == 0) {
        s->dma_addr = __builtin_bswap64(val);
        fw_cfg_dma_transfer(s);
    }
}

static const MemoryRegionOps fw_cfg_dma_ops = {
    .read = fw_cfg_dma_read,
    .write = fw_cfg_dma_write,
    .valid_min = 1,
    .valid_max = 8,
    .impl_min = 1,
    .impl_max = 8,
};

/* ---- device ------------------------------------------------------------------------ */

static void fw_cfg_realize(DeviceState *dev, Error **errp)
{
    FWCfgState *s = (FWCfgState *)dev;

    if (fw_cfg_instance) {
        error_setg(errp, "at most one fw_cfg device is supported");
        return;
    }
    s->entries[0] = g_new0(FWCfgEntry, FW_CFG_MAX_ENTRY);
    s->entries[1] = g_new0(FWCfgEntry, FW_CFG_MAX_ENTRY);
    fw_cfg_add_bytes(s, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_i32(s, FW_CFG_ID, FW_CFG_VERSION | (s->dma_enabled ? FW_CFG_VERSION_DMA : 0));
    fw_cfg_update_dir(s);

    memory_region_init_io(&s->io_ctl, &fw_cfg_ctl_ops, s, "fwcfg", 2);
    memory_region_add_subregion(get_system_io(), s->iobase, &s->io_ctl);
    if (s->dma_enabled) {
        memory_region_init_io(&s->io_dma, &fw_cfg_dma_ops, s, "fwcfg.dma", 8);
        memory_region_add_subregion(get_system_io(), s->iobase + 4, &s->io_dma);
    }
    fw_cfg_instance = s;
}

static void fw_cfg_reset(DeviceState *dev)
{
    FWCfgState *s = (FWCfgState *)dev;

    fw_cfg_select(s, 0);
    s->dma_addr = 0;
}

FWCfgState *fw_cfg_init_io(uint16_t iobase)
{
    DeviceState *dev = qdev_new("fw_cfg_io", &error_fatal);
    FWCfgState *s = (FWCfgState *)dev;

    s->iobase = iobase;
    qdev_realize(dev, bus_find_by_type("system"), &error_fatal);
    return s;
}

static int fw_cfg_post_load(void *opaque, int version_id)
{
    return 0; /* any key/offset is safe: reads are bounds-checked */
}

static const VMStateField vmstate_fw_cfg_fields[] = {
    VMSTATE_UINT16(cur_key, FWCfgState),
    VMSTATE_UINT32(cur_offset, FWCfgState),
    VMSTATE_UINT64(dma_addr, FWCfgState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_fw_cfg = {
    .name = "fw_cfg",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = fw_cfg_post_load,
    .fields = vmstate_fw_cfg_fields,
};

static const Property fw_cfg_props[] = {
    DEFINE_PROP_BOOL("acpi-mr-restore", FWCfgState, acpi_mr_restore, true),
    DEFINE_PROP_BOOL("dma_enabled", FWCfgState, dma_enabled, true),
    DEFINE_PROP_UINT16("x-file-slots", FWCfgState, file_slots, 32),
    DEFINE_PROP_END_OF_LIST(),
};

static DeviceClass fw_cfg_class = {
    .name = "fw_cfg_io",
    .instance_size = sizeof(FWCfgState),
    .category = DEVICE_CATEGORY_MISC,
    .user_creatable = false,
    .bus_type = "system",
    .props = fw_cfg_props,
    .realize = fw_cfg_realize,
    .reset = fw_cfg_reset,
    .vmsd = &vmstate_fw_cfg,
};

DEVICE_TYPE_REGISTER(fw_cfg_class)
