/* Test doubles for the loader edge: rom_add_blob records what would go to guest RAM. */
#include "boot-stubs.h"

#include <glib.h>
#include <string.h>

StubBlob stub_blobs[64];
unsigned stub_nr_blobs;

void rom_add_blob(const char *name, const void *data, size_t len, hwaddr addr)
{
    g_assert(stub_nr_blobs < G_N_ELEMENTS(stub_blobs));
    stub_blobs[stub_nr_blobs].name = g_strdup(name);
    stub_blobs[stub_nr_blobs].data = g_memdup2(data, len);
    stub_blobs[stub_nr_blobs].len = len;
    stub_blobs[stub_nr_blobs].addr = addr;
    stub_nr_blobs++;
}

void stub_blobs_reset(void)
{
    for (unsigned i = 0; i < stub_nr_blobs; i++) {
        g_free(stub_blobs[i].name);
        g_free(stub_blobs[i].data);
    }
    stub_nr_blobs = 0;
}

char *stub_write_temp(const void *data, size_t len, const char *name)
{
    static char *dir;
    char *path;

    if (!dir) {
        dir = g_dir_make_tmp("kemu-i386-XXXXXX", NULL);
        g_assert(dir);
    }
    path = g_build_filename(dir, name, NULL);
    g_assert(g_file_set_contents(path, data, len, NULL));
    return path;
}
