/* dn-parallel.h: a small pool of worker threads for the CPU backend.
 *
 * dn_parallel_run (n, fn, data) calls fn (t, n, data) for every task t in
 * [0, n) and returns when all are done. The calling thread and up to
 * threads - 1 workers claim tasks one at a time, so a worker the system is
 * slow to schedule leaves its tasks to the others; the workers sleep between
 * jobs (after a short spin), so the pool costs nothing while the program does
 * other work and does not fight with other processes for the cores. A call
 * from inside a task runs its tasks one after the other on that thread.
 * Tasks are fixed slices of the work and any thread may run any task: a
 * task's scratch memory is indexed by t, never by the thread, and results
 * depend only on n, never on timing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*DnTaskFunc) (int task, int n_tasks, gpointer data);

/* Threads to use (1 = run everything on the caller); 0 means all cores. */
void dn_parallel_set_threads (int n_threads);
int dn_parallel_get_threads (void);
void dn_parallel_run (int n_tasks, DnTaskFunc fn, gpointer data);

/* How many tasks to split `work` units into so that each gets at least
 * min_per_task of them (1 when there is less than twice that), at most one per
 * thread: splitting work smaller costs more in handing it over than it saves. */
static inline int dn_parallel_tasks (size_t work, size_t min_per_task)
{
    size_t tasks = work / MAX (min_per_task, 1);
    return (int) MAX (1, MIN (tasks, (size_t) dn_parallel_get_threads ()));
}

/* The [lo, hi) slice of n items that task t of n_tasks owns. */
static inline void dn_parallel_slice (size_t n, int t, int n_tasks, size_t *lo, size_t *hi)
{
    *lo = n * (size_t) t / (size_t) n_tasks;
    *hi = n * (size_t) (t + 1) / (size_t) n_tasks;
}

G_END_DECLS
