/* dn-backend-cpu.c: the CPU backend's table, memory, BLAS and bias ops.
 *
 * GEMM is OpenBLAS; everything else is plain C loops written so the
 * compiler vectorises them. The other ops live in dn-cpu-*.c by topic.
 */
#include "dn-backend-cpu-private.h"
#include "dn-error.h"

#include "dn-parallel.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *dn_cpu_alloc (DnBackend *be, size_t bytes)
{
    /* 64-byte alignment for AVX-512 loads; zeroed like every backend's alloc. calloc
     * gives large blocks as fresh zero pages that cost nothing until written, so a
     * big network's gradient arena (most of it untouched for active dendrites)
     * neither takes time to clear nor memory it does not use. The block's start is
     * kept just before the aligned pointer for dn_cpu_free. */
    (void) be;
    if (bytes > SIZE_MAX - 128)
        return NULL;
    char *raw = calloc (1, bytes + 64 + sizeof (void *));
    if (raw == NULL)
        return NULL;
    uintptr_t a = ((uintptr_t) (raw + sizeof (void *)) + 63) & ~(uintptr_t) 63;
    ((void **) a)[-1] = raw;
    return (void *) a;
}

void dn_cpu_free (DnBackend *be, void *p)
{
    (void) be;
    if (p != NULL)
        free (((void **) p)[-1]);
}

void dn_cpu_upload (DnBackend *be, void *dst, const void *host_src, size_t bytes)
{
    memcpy (dst, host_src, bytes);
}

void dn_cpu_download (DnBackend *be, void *host_dst, const void *src, size_t bytes)
{
    memcpy (host_dst, src, bytes);
}

void dn_cpu_zero (DnBackend *be, float *x, size_t n)
{
    memset (x, 0, n * sizeof (float));
}

void dn_cpu_copy (DnBackend *be, float *dst, const float *src, size_t n)
{
    if (dst != src)
        memmove (dst, src, n * sizeof (float));
}

void dn_cpu_synchronize (DnBackend *be)
{
}

typedef struct {
    enum CBLAS_TRANSPOSE ta, tb;
    int m, n, k;
    float alpha;
    const float *a;
    int lda;
    const float *b;
    int ldb;
    float beta;
    float *c;
    int ldc;
    gboolean by_rows;
    int block;
} GemmJob;

static void gemm_task (int t, int n_tasks, gpointer data)
{
    const GemmJob *j = data;
    int len = j->by_rows ? j->m : j->n;
    int lo = t * j->block, hi = MIN (len, lo + j->block);
    if (lo >= hi)
        return;
    if (j->by_rows) {
        /* rows lo..hi of op(a): row i of a, or column i of a when transposed */
        const float *at = j->ta == CblasTrans ? j->a + lo : j->a + (size_t) lo * j->lda;
        cblas_sgemm (CblasRowMajor, j->ta, j->tb, hi - lo, j->n, j->k, j->alpha, at, j->lda, j->b,
                     j->ldb, j->beta, j->c + (size_t) lo * j->ldc, j->ldc);
    } else {
        /* columns lo..hi of op(b): column j of b, or row j of b when transposed */
        const float *bt = j->tb == CblasTrans ? j->b + (size_t) lo * j->ldb : j->b + lo;
        cblas_sgemm (CblasRowMajor, j->ta, j->tb, j->m, hi - lo, j->k, j->alpha, j->a, j->lda, bt,
                     j->ldb, j->beta, j->c + lo, j->ldc);
    }
}

/* OpenBLAS runs single-threaded; GEMMs are split across our own threads by
 * blocks of rows or columns of C. Every thread packs (copies) all of the operand
 * it shares, so the split goes along the side whose shared operand is smaller:
 * rows of C share op(b) (k, n), columns share op(a) (m, k). One thread pool
 * (dn-parallel.c) for everything keeps two pools from fighting over the cores,
 * and its workers sleep while the main thread works alone. */
#define GEMM_SPLIT_FLOPS 2e6

