/* dn-parallel.c: the worker pool behind dn_parallel_run().
 *
 * A job is n_tasks fixed slices of work. The caller and the workers taking part
 * claim the next unclaimed task until none is left, so a worker that the system
 * has not scheduled yet (the cores are busy with other programs) delays nothing:
 * the caller runs its tasks. Which thread runs a task never changes what it
 * computes (scratch memory is indexed by task), so results depend on the number
 * of tasks only.
 *
 * Waiting costs little: a worker spins a little after each job before it
 * sleeps, and the caller wakes sleeping workers (a system call) only when there
 * are some; the caller, once its own claims are done, spins while the last tasks
 * finish and sleeps only if they take long. A spinning thread yields now and
 * then, so that when other programs keep the other cores busy and two threads
 * of the pool share one core, the one that has work gets to run.
 */
#include "dn-parallel.h"

/* How long a thread spins before it sleeps: by the clock, since a pause
 * instruction takes 10 ns on some processors and over 100 on others. Long
 * enough for the gaps between the jobs of a training step and between batches. */
#define SPIN_USEC 250

typedef struct {
    GMutex lock;
    GCond wake, done;
    GThread **workers;
    int n_workers;
    /* (job << 32) | next unclaimed task: a task is claimed by compare-and-swap,
     * which fails once the job has changed */
    guint64 claim;
    guint32 job;    /* written by the caller only */
    gint published; /* the job, published after `claim`: what workers wait on */
    gint n_tasks;
    gint job_threads; /* workers with index < job_threads take part */
    gint finished;    /* tasks of the current job that returned */
    gint sleepers;    /* workers waiting on `wake` */
    gint waiting;     /* the caller waits on `done` */
    gint busy;        /* a job is running: nested calls run serially */
    DnTaskFunc fn;
    gpointer data;
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

/* Spins while `*value != want` (or, with want_equal FALSE, while `*value == want`)
 * for up to SPIN_USEC; the value last read. */
static gint spin (const gint *value, gint want, gboolean want_equal)
{
    gint v = g_atomic_int_get (value);
    if ((v == want) == want_equal)
        return v;
    gint64 deadline = g_get_monotonic_time () + SPIN_USEC;
    for (int i = 1; ((v = g_atomic_int_get (value)) == want) != want_equal; i++) {
        cpu_relax ();
        if (i % 64 != 0)
            continue;
        if (g_get_monotonic_time () > deadline)
            break;
        /* lets a thread of the pool that shares this core (the others are busy) run */
        g_thread_yield ();
    }
    return v;
}

static inline guint64 claim_get (void)
{
    return __atomic_load_n (&pool.claim, __ATOMIC_SEQ_CST);
}

static inline guint32 claim_job (guint64 c)
{
    return (guint32) (c >> 32);
}

/* Runs tasks of `job` until none is left to claim; TRUE when this thread
 * finished the job's last task. */
static gboolean run_tasks (guint32 job)
{
    gboolean last = FALSE;
    for (;;) {
        guint64 c = claim_get ();
        /* read after the claim word: the job's own count when the claim succeeds */
        int n = g_atomic_int_get (&pool.n_tasks);
        if (claim_job (c) != job || (guint32) c >= (guint32) n)
            return last;
        if (!__atomic_compare_exchange_n (&pool.claim, &c, c + 1, FALSE, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST))
            continue;
        /* the job cannot end before this task does: its fields stay as they are */
        pool.fn ((int) (guint32) c, n, pool.data);
        last = g_atomic_int_add (&pool.finished, 1) + 1 == n;
    }
}

static gpointer worker_main (gpointer arg)
{
    int index = GPOINTER_TO_INT (arg);
    gint seen = 0;
    for (;;) {
        /* a short spin catches back-to-back jobs without a sleep and wake-up */
        gint job = spin (&pool.published, seen, FALSE);
        if (job == seen) {
            g_mutex_lock (&pool.lock);
            g_atomic_int_inc (&pool.sleepers);
            while ((job = g_atomic_int_get (&pool.published)) == seen)
                g_cond_wait (&pool.wake, &pool.lock);
            g_atomic_int_add (&pool.sleepers, -1);
            g_mutex_unlock (&pool.lock);
        }
        seen = job;
        if (index < g_atomic_int_get (&pool.job_threads) && run_tasks ((guint32) job)) {
            g_mutex_lock (&pool.lock);
            if (g_atomic_int_get (&pool.waiting))
                g_cond_signal (&pool.done);
            g_mutex_unlock (&pool.lock);
        }
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
    guint32 job = ++pool.job;
    /* closes the last job to claims before its fields change: a thread that read
     * its claim word earlier fails to claim, one that reads this one finds no task */
    __atomic_store_n (&pool.claim, ((guint64) job << 32) | G_MAXUINT32, __ATOMIC_SEQ_CST);
    pool.fn = fn;
    pool.data = data;
    g_atomic_int_set (&pool.n_tasks, n_tasks);
    g_atomic_int_set (&pool.job_threads, threads);
    g_atomic_int_set (&pool.finished, 0);
    /* publishes the job; a worker that counted itself a sleeper before this store
     * is woken below, one that counts itself after it sees the new job */
    __atomic_store_n (&pool.claim, (guint64) job << 32, __ATOMIC_SEQ_CST);
    g_atomic_int_set (&pool.published, (gint) job);
    if (g_atomic_int_get (&pool.sleepers) > 0) {
        g_mutex_lock (&pool.lock);
        g_cond_broadcast (&pool.wake);
        g_mutex_unlock (&pool.lock);
    }
    run_tasks (job);
    if (spin (&pool.finished, n_tasks, TRUE) != n_tasks) {
        g_mutex_lock (&pool.lock);
        g_atomic_int_set (&pool.waiting, TRUE);
        while (g_atomic_int_get (&pool.finished) < n_tasks)
            g_cond_wait (&pool.done, &pool.lock);
        g_atomic_int_set (&pool.waiting, FALSE);
        g_mutex_unlock (&pool.lock);
    }
    g_atomic_int_set (&pool.busy, 0);
}
