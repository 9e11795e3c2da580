/*
 * Multiboot v1 loader (Multiboot Specification 0.6.96): §3.1 OS image format (header in
 * the first 8192 bytes, 4-byte aligned, magic 0x1BADB002, flags, checksum; the a.out
 * kludge address fields of flag 16), §3.3 boot information format (mem, cmdline, mods,
 * mmap, boot_loader_name).  ELF32 images load by program header (ELF spec, "Program
 * Header", PT_LOAD at p_paddr).  Module list syntax is QEMU's: -initrd "file args,file2"
 * with ",," standing for a literal comma.
 */
#include "hw/i386/boot.h"
#include "kemu/bswap.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#define MB_HEADER_MAGIC     0x1BADB002u
#define MB_SEARCH_LIMIT     8192

#define MB_FLAG_PAGE_ALIGN  (1u << 0)
#define MB_FLAG_MEMORY_INFO (1u << 1)
#define MB_FLAG_VIDEO_MODE  (1u << 2)
#define MB_FLAG_AOUT_KLUDGE (1u << 16)

/* multiboot_info flags (§3.3) */
#define MBI_MEM             (1u << 0)
#define MBI_BOOT_DEVICE     (1u << 1)
#define MBI_CMDLINE         (1u << 2)
#define MBI_MODS            (1u << 3)
#define MBI_MMAP            (1u << 6)
#define MBI_BOOT_LOADER     (1u << 9)

/* multiboot_info offsets */
#define MBI_FLAGS           0
#define MBI_MEM_LOWER       4
#define MBI_MEM_UPPER       8
#define MBI_BOOT_DEV        12
#define MBI_CMDLINE_PTR     16
#define MBI_MODS_COUNT      20
#define MBI_MODS_ADDR       24
#define MBI_MMAP_LENGTH     44
#define MBI_MMAP_ADDR       48
#define MBI_BOOT_LOADER_NAME 64
#define MBI_SIZE            88

#define ELF_PT_LOAD         1
#define ELF_EM_386          3

long multiboot_find_header(const uint8_t *kernel, size_t len)
{
    for (size_t off = 0; off + 12 <= len && off + 12 <= MB_SEARCH_LIMIT; off += 4) {
        const uint8_t *h = kernel + off;
        if (ldl_le_p(h) == MB_HEADER_MAGIC &&
            (uint32_t)(ldl_le_p(h) + ldl_le_p(h + 4) + ldl_le_p(h + 8)) == 0) {
            return off;
        }
    }
    return -1;
}

static uint64_t align_page(uint64_t a)
{
    return (a + 0xfff) & ~0xfffull;
}

/* Load ELF32 PT_LOAD segments; sets *entry and *end (highest physical byte + 1). */
/* Refuse a piece that is not in RAM before allocating a host buffer of its size. */
static bool multiboot_check_ram(const E820Table *e820, const char *what, uint64_t addr,
                                uint64_t size, Error **errp)
{
    if (size && !e820_range_is_ram(e820, addr, size)) {
        error_setg(errp, "not enough guest RAM for the %s at 0x%" PRIx64 " (%" PRIu64
                   " bytes)", what, addr, size);
        return false;
    }
    return true;
}

