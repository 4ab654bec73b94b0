/* dn-backend-cuda-private.h: the CUDA backend's ops, one prototype per DnBackend member,
 * each with the signature of its CPU twin (dn-backend-cpu-private.h). They are compiled by
 * nvcc from dn-cuda-<family>.cu beside the CPU's dn-cpu-<family>.c, with a plain C ABI;
 * dn-backend-cuda.c fills the table.
 *
 * Conventions: every pointer is device memory from dn_cuda_alloc except those the device
 * contract names as host memory (upload's host_src, download's host_dst, the losses' `loss`,
 * segment_grad's `rows_touched`). Ops are queued on the legacy default stream in order;
 * those that return a value to the host (sum, count_nonzero, losses, count_correct) wait
 * for it. Reductions that feed training never use atomics: each block sums a fixed range
 * in a fixed tree order and a second pass adds the blocks' partial sums in block order,
 * so a run gives the same numbers every time on the same GPU model.
 */
#pragma once

#include "dn-backend.h"

G_BEGIN_DECLS

/* Opens device `index` (cuBLAS handle, scratch); returns 0, or -1 with `msg` (msg_len
 * bytes) saying why. One device per process: a second call with another index fails. */
int dn_cuda_open (int index, char *msg, size_t msg_len);
/* Free and total memory of the open device, in bytes. */
void dn_cuda_memory_info (DnBackend *be, size_t *free_bytes, size_t *total_bytes);
/* The first CUDA or cuBLAS error an op met since the last call, as text, and clears it;
 * NULL when there was none. Ops cannot return errors; the backend reports them here. */
const char *dn_cuda_take_error (void);

void *dn_cuda_alloc (DnBackend *be, size_t bytes);
void dn_cuda_free (DnBackend *be, void *p);
void dn_cuda_upload (DnBackend *be, void *dst, const void *host_src, size_t bytes);
void dn_cuda_download (DnBackend *be, void *host_dst, const void *src, size_t bytes);
void dn_cuda_zero (DnBackend *be, float *x, size_t n);
void dn_cuda_copy (DnBackend *be, float *dst, const float *src, size_t n);
void dn_cuda_synchronize (DnBackend *be);
void dn_cuda_gemm (DnBackend *be, gboolean trans_a, gboolean trans_b, int m, int n, int k,
                  float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc);
void dn_cuda_axpy (DnBackend *be, size_t n, float alpha, const float *x, float *y);
void dn_cuda_scale (DnBackend *be, size_t n, float alpha, float *x);
void dn_cuda_add (DnBackend *be, size_t n, const float *x0, const float *x1, float *y);
void dn_cuda_mul (DnBackend *be, size_t n, const float *x, const float *m, float *y);
double dn_cuda_sum (DnBackend *be, const float *x, size_t n);
void dn_cuda_im2col (DnBackend *be, const DnConvGeom *g, int batch, const float *x, float *col);
void dn_cuda_col2im (DnBackend *be, const DnConvGeom *g, int batch, const float *col, float *dx);
void dn_cuda_transpose_outer (DnBackend *be, int rows, int batch, int inner, const float *src,
                             float *dst);
size_t dn_cuda_conv2d_workspace (DnBackend *be, const DnConvGeom *g, int batch);
void dn_cuda_conv2d_forward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f, int batch,
                            const float *x, const float *w, const float *bias, float *y,
                            float *workspace);
void dn_cuda_conv2d_backward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f, int batch,
                             const float *x, const float *w, const float *y, const float *dy,
                             float *dx, float *dw, float *db, float *workspace);
void dn_cuda_dendrite_forward (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                              const float *w, const float *r, size_t ld_slot, size_t ld_sample,
                              const DnConvFusion *f, float *s, float *out);
void dn_cuda_dendrite_backward (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                               const float *w, const float *s, const DnConvFusion *f,
                               const float *out, const float *dout, float *dr, size_t ld_slot,
                               size_t ld_sample, float *dw);
