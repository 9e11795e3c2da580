/*
 * The I/O thread's main loop on GLib's default GMainContext, the big lock,
 * bottom halves, fd handlers and the timer source.  The BQL is dropped only
 * while the context polls, so every callback runs with it held.
 */
#include "system/main-loop.h"

#include <glib.h>
#include <glib-unix.h>

#include "system/runstate.h"
#include "system/timer.h"

static GMutex bql;
static __thread bool bql_held;
static GPollFunc default_poll;

void bql_lock(void)
{
    g_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    bql_held = false;
    g_mutex_unlock(&bql);
}

GMutex *main_loop_bql_mutex(void);
GMutex *main_loop_bql_mutex(void)
{
    return &bql;
}

bool bql_locked(void)
{
    return bql_held;
}

static gint poll_without_bql(GPollFD *fds, guint nfds, gint timeout)
{
    bql_unlock();
    gint r = default_poll(fds, nfds, timeout);
    bql_lock();
    return r;
}

/* ---- bottom halves ---- */

struct BH {
    BHFunc cb;
    void *opaque;
    gint scheduled;
    gboolean deleted;
};

static GMutex bh_lock;
static GPtrArray *bh_list;

BH *bh_new(BHFunc cb, void *opaque)
{
    BH *bh = g_new0(BH, 1);
    bh->cb = cb;
    bh->opaque = opaque;
    g_mutex_lock(&bh_lock);
    g_ptr_array_add(bh_list, bh);
    g_mutex_unlock(&bh_lock);
    return bh;
}

void bh_schedule(BH *bh)
{
    if (!g_atomic_int_exchange(&bh->scheduled, 1)) {
        main_loop_wakeup();
    }
}

void bh_cancel(BH *bh)
{
    g_atomic_int_set(&bh->scheduled, 0);
}

void bh_delete(BH *bh)
{
    g_mutex_lock(&bh_lock);
    g_ptr_array_remove(bh_list, bh);
    g_mutex_unlock(&bh_lock);
    g_free(bh);
}

static bool bh_any_scheduled(void)
{
    bool any = false;
    g_mutex_lock(&bh_lock);
    for (guint i = 0; i < bh_list->len; i++) {
        BH *bh = g_ptr_array_index(bh_list, i);
        if (g_atomic_int_get(&bh->scheduled)) {
            any = true;
            break;
        }
    }
    g_mutex_unlock(&bh_lock);
    return any;
}

static void bh_run_all(void)
{
    /* A BH may delete itself or others: iterate over a snapshot. */
    g_mutex_lock(&bh_lock);
    GPtrArray *snap = g_ptr_array_new();
    for (guint i = 0; i < bh_list->len; i++) {
        g_ptr_array_add(snap, g_ptr_array_index(bh_list, i));
    }
    g_mutex_unlock(&bh_lock);
    for (guint i = 0; i < snap->len; i++) {
        BH *bh = g_ptr_array_index(snap, i);
        g_mutex_lock(&bh_lock);
        bool alive = false;
        for (guint j = 0; j < bh_list->len; j++) {
            if (g_ptr_array_index(bh_list, j) == bh) {
                alive = true;
                break;
            }
        }
        g_mutex_unlock(&bh_lock);
        if (alive && g_atomic_int_exchange(&bh->scheduled, 0)) {
            bh->cb(bh->opaque);
        }
    }
    g_ptr_array_free(snap, TRUE);
}

/* ---- the core GSource: timers and BHs ---- */

static gboolean core_prepare(GSource *src, gint *timeout)
{
    if (bh_any_scheduled()) {
        *timeout = 0;
        return TRUE;
    }
    int64_t ns = timers_next_timeout();
    if (ns < 0) {
        *timeout = -1;
        return FALSE;
    }
    if (ns == 0) {
        *timeout = 0;
        return TRUE;
    }
    *timeout = (gint)MIN((ns + 999999) / 1000000, G_MAXINT);
    return FALSE;
}

static gboolean core_check(GSource *src)
{
    return bh_any_scheduled() || timers_next_timeout() == 0;
}

static gboolean core_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    bh_run_all();
    timers_run_expired();
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs core_funcs = {
    .prepare = core_prepare,
    .check = core_check,
    .dispatch = core_dispatch,
};

/* ---- fd handlers ---- */

typedef struct FdHandler {
    int fd;
    IOHandler read_cb, write_cb;
    void *opaque;
    GSource *src;
} FdHandler;

static GHashTable *fd_handlers; /* fd -> FdHandler* */

static gboolean fd_dispatch(gint fd, GIOCondition cond, gpointer data)
{
    FdHandler *h = data;
    if ((cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && h->read_cb) {
        h->read_cb(h->opaque);
        /* The callback may have removed or replaced this handler. */
        if (g_hash_table_lookup(fd_handlers, GINT_TO_POINTER(fd)) != h) {
            return G_SOURCE_CONTINUE;
        }
    }
    if ((cond & G_IO_OUT) && h->write_cb) {
        h->write_cb(h->opaque);
    }
    return G_SOURCE_CONTINUE;
}

static void fd_handler_free(gpointer p)
{
    FdHandler *h = p;
    g_source_destroy(h->src);
    g_source_unref(h->src);
    g_free(h);
}

void main_loop_set_fd_handler(int fd, IOHandler read_cb, IOHandler write_cb, void *opaque)
{
    g_hash_table_remove(fd_handlers, GINT_TO_POINTER(fd));
    if (!read_cb && !write_cb) {
        return;
    }
    FdHandler *h = g_new0(FdHandler, 1);
    h->fd = fd;
    h->read_cb = read_cb;
    h->write_cb = write_cb;
    h->opaque = opaque;
    GIOCondition cond = (read_cb ? G_IO_IN | G_IO_HUP | G_IO_ERR : 0) | (write_cb ? G_IO_OUT : 0);
    h->src = g_unix_fd_source_new(fd, cond);
    g_source_set_callback(h->src, (GSourceFunc)(void (*)(void))fd_dispatch, h, NULL);
    g_source_attach(h->src, NULL);
    g_hash_table_insert(fd_handlers, GINT_TO_POINTER(fd), h);
}

/* ---- loop ---- */

void main_loop_init(void)
{
    static bool done;
    if (done) {
        return;
    }
    done = true;
    bh_list = g_ptr_array_new();
    fd_handlers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, fd_handler_free);
    GMainContext *ctx = g_main_context_default();
    default_poll = g_main_context_get_poll_func(ctx);
    g_main_context_set_poll_func(ctx, poll_without_bql);
    GSource *core = g_source_new(&core_funcs, sizeof(GSource));
    g_source_attach(core, ctx);
    bql_lock();
}

void main_loop_wakeup(void)
{
    g_main_context_wakeup(g_main_context_default());
}

bool main_loop_iterate(bool blocking)
{
    return g_main_context_iteration(NULL, blocking);
}

int main_loop_run(void)
{
    int status = 0;
    for (;;) {
        if (runstate_handle_requests(&status)) {
            break;
        }
        main_loop_iterate(true);
    }
    return status;
}
