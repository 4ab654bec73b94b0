/* test-parallel.c: the worker pool (dn-parallel.c): every task of every job runs
 * exactly once whatever the thread count, jobs follow each other without a lost
 * wake-up, tasks are claimed one at a time (a thread held up by one task leaves the
 * rest to the others), a call from inside a task runs serially, and the task count
 * follows the minimum work per task. */
#include "dn-parallel.h"

#include <string.h>

typedef struct {
    gint *runs;   /* how often each task ran */
    gint *counts; /* n_tasks each task saw */
} CountJob;

static void count_task (int t, int n_tasks, gpointer data)
{
    CountJob *j = data;
    g_atomic_int_inc (&j->runs[t]);
    g_atomic_int_set (&j->counts[t], n_tasks);
}

static void test_every_task_once (void)
{
    int saved = dn_parallel_get_threads ();
    gint runs[64], counts[64];
    CountJob j = {runs, counts};
    for (int threads = 1; threads <= 8; threads++) {
        dn_parallel_set_threads (threads);
        /* many short jobs back to back: spinning, sleeping and late workers */
        for (int rep = 0; rep < 2000; rep++) {
            int n = 1 + rep % 64;
            memset (runs, 0, sizeof runs);
            dn_parallel_run (n, count_task, &j);
            for (int t = 0; t < n; t++) {
                g_assert_cmpint (runs[t], ==, 1);
                g_assert_cmpint (counts[t], ==, n);
            }
            for (int t = n; t < 64; t++)
                g_assert_cmpint (runs[t], ==, 0);
            if (rep % 500 == 499)
                g_usleep (20000); /* long enough for the workers to fall asleep */
        }
    }
    dn_parallel_set_threads (saved);
}

/* Task 1 waits until every later task has run. With tasks dealt out to threads in
 * advance, the thread running task 1 would also owe some later ones and the wait
 * would run into its deadline; claimed one by one, the other thread takes them. */
typedef struct {
    gint runs[16];
    gint later_done;
    gboolean timed_out;
} WaitJob;

static void wait_task (int t, int n_tasks, gpointer data)
{
    WaitJob *j = data;
    if (t == 1) {
        gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
        while (g_atomic_int_get (&j->later_done) < n_tasks - 2 &&
               g_get_monotonic_time () < deadline)
            g_thread_yield ();
        j->timed_out = g_atomic_int_get (&j->later_done) < n_tasks - 2;
    } else if (t > 1) {
        g_atomic_int_inc (&j->later_done);
    }
    g_atomic_int_inc (&j->runs[t]);
}

static void test_tasks_claimed (void)
{
    int saved = dn_parallel_get_threads ();
    dn_parallel_set_threads (2);
    for (int rep = 0; rep < 20; rep++) {
        WaitJob j = {{0}, 0, FALSE};
        dn_parallel_run (16, wait_task, &j);
        g_assert_false (j.timed_out);
        for (int t = 0; t < 16; t++)
            g_assert_cmpint (j.runs[t], ==, 1);
    }
    dn_parallel_set_threads (saved);
}

/* A sum over fixed slices is the same on any thread count. */
typedef struct {
    const float *x;
    size_t n;
    double partial[8];
} SumJob;

static void sum_task (int t, int n_tasks, gpointer data)
{
    SumJob *j = data;
    size_t lo, hi;
    dn_parallel_slice (j->n, t, n_tasks, &lo, &hi);
    float s = 0.0f;
    for (size_t i = lo; i < hi; i++)
        s += j->x[i];
    j->partial[t] = s;
}

static void test_same_result (void)
{
    int saved = dn_parallel_get_threads ();
    enum { N = 100003 };
    g_autofree float *x = g_new (float, N);
    for (int i = 0; i < N; i++)
        x[i] = 1.0f / (1 + i % 977);
    double want = 0.0;
    for (int threads = 1; threads <= 8; threads++) {
        dn_parallel_set_threads (threads);
        SumJob j = {x, N, {0}};
        dn_parallel_run (8, sum_task, &j);
        double s = 0.0;
        for (int t = 0; t < 8; t++)
            s += j.partial[t];
        if (threads == 1)
            want = s;
        g_assert_cmpfloat (s, ==, want);
    }
    dn_parallel_set_threads (saved);
}

/* A call from inside a task runs its own tasks on that thread, one after another. */
typedef struct {
    gint inner_runs;
    GThread *outer[4];
    gint wrong_thread;
} NestJob;

static void inner_task (int t, int n_tasks, gpointer data)
{
    NestJob *j = data;
    g_atomic_int_inc (&j->inner_runs);
    (void) t;
    (void) n_tasks;
}

typedef struct {
    NestJob *nest;
    int outer_task;
} InnerCall;

static void inner_check_task (int t, int n_tasks, gpointer data)
{
    InnerCall *c = data;
    if (g_thread_self () != c->nest->outer[c->outer_task])
        g_atomic_int_inc (&c->nest->wrong_thread);
    inner_task (t, n_tasks, c->nest);
}

static void outer_task (int t, int n_tasks, gpointer data)
{
    NestJob *j = data;
    j->outer[t] = g_thread_self ();
    InnerCall c = {j, t};
    dn_parallel_run (4, inner_check_task, &c);
}

static void test_nested (void)
{
    int saved = dn_parallel_get_threads ();
    dn_parallel_set_threads (4);
    NestJob j = {0};
    dn_parallel_run (4, outer_task, &j);
    g_assert_cmpint (j.inner_runs, ==, 16);
    g_assert_cmpint (j.wrong_thread, ==, 0);
    dn_parallel_set_threads (saved);
}

static void test_task_count (void)
{
    int saved = dn_parallel_get_threads ();
    dn_parallel_set_threads (4);
    g_assert_cmpint (dn_parallel_tasks (0, 1000), ==, 1);
    g_assert_cmpint (dn_parallel_tasks (1999, 1000), ==, 1);
    g_assert_cmpint (dn_parallel_tasks (2000, 1000), ==, 2);
    g_assert_cmpint (dn_parallel_tasks (3999, 1000), ==, 3);
    g_assert_cmpint (dn_parallel_tasks (1000000, 1000), ==, 4);
    g_assert_cmpint (dn_parallel_tasks (5, 0), ==, 4);
    dn_parallel_set_threads (1);
    g_assert_cmpint (dn_parallel_tasks (1000000, 1000), ==, 1);
    dn_parallel_set_threads (saved);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/parallel/every-task-once", test_every_task_once);
    g_test_add_func ("/engine/parallel/tasks-claimed", test_tasks_claimed);
    g_test_add_func ("/engine/parallel/same-result", test_same_result);
    g_test_add_func ("/engine/parallel/nested", test_nested);
    g_test_add_func ("/engine/parallel/task-count", test_task_count);
    return g_test_run ();
}