void dn_cuda_bias_add (DnBackend *be, int n, int c, int spatial, const float *b, float *y);
void dn_cuda_bias_backward (DnBackend *be, int n, int c, int spatial, const float *dy, float *db);
void dn_cuda_act_forward (DnBackend *be, DnAct act, float param, size_t n, const float *x, float *y);
void dn_cuda_act_backward (DnBackend *be, DnAct act, float param, size_t n, const float *x,
                          const float *y, const float *dy, float *dx);
void dn_cuda_maxpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch, const float *x,
                               float *y, int32_t *argmax);
void dn_cuda_maxpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch, const float *dy,
                                const int32_t *argmax, float *dx);
void dn_cuda_avgpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch,
                               gboolean count_include_pad, const float *x, float *y);
void dn_cuda_avgpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch,
                                gboolean count_include_pad, const float *dy, float *dx);
void dn_cuda_batchnorm_forward_train (DnBackend *be, int n, int c, int spatial, const float *x,
                                     const float *gamma, const float *beta, float eps,
                                     float momentum, float *running_mean, float *running_var,
                                     float *y, float *save_mean, float *save_invstd);
void dn_cuda_batchnorm_forward_eval (DnBackend *be, int n, int c, int spatial, const float *x,
                                    const float *gamma, const float *beta, float eps,
                                    const float *running_mean, const float *running_var, float *y);
void dn_cuda_batchnorm_backward (DnBackend *be, int n, int c, int spatial, const float *x,
                                const float *dy, const float *gamma, const float *save_mean,
                                const float *save_invstd, float *dx, float *dgamma, float *dbeta);
void dn_cuda_layernorm_forward (DnBackend *be, int rows, int cols, const float *x,
                               const float *gamma, const float *beta, float eps, float *y,
                               float *save_mean, float *save_invstd);
void dn_cuda_layernorm_backward (DnBackend *be, int rows, int cols, const float *x, const float *dy,
                                const float *gamma, const float *save_mean,
                                const float *save_invstd, float *dx, float *dgamma, float *dbeta);
void dn_cuda_softmax_forward (DnBackend *be, gboolean log, int rows, int cols, const float *x,
                             float *y);
void dn_cuda_softmax_backward (DnBackend *be, gboolean log, int rows, int cols, const float *y,
                              const float *dy, float *dx);
void dn_cuda_dropout_forward (DnBackend *be, size_t n, float p, uint64_t seed, const float *x,
                              float *y);
void dn_cuda_dropout_backward (DnBackend *be, size_t n, float p, uint64_t seed, const float *dy,
                               float *dx);
void dn_cuda_segment_select (DnBackend *be, DnGateMode mode, int n_ctx, int units, int segments,
                            const float *resp, int32_t *win, float *g);
void dn_cuda_gate_forward (DnBackend *be, DnGateMode mode, int batch, int units, const float *t,
                          const float *g, const int32_t *ctx_index, float *y);
void dn_cuda_gate_backward (DnBackend *be, DnGateMode mode, int batch, int units, const float *t,
                           const float *g, const int32_t *ctx_index, const float *dy, float *dt,
                           float *dg);
void dn_cuda_segment_grad (DnBackend *be, int n_ctx, int units, int segments, int dim,
                          const int32_t *win, const float *dg, const float *contexts, float *du,
                          guint8 *rows_touched);
void dn_cuda_segment_rows (DnBackend *be, int n, const int32_t *rows, int dim, const float *u,
                          const float *context, float *resp);
void dn_cuda_kwta_forward (DnBackend *be, int rows, int cols, int k, const float *x, float *y,
                          guint8 *mask);
void dn_cuda_kwta_backward (DnBackend *be, int rows, int cols, const guint8 *mask, const float *dy,
                           float *dx);
size_t dn_cuda_count_nonzero (DnBackend *be, const float *x, size_t n);
void dn_cuda_sparse_rows_gemm (DnBackend *be, int rows, int k, int n, const float *a,
                              const float *b, float *y);
void dn_cuda_sparse_gemm_nt (DnBackend *be, int rows, int k, int n, const float *a,
                            const float *b, float *y);
void dn_cuda_sparse_outer (DnBackend *be, int rows, int k, int n, const float *a, const float *b,
                          float *c);
