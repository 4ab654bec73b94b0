/* dn-cpu-active.c: the CPU ops of active dendrites and k-winner-take-all.
 *
 * Segment selection and the segment gradient work on (context, unit) pairs, which
 * are few (one context per training batch); gating and k-WTA work on samples and
 * are split over the worker pool by rows, so results do not depend on timing. */
#include "dn-backend-cpu-private.h"
#include "dn-parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline float sigmoidf (float x)
{
    return 1.0f / (1.0f + expf (-x));
}

void dn_cpu_segment_select (DnBackend *be, DnGateMode mode, int n_ctx, int units, int segments,
                            const float *resp, int32_t *win, float *g)
{
    (void) be;
    size_t pairs = (size_t) n_ctx * units;
    for (size_t u = 0; u < pairs; u++) {
        const float *r = resp + u * segments;
        int best = 0;
        if (mode == DN_GATE_ABS_MAX) {
            float m = fabsf (r[0]);
            for (int s = 1; s < segments; s++)
                if (fabsf (r[s]) > m) {
                    m = fabsf (r[s]);
                    best = s;
                }
        } else {
            for (int s = 1; s < segments; s++)
                if (r[s] > r[best])
                    best = s;
        }
        win[u] = best;
        /* the gate itself, so per-sample work needs no exponentials */
        g[u] = mode == DN_GATE_ADDITIVE ? r[best] : sigmoidf (r[best]);
    }
}

typedef struct {
    DnGateMode mode;
    int batch, units;
    const float *t, *g, *dy;
    const int32_t *ctx;
    float *y, *dt;
} GateJob;

static void gate_forward_task (int task, int n_tasks, gpointer data)
{
    GateJob *j = data;
    size_t lo, hi;
    dn_parallel_slice ((size_t) j->batch, task, n_tasks, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        const float *g = j->g + (size_t) (j->ctx != NULL ? j->ctx[b] : 0) * j->units;
        const float *t = j->t + b * j->units;
        float *y = j->y + b * j->units;
        if (j->mode == DN_GATE_ADDITIVE)
            for (int i = 0; i < j->units; i++)
                y[i] = t[i] + g[i];
        else
            for (int i = 0; i < j->units; i++)
                y[i] = t[i] * g[i];
    }
}

void dn_cpu_gate_forward (DnBackend *be, DnGateMode mode, int batch, int units, const float *t,
                          const float *g, const int32_t *ctx_index, float *y)
{
    (void) be;
    GateJob j = {.mode = mode, .batch = batch, .units = units, .t = t, .g = g,
                 .ctx = ctx_index, .y = y};
    dn_parallel_run (MIN (batch, dn_parallel_get_threads ()), gate_forward_task, &j);
}

static void gate_backward_task (int task, int n_tasks, gpointer data)
{
    GateJob *j = data;
    size_t lo, hi;
    dn_parallel_slice ((size_t) j->batch, task, n_tasks, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        const float *g = j->g + (size_t) (j->ctx != NULL ? j->ctx[b] : 0) * j->units;
        const float *dy = j->dy + b * j->units;
        float *dt = j->dt + b * j->units;
        if (j->mode == DN_GATE_ADDITIVE)
            memcpy (dt, dy, sizeof (float) * j->units);
        else
            for (int i = 0; i < j->units; i++)
                dt[i] = dy[i] * g[i];
    }
}