// a is op(a) (m, k), b is op(b) (k, n), c is (m, n); all row-major
void dn_cpu_gemm (DnBackend *be, gboolean trans_a, gboolean trans_b, int m, int n, int k,
                  float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc)
{
    if (m == 0 || n == 0)
        return;
    const enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    const enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    int nt = dn_cpu_threads ();
    if (nt == 1 || 2.0 * m * n * k < GEMM_SPLIT_FLOPS) {
        cblas_sgemm (CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    /* Split the longer side of C in nt blocks, multiples of 16 for the kernels. */
    GemmJob job = {ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, FALSE, 0};
    job.by_rows = m >= n;
    int len = job.by_rows ? m : n;
    job.block = ((len + nt - 1) / nt + 15) & ~15;
    dn_parallel_run (nt, gemm_task, &job);
}

void dn_cpu_axpy (DnBackend *be, size_t n, float alpha, const float *restrict x, float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void dn_cpu_scale (DnBackend *be, size_t n, float alpha, float *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

void dn_cpu_add (DnBackend *be, size_t n, const float *x0, const float *x1, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x0[i] + x1[i];
}

void dn_cpu_mul (DnBackend *be, size_t n, const float *x, const float *m, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * m[i];
}

double dn_cpu_sum (DnBackend *be, const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

// y is (n, c, spatial), b is (c)
void dn_cpu_bias_add (DnBackend *be, int n, int c, int spatial, const float *restrict b,
                      float *restrict y)
{
    if (spatial == 1) { /* a linear layer's output: one vectorised pass per sample */
        for (int i = 0; i < n; i++) {
            float *row = y + (size_t) i * c;
            for (int j = 0; j < c; j++)
                row[j] += b[j];
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < c; j++) {
            float *row = y + ((size_t) i * c + j) * spatial;
            float v = b[j];
            for (int s = 0; s < spatial; s++)
                row[s] += v;
        }
    }
}

// dy is (n, c, spatial), db is (c)
void dn_cpu_bias_backward (DnBackend *be, int n, int c, int spatial, const float *restrict dy,
                           float *restrict db)
{
    if (spatial == 1) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++)
                db[j] += dy[(size_t) i * c + j];
        return;
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < c; j++) {
            const float *row = dy + ((size_t) i * c + j) * spatial;
            float s = 0.0f;
            for (int k = 0; k < spatial; k++)
                s += row[k];
            db[j] += s;
        }
    }
}

int dn_cpu_threads (void)
{
    return dn_parallel_get_threads ();
}

void dn_backend_cpu_set_threads (int n_threads)
{
    dn_parallel_set_threads (n_threads);
    /* our loops split the work; OpenBLAS's own pool stays idle */
    openblas_set_num_threads (1);
}

int dn_backend_cpu_get_threads (void)
{
    return dn_cpu_threads ();
}

/* ---- elementwise ops split across the pool ----
 * Each op's serial kernel works on any slice, so a wrapper hands every
 * thread a fixed slice of the elements (or of the batch). Small tensors
 * stay on the calling thread. */

#define PAR_MIN_ELEMENTS 65536

/* a task gets at least half of PAR_MIN_ELEMENTS, so smaller tensors stay whole */
static int par_tasks (size_t n)
{
    return dn_parallel_tasks (n, PAR_MIN_ELEMENTS / 2);
}

typedef struct {
    DnBackend *be;
    size_t n;
    DnAct act;
    float param;
    const float *x, *y, *dy;
    float *out;
} ActJob;

static void zero_task (int t, int nt, gpointer data)
{
    ActJob *j = data;
    size_t lo, hi;
    dn_parallel_slice (j->n, t, nt, &lo, &hi);
    dn_cpu_zero (j->be, j->out + lo, hi - lo);
}

static void par_zero (DnBackend *be, float *x, size_t n)
{
    ActJob j = {.be = be, .n = n, .out = x};
    dn_parallel_run (par_tasks (n), zero_task, &j);
}

static void axpy_task (int t, int nt, gpointer data)
{
    ActJob *j = data;
    size_t lo, hi;
    dn_parallel_slice (j->n, t, nt, &lo, &hi);
    dn_cpu_axpy (j->be, hi - lo, j->param, j->x + lo, j->out + lo);
}

static void par_axpy (DnBackend *be, size_t n, float alpha, const float *x, float *y)
{
    ActJob j = {.be = be, .n = n, .param = alpha, .x = x, .out = y};
    dn_parallel_run (par_tasks (n), axpy_task, &j);
}

static void act_forward_task (int t, int nt, gpointer data)
{
    ActJob *j = data;
    size_t lo, hi;
    dn_parallel_slice (j->n, t, nt, &lo, &hi);
    dn_cpu_act_forward (j->be, j->act, j->param, hi - lo, j->x + lo, j->out + lo);
}

static void par_act_forward (DnBackend *be, DnAct act, float param, size_t n, const float *x,
                             float *y)
{
    ActJob j = {be, n, act, param, x, NULL, NULL, y};
    dn_parallel_run (par_tasks (n), act_forward_task, &j);
}

static void act_backward_task (int t, int nt, gpointer data)
{
    ActJob *j = data;
    size_t lo, hi;
    dn_parallel_slice (j->n, t, nt, &lo, &hi);
    dn_cpu_act_backward (j->be, j->act, j->param, hi - lo, j->x ? j->x + lo : NULL,
                         j->y ? j->y + lo : NULL, j->dy + lo, j->out + lo);
}

static void par_act_backward (DnBackend *be, DnAct act, float param, size_t n, const float *x,
                              const float *y, const float *dy, float *dx)
{
    ActJob j = {be, n, act, param, x, y, dy, dx};
    dn_parallel_run (par_tasks (n), act_backward_task, &j);
}

typedef struct {
    DnBackend *be;
    const DnConvGeom *g;
    int batch;
    const float *in;
    float *out;
    int32_t *argmax;
} PoolJob;

static void maxpool_forward_task (int t, int nt, gpointer data)
{
    PoolJob *j = data;
    size_t lo, hi;
    dn_parallel_slice ((size_t) j->batch, t, nt, &lo, &hi);
    size_t xs = (size_t) j->g->c_in * j->g->h * j->g->w,
           ys = (size_t) j->g->c_in * j->g->oh * j->g->ow;
    dn_cpu_maxpool2d_forward (j->be, j->g, (int) (hi - lo), j->in + lo * xs, j->out + lo * ys,
                              j->argmax + lo * ys);
}

static void par_maxpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch, const float *x,
                                   float *y, int32_t *argmax)
{
    PoolJob j = {be, g, batch, x, y, argmax};
    size_t n = (size_t) batch * g->c_in * g->h * g->w;
    dn_parallel_run (MIN (par_tasks (n), batch), maxpool_forward_task, &j);
}

static void maxpool_backward_task (int t, int nt, gpointer data)
{
    PoolJob *j = data;
    size_t lo, hi;
    dn_parallel_slice ((size_t) j->batch, t, nt, &lo, &hi);
    size_t xs = (size_t) j->g->c_in * j->g->h * j->g->w,
           ys = (size_t) j->g->c_in * j->g->oh * j->g->ow;
    dn_cpu_maxpool2d_backward (j->be, j->g, (int) (hi - lo), j->in + lo * ys, j->argmax + lo * ys,
                               j->out + lo * xs);
}

static void par_maxpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch, const float *dy,
                                    const int32_t *argmax, float *dx)
{
    PoolJob j = {be, g, batch, dy, dx, (int32_t *) argmax};
    size_t n = (size_t) batch * g->c_in * g->h * g->w;
    dn_parallel_run (MIN (par_tasks (n), batch), maxpool_backward_task, &j);
}

