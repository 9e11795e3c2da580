/*
 * Direct kernel boot: file reading, image format detection and dispatch, and the CPU
 * entry state.  Entry states follow Linux's Documentation/arch/x86/boot.rst ("64-bit
 * Boot Protocol", "32-bit Boot Protocol") and the Multiboot Specification 0.6.96 §3.2
 * ("Machine state"); descriptor formats per Intel SDM Vol. 3A §3.4.5.
 */
#include "hw/i386/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/boards.h"
#include "hw/loader.h"

bool x86_boot_read_file(const char *what, const char *path, uint8_t **data, size_t *len,
                        Error **errp)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not open %s file '%s'", what, path);
        return false;
    }
    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "could not load %s '%s'", what, path);
        close(fd);
        return false;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        error_setg(errp, "could not load %s '%s': not a regular file", what, path);
        close(fd);
        return false;
    }
    /* Nothing we load may exceed the 4 GiB a 32-bit boot protocol can address. */
    if ((uint64_t)st.st_size > 0xffffffffull) {
        error_setg(errp, "could not load %s '%s': file too large", what, path);
        close(fd);
        return false;
    }
    buf = g_malloc(st.st_size ? st.st_size : 1);
    while (done < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + done, st.st_size - done);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            if (r == 0) {
                error_setg(errp, "could not load %s '%s': file shrank while reading", what,
                           path);
            } else {
                error_setg_errno(errp, errno, "could not load %s '%s'", what, path);
            }
            g_free(buf);
            close(fd);
            return false;
        }
        done += r;
    }
    close(fd);
    *data = buf;
    *len = done;
    return true;
}

void x86_boot_image_add(X86BootImage *img, const char *name, const void *data, size_t len,
                        hwaddr addr)
{
    X86BootBlob *b;

    if (img->nr_blobs == img->cap_blobs) {
        img->cap_blobs = img->cap_blobs ? img->cap_blobs * 2 : 8;
        img->blobs = g_renew(X86BootBlob, img->blobs, img->cap_blobs);
    }
    b = &img->blobs[img->nr_blobs++];
    b->name = g_strdup(name);
    b->data = g_memdup2(data, len);
    b->len = len;
    b->addr = addr;
}

void x86_boot_image_warn(X86BootImage *img, const char *fmt, ...)
{
    va_list ap;
    unsigned n = img->warnings ? g_strv_length(img->warnings) : 0;

    img->warnings = g_renew(char *, img->warnings, n + 2);
    va_start(ap, fmt);
    img->warnings[n] = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    img->warnings[n + 1] = NULL;
}

const X86BootBlob *x86_boot_image_find(const X86BootImage *img, const char *name)
{
    for (unsigned i = 0; i < img->nr_blobs; i++) {
        if (!strcmp(img->blobs[i].name, name)) {
            return &img->blobs[i];
        }
    }
    return NULL;
}

void x86_boot_image_free(X86BootImage *img)
{
    for (unsigned i = 0; i < img->nr_blobs; i++) {
        g_free(img->blobs[i].name);
        g_free(img->blobs[i].data);
    }
    g_free(img->blobs);
    g_strfreev(img->warnings);
    memset(img, 0, sizeof(*img));
}

static bool is_elf(const uint8_t *k, size_t len)
{
    return len >= 4 && k[0] == 0x7f && k[1] == 'E' && k[2] == 'L' && k[3] == 'F';
}

bool x86_boot_prepare(const X86BootConfig *cfg, X86BootImage *img, Error **errp)
{
    uint8_t *kernel = NULL, *initrd = NULL;
    size_t kernel_len = 0, initrd_len = 0;
    bool ok = false;

    memset(img, 0, sizeof(*img));
    if (!x86_boot_read_file("kernel", cfg->kernel_filename, &kernel, &kernel_len, errp)) {
        return false;
    }
    if (kernel_len == 0) {
        error_setg(errp, "could not load kernel '%s': empty file", cfg->kernel_filename);
        goto out;
    }
    if (linux_boot_probe(kernel, kernel_len)) {
        if (cfg->initrd_filename &&
            !x86_boot_read_file("initrd", cfg->initrd_filename, &initrd, &initrd_len, errp)) {
            goto out;
        }
        ok = linux_boot_build(cfg, kernel, kernel_len, initrd, initrd_len, img, errp);
    } else if (multiboot_find_header(kernel, kernel_len) >= 0) {
        ok = multiboot_build(cfg, kernel, kernel_len, img, errp);
    } else if (cfg->initrd_filename) {
        /* QEMU treats anything else as a pre-2.00 Linux image and says this first. */
        error_setg(errp, "linux kernel too old to load a ram disk");
    } else if (is_elf(kernel, kernel_len)) {
        error_setg(errp, "could not load kernel '%s': ELF image without a Multiboot header "
                   "(PVH boot is not supported)", cfg->kernel_filename);
    } else {
        error_setg(errp, "invalid kernel header: '%s' is neither a Linux bzImage nor a "
                   "Multiboot image", cfg->kernel_filename);
    }
out:
    if (!ok) {
        x86_boot_image_free(img);
    }
    g_free(kernel);
    g_free(initrd);
    return ok;
}

