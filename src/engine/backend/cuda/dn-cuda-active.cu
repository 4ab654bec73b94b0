// dn-cuda-active.cu: active dendrites, k-winner-take-all and the sparse products on CUDA;
// the twin of dn-cpu-active.c.
//
// Sums over samples (the gate's dg, the segment gradient) run in sample order in one
// thread per output, as on the CPU. k-WTA finds each row's exact k-th largest value by a
// radix select over the floats' order-preserving bit patterns (one block per row, four
// passes of 8 bits) and keeps every entry >= it, so ties at the threshold are kept as the
// CPU keeps them. The sparse products are dense cuBLAS GEMMs on the GPU: they equal the
// dense products, which is what the interface promises; skipping zeros pays on a CPU core,
// not on a GPU's.
#include "dn-backend-cuda-private.h"

#include <stdlib.h>

__global__ void segment_select_kernel (DnGateMode mode, size_t pairs, int segments,
                                       const float *resp, int32_t *win, float *g)
{
    DN_CUDA_LOOP (u, pairs)
    {
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
        g[u] = mode == DN_GATE_ADDITIVE ? r[best] : 1.0f / (1.0f + expf (-r[best]));
    }
}

extern "C" void dn_cuda_segment_select (DnBackend *be, DnGateMode mode, int n_ctx, int units,
                                        int segments, const float *resp, int32_t *win, float *g)
{
    size_t pairs = (size_t) n_ctx * units;
    if (pairs == 0)
        return;
    segment_select_kernel<<<dn_cuda_blocks (pairs), DN_CUDA_THREADS>>> (mode, pairs, segments,
                                                                        resp, win, g);
    DN_CUDA_LAUNCHED ("segment_select");
}

__global__ void gate_forward_kernel (DnGateMode mode, int batch, int units, const float *t,
                                     const float *g, const int32_t *ctx, float *y)
{
    const size_t total = (size_t) batch * units;
    DN_CUDA_LOOP (e, total)
    {
        size_t b = e / units, i = e % units;
        float gi = g[(size_t) (ctx != NULL ? ctx[b] : 0) * units + i];
        y[e] = mode == DN_GATE_ADDITIVE ? t[e] + gi : t[e] * gi;
    }
}

__global__ void gate_backward_dt_kernel (DnGateMode mode, int batch, int units, const float *g,
                                         const int32_t *ctx, const float *dy, float *dt)
{
    const size_t total = (size_t) batch * units;
    DN_CUDA_LOOP (e, total)
    {
        size_t b = e / units, i = e % units;
        float gi = g[(size_t) (ctx != NULL ? ctx[b] : 0) * units + i];
        dt[e] = mode == DN_GATE_ADDITIVE ? dy[e] : dy[e] * gi;
    }
}

// one thread per unit: dg[ctx[b], i] += ... over the samples b in order
__global__ void gate_backward_dg_kernel (DnGateMode mode, int batch, int units, const float *t,
                                         const float *g, const int32_t *ctx, const float *dy,
                                         float *dg)
{
    DN_CUDA_LOOP (i, (size_t) units)
    {
        for (int b = 0; b < batch; b++) {
            size_t c = (size_t) (ctx != NULL ? ctx[b] : 0) * units + i;
            size_t e = (size_t) b * units + i;
            if (mode == DN_GATE_ADDITIVE)
                dg[c] += dy[e];
            else
                dg[c] += dy[e] * t[e] * g[c] * (1.0f - g[c]);
        }
    }
}

extern "C" void dn_cuda_gate_forward (DnBackend *be, DnGateMode mode, int batch, int units,
                                      const float *t, const float *g, const int32_t *ctx_index,
                                      float *y)
{
    size_t total = (size_t) batch * units;
    if (total == 0)
        return;
    gate_forward_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (mode, batch, units, t, g,
                                                                      ctx_index, y);
    DN_CUDA_LAUNCHED ("gate_forward");
}

extern "C" void dn_cuda_gate_backward (DnBackend *be, DnGateMode mode, int batch, int units,
                                       const float *t, const float *g, const int32_t *ctx_index,
                                       const float *dy, float *dt, float *dg)
{
    size_t total = (size_t) batch * units;
    if (total == 0)
        return;
    gate_backward_dt_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (mode, batch, units, g,
                                                                          ctx_index, dy, dt);
    gate_backward_dg_kernel<<<dn_cuda_blocks (units), DN_CUDA_THREADS>>> (mode, batch, units, t, g,
                                                                          ctx_index, dy, dg);
    DN_CUDA_LAUNCHED ("gate_backward");
}

