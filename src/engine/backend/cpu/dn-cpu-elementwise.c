/* dn-cpu-elementwise.c: the CPU's activations, pooling, softmax and dropout.
 *
 * Every loop is single-threaded and branch-free in its body where it can be,
 * so that -O3 vectorises it; the choice of activation is made once, outside
 * the loop. Backward ops ADD into dx (see dn-backend.h).
 */
#include "dn-backend-cpu-private.h"
#include "dn-rng.h"

#include <math.h>
#include <string.h>

#define DN_SQRT1_2 0.70710678118654752440f
#define DN_INV_SQRT_2PI 0.39894228040143267794f

/* ---- activations ---- */

/* exp(x) for the sigmoid and tanh loops, written so the compiler vectorises it
 * (libm's expf is a call it cannot, and so is roundf without SSE4.1):
 * 2^(x log2 e) = 2^k * 2^f, k = t rounded to nearest by adding and subtracting
 * 1.5 * 2^23 (exact for |t| < 2^22, and |t| <= 127 here), |f| <= 1/2, with 2^f
 * from a degree-6 polynomial: relative error below 4e-6,
 * which puts sigmoid and tanh within 2e-7 of the exact values (measured over
 * [-87, 88]). Inputs are clamped, so the result saturates to a tiny or large
 * finite value, which keeps 1 / (1 + exp) exact at the ends. A NaN is clamped
 * like the rest (converting a NaN k to an integer is undefined behaviour) and
 * given back at the end, as expf does. */
static inline float fast_expf (float x0)
{
    /* written so that a NaN fails both comparisons and becomes -87 */
    float x = x0 >= -87.0f ? x0 : -87.0f;
    x = x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504088896341f;
    float k = (t + 12582912.0f) - 12582912.0f;
    float f = t - k;
    /* 2^f = e^(f ln 2), Taylor/minimax terms for |f| <= 0.5 */
    float p = 1.535336188319500e-4f;
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.0f;
    union {
        float f;
        int32_t i;
    } u = {p};
    /* add k to the exponent; unsigned arithmetic, as shifting a negative int is undefined */
    u.i = (int32_t) ((uint32_t) u.i + ((uint32_t) (int32_t) k << 23));
    return x0 == x0 ? u.f : x0;
}

// x, y are (n)
void dn_cpu_act_forward (DnBackend *be, DnAct act, float param, size_t n, const float *x, float *y)
{
    switch (act) {
    case DN_ACT_IDENTITY:
        if (y != x)
            memmove (y, x, n * sizeof (float));
        break;
    case DN_ACT_RELU:
        /* max(0, x) in the operand order that keeps a NaN, as PyTorch does */
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < 0.0f ? 0.0f : x[i];
        break;
    case DN_ACT_LEAKY_RELU:
        /* max(0, x) + slope min(0, x): selects the vectoriser takes, keeping NaN and inf
         * (a multiply inside one arm of ?: is never vectorised with -ftrapping-math) */
        for (size_t i = 0; i < n; i++)
            y[i] = (x[i] < 0.0f ? 0.0f : x[i]) + param * (x[i] > 0.0f ? 0.0f : x[i]);
        break;
    case DN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + fast_expf (-x[i]));
        break;
    case DN_ACT_TANH:
        /* tanh x = 1 - 2 / (e^(2x) + 1): exact limits +-1, accurate near 0 too */
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0f - 2.0f / (fast_expf (2.0f * x[i]) + 1.0f);
        break;
    case DN_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            y[i] = 0.5f * x[i] * (1.0f + erff (x[i] * DN_SQRT1_2));
        break;
    }
}

