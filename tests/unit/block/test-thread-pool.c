/*
 * Unit tests of the block worker pool (block/thread-pool.c): work runs in pool
 * threads, completions in the submitting thread's GMainContext, in any order
 * but each exactly once; a completion may run the loop itself (a draining
 * synchronous call) and still receives the remaining completions.
 */
#include <glib.h>

#include "block/thread-pool.h"

typedef struct Job {
    int value;
    GThread *worker;
    bool in_worker;
} Job;

static int completed;
static GThread *main_thread;

static int job_run(void *arg)
{
    Job *j = arg;
    j->worker = g_thread_self();
    j->in_worker = thread_pool_in_worker();
    g_usleep(g_random_int_range(0, 2000));
    return j->value * 2;
}

static void job_done(void *opaque, int ret)
{
    Job *j = opaque;
    g_assert(g_thread_self() == main_thread);
    g_assert(j->worker != main_thread);
    g_assert_true(j->in_worker);
    g_assert_cmpint(ret, ==, j->value * 2);
    j->value = -1;          /* completed exactly once */
    completed++;
}

static void test_completions_in_submitter(void)
{
    enum { N = 200 };
    Job jobs[N];
    completed = 0;
    main_thread = g_thread_self();
    g_assert_false(thread_pool_in_worker());
    for (int i = 0; i < N; i++) {
        jobs[i] = (Job){ .value = i + 1 };
        thread_pool_submit(job_run, &jobs[i], job_done, &jobs[i]);
    }
    while (completed < N) {
        g_main_context_iteration(NULL, TRUE);
    }
    for (int i = 0; i < N; i++) {
        g_assert_cmpint(jobs[i].value, ==, -1);
    }
}

/* The first completion waits, inside its callback, for all the others. */
static int nested_total;

static void nested_done(void *opaque, int ret)
{
    Job *j = opaque;
    job_done(j, ret);
    if (completed == 1) {
        while (completed < nested_total) {
            g_main_context_iteration(NULL, TRUE);
        }
    }
}

static void test_nested_drain(void)
{
    enum { N = 64 };
    Job jobs[N];
    completed = 0;
    nested_total = N;
    main_thread = g_thread_self();
    for (int i = 0; i < N; i++) {
        jobs[i] = (Job){ .value = i + 1 };
        thread_pool_submit(job_run, &jobs[i], nested_done, &jobs[i]);
    }
    /* Let several finish before the first callback runs, so they are queued
     * together (the case that once left the nested loop waiting forever). */
    g_usleep(20000);
    while (completed < N) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(completed, ==, N);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/thread-pool/completions-in-submitter", test_completions_in_submitter);
    g_test_add_func("/thread-pool/nested-drain", test_nested_drain);
    return g_test_run();
}