// one thread per (unit, element of the context): du[i, win[p, i], k] += dg[p, i] ctx[p, k]
// over p in order
__global__ void segment_grad_kernel (int n_ctx, int units, int segments, int dim,
                                     const int32_t *win, const float *dg, const float *contexts,
                                     float *du)
{
    const size_t total = (size_t) units * dim;
    DN_CUDA_LOOP (e, total)
    {
        size_t i = e / dim, k = e % dim;
        for (int p = 0; p < n_ctx; p++) {
            float a = dg[(size_t) p * units + i];
            if (a == 0.0f)
                continue;
            size_t row = i * segments + win[(size_t) p * units + i];
            du[row * dim + k] += a * contexts[(size_t) p * dim + k];
        }
    }
}

extern "C" void dn_cuda_segment_grad (DnBackend *be, int n_ctx, int units, int segments, int dim,
                                      const int32_t *win, const float *dg, const float *contexts,
                                      float *du, guint8 *rows_touched)
{
    size_t total = (size_t) units * dim, pairs = (size_t) n_ctx * units;
    if (total == 0 || n_ctx == 0)
        return;
    segment_grad_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (n_ctx, units, segments, dim,
                                                                      win, dg, contexts, du);
    DN_CUDA_LAUNCHED ("segment_grad");
    if (rows_touched == NULL)
        return;
    /* the host's bookkeeping: the winners and their gradients come back (n_ctx * units
     * pairs, few), and the rows written are marked as the CPU marks them */
    int32_t *w = (int32_t *) malloc (pairs * sizeof (int32_t));
    float *d = (float *) malloc (pairs * sizeof (float));
    if (w == NULL || d == NULL) {
        free (w);
        free (d);
        dn_cuda_note (cudaErrorMemoryAllocation, "segment_grad: host copies of the winners");
        return;
    }
    dn_cuda_download (be, w, win, pairs * sizeof (int32_t));
    dn_cuda_download (be, d, dg, pairs * sizeof (float));
    for (size_t u = 0; u < pairs; u++)
        if (d[u] != 0.0f)
            rows_touched[(u % units) * segments + w[u]] |= DN_ROW_TOUCHED;
    free (w);
    free (d);
}

// one thread per listed row, in the CPU's order (16 running sums over blocks of 16, a pairwise
// reduction, then the tail), so a row's result is the CPU's
__global__ void segment_rows_kernel (int n, const int32_t *rows, int dim, const float *u,
                                     const float *context, float *resp)
{
    DN_CUDA_LOOP (i, (size_t) n)
    {
        size_t r = rows != NULL ? (size_t) rows[i] : i;
        const float *a = u + r * dim;
        float acc[16];
        for (int j = 0; j < 16; j++)
            acc[j] = 0.0f;
        int k = 0;
        for (; k + 16 <= dim; k += 16)
            for (int j = 0; j < 16; j++)
                acc[j] += a[k + j] * context[k + j];
        for (int w = 8; w >= 1; w /= 2)
            for (int j = 0; j < w; j++)
                acc[j] += acc[j + w];
        float s = acc[0];
        for (; k < dim; k++)
            s += a[k] * context[k];
        resp[r] = s;
    }
}

extern "C" void dn_cuda_segment_rows (DnBackend *be, int n, const int32_t *rows, int dim,
                                      const float *u, const float *context, float *resp)
{
    if (n == 0)
        return;
    segment_rows_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, rows, dim, u, context, resp);
    DN_CUDA_LAUNCHED ("segment_rows");
}

/* ---- k-WTA ---- */

/* An unsigned key with the floats' order: larger float, larger key. */
__device__ inline uint32_t float_key (float v)
{
    uint32_t b = __float_as_uint (v);
    return (b & 0x80000000u) ? ~b : b | 0x80000000u;
}

__device__ inline float key_float (uint32_t k)
{
    uint32_t b = (k & 0x80000000u) ? k & 0x7fffffffu : ~k;
    return __uint_as_float (b);
}