/* Dropout: the mask of element i depends on i alone, so any slice can go to any thread. */
typedef struct {
    size_t n;
    float p;
    uint64_t seed;
    gboolean backward;
    const float *x;
    float *y;
} DropoutJob;

static void dropout_task (int t, int nt, gpointer data)
{
    DropoutJob *j = data;
    size_t lo, hi;
    dn_parallel_slice (j->n, t, nt, &lo, &hi);
    dn_cpu_dropout_slice (lo, hi, j->p, j->seed, j->backward, j->x, j->y);
}

static void par_dropout_forward (DnBackend *be, size_t n, float p, uint64_t seed, const float *x,
                                 float *y)
{
    DropoutJob j = {n, p, seed, FALSE, x, y};
    dn_parallel_run (par_tasks (n), dropout_task, &j);
}

static void par_dropout_backward (DnBackend *be, size_t n, float p, uint64_t seed, const float *dy,
                                  float *dx)
{
    DropoutJob j = {n, p, seed, TRUE, dy, dx};
    dn_parallel_run (par_tasks (n), dropout_task, &j);
}

/* Optimizer updates: every buffer is a flat array aligned with the parameters. */
typedef struct {
    DnBackend *be;
    int kind;
    size_t n;
    float *w;
    const float *g;
    float *b0, *b1, *b2;
    float lr, a, b, c, d;
    gboolean f0, f1;
    int64_t step;
} OptJob;