void dn_cuda_cross_entropy (DnBackend *be, int rows, int cols, const float *logits,
                           const int32_t *labels, float label_smoothing, float scale, double *loss,
                           float *dlogits);
void dn_cuda_nll (DnBackend *be, int rows, int cols, const float *logp, const int32_t *labels,
                 float scale, double *loss, float *dlogp);
void dn_cuda_mse (DnBackend *be, int rows, int cols, const float *pred, const float *target,
                 float scale, double *loss, float *dpred);
void dn_cuda_bce_logits (DnBackend *be, int rows, int cols, const float *logits, const float *target,
                        float scale, double *loss, float *dlogits);
void dn_cuda_one_hot (DnBackend *be, int rows, int cols, const int32_t *labels, float *targets);
int dn_cuda_count_correct (DnBackend *be, int rows, int cols, const float *logits,
                          const int32_t *labels);
void dn_cuda_sgd_update (DnBackend *be, size_t n, float *w, const float *g, float *momentum_buf,
                        float lr, float momentum, float dampening, gboolean nesterov,
                        float weight_decay, gboolean first_step);
void dn_cuda_adam_update (DnBackend *be, size_t n, float *w, const float *g, float *m, float *v,
                         float *vmax, float lr, float beta1, float beta2, float eps,
                         float weight_decay, gboolean decoupled, gboolean amsgrad, int64_t step);
void dn_cuda_adadelta_update (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                             float *acc_delta, float lr, float rho, float eps, float weight_decay);
void dn_cuda_rmsprop_update (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                            float *grad_avg, float *momentum_buf, float lr, float alpha, float eps,
                            float weight_decay, float momentum, gboolean centered);

G_END_DECLS

#ifdef __CUDACC__
/* ---- shared by the .cu files only ---- */
#include <cuda_runtime.h>

#define DN_CUDA_THREADS 256

/* Blocks for n elements at DN_CUDA_THREADS per block, one element per thread (grid-stride
 * loops cover the rest), capped so the grid size stays valid. */
static inline unsigned int dn_cuda_blocks (size_t n)
{
    size_t b = (n + DN_CUDA_THREADS - 1) / DN_CUDA_THREADS;
    return (unsigned int) (b < 1 ? 1 : b > 65535u * 16u ? 65535u * 16u : b);
}

#define DN_CUDA_LOOP(i, n)                                                                        \
    for (size_t i = (size_t) blockIdx.x * blockDim.x + threadIdx.x; i < (n);                      \
         i += (size_t) blockDim.x * gridDim.x)

/* Records a launch or runtime error for dn_cuda_take_error (the first one wins). */
void dn_cuda_note (cudaError_t err, const char *where);
#define DN_CUDA_LAUNCHED(where) dn_cuda_note (cudaGetLastError (), where)

/* Device scratch of at least `bytes`, owned by the backend and reused by every op (ops run
 * in stream order, so one op's scratch is free when the next starts); NULL on failure. */
void *dn_cuda_scratch (size_t bytes);
/* Second scratch for ops that need two at once. */
void *dn_cuda_scratch2 (size_t bytes);

/* Sum of x (n) in double, deterministic (fixed blocks, fixed tree, block order), into
 * *out on the device. */
void dn_cuda_sum_to (const float *x, size_t n, double *out);
/* Adds `n` doubles at d (device) in a fixed order and returns the sum on the host. */
double dn_cuda_sum_doubles (const double *d, size_t n);

/* Block-wide sum in a fixed tree order; every thread gets the result. `shared` holds
 * blockDim.x values; blockDim.x is a power of two. */
template <typename T> __device__ inline T dn_block_sum (T v, T *shared)
{
    shared[threadIdx.x] = v;
    __syncthreads ();
    for (unsigned int h = blockDim.x / 2; h > 0; h /= 2) {
        if (threadIdx.x < h)
            shared[threadIdx.x] += shared[threadIdx.x + h];
        __syncthreads ();
    }
    T r = shared[0];
    __syncthreads ();
    return r;
}