// one block per row: the k-th largest key, 8 bits at a time from the top; then keep x >= it
__global__ void kwta_forward_kernel (int cols, int k, const float *x, float *y, guint8 *mask)
{
    __shared__ unsigned int hist[256];
    __shared__ uint32_t prefix_s;
    __shared__ int want_s;
    const float *xr = x + (size_t) blockIdx.x * cols;
    uint32_t prefix = 0;
    int want = k; /* rank still wanted among keys that match the prefix */
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x)
            hist[i] = 0;
        __syncthreads ();
        const uint32_t hi_mask = shift == 24 ? 0u : 0xffffffffu << (shift + 8);
        for (int j = threadIdx.x; j < cols; j += blockDim.x) {
            uint32_t key = float_key (xr[j]);
            if ((key & hi_mask) == prefix)
                atomicAdd (&hist[(key >> shift) & 255u], 1u); /* a count: order-free */
        }
        __syncthreads ();
        if (threadIdx.x == 0) {
            int w = want, d = 255;
            for (; d > 0; d--) {
                if ((int) hist[d] >= w)
                    break;
                w -= (int) hist[d];
            }
            prefix_s = prefix | ((uint32_t) d << shift);
            want_s = w;
        }
        __syncthreads ();
        prefix = prefix_s;
        want = want_s;
        __syncthreads ();
    }
    const float thr = k >= cols ? -INFINITY : key_float (prefix);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        size_t o = (size_t) blockIdx.x * cols + j;
        int keep = xr[j] >= thr;
        mask[o] = (guint8) keep;
        y[o] = keep ? xr[j] : 0.0f;
    }
}

__global__ void kwta_backward_kernel (size_t n, const guint8 *mask, const float *dy, float *dx)
{
    DN_CUDA_LOOP (i, n)
    if (mask[i])
        dx[i] += dy[i];
}

extern "C" void dn_cuda_kwta_forward (DnBackend *be, int rows, int cols, int k, const float *x,
                                      float *y, guint8 *mask)
{
    if (rows == 0 || cols == 0)
        return;
    kwta_forward_kernel<<<rows, DN_CUDA_THREADS>>> (cols, k < 1 ? 1 : k, x, y, mask);
    DN_CUDA_LAUNCHED ("kwta_forward");
}

extern "C" void dn_cuda_kwta_backward (DnBackend *be, int rows, int cols, const guint8 *mask,
                                       const float *dy, float *dx)
{
    size_t n = (size_t) rows * cols;
    if (n == 0)
        return;
    kwta_backward_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, mask, dy, dx);
    DN_CUDA_LAUNCHED ("kwta_backward");
}

/* ---- sparse products ---- */

__global__ void count_nonzero_kernel (const float *x, size_t n, double *partials)
{
    __shared__ double sh[DN_CUDA_THREADS];
    double acc = 0.0;
    DN_CUDA_LOOP (i, n)
    acc += x[i] != 0.0f;
    double s = dn_block_sum (acc, sh);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = s;
}

extern "C" size_t dn_cuda_count_nonzero (DnBackend *be, const float *x, size_t n)
{
    if (n == 0)
        return 0;
    unsigned int blocks = dn_cuda_blocks (n);
    if (blocks > 1024)
        blocks = 1024;
    double *partials = (double *) dn_cuda_scratch2 (blocks * sizeof (double));
    if (partials == NULL)
        return 0;
    count_nonzero_kernel<<<blocks, DN_CUDA_THREADS>>> (x, n, partials);
    DN_CUDA_LAUNCHED ("count_nonzero");
    return (size_t) dn_cuda_sum_doubles (partials, blocks);
}

extern "C" void dn_cuda_sparse_rows_gemm (DnBackend *be, int rows, int k, int n, const float *a,
                                          const float *b, float *y)
{
    dn_cuda_gemm (be, FALSE, FALSE, rows, n, k, 1.0f, a, k, b, n, 1.0f, y, n);
}

extern "C" void dn_cuda_sparse_outer (DnBackend *be, int rows, int k, int n, const float *a,
                                      const float *b, float *c)
{
    dn_cuda_gemm (be, TRUE, FALSE, k, n, rows, 1.0f, a, k, b, n, 1.0f, c, n);
}

extern "C" void dn_cuda_sparse_gemm_nt (DnBackend *be, int rows, int k, int n, const float *a,
                                        const float *b, float *y)
{
    dn_cuda_gemm (be, FALSE, TRUE, rows, n, k, 1.0f, a, k, b, k, 0.0f, y, n);
}