// x, y, dy, dx are (n); dx += f'(x) * dy
void dn_cpu_act_backward (DnBackend *be, DnAct act, float param, size_t n, const float *restrict x,
                          const float *restrict y, const float *restrict dy, float *restrict dx)
{
    switch (act) {
    case DN_ACT_IDENTITY:
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i];
        break;
    case DN_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            float d = dy[i]; /* loaded unconditionally so the select vectorises */
            dx[i] += x[i] > 0.0f ? d : 0.0f;
        }
        break;
    case DN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            float d = dy[i];
            float pos = x[i] > 0.0f ? d : 0.0f, neg = x[i] > 0.0f ? 0.0f : d;
            dx[i] += pos + param * neg;
        }
        break;
    case DN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case DN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case DN_ACT_GELU:
        /* d/dx x Phi(x) = Phi(x) + x phi(x) */
        for (size_t i = 0; i < n; i++) {
            float cdf = 0.5f * (1.0f + erff (x[i] * DN_SQRT1_2));
            float pdf = DN_INV_SQRT_2PI * expf (-0.5f * x[i] * x[i]);
            dx[i] += dy[i] * (cdf + x[i] * pdf);
        }
        break;
    }
}

/* ---- max pooling ---- */

/* The kernel taps k in [*k0, *k1) whose input position start + k * dil lies in [0, size). */
static inline void valid_taps (int start, int dil, int k, int size, int *k0, int *k1)
{
    int lo = start < 0 ? (-start + dil - 1) / dil : 0;
    int hi = size - start <= 0 ? 0 : (size - start + dil - 1) / dil;
    *k0 = lo;
    *k1 = hi < k ? hi : k;
}

// x is (H, W), y and argmax are (OH, OW): the common 2×2, stride 2 window, no padding
static void maxpool_plane_2x2 (const DnConvGeom *g, const float *restrict x, float *restrict y,
                               int32_t *restrict am)
{
    const int W = g->w;
    for (int oy = 0; oy < g->oh; oy++) {
        const float *r0 = x + (size_t) (2 * oy) * W;
        const float *r1 = r0 + W;
        for (int ox = 0; ox < g->ow; ox++) {
            int ix = 2 * ox;
            int32_t base = 2 * oy * W + ix;
            float m = r0[ix];
            int32_t a = base;
            /* A NaN wins, as in PyTorch: nothing compares greater than it. */
            if (r0[ix + 1] > m || isnan (r0[ix + 1])) {
                m = r0[ix + 1];
                a = base + 1;
            }
            if (r1[ix] > m || isnan (r1[ix])) {
                m = r1[ix];
                a = base + W;
            }
            if (r1[ix + 1] > m || isnan (r1[ix + 1])) {
                m = r1[ix + 1];
                a = base + W + 1;
            }
            y[oy * g->ow + ox] = m;
            am[oy * g->ow + ox] = a;
        }
    }
}

// x is (H, W), y and argmax are (OH, OW): any window, padding and dilation
static void maxpool_plane (const DnConvGeom *g, const float *restrict x, float *restrict y,
                           int32_t *restrict am)
{
    for (int oy = 0; oy < g->oh; oy++) {
        int iy0 = oy * g->sh - g->ph, ky0, ky1;
        valid_taps (iy0, g->dh, g->kh, g->h, &ky0, &ky1);
        for (int ox = 0; ox < g->ow; ox++) {
            int ix0 = ox * g->sw - g->pw, kx0, kx1;
            valid_taps (ix0, g->dw, g->kw, g->w, &kx0, &kx1);
            float m = -INFINITY;
            int32_t a = (iy0 + ky0 * g->dh) * g->w + ix0 + kx0 * g->dw;
            if (ky0 >= ky1 || kx0 >= kx1)
                a = 0; /* a window wholly in the padding; the layers forbid it */
            for (int ky = ky0; ky < ky1; ky++) {
                int iy = iy0 + ky * g->dh;
                for (int kx = kx0; kx < kx1; kx++) {
                    int idx = iy * g->w + ix0 + kx * g->dw;
                    float v = x[idx];
                    if (v > m || isnan (v)) {
                        m = v;
                        a = idx;
                    }
                }
            }
            y[oy * g->ow + ox] = m;
            am[oy * g->ow + ox] = a;
        }
    }
}

// x is (B, C, H, W); y and argmax are (B, C, OH, OW)
void dn_cpu_maxpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch, const float *x,
                               float *y, int32_t *argmax)
{
    const size_t in_plane = (size_t) g->h * g->w, out_plane = (size_t) g->oh * g->ow;
    const size_t planes = (size_t) batch * g->c_in;
    gboolean fast = g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 &&
                    g->pw == 0 && g->dh == 1 && g->dw == 1;
    for (size_t p = 0; p < planes; p++) {
        if (fast)
            maxpool_plane_2x2 (g, x + p * in_plane, y + p * out_plane, argmax + p * out_plane);
        else
            maxpool_plane (g, x + p * in_plane, y + p * out_plane, argmax + p * out_plane);
    }
}