void dn_cpu_gate_backward (DnBackend *be, DnGateMode mode, int batch, int units, const float *t,
                           const float *g, const int32_t *ctx_index, const float *dy, float *dt,
                           float *dg)
{
    (void) be;
    GateJob j = {.mode = mode, .batch = batch, .units = units, .t = t, .g = g, .dy = dy,
                 .ctx = ctx_index, .dt = dt};
    dn_parallel_run (MIN (batch, dn_parallel_get_threads ()), gate_backward_task, &j);
    /* dg sums over samples in sample order, on one thread: the same numbers for any
     * thread count. It is batch * units work, small next to the GEMMs. */
    for (int b = 0; b < batch; b++) {
        int c = ctx_index != NULL ? ctx_index[b] : 0;
        const float *gc = g + (size_t) c * units;
        const float *tb = t + (size_t) b * units;
        const float *dyb = dy + (size_t) b * units;
        float *dgc = dg + (size_t) c * units;
        if (mode == DN_GATE_ADDITIVE)
            for (int i = 0; i < units; i++)
                dgc[i] += dyb[i];
        else
            for (int i = 0; i < units; i++)
                dgc[i] += dyb[i] * tb[i] * gc[i] * (1.0f - gc[i]);
    }
}

void dn_cpu_segment_grad (DnBackend *be, int n_ctx, int units, int segments, int dim,
                          const int32_t *win, const float *dg, const float *contexts, float *du,
                          guint8 *rows_touched)
{
    (void) be;
    for (int p = 0; p < n_ctx; p++) {
        const float *c = contexts + (size_t) p * dim;
        for (int i = 0; i < units; i++) {
            float a = dg[(size_t) p * units + i];
            if (a == 0.0f)
                continue;
            size_t row = (size_t) i * segments + win[(size_t) p * units + i];
            float *d = du + row * dim;
            for (int k = 0; k < dim; k++)
                d[k] += a * c[k];
            if (rows_touched != NULL)
                rows_touched[row] |= DN_ROW_TOUCHED;
        }
    }
}

/* The k-th largest of v[0..n) (k >= 1), by quickselect on a copy. */
static float kth_largest (float *v, int n, int k)
{
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] > pivot)
                i++;
            while (v[j] < pivot)
                j--;
            if (i <= j) {
                float tmp = v[i];
                v[i] = v[j];
                v[j] = tmp;
                i++;
                j--;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return v[want];
    }
    return v[want];
}

/* The k-th largest of x (n values, left as they are) with buf (n floats) as scratch.
 * When k is a small share of n (k-WTA keeps 5 %), a strided sample's value at a
 * deliberately generous rank gives a bound that at least k values reach; those
 * values alone then hold the k-th largest, and a selection over them (a few times
 * k) replaces one over all n. Same value as selecting over all: when fewer than k
 * values reach the bound, that is what happens. */
static float kth_largest_of (const float *x, int n, int k, float *buf)
{
    enum { SAMPLES = 128 };
    if (n >= 4 * SAMPLES && k <= n / 8) {
        int stride = n / SAMPLES, m = 0;
        for (int i = 0; i < n && m < SAMPLES; i += stride)
            buf[m++] = x[i];
        /* expected rank of the k-th largest in the sample, doubled, plus a margin */
        int rank = MIN (m, 2 * (int) ((gint64) k * m / n) + 4);
        float bound = kth_largest (buf, m, rank);
        int c = 0;
        for (int i = 0; i < n; i++) {
            buf[c] = x[i];
            c += x[i] >= bound;
        }
        if (c >= k)
            return kth_largest (buf, c, k);
    }
    memcpy (buf, x, sizeof (float) * (size_t) n);
    return kth_largest (buf, n, k);
}

typedef struct {
    int rows, cols, k;
    const float *x, *dy;
    float *y, *dx;
    guint8 *mask;
    const guint8 *cmask;
} KwtaJob;

static void kwta_forward_task (int task, int n_tasks, gpointer data)
{
    KwtaJob *j = data;
    size_t lo, hi;
    dn_parallel_slice ((size_t) j->rows, task, n_tasks, &lo, &hi);
    float *copy = g_new (float, j->cols);
    for (size_t r = lo; r < hi; r++) {
        const float *x = j->x + r * j->cols;
        float *y = j->y + r * j->cols;
        guint8 *m = j->mask + r * j->cols;
        float thr;
        if (j->k >= j->cols) {
            thr = -INFINITY;
        } else {
            thr = kth_largest_of (x, j->cols, j->k, copy);
        }
        for (int i = 0; i < j->cols; i++) {
            gboolean keep = x[i] >= thr;
            m[i] = keep;
            y[i] = keep ? x[i] : 0.0f;
        }
    }
    g_free (copy);
}

