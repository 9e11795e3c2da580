/*
 * Worker pool for aio=threads (and every request the kernel AIO fast path does
 * not take): runs a blocking function in a pool thread and its completion
 * callback in the GMainContext that was the submitting thread's default, so
 * callbacks always run in that context's loop, never in a worker.
 * Completions are posted to one queue per context and signalled on an eventfd
 * only when the queue goes from empty to non-empty: a burst of completions
 * costs one wake-up, not one per request.
 */
#ifndef BLOCK_THREAD_POOL_H
#define BLOCK_THREAD_POOL_H

#include <stdbool.h>

typedef int ThreadPoolFunc(void *arg);
typedef void ThreadPoolCompletionFunc(void *opaque, int ret);

/* Run func(arg) in a worker; then cb(opaque, ret) in the submitter's context. */
void thread_pool_submit(ThreadPoolFunc *func, void *arg, ThreadPoolCompletionFunc *cb,
                        void *opaque);
/* True in a pool thread (while it runs a ThreadPoolFunc). */
bool thread_pool_in_worker(void);

#endif