// dy and argmax are (B, C, OH, OW); dx is (B, C, H, W)
void dn_cpu_maxpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch, const float *dy,
                                const int32_t *argmax, float *dx)
{
    const size_t in_plane = (size_t) g->h * g->w, out_plane = (size_t) g->oh * g->ow;
    const size_t planes = (size_t) batch * g->c_in;
    for (size_t p = 0; p < planes; p++) {
        const float *restrict d = dy + p * out_plane;
        const int32_t *restrict a = argmax + p * out_plane;
        float *restrict o = dx + p * in_plane;
        for (size_t i = 0; i < out_plane; i++)
            o[a[i]] += d[i];
    }
}

/* ---- average pooling ---- */

/* PyTorch's window for output o: [start, end) clipped to the padded input for the
 * count_include_pad divisor, then to the input itself for the sum. Dilation is not
 * part of average pooling and is ignored. */
static inline void avg_window (int o, int stride, int pad, int k, int size, int *lo, int *hi,
                               int *padded)
{
    int start = o * stride - pad;
    int end = start + k < size + pad ? start + k : size + pad;
    *padded = end - start;
    *lo = start > 0 ? start : 0;
    *hi = end < size ? end : size;
}

// x is (B, C, H, W); y is (B, C, OH, OW)
void dn_cpu_avgpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch,
                               gboolean count_include_pad, const float *x, float *y)
{
    const size_t in_plane = (size_t) g->h * g->w, out_plane = (size_t) g->oh * g->ow;
    const size_t planes = (size_t) batch * g->c_in;
    for (size_t p = 0; p < planes; p++) {
        const float *restrict xp = x + p * in_plane;
        float *restrict yp = y + p * out_plane;
        for (int oy = 0; oy < g->oh; oy++) {
            int y0, y1, ny;
            avg_window (oy, g->sh, g->ph, g->kh, g->h, &y0, &y1, &ny);
            for (int ox = 0; ox < g->ow; ox++) {
                int x0, x1, nx;
                avg_window (ox, g->sw, g->pw, g->kw, g->w, &x0, &x1, &nx);
                int div = count_include_pad ? ny * nx : (y1 - y0) * (x1 - x0);
                float s = 0.0f;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        s += xp[iy * g->w + ix];
                yp[oy * g->ow + ox] = div > 0 ? s / (float) div : 0.0f;
            }
        }
    }
}

// dy is (B, C, OH, OW); dx is (B, C, H, W)
void dn_cpu_avgpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch,
                                gboolean count_include_pad, const float *dy, float *dx)
{
    const size_t in_plane = (size_t) g->h * g->w, out_plane = (size_t) g->oh * g->ow;
    const size_t planes = (size_t) batch * g->c_in;
    for (size_t p = 0; p < planes; p++) {
        const float *restrict dyp = dy + p * out_plane;
        float *restrict dxp = dx + p * in_plane;
        for (int oy = 0; oy < g->oh; oy++) {
            int y0, y1, ny;
            avg_window (oy, g->sh, g->ph, g->kh, g->h, &y0, &y1, &ny);
            for (int ox = 0; ox < g->ow; ox++) {
                int x0, x1, nx;
                avg_window (ox, g->sw, g->pw, g->kw, g->w, &x0, &x1, &nx);
                int div = count_include_pad ? ny * nx : (y1 - y0) * (x1 - x0);
                if (div <= 0)
                    continue;
                float d = dyp[oy * g->ow + ox] / (float) div;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        dxp[iy * g->w + ix] += d;
            }
        }
    }
}

/* ---- softmax ---- */