void dn_cpu_kwta_forward (DnBackend *be, int rows, int cols, int k, const float *x, float *y,
                          guint8 *mask)
{
    (void) be;
    KwtaJob j = {.rows = rows, .cols = cols, .k = k, .x = x, .y = y, .mask = mask};
    dn_parallel_run (MIN (rows, dn_parallel_get_threads ()), kwta_forward_task, &j);
}

void dn_cpu_kwta_backward (DnBackend *be, int rows, int cols, const guint8 *mask, const float *dy,
                           float *dx)
{
    (void) be;
    size_t n = (size_t) rows * cols;
    for (size_t i = 0; i < n; i++)
        if (mask[i])
            dx[i] += dy[i];
}

/* ---- sparse products ---- */

size_t dn_cpu_count_nonzero (DnBackend *be, const float *x, size_t n)
{
    (void) be;
    size_t nnz = 0;
    for (size_t i = 0; i < n; i++)
        nnz += x[i] != 0.0f;
    return nnz;
}

/* The non-zeros of a (rows, k): by row (CSR, each row's in column order) and by
 * column (CSC, each column's in row order). */
typedef struct {
    int *rstart, *rcol; /* rows + 1; nnz */
    float *rval;
    int *start, *row; /* k + 1; nnz */
    float *val;
} Csc;

/* by_column FALSE: the CSR half only (start, row and val stay NULL). */
static void csc_build (Csc *m, int rows, int k, const float *a, gboolean by_column)
{
    size_t total = (size_t) rows * k, nnz = 0;
    for (size_t i = 0; i < total; i++)
        nnz += a[i] != 0.0f;
    m->rstart = g_new (int, (size_t) rows + 1);
    m->rcol = g_new (int, MAX (nnz, 1));
    m->rval = g_new (float, MAX (nnz, 1));
    m->start = g_new0 (int, (size_t) k + 1);
    size_t t = 0;
    for (int r = 0; r < rows; r++) {
        m->rstart[r] = (int) t;
        const float *ar = a + (size_t) r * k;
        for (int c = 0; c < k; c++)
            if (ar[c] != 0.0f) {
                m->rcol[t] = c;
                m->rval[t++] = ar[c];
                m->start[c + 1]++;
            }
    }
    m->rstart[rows] = (int) t;
    if (!by_column) {
        g_clear_pointer (&m->start, g_free);
        m->row = NULL;
        m->val = NULL;
        return;
    }
    m->row = g_new (int, MAX (nnz, 1));
    m->val = g_new (float, MAX (nnz, 1));
    for (int c = 0; c < k; c++)
        m->start[c + 1] += m->start[c];
    g_autofree int *fill = g_memdup2 (m->start, sizeof (int) * (size_t) k);
    for (int r = 0; r < rows; r++)
        for (int q = m->rstart[r]; q < m->rstart[r + 1]; q++) {
            int c = m->rcol[q];
            m->row[fill[c]] = r;
            m->val[fill[c]++] = m->rval[q];
        }
}

static void csc_clear (Csc *m)
{
    g_free (m->rstart);
    g_free (m->rcol);
    g_free (m->rval);
    g_free (m->start);
    g_free (m->row);
    g_free (m->val);
}

typedef struct {
    int rows, k, n;
    const float *a, *b;
    float *y;
    /* sparse_outer: non-zeros of each row of b, or NULL when b is dense */
    const int *bnz, *bnz_len;
    const Csc *acol; /* a's non-zeros indexed (sparse_rows_gemm) */
} SparseJob;

