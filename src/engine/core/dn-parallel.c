/* dn-parallel.c: the worker pool behind dn_parallel_run(). */
#include "dn-parallel.h"

#define SPIN_ITERATIONS 20000

typedef struct {
    GMutex lock;
    GCond wake, done;
    GThread **workers;
    int n_workers;
    gint generation; /* bumped for every job */
    gint pending;    /* tasks not finished */
    gint busy;       /* a job is running: nested calls run serially */
    DnTaskFunc fn;
    gpointer data;
    int n_tasks;
    int job_threads; /* threads taking part in the job: index < job_threads */
} Pool;

static Pool pool;
static int wanted_threads = 0;
static GMutex setup_lock;

static inline void cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause ();
#endif
}

static void run_task (int index)
{
    if (index < pool.job_threads)
        for (int t = index; t < pool.n_tasks; t += pool.job_threads)
            pool.fn (t, pool.n_tasks, pool.data);
    if (g_atomic_int_dec_and_test (&pool.pending)) {
        g_mutex_lock (&pool.lock);
        g_cond_signal (&pool.done);
        g_mutex_unlock (&pool.lock);
    }
}

static gpointer worker_main (gpointer arg)
{
    int index = GPOINTER_TO_INT (arg);
    int seen = 0;
    for (;;) {
        /* a short spin catches back-to-back jobs without a sleep and wake-up */
        for (int i = 0; i < SPIN_ITERATIONS && g_atomic_int_get (&pool.generation) == seen; i++)
            cpu_relax ();
        g_mutex_lock (&pool.lock);
        while (g_atomic_int_get (&pool.generation) == seen)
            g_cond_wait (&pool.wake, &pool.lock);
        seen = g_atomic_int_get (&pool.generation);
        g_mutex_unlock (&pool.lock);
        run_task (index);
    }
    return NULL;
}

int dn_parallel_get_threads (void)
{
    return wanted_threads > 0 ? wanted_threads : (int) g_get_num_processors ();
}

void dn_parallel_set_threads (int n_threads)
{
    wanted_threads = MAX (n_threads, 0);
}

static void ensure_workers (int n)
{
    g_mutex_lock (&setup_lock);
    if (pool.workers == NULL)
        pool.workers = g_new0 (GThread *, 256);
    while (pool.n_workers < MIN (n, 255)) {
        int index = ++pool.n_workers;
        pool.workers[index] = g_thread_new ("dn-worker", worker_main, GINT_TO_POINTER (index));
    }
    g_mutex_unlock (&setup_lock);
}

void dn_parallel_run (int n_tasks, DnTaskFunc fn, gpointer data)
{
    int threads = MIN (MIN (dn_parallel_get_threads (), n_tasks), 256);
    if (threads <= 1 || !g_atomic_int_compare_and_exchange (&pool.busy, 0, 1)) {
        for (int t = 0; t < n_tasks; t++)
            fn (t, n_tasks, data);
        return;
    }
    ensure_workers (threads - 1);
    g_mutex_lock (&pool.lock);
    pool.fn = fn;
    pool.data = data;
    pool.n_tasks = n_tasks;
    pool.job_threads = threads;
    /* every worker passes through run_task, also those without a task */
    g_atomic_int_set (&pool.pending, pool.n_workers + 1);
    g_atomic_int_inc (&pool.generation);
    g_cond_broadcast (&pool.wake);
    g_mutex_unlock (&pool.lock);
    run_task (0);
    g_mutex_lock (&pool.lock);
    while (g_atomic_int_get (&pool.pending) > 0)
        g_cond_wait (&pool.done, &pool.lock);
    g_mutex_unlock (&pool.lock);
    g_atomic_int_set (&pool.busy, 0);
}
