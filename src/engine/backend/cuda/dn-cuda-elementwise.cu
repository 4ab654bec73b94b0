// dn-cuda-elementwise.cu: activations, pooling, softmax and dropout on CUDA; the twin of
// dn-cpu-elementwise.c. One thread per element; backward ops ADD into dx. Pooling's
// backward gathers (each input sums the outputs that chose it, in output order), so no two
// threads write one element and no atomics are needed.
//
// Sigmoid and tanh use expf where the CPU uses a polynomial within 2e-7 of it: the
// parity suite compares them with a tolerance, not bit for bit.
#include "dn-backend-cuda-private.h"

/* ---- activations ---- */

__global__ void act_forward_kernel (DnAct act, float param, size_t n, const float *x, float *y)
{
    DN_CUDA_LOOP (i, n)
    y[i] = dn_act_value (act, param, x[i]);
}

__global__ void act_backward_kernel (DnAct act, float param, size_t n, const float *x,
                                     const float *y, const float *dy, float *dx)
{
    DN_CUDA_LOOP (i, n)
    dx[i] += dn_act_grad (act, param, x != NULL ? x[i] : 0.0f, y != NULL ? y[i] : 0.0f, dy[i]);
}

extern "C" void dn_cuda_act_forward (DnBackend *be, DnAct act, float param, size_t n,
                                     const float *x, float *y)
{
    if (n == 0)
        return;
    act_forward_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (act, param, n, x, y);
    DN_CUDA_LAUNCHED ("act_forward");
}

extern "C" void dn_cuda_act_backward (DnBackend *be, DnAct act, float param, size_t n,
                                      const float *x, const float *y, const float *dy, float *dx)
{
    if (n == 0)
        return;
    act_backward_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (act, param, n, x, y, dy, dx);
    DN_CUDA_LAUNCHED ("act_backward");
}

/* ---- max pooling ---- */

// x is (planes, H, W); y and argmax are (planes, OH, OW)
__global__ void maxpool_forward_kernel (DnConvGeom g, size_t planes, const float *x, float *y,
                                        int32_t *argmax)
{
    const size_t Q = (size_t) g.oh * g.ow, total = planes * Q;
    DN_CUDA_LOOP (i, total)
    {
        int q = (int) (i % Q);
        int32_t a;
        y[i] = dn_maxpool_one (&g, x + (i / Q) * g.h * g.w, q / g.ow, q % g.ow, &a);
        argmax[i] = a;
    }
}

// dy and argmax are (planes, OH, OW); dx is (planes, H, W)
__global__ void maxpool_backward_kernel (DnConvGeom g, size_t planes, const float *dy,
                                         const int32_t *argmax, float *dx)
{
    const size_t S = (size_t) g.h * g.w, Q = (size_t) g.oh * g.ow, total = planes * S;
    DN_CUDA_LOOP (i, total)
    {
        size_t pl = i / S;
        int s = (int) (i % S);
        dx[i] += dn_maxpool_gather (&g, dy + pl * Q, argmax + pl * Q, NULL, s / g.w, s % g.w);
    }
}

extern "C" void dn_cuda_maxpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch,
                                           const float *x, float *y, int32_t *argmax)
{
    size_t planes = (size_t) batch * g->c_in, total = planes * g->oh * g->ow;
    if (total == 0)
        return;
    maxpool_forward_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (*g, planes, x, y,
                                                                         argmax);
    DN_CUDA_LAUNCHED ("maxpool2d_forward");
}

extern "C" void dn_cuda_maxpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch,
                                            const float *dy, const int32_t *argmax, float *dx)
{
    size_t planes = (size_t) batch * g->c_in, total = planes * g->h * g->w;
    if (total == 0)
        return;
    maxpool_backward_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (*g, planes, dy, argmax,
                                                                          dx);
    DN_CUDA_LAUNCHED ("maxpool2d_backward");
}

/* ---- average pooling ---- */

/* PyTorch's window for output o, as dn-cpu-elementwise.c's avg_window. */
__device__ inline void avg_window (int o, int stride, int pad, int k, int size, int *lo, int *hi,
                                   int *padded)
{
    int start = o * stride - pad;
    int end = start + k < size + pad ? start + k : size + pad;
    *padded = end - start;
    *lo = start > 0 ? start : 0;
    *hi = end < size ? end : size;
}