/* The activations of dn-backend.h on one value, as the CPU computes them. */
__device__ inline float dn_act_value (DnAct act, float param, float x)
{
    switch (act) {
    case DN_ACT_RELU:
        return x < 0.0f ? 0.0f : x;
    case DN_ACT_LEAKY_RELU:
        return (x < 0.0f ? 0.0f : x) + param * (x > 0.0f ? 0.0f : x);
    case DN_ACT_SIGMOID:
        return 1.0f / (1.0f + expf (-x));
    case DN_ACT_TANH:
        return 1.0f - 2.0f / (expf (2.0f * x) + 1.0f);
    case DN_ACT_GELU:
        return 0.5f * x * (1.0f + erff (x * 0.70710678118654752440f));
    default:
        return x;
    }
}

/* f'(x) * dy from the forward input x and output y. */
__device__ inline float dn_act_grad (DnAct act, float param, float x, float y, float dy)
{
    switch (act) {
    case DN_ACT_RELU:
        return x > 0.0f ? dy : 0.0f;
    case DN_ACT_LEAKY_RELU: {
        float pos = x > 0.0f ? dy : 0.0f, neg = x > 0.0f ? 0.0f : dy;
        return pos + param * neg;
    }
    case DN_ACT_SIGMOID:
        return dy * y * (1.0f - y);
    case DN_ACT_TANH:
        return dy * (1.0f - y * y);
    case DN_ACT_GELU: {
        float cdf = 0.5f * (1.0f + erff (x * 0.70710678118654752440f));
        float pdf = 0.39894228040143267794f * expf (-0.5f * x * x);
        return dy * (cdf + x * pdf);
    }
    default:
        return dy;
    }
}

/* Max pooling of one output (plane p, position q) over x (planes, h, w): the value and the
 * flat h*w index of the first largest input (a NaN wins), as the CPU's loop. */
__device__ inline float dn_maxpool_one (const DnConvGeom *g, const float *xp, int oy, int ox,
                                        int32_t *arg)
{
    int iy0 = oy * g->sh - g->ph, ix0 = ox * g->sw - g->pw;
    float m = -INFINITY;
    int32_t a = -1;
    for (int ky = 0; ky < g->kh; ky++) {
        int iy = iy0 + ky * g->dh;
        if (iy < 0 || iy >= g->h)
            continue;
        for (int kx = 0; kx < g->kw; kx++) {
            int ix = ix0 + kx * g->dw;
            if (ix < 0 || ix >= g->w)
                continue;
            float v = xp[iy * g->w + ix];
            if (a < 0)
                a = iy * g->w + ix;
            if (v > m || isnan (v)) {
                m = v;
                a = iy * g->w + ix;
            }
        }
    }
    *arg = a < 0 ? 0 : a;
    return m;
}

/* The gradient that max pooling sends to input (iy, ix) of a plane: the sum, in output
 * order, of dy over the outputs whose argmax is that input and, with `y` (else NULL), whose
 * output is > 0 (a ReLU before the pooling). Gathered, so no two threads write one input. */
__device__ inline float dn_maxpool_gather (const DnConvGeom *g, const float *dyp,
                                           const int32_t *amp, const float *yp, int iy, int ix)
{
    /* outputs oy with oy*sh - ph + ky*dh == iy for some ky in [0, kh) */
    int lo_y = iy + g->ph - (g->kh - 1) * g->dh, hi_y = iy + g->ph;
    int lo_x = ix + g->pw - (g->kw - 1) * g->dw, hi_x = ix + g->pw;
    int oy0 = lo_y <= 0 ? 0 : (lo_y + g->sh - 1) / g->sh, oy1 = hi_y / g->sh;
    int ox0 = lo_x <= 0 ? 0 : (lo_x + g->sw - 1) / g->sw, ox1 = hi_x / g->sw;
    if (oy1 > g->oh - 1)
        oy1 = g->oh - 1;
    if (ox1 > g->ow - 1)
        ox1 = g->ow - 1;
    const int32_t idx = iy * g->w + ix;
    float s = 0.0f;
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++) {
            int q = oy * g->ow + ox;
            if (amp[q] == idx && (yp == NULL || yp[q] > 0.0f))
                s += dyp[q];
        }
    return s;
}
#endif