/* y[0..n) += v * x[0..n): the inner loop of both kernels, vectorised. */
static inline void axpy_row (int n, float v, const float *restrict x, float *restrict y)
{
#pragma GCC ivdep
    for (int c = 0; c < n; c++)
        y[c] += v * x[c];
}

#define NT_BLOCK 16

/* NT_BLOCK floats as one value: the compiler picks the widest registers the clone
 * it builds has (four SSE, two AVX2, one AVX-512 register). */
typedef float NtVec __attribute__ ((vector_size (NT_BLOCK * sizeof (float))));
typedef float HalfVec __attribute__ ((vector_size (NT_BLOCK / 2 * sizeof (float))));

typedef struct {
    int rows, k, n;
    const float *b;
    float *y;
    const int *col_start, *nz_row;
    const float *nz_val;
} NtJob;

/* Built for x86-64-v3 (AVX2, FMA) and v4 (AVX-512) as well as the baseline, and
 * chosen at run time (glibc ifunc): the engine is compiled for any x86-64. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__gnu_linux__)
#define DN_VECTOR_CLONES \
    __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DN_VECTOR_CLONES
#endif

/* rows_gemm: y's columns in blocks of NT_BLOCK, each task owning whole blocks. A
 * block's part of b (NT_BLOCK floats of each of its k rows; rows a power-of-two
 * apart would evict each other from the cache) is first copied together; then, for
 * each row of y, the parts of b's rows where that row of a is non-zero are added,
 * in column order of a, into registers (two running sums, the first starting from
 * y): a fixed order, whatever the thread count. */
DN_VECTOR_CLONES
static void rows_gemm_block (const SparseJob *j, int c0, NtVec *restrict bb)
{
    const Csc *m = j->acol;
    for (int i = 0; i < j->k; i++)
        memcpy (&bb[i], j->b + (size_t) i * j->n + c0, sizeof (NtVec));
    const HalfVec *hb = (const HalfVec *) bb;
    for (int r = 0; r < j->rows; r++) {
        int s = m->rstart[r], e = m->rstart[r + 1];
        if (s == e)
            continue;
        float *yr = j->y + (size_t) r * j->n + c0;
        /* two running sums per half (even and odd non-zeros), so that four
         * independent chains keep the multiply-add units busy; fixed order */
        HalfVec lo0, hi0, lo1 = {0}, hi1 = {0};
        memcpy (&lo0, yr, sizeof lo0);
        memcpy (&hi0, yr + NT_BLOCK / 2, sizeof hi0);
        int t = s;
        for (; t + 1 < e; t += 2) {
            float v0 = m->rval[t], v1 = m->rval[t + 1];
            const HalfVec *b0 = hb + 2 * (size_t) m->rcol[t], *b1 = hb + 2 * (size_t) m->rcol[t + 1];
            lo0 += v0 * b0[0];
            hi0 += v0 * b0[1];
            lo1 += v1 * b1[0];
            hi1 += v1 * b1[1];
        }
        if (t < e) {
            const HalfVec *b0 = hb + 2 * (size_t) m->rcol[t];
            lo0 += m->rval[t] * b0[0];
            hi0 += m->rval[t] * b0[1];
        }
        lo0 += lo1;
        hi0 += hi1;
        memcpy (yr, &lo0, sizeof lo0);
        memcpy (yr + NT_BLOCK / 2, &hi0, sizeof hi0);
    }
}