static bool multiboot_load_elf(const uint8_t *k, size_t len, const E820Table *e820,
                               X86BootImage *img, uint32_t *entry, uint64_t *end,
                               Error **errp)
{
    uint32_t phoff, e_entry;
    uint16_t phentsize, phnum;
    bool entry_mapped = false;

    if (len < 52 || k[4] != 1) {
        if (len >= 5 && k[4] == 2) {
            error_setg(errp, "Cannot load x86-64 image, give a 32bit one.");
        } else {
            error_setg(errp, "Error while loading elf kernel: not an ELF32 image");
        }
        return false;
    }
    if (k[5] != 1 || lduw_le_p(k + 18) != ELF_EM_386) {
        error_setg(errp, "Error while loading elf kernel: not a little-endian i386 image");
        return false;
    }
    e_entry = ldl_le_p(k + 24);
    phoff = ldl_le_p(k + 28);
    phentsize = lduw_le_p(k + 42);
    phnum = lduw_le_p(k + 44);
    if (phentsize < 32 || phoff > len || (uint64_t)phnum * phentsize > len - phoff) {
        error_setg(errp, "Error while loading elf kernel: program headers outside the file");
        return false;
    }
    *end = 0;
    *entry = e_entry;
    unsigned loaded = 0;
    uint64_t total = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = k + phoff + (size_t)i * phentsize;
        uint32_t type = ldl_le_p(ph), offset = ldl_le_p(ph + 4), vaddr = ldl_le_p(ph + 8);
        uint32_t paddr = ldl_le_p(ph + 12), filesz = ldl_le_p(ph + 16), memsz = ldl_le_p(ph + 20);

        if (type != ELF_PT_LOAD || memsz == 0) {
            continue;
        }
        if (filesz > memsz || offset > len || filesz > len - offset ||
            (uint64_t)paddr + memsz > 0x100000000ull) {
            error_setg(errp, "Error while loading elf kernel: segment %u is malformed", i);
            return false;
        }
        /* The zero-filled tail (bss) is part of the blob so a reset clears it too. */
        char *nm = g_strdup_printf("multiboot elf segment %u", i);
        if (!multiboot_check_ram(e820, nm, paddr, memsz, errp)) {
            g_free(nm);
            return false;
        }
        /* Segments must not overlap (checked later), so together they fit in RAM. */
        total += memsz;
        if (total > e820_total_ram(e820)) {
            error_setg(errp, "Error while loading elf kernel: segments larger than RAM");
            g_free(nm);
            return false;
        }
        uint8_t *seg = g_malloc0(memsz);
        memcpy(seg, k + offset, filesz);
        x86_boot_image_add(img, nm, seg, memsz, paddr);
        g_free(nm);
        g_free(seg);
        loaded++;
        if ((uint64_t)paddr + memsz > *end) {
            *end = (uint64_t)paddr + memsz;
        }
        /* Linked high, loaded low: run the entry at its physical address. */
        if (!entry_mapped && e_entry >= vaddr && e_entry - vaddr < memsz) {
            *entry = paddr + (e_entry - vaddr);
            entry_mapped = true;
        }
    }
    if (!loaded) {
        error_setg(errp, "Error while loading elf kernel: no loadable segment");
        return false;
    }
    return true;
}

/* §3.1.3 address fields: load the file from header_offset - (header_addr - load_addr). */
static bool multiboot_load_aout(const uint8_t *k, size_t len, long hoff,
                                const E820Table *e820, X86BootImage *img, uint32_t *entry,
                                uint64_t *end, Error **errp)
{
    const uint8_t *h = k + hoff;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
    uint64_t text_offset, load_size, mem_size;

    if ((size_t)hoff + 32 > len) {
        error_setg(errp, "invalid kernel_file_size");
        return false;
    }
    header_addr = ldl_le_p(h + 12);
    load_addr = ldl_le_p(h + 16);
    load_end_addr = ldl_le_p(h + 20);
    bss_end_addr = ldl_le_p(h + 24);
    *entry = ldl_le_p(h + 28);

    if (header_addr < load_addr || header_addr - load_addr > (uint64_t)hoff) {
        error_setg(errp, "invalid header_addr address");
        return false;
    }
    text_offset = hoff - (header_addr - load_addr);
    if (load_end_addr) {
        if (load_end_addr < load_addr) {
            error_setg(errp, "invalid load_end_addr address");
            return false;
        }
        load_size = load_end_addr - load_addr;
    } else {
        load_size = len - text_offset;
    }
    if (load_size > len - text_offset) {
        error_setg(errp, "invalid kernel_file_size");
        return false;
    }
    if (bss_end_addr) {
        if (bss_end_addr < load_addr + load_size) {
            error_setg(errp, "invalid bss_end_addr address");
            return false;
        }
        mem_size = bss_end_addr - load_addr;
    } else {
        mem_size = load_size;
    }
    if ((uint64_t)load_addr + mem_size > 0x100000000ull) {
        error_setg(errp, "kernel does not fit in address space");
        return false;
    }
    if (!multiboot_check_ram(e820, "multiboot kernel", load_addr, mem_size, errp)) {
        return false;
    }
    if (mem_size) {
        uint8_t *buf = g_malloc0(mem_size);
        memcpy(buf, k + text_offset, load_size);
        x86_boot_image_add(img, "multiboot kernel", buf, mem_size, load_addr);
        g_free(buf);
    }
    *end = (uint64_t)load_addr + mem_size;
    return true;
}