#define OFF(p) ((p) != NULL ? (p) + lo : NULL)

static void opt_task (int t, int nt, gpointer data)
{
    OptJob *j = data;
    size_t lo, hi;
    dn_parallel_slice (j->n, t, nt, &lo, &hi);
    switch (j->kind) {
    case 0:
        dn_cpu_sgd_update (j->be, hi - lo, j->w + lo, j->g + lo, OFF (j->b0), j->lr, j->a, j->b,
                           j->f0, j->c, j->f1);
        break;
    case 1:
        dn_cpu_adam_update (j->be, hi - lo, j->w + lo, j->g + lo, OFF (j->b0), OFF (j->b1),
                            OFF (j->b2), j->lr, j->a, j->b, j->c, j->d, j->f0, j->f1, j->step);
        break;
    case 2:
        dn_cpu_adadelta_update (j->be, hi - lo, j->w + lo, j->g + lo, OFF (j->b0), OFF (j->b1),
                                j->lr, j->a, j->b, j->c);
        break;
    default:
        dn_cpu_rmsprop_update (j->be, hi - lo, j->w + lo, j->g + lo, OFF (j->b0), OFF (j->b1),
                               OFF (j->b2), j->lr, j->a, j->b, j->c, j->d, j->f0);
        break;
    }
}

static void par_sgd_update (DnBackend *be, size_t n, float *w, const float *g, float *momentum_buf,
                            float lr, float momentum, float dampening, gboolean nesterov,
                            float weight_decay, gboolean first_step)
{
    OptJob j = {be,   0,        n,          w,        g,         momentum_buf,
                NULL, NULL,     lr,         momentum, dampening, weight_decay,
                0,    nesterov, first_step, 0};
    dn_parallel_run (par_tasks (n), opt_task, &j);
}

static void par_adam_update (DnBackend *be, size_t n, float *w, const float *g, float *m, float *v,
                             float *vmax, float lr, float beta1, float beta2, float eps,
                             float weight_decay, gboolean decoupled, gboolean amsgrad, int64_t step)
{
    OptJob j = {be,           1,         n,       w,   g, m, v, vmax, lr, beta1, beta2, eps,
                weight_decay, decoupled, amsgrad, step};
    dn_parallel_run (par_tasks (n), opt_task, &j);
}

static void par_adadelta_update (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                                 float *acc_delta, float lr, float rho, float eps,
                                 float weight_decay)
{
    OptJob j = {be,           2, n,     w,     g, sq_avg, acc_delta, NULL, lr, rho, eps,
                weight_decay, 0, FALSE, FALSE, 0};
    dn_parallel_run (par_tasks (n), opt_task, &j);
}

static void par_rmsprop_update (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                                float *grad_avg, float *momentum_buf, float lr, float alpha,
                                float eps, float weight_decay, float momentum, gboolean centered)
{
    OptJob j = {
        be,           3,        n,        w,     g, sq_avg, grad_avg, momentum_buf, lr, alpha, eps,
        weight_decay, momentum, centered, FALSE, 0};
    dn_parallel_run (par_tasks (n), opt_task, &j);
}

typedef struct {
    float *dst;
    const float *src;
    size_t n;
} CopyJob;

static void copy_task (int t, int nt, gpointer data)
{
    CopyJob *j = data;
    size_t lo, hi;
    dn_parallel_slice (j->n, t, nt, &lo, &hi);
    memcpy (j->dst + lo, j->src + lo, (hi - lo) * sizeof (float));
}

static void par_copy (DnBackend *be, float *dst, const float *src, size_t n)
{
    if (dst == src)
        return;
    /* overlapping ranges keep memmove's semantics on one thread */
    if ((dst < src + n && src < dst + n) || n < PAR_MIN_ELEMENTS) {
        dn_cpu_copy (be, dst, src, n);
        return;
    }
    CopyJob j = {dst, src, n};
    dn_parallel_run (par_tasks (n), copy_task, &j);
}