__device__ inline int avg_divisor (const DnConvGeom &g, int oy, int ox, int count_pad)
{
    int y0, y1, ny, x0, x1, nx;
    avg_window (oy, g.sh, g.ph, g.kh, g.h, &y0, &y1, &ny);
    avg_window (ox, g.sw, g.pw, g.kw, g.w, &x0, &x1, &nx);
    return count_pad ? ny * nx : (y1 - y0) * (x1 - x0);
}

__global__ void avgpool_forward_kernel (DnConvGeom g, size_t planes, int count_pad,
                                        const float *x, float *y)
{
    const size_t Q = (size_t) g.oh * g.ow, total = planes * Q;
    DN_CUDA_LOOP (i, total)
    {
        const float *xp = x + (i / Q) * g.h * g.w;
        int q = (int) (i % Q), oy = q / g.ow, ox = q % g.ow;
        int y0, y1, ny, x0, x1, nx;
        avg_window (oy, g.sh, g.ph, g.kh, g.h, &y0, &y1, &ny);
        avg_window (ox, g.sw, g.pw, g.kw, g.w, &x0, &x1, &nx);
        int div = count_pad ? ny * nx : (y1 - y0) * (x1 - x0);
        float s = 0.0f;
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++)
                s += xp[iy * g.w + ix];
        y[i] = div > 0 ? s / (float) div : 0.0f;
    }
}

// each input sums dy / divisor over the outputs whose clipped window holds it
__global__ void avgpool_backward_kernel (DnConvGeom g, size_t planes, int count_pad,
                                         const float *dy, float *dx)
{
    const size_t S = (size_t) g.h * g.w, Q = (size_t) g.oh * g.ow, total = planes * S;
    DN_CUDA_LOOP (i, total)
    {
        const float *dyp = dy + (i / S) * Q;
        int s = (int) (i % S), iy = s / g.w, ix = s % g.w;
        float acc = 0.0f;
        for (int oy = 0; oy < g.oh; oy++) {
            int y0, y1, ny;
            avg_window (oy, g.sh, g.ph, g.kh, g.h, &y0, &y1, &ny);
            if (iy < y0 || iy >= y1)
                continue;
            for (int ox = 0; ox < g.ow; ox++) {
                int x0, x1, nx;
                avg_window (ox, g.sw, g.pw, g.kw, g.w, &x0, &x1, &nx);
                if (ix < x0 || ix >= x1)
                    continue;
                int div = avg_divisor (g, oy, ox, count_pad);
                if (div > 0)
                    acc += dyp[oy * g.ow + ox] / (float) div;
            }
        }
        dx[i] += acc;
    }
}

extern "C" void dn_cuda_avgpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch,
                                           gboolean count_include_pad, const float *x, float *y)
{
    size_t planes = (size_t) batch * g->c_in, total = planes * g->oh * g->ow;
    if (total == 0)
        return;
    avgpool_forward_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (
        *g, planes, count_include_pad, x, y);
    DN_CUDA_LAUNCHED ("avgpool2d_forward");
}

extern "C" void dn_cuda_avgpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch,
                                            gboolean count_include_pad, const float *dy, float *dx)
{
    size_t planes = (size_t) batch * g->c_in, total = planes * g->h * g->w;
    if (total == 0)
        return;
    avgpool_backward_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (
        *g, planes, count_include_pad, dy, dx);
    DN_CUDA_LAUNCHED ("avgpool2d_backward");
}

/* ---- softmax: one block per row, sums in a fixed tree ---- */