/* Split QEMU's module list: ',' separates, ",," is a literal comma. */
static GPtrArray *multiboot_split_modules(const char *list)
{
    GPtrArray *mods = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);

    for (const char *p = list; ; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',' || *p == '\0') {
            if (cur->len) {
                g_ptr_array_add(mods, g_strdup(cur->str));
            }
            g_string_truncate(cur, 0);
            if (!*p) {
                break;
            }
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_string_free(cur, TRUE);
    return mods;
}

bool multiboot_build(const X86BootConfig *cfg, const uint8_t *kernel, size_t kernel_len,
                     X86BootImage *img, Error **errp)
{
    long hoff = multiboot_find_header(kernel, kernel_len);
    uint32_t flags, entry = 0;
    uint64_t end = 0, cur;
    GPtrArray *mods = NULL;
    GByteArray *info = NULL;
    bool ok = false;

    if (hoff < 0) {
        error_setg(errp, "invalid kernel header: no Multiboot header");
        return false;
    }
    flags = ldl_le_p(kernel + hoff + 4);
    if (flags & MB_FLAG_VIDEO_MODE) {
        /* A request for information, not a requirement we can fail: QEMU goes on too. */
        x86_boot_image_warn(img, "multiboot knows VBE. we don't.");
    }
    if (flags & 0xfff8u) {
        error_setg(errp, "multiboot: unsupported required header flags 0x%04" PRIx32,
                   flags & 0xfff8u);
        return false;
    }
    if (flags & MB_FLAG_AOUT_KLUDGE) {
        if (!multiboot_load_aout(kernel, kernel_len, hoff, cfg->e820, img, &entry, &end,
                                 errp)) {
            return false;
        }
    } else if (kernel_len >= 4 && !memcmp(kernel, "\x7f" "ELF", 4)) {
        if (!multiboot_load_elf(kernel, kernel_len, cfg->e820, img, &entry, &end, errp)) {
            return false;
        }
    } else {
        error_setg(errp, "invalid kernel header: Multiboot image is not ELF and has no "
                   "address fields (header flag 16)");
        return false;
    }

    /* Modules, each page aligned after the kernel (flag 0 asks for it; we always do). */
    uint32_t nr_mods = 0;
    cur = align_page(end);
    mods = cfg->initrd_filename ? multiboot_split_modules(cfg->initrd_filename)
                                : g_ptr_array_new_with_free_func(g_free);
    uint32_t *mod_start = g_new0(uint32_t, mods->len + 1);
    uint32_t *mod_end = g_new0(uint32_t, mods->len + 1);
    for (guint i = 0; i < mods->len; i++) {
        const char *spec = g_ptr_array_index(mods, i);
        char *file = g_strndup(spec, strcspn(spec, " "));
        uint8_t *data;
        size_t len;

        if (!x86_boot_read_file("module", file, &data, &len, errp)) {
            g_free(file);
            goto out_mods;
        }
        if (cur + len > 0xffffffffull) {
            error_setg(errp, "kernel does not fit in address space");
            g_free(data);
            g_free(file);
            goto out_mods;
        }
        char *nm = g_strdup_printf("multiboot module %u (%s)", i, file);
        x86_boot_image_add(img, nm, data, len, cur);
        g_free(nm);
        g_free(data);
        g_free(file);
        mod_start[i] = cur;
        mod_end[i] = cur + len;
        cur = align_page(cur + len);
        nr_mods++;
    }

    /*
     * Boot information block: [info][module list][mmap][strings], one page-aligned blob
     * after the modules.
     */
    const E820Table *e820 = cfg->e820;
    uint64_t base = cur;
    uint32_t mods_off = MBI_SIZE, mmap_off = mods_off + 16 * nr_mods;
    uint32_t str_off = mmap_off + 24 * e820->nr;
    char *kcmd = g_strdup_printf("%s %s", cfg->kernel_filename ? cfg->kernel_filename : "",
                                 cfg->cmdline ? cfg->cmdline : "");

    info = g_byte_array_new();
    g_byte_array_set_size(info, str_off);
    memset(info->data, 0, str_off);

#define ADD_STRING(s) ({ uint32_t at_ = info->len; \
                         g_byte_array_append(info, (const guint8 *)(s), strlen(s) + 1); \
                         (uint32_t)(base + at_); })
    uint32_t cmdline_ptr = ADD_STRING(kcmd);
    uint32_t loader_ptr = ADD_STRING("kemu");
    for (guint i = 0; i < nr_mods; i++) {
        uint32_t s = ADD_STRING((const char *)g_ptr_array_index(mods, i));
        uint8_t *m = info->data + mods_off + 16 * i;
        stl_le_p(m, mod_start[i]);
        stl_le_p(m + 4, mod_end[i]);
        stl_le_p(m + 8, s);
    }