static DnBackend cpu_backend = {
    .name = "cpu",
    .host_memory = TRUE,
    .alloc = dn_cpu_alloc,
    .free = dn_cpu_free,
    .upload = dn_cpu_upload,
    .download = dn_cpu_download,
    .zero = par_zero,
    .copy = par_copy,
    .synchronize = dn_cpu_synchronize,
    .gemm = dn_cpu_gemm,
    .axpy = par_axpy,
    .scale = dn_cpu_scale,
    .add = dn_cpu_add,
    .mul = dn_cpu_mul,
    .sum = dn_cpu_sum,
    .im2col = dn_cpu_im2col,
    .col2im = dn_cpu_col2im,
    .transpose_outer = dn_cpu_transpose_outer,
    .conv2d_workspace = dn_cpu_conv2d_workspace,
    .conv2d_forward = dn_cpu_conv2d_forward,
    .conv2d_backward = dn_cpu_conv2d_backward,
    .dendrite_forward = dn_cpu_dendrite_forward,
    .dendrite_backward = dn_cpu_dendrite_backward,
    .bias_add = dn_cpu_bias_add,
    .bias_backward = dn_cpu_bias_backward,
    .act_forward = par_act_forward,
    .act_backward = par_act_backward,
    .maxpool2d_forward = par_maxpool2d_forward,
    .maxpool2d_backward = par_maxpool2d_backward,
    .avgpool2d_forward = dn_cpu_avgpool2d_forward,
    .avgpool2d_backward = dn_cpu_avgpool2d_backward,
    .batchnorm_forward_train = dn_cpu_batchnorm_forward_train,
    .batchnorm_forward_eval = dn_cpu_batchnorm_forward_eval,
    .batchnorm_backward = dn_cpu_batchnorm_backward,
    .layernorm_forward = dn_cpu_layernorm_forward,
    .layernorm_backward = dn_cpu_layernorm_backward,
    .softmax_forward = dn_cpu_softmax_forward,
    .softmax_backward = dn_cpu_softmax_backward,
    .dropout_forward = par_dropout_forward,
    .dropout_backward = par_dropout_backward,
    .segment_select = dn_cpu_segment_select,
    .gate_forward = dn_cpu_gate_forward,
    .gate_backward = dn_cpu_gate_backward,
    .segment_grad = dn_cpu_segment_grad,
    .segment_rows = dn_cpu_segment_rows,
    .kwta_forward = dn_cpu_kwta_forward,
    .kwta_backward = dn_cpu_kwta_backward,
    .count_nonzero = dn_cpu_count_nonzero,
    .sparse_rows_gemm = dn_cpu_sparse_rows_gemm,
    .sparse_outer = dn_cpu_sparse_outer,
    .sparse_gemm_nt = dn_cpu_sparse_gemm_nt,
    .cross_entropy = dn_cpu_cross_entropy,
    .nll = dn_cpu_nll,
    .mse = dn_cpu_mse,
    .bce_logits = dn_cpu_bce_logits,
    .one_hot = dn_cpu_one_hot,
    .count_correct = dn_cpu_count_correct,
    .sgd_update = par_sgd_update,
    .adam_update = par_adam_update,
    .adadelta_update = par_adadelta_update,
    .rmsprop_update = par_rmsprop_update,
};

DnBackend *dn_backend_cpu (void)
{
    return &cpu_backend;
}

DnBackend *dn_backend_by_name (const char *name, GError **error)
{
    if (name == NULL || g_str_equal (name, "cpu"))
        return dn_backend_cpu ();
    if (g_str_equal (name, "cuda"))
        return dn_backend_cuda (error);
    if (g_str_has_prefix (name, "cuda:")) {
        guint64 index = 0;
        if (!g_ascii_string_to_unsigned (name + 5, 10, 0, G_MAXINT, &index, NULL)) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "unknown device \"%s\": a CUDA device is \"cuda\" or \"cuda:N\" with N "
                         "its number (0 for the first)",
                         name);
            return NULL;
        }
        return dn_backend_cuda_device ((int) index, error);
    }
    if (g_str_equal (name, "auto")) {
        DnBackend *be = dn_backend_cuda (NULL);
        return be != NULL ? be : dn_backend_cpu ();
    }
    if (g_str_equal (name, "check"))
        return dn_backend_check ();
    g_set_error (
        error, DN_ERROR, DN_ERROR_CONFIG,
        "unknown device \"%s\": use \"cpu\", \"cuda\", \"cuda:N\" or \"auto\" (or \"check\", the "
        "CPU checking that the engine keeps to the device contract)",
        name);
    return NULL;
}
