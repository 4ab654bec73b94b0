/* dn-backend-cpu.c: the CPU backend's table, memory, BLAS and bias ops.
 *
 * GEMM is OpenBLAS; everything else is plain C loops written so the
 * compiler vectorises them. The other ops live in dn-cpu-*.c by topic.
 */
#include "dn-backend-cpu-private.h"
#include "dn-error.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <string.h>

static int cpu_threads = 0;

void *dn_cpu_alloc (DnBackend *be, size_t bytes)
{
    /* 64-byte alignment for AVX-512 loads; zeroed like every backend's alloc. */
    void *p = NULL;
    if (posix_memalign (&p, 64, bytes ? bytes : 64) != 0)
        return NULL;
    memset (p, 0, bytes);
    return p;
}

void dn_cpu_free (DnBackend *be, void *p)
{
    free (p);
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

/* OpenBLAS runs single-threaded; GEMMs are split across our own threads by
 * blocks of rows (or columns, when there are few rows) of C. One thread pool
 * (OpenMP) for everything keeps two pools from fighting over the cores. */
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
    gboolean by_rows = m >= n || m >= 16 * nt;
    int len = by_rows ? m : n;
    int block = ((len + nt - 1) / nt + 15) & ~15;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++) {
        int lo = t * block, hi = MIN (len, lo + block);
        if (lo >= hi)
            continue;
        if (by_rows) {
            /* rows lo..hi of op(a): row i of a, or column i of a when transposed */
            const float *at = trans_a ? a + lo : a + (size_t) lo * lda;
            cblas_sgemm (CblasRowMajor, ta, tb, hi - lo, n, k, alpha, at, lda, b, ldb, beta,
                         c + (size_t) lo * ldc, ldc);
        } else {
            /* columns lo..hi of op(b): column j of b, or row j of b when transposed */
            const float *bt = trans_b ? b + (size_t) lo * ldb : b + lo;
            cblas_sgemm (CblasRowMajor, ta, tb, m, hi - lo, k, alpha, a, lda, bt, ldb, beta,
                         c + lo, ldc);
        }
    }
}

void dn_cpu_axpy (DnBackend *be, size_t n, float alpha, const float *restrict x,
                  float *restrict y)
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

// y and s are (n, c, spatial), w is (c)
void dn_cpu_channel_axpy (DnBackend *be, int n, int c, int spatial, const float *restrict w,
                          const float *restrict s, float *restrict y)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < c; j++) {
            size_t o = ((size_t) i * c + j) * spatial;
            float v = w[j];
            for (int k = 0; k < spatial; k++)
                y[o + k] += v * s[o + k];
        }
    }
}

// a and b are (n, c, spatial), dw is (c)
void dn_cpu_channel_dot (DnBackend *be, int n, int c, int spatial, const float *restrict a,
                         const float *restrict b, float *restrict dw)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < c; j++) {
            size_t o = ((size_t) i * c + j) * spatial;
            float acc = 0.0f;
            for (int k = 0; k < spatial; k++)
                acc += a[o + k] * b[o + k];
            dw[j] += acc;
        }
    }
}

// y is (n, c, spatial), b is (c)
void dn_cpu_bias_add (DnBackend *be, int n, int c, int spatial, const float *restrict b,
                      float *restrict y)
{
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

int dn_cpu_thread_index (void)
{
#ifdef _OPENMP
    return omp_get_thread_num ();
#else
    return 0;
#endif
}

int dn_cpu_threads (void)
{
    return cpu_threads > 0 ? cpu_threads : (int) g_get_num_processors ();
}

void dn_backend_cpu_set_threads (int n_threads)
{
    cpu_threads = n_threads > 0 ? n_threads : 0;
    /* our loops split the work; OpenBLAS's own pool stays idle */
    openblas_set_num_threads (1);
}

int dn_backend_cpu_get_threads (void)
{
    return dn_cpu_threads ();
}

static DnBackend cpu_backend = {
    .name = "cpu",
    .alloc = dn_cpu_alloc,
    .free = dn_cpu_free,
    .upload = dn_cpu_upload,
    .download = dn_cpu_download,
    .zero = dn_cpu_zero,
    .copy = dn_cpu_copy,
    .synchronize = dn_cpu_synchronize,
    .gemm = dn_cpu_gemm,
    .axpy = dn_cpu_axpy,
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
    .channel_axpy = dn_cpu_channel_axpy,
    .channel_dot = dn_cpu_channel_dot,
    .bias_add = dn_cpu_bias_add,
    .bias_backward = dn_cpu_bias_backward,
    .act_forward = dn_cpu_act_forward,
    .act_backward = dn_cpu_act_backward,
    .maxpool2d_forward = dn_cpu_maxpool2d_forward,
    .maxpool2d_backward = dn_cpu_maxpool2d_backward,
    .avgpool2d_forward = dn_cpu_avgpool2d_forward,
    .avgpool2d_backward = dn_cpu_avgpool2d_backward,
    .batchnorm_forward_train = dn_cpu_batchnorm_forward_train,
    .batchnorm_forward_eval = dn_cpu_batchnorm_forward_eval,
    .batchnorm_backward = dn_cpu_batchnorm_backward,
    .layernorm_forward = dn_cpu_layernorm_forward,
    .layernorm_backward = dn_cpu_layernorm_backward,
    .softmax_forward = dn_cpu_softmax_forward,
    .softmax_backward = dn_cpu_softmax_backward,
    .dropout_forward = dn_cpu_dropout_forward,
    .dropout_backward = dn_cpu_dropout_backward,
    .cross_entropy = dn_cpu_cross_entropy,
    .nll = dn_cpu_nll,
    .mse = dn_cpu_mse,
    .bce_logits = dn_cpu_bce_logits,
    .count_correct = dn_cpu_count_correct,
    .sgd_update = dn_cpu_sgd_update,
    .adam_update = dn_cpu_adam_update,
    .adadelta_update = dn_cpu_adadelta_update,
    .rmsprop_update = dn_cpu_rmsprop_update,
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
    if (g_str_equal (name, "auto")) {
        DnBackend *be = dn_backend_cuda (NULL);
        return be != NULL ? be : dn_backend_cpu ();
    }
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                 "unknown device \"%s\": use \"cpu\", \"cuda\" or \"auto\"", name);
    return NULL;
}