#undef ADD_STRING
    g_free(kcmd);
    if (base + info->len > 0xffffffffull) {
        error_setg(errp, "kernel does not fit in address space");
        goto out_mods;
    }

    for (unsigned i = 0; i < e820->nr; i++) {
        uint8_t *m = info->data + mmap_off + 24 * i;
        stl_le_p(m, 20);                   /* size of the entry, not counting this field */
        stq_le_p(m + 4, e820->entries[i].addr);
        stq_le_p(m + 12, e820->entries[i].size);
        stl_le_p(m + 20, e820->entries[i].type);
    }
    uint8_t *mbi = info->data;
    uint64_t low = e820_ram_end(e820, 0), high = e820_ram_end(e820, 0x100000);
    stl_le_p(mbi + MBI_FLAGS, MBI_MEM | MBI_BOOT_DEVICE | MBI_CMDLINE | MBI_MODS | MBI_MMAP |
                          MBI_BOOT_LOADER);
    stl_le_p(mbi + MBI_MEM_LOWER, (uint32_t)((low > 0xa0000 ? 0xa0000 : low) >> 10));
    stl_le_p(mbi + MBI_MEM_UPPER, high ? (uint32_t)((high - 0x100000) >> 10) : 0);
    stl_le_p(mbi + MBI_BOOT_DEV, 0x8000ffff);  /* BIOS disk 0x80, no partition (as QEMU) */
    stl_le_p(mbi + MBI_CMDLINE_PTR, cmdline_ptr);
    stl_le_p(mbi + MBI_MODS_COUNT, nr_mods);
    stl_le_p(mbi + MBI_MODS_ADDR, base + mods_off);
    stl_le_p(mbi + MBI_MMAP_LENGTH, 24 * e820->nr);
    stl_le_p(mbi + MBI_MMAP_ADDR, base + mmap_off);
    stl_le_p(mbi + MBI_BOOT_LOADER_NAME, loader_ptr);
    x86_boot_image_add(img, "multiboot info", info->data, info->len, base);

    img->entry.mode = X86_ENTRY_MULTIBOOT;
    img->entry.entry = entry;
    img->entry.boot_info = base;
    x86_boot_add_gdt(img, false);
    ok = x86_boot_check_ram(img, e820, errp);

out_mods:
    if (info) {
        g_byte_array_free(info, TRUE);
    }
    g_free(mod_start);
    g_free(mod_end);
    g_ptr_array_free(mods, TRUE);
    return ok;
}
