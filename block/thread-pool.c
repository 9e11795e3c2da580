/*
 * aio=threads worker pool with per-context completion queues: see
 * include/block/thread-pool.h.
 */
#include "block/thread-pool.h"

#include <glib.h>
#include <glib-unix.h>

#include "kemu/event_notifier.h"

#define THREAD_POOL_MAX_THREADS 64
#define THREAD_POOL_IDLE_US (10 * G_USEC_PER_SEC)   /* idle workers exit after this */

typedef struct DoneQueue DoneQueue;

typedef struct PoolElement {
    ThreadPoolFunc *func;
    void *arg;
    ThreadPoolCompletionFunc *cb;
    void *opaque;
    int ret;
    DoneQueue *queue;
    struct PoolElement *next;
} PoolElement;

/* Finished elements waiting for their context's loop. */
struct DoneQueue {
    GMainContext *ctx;
    GMutex lock;
    PoolElement *head, **tail;
    bool notified;                  /* eventfd set and not yet consumed */
    EventNotifier notifier;
    GSource *source;
};

/* Requests wait in one FIFO; workers are started on demand up to the maximum. */
static GMutex pool_lock;
static GCond pool_cond;
static PoolElement *pending_head, **pending_tail = &pending_head;
static int nthreads, nidle, npending;
static GMutex queues_lock;
static GHashTable *queues;          /* GMainContext * -> DoneQueue * (live for the process) */
static __thread bool in_worker;
static __thread GMainContext *last_ctx;
static __thread DoneQueue *last_queue;

/*
 * Completions are taken one at a time and the eventfd is only consumed once
 * the queue is empty: a callback may run the loop itself (a synchronous call
 * that drains), and that nested dispatch must still be woken for the rest.
 */
static gboolean done_queue_dispatch(gint fd, GIOCondition cond, gpointer data)
{
    DoneQueue *q = data;
    for (;;) {
        g_mutex_lock(&q->lock);
        PoolElement *e = q->head;
        if (!e) {
            q->notified = false;
            event_notifier_test_and_clear(&q->notifier);
            g_mutex_unlock(&q->lock);
            return G_SOURCE_CONTINUE;
        }
        q->head = e->next;
        if (!q->head) {
            q->tail = &q->head;
        }
        g_mutex_unlock(&q->lock);
        ThreadPoolCompletionFunc *cb = e->cb;
        void *opaque = e->opaque;
        int ret = e->ret;
        g_free(e);
        cb(opaque, ret);
    }
}

static DoneQueue *done_queue_get(void)
{
    GMainContext *ctx = g_main_context_get_thread_default();
    if (!ctx) {
        ctx = g_main_context_default();
    }
    if (ctx == last_ctx) {
        return last_queue;
    }
    g_mutex_lock(&queues_lock);
    if (!queues) {
        queues = g_hash_table_new(NULL, NULL);
    }
    DoneQueue *q = g_hash_table_lookup(queues, ctx);
    if (!q) {
        q = g_new0(DoneQueue, 1);
        q->ctx = g_main_context_ref(ctx);
        g_mutex_init(&q->lock);
        q->tail = &q->head;
        if (!event_notifier_init(&q->notifier, false, NULL)) {
            g_error("thread pool: cannot create an eventfd");
        }
        q->source = g_unix_fd_source_new(event_notifier_get_fd(&q->notifier), G_IO_IN);
        g_source_set_callback(q->source, (GSourceFunc)(void (*)(void))done_queue_dispatch, q,
                              NULL);
        /* A completion may drain other requests (a synchronous call). */
        g_source_set_can_recurse(q->source, TRUE);
        g_source_attach(q->source, ctx);
        g_hash_table_insert(queues, ctx, q);
    }
    g_mutex_unlock(&queues_lock);
    last_ctx = ctx;
    last_queue = q;
    return q;
}

static void pool_complete(PoolElement *e)
{
    DoneQueue *q = e->queue;
    e->next = NULL;
    g_mutex_lock(&q->lock);
    *q->tail = e;
    q->tail = &e->next;
    bool wake = !q->notified;
    q->notified = true;
    g_mutex_unlock(&q->lock);
    if (wake) {
        event_notifier_set(&q->notifier);
    }
}

static gpointer pool_worker(gpointer unused)
{
    in_worker = true;
    g_mutex_lock(&pool_lock);
    for (;;) {
        while (!pending_head) {
            nidle++;
            gint64 deadline = g_get_monotonic_time() + THREAD_POOL_IDLE_US;
            bool timed_out = !g_cond_wait_until(&pool_cond, &pool_lock, deadline);
            nidle--;
            if (timed_out && !pending_head) {
                nthreads--;
                g_mutex_unlock(&pool_lock);
                return NULL;
            }
        }
        PoolElement *e = pending_head;
        pending_head = e->next;
        if (!pending_head) {
            pending_tail = &pending_head;
        }
        npending--;
        g_mutex_unlock(&pool_lock);
        e->ret = e->func(e->arg);
        pool_complete(e);
        g_mutex_lock(&pool_lock);
    }
}

void thread_pool_submit(ThreadPoolFunc *func, void *arg, ThreadPoolCompletionFunc *cb,
                        void *opaque)
{
    PoolElement *e = g_new(PoolElement, 1);
    *e = (PoolElement){ .func = func, .arg = arg, .cb = cb, .opaque = opaque,
                        .queue = done_queue_get() };
    g_mutex_lock(&pool_lock);
    *pending_tail = e;
    pending_tail = &e->next;
    npending++;
    bool spawn = npending > nidle && nthreads < THREAD_POOL_MAX_THREADS;
    if (spawn) {
        nthreads++;
    }
    bool wake = nidle > 0;      /* a signal is a syscall even when nobody waits */
    g_mutex_unlock(&pool_lock);
    if (spawn) {
        GError *err = NULL;
        GThread *t = g_thread_try_new("blk-worker", pool_worker, NULL, &err);
        if (t) {
            g_thread_unref(t);
        } else {
            g_error_free(err);
            g_mutex_lock(&pool_lock);
            nthreads--;
            bool none = nthreads == 0;
            g_mutex_unlock(&pool_lock);
            if (none) {
                g_error("thread pool: cannot start a worker thread");
            }
        }
    }
    if (wake) {
        g_cond_signal(&pool_cond);
    }
}

bool thread_pool_in_worker(void)
{
    return in_worker;
}