static void rows_gemm_task (int task, int n_tasks, gpointer data)
{
    SparseJob *j = data;
    size_t blocks = (size_t) j->n / NT_BLOCK, lo, hi;
    dn_parallel_slice (blocks, task, n_tasks, &lo, &hi);
    if (hi > lo) {
        void *mem = NULL; /* NtVec wants its own alignment, which malloc does not give */
        if (posix_memalign (&mem, sizeof (NtVec), sizeof (NtVec) * (size_t) MAX (j->k, 1)) != 0) {
            g_critical ("sparse_rows_gemm: out of memory"); /* small; a task cannot report it */
            return;
        }
        for (size_t b = lo; b < hi; b++)
            rows_gemm_block (j, (int) b * NT_BLOCK, mem);
        free (mem);
    }
    if (task == n_tasks - 1 && j->n % NT_BLOCK != 0) { /* the last columns, one by one */
        const Csc *m = j->acol;
        for (int r = 0; r < j->rows; r++)
            for (int c = (int) blocks * NT_BLOCK; c < j->n; c++) {
                float acc = j->y[(size_t) r * j->n + c];
                for (int t = m->rstart[r]; t < m->rstart[r + 1]; t++)
                    acc += m->rval[t] * j->b[(size_t) m->rcol[t] * j->n + c];
                j->y[(size_t) r * j->n + c] = acc;
            }
    }
}

void dn_cpu_sparse_rows_gemm (DnBackend *be, int rows, int k, int n, const float *a,
                              const float *b, float *y)
{
    (void) be;
    Csc m;
    csc_build (&m, rows, k, a, FALSE);
    SparseJob j = {.rows = rows, .k = k, .n = n, .a = a, .b = b, .y = y, .acol = &m};
    int blocks = MAX (n / NT_BLOCK, 1);
    dn_parallel_run (MIN (blocks, dn_parallel_get_threads ()), rows_gemm_task, &j);
    csc_clear (&m);
}

/* Each task owns a range of c's rows, so sums run in sample order whatever the
 * thread count. */
static void outer_task (int task, int n_tasks, gpointer data)
{
    SparseJob *j = data;
    size_t lo, hi;
    dn_parallel_slice ((size_t) j->k, task, n_tasks, &lo, &hi);
    for (int r = 0; r < j->rows; r++) {
        const float *a = j->a + (size_t) r * j->k;
        const float *brow = j->b + (size_t) r * j->n;
        for (size_t i = lo; i < hi; i++) {
            float v = a[i];
            if (v == 0.0f)
                continue;
            float *c = j->y + i * j->n;
            if (j->bnz != NULL) {
                const int *nz = j->bnz + (size_t) r * j->n;
                for (int q = 0; q < j->bnz_len[r]; q++)
                    c[nz[q]] += v * brow[nz[q]];
            } else {
                axpy_row (j->n, v, brow, c);
            }
        }
    }
}

void dn_cpu_sparse_outer (DnBackend *be, int rows, int k, int n, const float *a, const float *b,
                          float *c)
{
    (void) be;
    size_t total = (size_t) rows * n, nnz = dn_cpu_count_nonzero (be, b, total);
    g_autofree int *bnz = NULL, *bnz_len = NULL;
    if (nnz * 3 < total) { /* b mostly zero too: index its non-zeros once */
        bnz = g_new (int, total);
        bnz_len = g_new0 (int, rows);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < n; q++)
                if (b[(size_t) r * n + q] != 0.0f)
                    bnz[(size_t) r * n + bnz_len[r]++] = q;
    }
    SparseJob j = {.rows = rows, .k = k, .n = n, .a = a, .b = b, .y = c, .bnz = bnz,
                   .bnz_len = bnz_len};
    dn_parallel_run (MIN (k, dn_parallel_get_threads ()), outer_task, &j);
}

/* sparse_gemm_nt: the non-zeros of a by column (CSC), then, for each block of NT_BLOCK
 * outputs, the block's NT_BLOCK rows of b are copied column by column into one
 * buffer, and in one pass over the columns, column j's NT_BLOCK weights are added,
 * scaled, into the rows of y where a is non-zero in column j. Each task owns whole
 * blocks of outputs, so every y is summed over j in order, whatever the thread
 * count. */