// x and y are (rows, cols); each row is normalised on its own, shifted by its max
void dn_cpu_softmax_forward (DnBackend *be, gboolean log, int rows, int cols, const float *x,
                             float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t) r * cols;
        float *yr = y + (size_t) r * cols;
        float m = -INFINITY;
        for (int j = 0; j < cols; j++)
            m = xr[j] > m ? xr[j] : m;
        if (m == -INFINITY)
            m = 0.0f; /* a row of -inf: keep the arithmetic finite where it can be */
        float s = 0.0f;
        if (log) {
            for (int j = 0; j < cols; j++)
                s += expf (xr[j] - m);
            float ls = logf (s);
            for (int j = 0; j < cols; j++)
                yr[j] = (xr[j] - m) - ls;
        } else {
            for (int j = 0; j < cols; j++) {
                yr[j] = expf (xr[j] - m);
                s += yr[j];
            }
            float inv = 1.0f / s;
            for (int j = 0; j < cols; j++)
                yr[j] *= inv;
        }
    }
}

// y, dy and dx are (rows, cols); y is the forward output
void dn_cpu_softmax_backward (DnBackend *be, gboolean log, int rows, int cols,
                              const float *restrict y, const float *restrict dy, float *restrict dx)
{
    for (int r = 0; r < rows; r++) {
        const float *yr = y + (size_t) r * cols;
        const float *dyr = dy + (size_t) r * cols;
        float *dxr = dx + (size_t) r * cols;
        float s = 0.0f;
        if (log) {
            /* dx = dy - softmax * sum(dy) */
            for (int j = 0; j < cols; j++)
                s += dyr[j];
            for (int j = 0; j < cols; j++)
                dxr[j] += dyr[j] - expf (yr[j]) * s;
        } else {
            /* dx = y * (dy - sum(dy * y)) */
            for (int j = 0; j < cols; j++)
                s += dyr[j] * yr[j];
            for (int j = 0; j < cols; j++)
                dxr[j] += yr[j] * (dyr[j] - s);
        }
    }
}

/* ---- dropout ---- */

/* The mask in integers: dn_rng_hash_uniform (seed, i) is k 2^-24 with k the hash's top
 * 24 bits, and k 2^-24 >= p exactly when k >= ceil(p 2^24). Bit for bit the mask of
 * dn-backend.h, with no float conversion. With AVX-512's 64-bit
 * vector multiplies the hash is ten times faster, hence a clone (DN_CLONES). */

static inline uint64_t keep_threshold (float p)
{
    return (uint64_t) ceil ((double) p * 16777216.0);
}

// elements [lo, hi) of x and y: y = x * mask / (1 - p), or y += that when accumulating
DN_CLONES static void dropout_apply (size_t lo, size_t hi, float p, uint64_t seed,
                                     gboolean accumulate, const float *restrict x,
                                     float *restrict y)
{
    const float scale = 1.0f / (1.0f - p);
    const uint64_t thr = keep_threshold (p);
    if (accumulate) {
        for (size_t i = lo; i < hi; i++) {
            float v = x[i] * scale; /* outside the select, so the loop vectorises */
            y[i] += (dn_rng_hash (seed, i) >> 40) >= thr ? v : 0.0f;
        }
    } else {
        for (size_t i = lo; i < hi; i++) {
            float v = x[i] * scale;
            y[i] = (dn_rng_hash (seed, i) >> 40) >= thr ? v : 0.0f;
        }
    }
}

// elements [lo, hi) of x and y (n); element i is kept iff dn_rng_hash_uniform (seed, i) >= p.
// forward: y = x * mask / (1 - p), x == y allowed; backward (x is dy, y is dx, the mask
// recomputed from the forward seed): y += x * mask / (1 - p)
void dn_cpu_dropout_slice (size_t lo, size_t hi, float p, uint64_t seed, gboolean backward,
                           const float *x, float *y)
{
    if (x == y && !backward) {
        /* in place: the restrict loop must not see aliased pointers */
        const float scale = 1.0f / (1.0f - p);
        const uint64_t thr = keep_threshold (p);
        for (size_t i = lo; i < hi; i++)
            y[i] = (dn_rng_hash (seed, i) >> 40) >= thr ? y[i] * scale : 0.0f;
        return;
    }
    dropout_apply (lo, hi, p, seed, backward, x, y);
}
