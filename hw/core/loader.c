/* Boot blobs re-copied into guest memory at every reset (see include/hw/loader.h). */
#include "hw/loader.h"

#include <errno.h>
#include <glib.h>

typedef struct RomBlob {
    char *name;
    uint8_t *data;
    size_t len;
    hwaddr addr;
} RomBlob;

static GPtrArray *roms;

void rom_add_blob(const char *name, const void *data, size_t len, hwaddr addr)
{
    RomBlob *r = g_new0(RomBlob, 1);
    r->name = g_strdup(name);
    r->data = g_memdup2(data, len);
    r->len = len;
    r->addr = addr;
    if (!roms) {
        roms = g_ptr_array_new();
    }
    g_ptr_array_add(roms, r);
}

void rom_reset_all(void)
{
    for (guint i = 0; roms && i < roms->len; i++) {
        RomBlob *r = g_ptr_array_index(roms, i);
        address_space_write_rom(&address_space_memory, r->addr, r->data, r->len);
    }
}

bool rom_overlaps(hwaddr addr, size_t len, const char **other_name)
{
    for (guint i = 0; roms && i < roms->len; i++) {
        RomBlob *r = g_ptr_array_index(roms, i);
        if (addr < r->addr + r->len && r->addr < addr + len) {
            if (other_name) {
                *other_name = r->name;
            }
            return true;
        }
    }
    return false;
}

bool load_file(const char *path, uint8_t **data, size_t *len, Error **errp)
{
    GError *gerr = NULL;
    gchar *contents;
    gsize size;
    if (!g_file_get_contents(path, &contents, &size, &gerr)) {
        int err = gerr->code == G_FILE_ERROR_NOENT ? ENOENT
                  : gerr->code == G_FILE_ERROR_ACCES ? EACCES
                  : gerr->code == G_FILE_ERROR_ISDIR ? EISDIR : EIO;
        error_setg_errno(errp, err, "could not open '%s'", path);
        g_error_free(gerr);
        return false;
    }
    *data = (uint8_t *)contents;
    *len = size;
    return true;
}