__global__ void softmax_forward_kernel (int log_, int cols, const float *x, float *y)
{
    __shared__ float sh[DN_CUDA_THREADS];
    const float *xr = x + (size_t) blockIdx.x * cols;
    float *yr = y + (size_t) blockIdx.x * cols;
    float m = -INFINITY;
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        m = xr[j] > m ? xr[j] : m;
    sh[threadIdx.x] = m;
    __syncthreads ();
    for (unsigned int h = blockDim.x / 2; h > 0; h /= 2) {
        if (threadIdx.x < h && sh[threadIdx.x + h] > sh[threadIdx.x])
            sh[threadIdx.x] = sh[threadIdx.x + h];
        __syncthreads ();
    }
    m = sh[0];
    __syncthreads ();
    if (m == -INFINITY)
        m = 0.0f;
    float acc = 0.0f;
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        acc += expf (xr[j] - m);
    float s = dn_block_sum (acc, sh);
    if (log_) {
        float ls = logf (s);
        for (int j = threadIdx.x; j < cols; j += blockDim.x)
            yr[j] = (xr[j] - m) - ls;
    } else {
        float inv = 1.0f / s;
        for (int j = threadIdx.x; j < cols; j += blockDim.x)
            yr[j] = expf (xr[j] - m) * inv;
    }
}

__global__ void softmax_backward_kernel (int log_, int cols, const float *y, const float *dy,
                                         float *dx)
{
    __shared__ float sh[DN_CUDA_THREADS];
    const size_t o = (size_t) blockIdx.x * cols;
    float acc = 0.0f;
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        acc += log_ ? dy[o + j] : dy[o + j] * y[o + j];
    float s = dn_block_sum (acc, sh);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        if (log_)
            dx[o + j] += dy[o + j] - expf (y[o + j]) * s;
        else
            dx[o + j] += y[o + j] * (dy[o + j] - s);
    }
}

/* Threads per row: a power of two, no more than the row needs. */
static unsigned int row_threads (int cols)
{
    unsigned int t = 32;
    while (t < DN_CUDA_THREADS && t < (unsigned int) cols)
        t *= 2;
    return t;
}

extern "C" void dn_cuda_softmax_forward (DnBackend *be, gboolean log, int rows, int cols,
                                         const float *x, float *y)
{
    if (rows == 0 || cols == 0)
        return;
    softmax_forward_kernel<<<rows, row_threads (cols)>>> (log, cols, x, y);
    DN_CUDA_LAUNCHED ("softmax_forward");
}

extern "C" void dn_cuda_softmax_backward (DnBackend *be, gboolean log, int rows, int cols,
                                          const float *y, const float *dy, float *dx)
{
    if (rows == 0 || cols == 0)
        return;
    softmax_backward_kernel<<<rows, row_threads (cols)>>> (log, cols, y, dy, dx);
    DN_CUDA_LAUNCHED ("softmax_backward");
}

/* ---- dropout ---- */

/* dn_rng_hash of dn-rng.h (SplitMix64's finaliser over seed + golden * (counter + 1)), for
 * the device: the mask of element i is the CPU's, bit for bit, whatever the launch shape. */
__device__ inline uint64_t hash64 (uint64_t seed, uint64_t counter)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (counter + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// x, y are (n): keep iff the hash's top 24 bits >= thr (= ceil(p 2^24)); forward y = ...,
// backward y += x * mask / (1 - p)
__global__ void dropout_kernel (size_t n, float scale, uint64_t thr, uint64_t seed, int accumulate,
                                const float *x, float *y)
{
    DN_CUDA_LOOP (i, n)
    {
        float v = x[i] * scale;
        float r = (hash64 (seed, i) >> 40) >= thr ? v : 0.0f;
        if (accumulate)
            y[i] += r;
        else
            y[i] = r;
    }
}

static void dropout (size_t n, float p, uint64_t seed, int accumulate, const float *x, float *y)
{
    if (n == 0)
        return;
    const float scale = 1.0f / (1.0f - p);
    const uint64_t thr = (uint64_t) ceil ((double) p * 16777216.0);
    dropout_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, scale, thr, seed, accumulate, x, y);
    DN_CUDA_LAUNCHED ("dropout");
}

extern "C" void dn_cuda_dropout_forward (DnBackend *be, size_t n, float p, uint64_t seed,
                                         const float *x, float *y)
{
    dropout (n, p, seed, 0, x, y);
}

extern "C" void dn_cuda_dropout_backward (DnBackend *be, size_t n, float p, uint64_t seed,
                                          const float *dy, float *dx)
{
    dropout (n, p, seed, 1, dy, dx);
}
