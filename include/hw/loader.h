/*
 * Boot images in guest memory.  A "rom blob" is data copied to a guest
 * address at every machine reset (so a kernel loaded with -kernel survives a
 * guest reboot), as firmware would reload it.
 */
#ifndef HW_LOADER_H
#define HW_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "kemu/error.h"
#include "system/memory.h"

void rom_add_blob(const char *name, const void *data, size_t len, hwaddr addr);
/* Copy every blob into address_space_memory (at reset). */
void rom_reset_all(void);
/* Is [addr, addr+len) overlapping an existing blob? (loader sanity check) */
bool rom_overlaps(hwaddr addr, size_t len, const char **other_name);

/* Read a whole file; error names the file. Caller frees with g_free. */
bool load_file(const char *path, uint8_t **data, size_t *len, Error **errp);

#endif