DN_VECTOR_CLONES
static void nt_block (const NtJob *j, int o0, int nb, NtVec *restrict acc, NtVec *restrict wt)
{
    /* the block's weights by column: wt[c] holds w[o0 .. o0 + nb)[c], read row by row */
    float *wf = (float *) wt;
    if (nb < NT_BLOCK)
        memset (wt, 0, sizeof (NtVec) * (size_t) j->k);
    for (int q = 0; q < nb; q++) {
        const float *row = j->b + (size_t) (o0 + q) * j->k;
        for (int c = 0; c < j->k; c++)
            wf[(size_t) c * NT_BLOCK + q] = row[c];
    }
    memset (acc, 0, sizeof (NtVec) * (size_t) j->rows);
    for (int c = 0; c < j->k; c++) {
        NtVec w = wt[c];
        for (int t = j->col_start[c]; t < j->col_start[c + 1]; t++)
            acc[j->nz_row[t]] += j->nz_val[t] * w;
    }
    for (int r = 0; r < j->rows; r++)
        memcpy (j->y + (size_t) r * j->n + o0, &acc[r], sizeof (float) * nb);
}

static void nt_task (int task, int n_tasks, gpointer data)
{
    const NtJob *j = data;
    size_t blocks = ((size_t) j->n + NT_BLOCK - 1) / NT_BLOCK, lo, hi;
    dn_parallel_slice (blocks, task, n_tasks, &lo, &hi);
    /* NtVec wants its own alignment, which malloc does not give */
    void *mem = NULL;
    size_t count = (size_t) MAX (j->rows, 1) + (size_t) j->k;
    if (posix_memalign (&mem, sizeof (NtVec), sizeof (NtVec) * count) != 0) {
        g_critical ("sparse_gemm_nt: out of memory"); /* small; a task cannot report it */
        return;
    }
    NtVec *acc = mem, *wt = acc + MAX (j->rows, 1);
    for (size_t b = lo; b < hi; b++) {
        int o0 = (int) b * NT_BLOCK;
        nt_block (j, o0, MIN (NT_BLOCK, j->n - o0), acc, wt);
    }
    free (mem);
}

void dn_cpu_sparse_gemm_nt (DnBackend *be, int rows, int k, int n, const float *a,
                            const float *b, float *y)
{
    (void) be;
    Csc m;
    csc_build (&m, rows, k, a, TRUE);
    NtJob j = {rows, k, n, b, y, m.start, m.row, m.val};
    int blocks = (n + NT_BLOCK - 1) / NT_BLOCK;
    dn_parallel_run (MIN (blocks, dn_parallel_get_threads ()), nt_task, &j);
    csc_clear (&m);
}

/* One row's dot product, always summed in the same order: 16 running sums over
 * blocks of 16, a fixed pairwise reduction, then the tail. */
static float dot_fixed (const float *a, const float *b, int n)
{
    float acc[16] = {0};
    int k = 0;
    for (; k + 16 <= n; k += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += a[k + j] * b[k + j];
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] += acc[j + w];
    float s = acc[0];
    for (; k < n; k++)
        s += a[k] * b[k];
    return s;
}

typedef struct {
    int n, dim;
    const int32_t *rows;
    const float *u, *context;
    float *resp;
} RowsJob;

static void segment_rows_task (int task, int n_tasks, gpointer data)
{
    RowsJob *j = data;
    size_t lo, hi;
    dn_parallel_slice ((size_t) j->n, task, n_tasks, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        size_t r = j->rows != NULL ? (size_t) j->rows[i] : i;
        j->resp[r] = dot_fixed (j->u + r * j->dim, j->context, j->dim);
    }
}

void dn_cpu_segment_rows (DnBackend *be, int n, const int32_t *rows, int dim, const float *u,
                          const float *context, float *resp)
{
    (void) be;
    RowsJob j = {.n = n, .dim = dim, .rows = rows, .u = u, .context = context, .resp = resp};
    /* below ~64k multiply-adds a second thread costs more than it saves */
    int tasks = (int) MIN ((size_t) dn_parallel_get_threads (), (size_t) n * dim / 65536 + 1);
    dn_parallel_run (tasks, segment_rows_task, &j);
}