void x86_boot_add_gdt(X86BootImage *img, bool code64)
{
    /* SDM Vol. 3A §3.4.5: base 0, limit 0xfffff with G=1, P=1, DPL 0, S=1. */
    uint64_t gdt[4] = {
        0,
        0,
        code64 ? 0x00af9b000000ffffull      /* L=1 D=0, execute/read, accessed */
               : 0x00cf9b000000ffffull,     /* D=1, execute/read, accessed */
        0x00cf93000000ffffull,              /* D/B=1, read/write, accessed */
    };
    for (int i = 0; i < 4; i++) {
        gdt[i] = GUINT64_TO_LE(gdt[i]);
    }
    x86_boot_image_add(img, "gdt", gdt, sizeof(gdt), X86_BOOT_GDT_ADDR);
    img->entry.gdt_base = X86_BOOT_GDT_ADDR;
    img->entry.gdt_limit = sizeof(gdt) - 1;
}

bool x86_boot_check_ram(const X86BootImage *img, const E820Table *e820, Error **errp)
{
    for (unsigned i = 0; i < img->nr_blobs; i++) {
        const X86BootBlob *b = &img->blobs[i];
        if (b->len && !e820_range_is_ram(e820, b->addr, b->len)) {
            error_setg(errp, "not enough guest RAM for the %s at 0x%" PRIx64 " (%zu bytes)",
                       b->name, (uint64_t)b->addr, b->len);
            return false;
        }
        for (unsigned j = 0; j < i; j++) {
            const X86BootBlob *o = &img->blobs[j];
            if (b->len && o->len && b->addr < o->addr + o->len && o->addr < b->addr + b->len) {
                error_setg(errp, "the %s at 0x%" PRIx64 " overlaps the %s at 0x%" PRIx64,
                           b->name, (uint64_t)b->addr, o->name, (uint64_t)o->addr);
                return false;
            }
        }
    }
    return true;
}

void x86_boot_set_cpu_state(const X86BootEntry *img, CPUX86State *env)
{
    bool lm = img->mode == X86_ENTRY_LINUX64;

    x86_set_flat_segment(&env->segs[R_CS], X86_BOOT_SEL_CODE, true, lm);
    for (int i = 0; i < 6; i++) {
        if (i != R_CS) {
            x86_set_flat_segment(&env->segs[i], X86_BOOT_SEL_DATA, false, false);
        }
    }
    env->gdt.base = img->gdt_base;
    env->gdt.limit = img->gdt_limit;
    env->idt.base = 0;
    env->idt.limit = 0;
    /* Interrupts off (IF=0), VM=0; bit 1 is reserved-as-one. */
    env->rflags = 0x2;
    for (int i = 0; i < 16; i++) {
        env->regs[i] = 0;
    }
    env->rip = img->entry;
    switch (img->mode) {
    case X86_ENTRY_LINUX64:
        env->cr[0] = CR0_PE | CR0_ET | CR0_PG;
        env->cr[3] = img->cr3;
        env->cr[4] = CR4_PAE;
        env->efer = EFER_LME | EFER_LMA;
        env->regs[R_ESI] = img->boot_info;
        env->regs[R_ESP] = X86_BOOT_STACK_TOP;
        break;
    case X86_ENTRY_LINUX32:
        env->cr[0] = CR0_PE | CR0_ET;
        env->cr[3] = 0;
        env->cr[4] = 0;
        env->efer = 0;
        env->regs[R_ESI] = img->boot_info; /* EBP, EDI, EBX zero as boot.rst requires */
        env->regs[R_ESP] = X86_BOOT_STACK_TOP;
        break;
    case X86_ENTRY_MULTIBOOT:
        env->cr[0] = CR0_PE | CR0_ET;
        env->cr[3] = 0;
        env->cr[4] = 0;
        env->efer = 0;
        env->regs[R_EAX] = MULTIBOOT_BOOTLOADER_MAGIC;
        env->regs[R_EBX] = img->boot_info;
        break;
    }
}

bool x86_load_kernel_full(MachineState *ms, const E820Table *e820, hwaddr acpi_rsdp_addr,
                          bool vga, X86BootEntry *entry_out, Error **errp)
{
    X86BootConfig cfg = {
        .kernel_filename = ms->kernel_filename,
        .initrd_filename = ms->initrd_filename,
        .cmdline = ms->kernel_cmdline,
        .e820 = e820,
        .acpi_rsdp_addr = acpi_rsdp_addr,
        .vga = vga,
    };
    X86BootImage img;

    if (!ms->kernel_filename) {
        error_setg(errp, "no kernel to load");
        return false;
    }
    if (!x86_boot_prepare(&cfg, &img, errp)) {
        return false;
    }
    for (char **w = img.warnings; w && *w; w++) {
        warn_report("%s", *w);
    }
    for (unsigned i = 0; i < img.nr_blobs; i++) {
        rom_add_blob(img.blobs[i].name, img.blobs[i].data, img.blobs[i].len,
                     img.blobs[i].addr);
    }
    x86_boot_set_cpu_state(&img.entry, &ms->cpus[0]->env);
    ms->cpus[0]->env_dirty = true;
    if (entry_out) {
        *entry_out = img.entry;
    }
    x86_boot_image_free(&img);
    return true;
}

bool x86_load_kernel(MachineState *ms, const E820Table *e820, Error **errp)
{
    return x86_load_kernel_full(ms, e820, 0, false, NULL, errp);
}
