/* Accelerator registry (see include/system/accel.h). */
#include "system/accel.h"

#include <string.h>
#include <glib.h>

static GPtrArray *accels;
static const AccelClass *current;
IrqchipMode accel_irqchip_mode = IRQCHIP_ON;

void accel_register(const AccelClass *ac)
{
    if (!accels) {
        accels = g_ptr_array_new();
    }
    g_ptr_array_add(accels, (gpointer)ac);
}

const AccelClass *accel_find(const char *name)
{
    for (guint i = 0; accels && i < accels->len; i++) {
        const AccelClass *ac = g_ptr_array_index(accels, i);
        if (!strcmp(ac->name, name)) {
            return ac;
        }
    }
    return NULL;
}

const AccelClass *current_accel(void)
{
    return current;
}

void accel_set_current(const AccelClass *ac)
{
    current = ac;
}

static void (*eoi_fn)(void *opaque, int vector);
static void *eoi_opaque;

void accel_set_ioapic_eoi_handler(void (*fn)(void *opaque, int vector), void *opaque)
{
    eoi_fn = fn;
    eoi_opaque = opaque;
}

void accel_ioapic_eoi(int vector)
{
    if (eoi_fn) {
        eoi_fn(eoi_opaque, vector);
    }
}
