/* Machine type registry and the current machine (see include/hw/boards.h). */
#include "hw/boards.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

static GPtrArray *machines;
static MachineState *current;

void machine_register(const MachineClass *mc)
{
    if (!machines) {
        machines = g_ptr_array_new();
    }
    g_ptr_array_add(machines, (gpointer)mc);
}

const MachineClass *machine_find(const char *name)
{
    for (guint i = 0; machines && i < machines->len; i++) {
        const MachineClass *mc = g_ptr_array_index(machines, i);
        if (!strcmp(mc->name, name) || (mc->alias && !strcmp(mc->alias, name))) {
            return mc;
        }
    }
    return NULL;
}

const MachineClass *machine_default(void)
{
    for (guint i = 0; machines && i < machines->len; i++) {
        const MachineClass *mc = g_ptr_array_index(machines, i);
        if (mc->is_default) {
            return mc;
        }
    }
    return NULL;
}

static gint cmp_machine(gconstpointer a, gconstpointer b)
{
    const MachineClass *x = *(MachineClass *const *)a, *y = *(MachineClass *const *)b;
    return strcmp(x->name, y->name);
}

void machine_print_list(void)
{
    printf("Supported machines are:\n");
    GPtrArray *sorted = g_ptr_array_new();
    for (guint i = 0; machines && i < machines->len; i++) {
        g_ptr_array_add(sorted, g_ptr_array_index(machines, i));
    }
    g_ptr_array_sort(sorted, cmp_machine);
    for (guint i = 0; i < sorted->len; i++) {
        const MachineClass *mc = g_ptr_array_index(sorted, i);
        if (mc->alias) {
            printf("%-20s %s (alias of %s)\n", mc->alias, mc->desc, mc->name);
        }
        printf("%-20s %s%s\n", mc->name, mc->desc, mc->is_default ? " (default)" : "");
    }
    g_ptr_array_free(sorted, TRUE);
}

MachineState *current_machine(void)
{
    return current;
}

void machine_set_current(MachineState *ms)
{
    current = ms;
}
