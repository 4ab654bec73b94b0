/* dn-cpu-conv.c: im2col / col2im, the outer transpose, and whole convolutions
 * (with a fused ReLU and max pooling) on the CPU.
 *
 * A convolution is one GEMM per group over a column matrix col
 * (c_in*kh*kw, batch*oh*ow); see dn-layer-conv.c. im2col and col2im are memory
 * bound, so they work row by row with contiguous inner copies where the
 * stride allows.
 */
#include "dn-backend-cpu-private.h"
#include "dn-parallel.h"

#include <cblas.h>
#include <string.h>

/* The range of output columns ox whose input column ox*sw + off is inside [0, w). */
static inline void valid_range (int ow, int sw, int off, int w, int *lo, int *hi)
{
    int a = 0, b = ow;
    if (off < 0)
        a = (-off + sw - 1) / sw;
    /* ox*sw + off <= w - 1  <=>  ox <= (w - 1 - off) / sw */
    if (w - 1 - off < 0)
        b = 0;
    else if ((w - 1 - off) / sw + 1 < b)
        b = (w - 1 - off) / sw + 1;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* im2col and col2im copy and add short rows (a 3×3 convolution of a 26×26 image: rows of
 * 24 floats), where memcpy calls and the vectoriser's loop tails cost more than the data:
 * rows go in fixed blocks of 16 and 8 floats (one AVX-512 or AVX vector each in the
 * DN_CLONES build). */

// d and s are (n): d = s; the last block of 16 may overlap the one before
static inline void copy_row (float *restrict d, const float *restrict s, int n)
{
    int o = 0;
    if (n >= 16) {
        for (; o + 16 <= n; o += 16)
            for (int k = 0; k < 16; k++)
                d[o + k] = s[o + k];
        if (o < n)
            for (int k = 0; k < 16; k++)
                d[n - 16 + k] = s[n - 16 + k];
        return;
    }
    for (; o < n; o++)
        d[o] = s[o];
}

// d and s are (n): d += s
static inline void add_row (float *restrict d, const float *restrict s, int n)
{
    int o = 0;
    for (; o + 16 <= n; o += 16)
        for (int k = 0; k < 16; k++)
            d[o + k] += s[o + k];
    for (; o + 8 <= n; o += 8)
        for (int k = 0; k < 8; k++)
            d[o + k] += s[o + k];
    for (; o < n; o++)
        d[o] += s[o];
}

// x is (batch, c_in, h, w); col is (c_in*kh*kw, batch*oh*ow)
DN_CLONES void dn_cpu_im2col (DnBackend *be, const DnConvGeom *g, int batch, const float *x,
                              float *col)
{
    const int P = g->oh * g->ow;
    const size_t ld = (size_t) batch * P;
    for (int c = 0; c < g->c_in; c++) {
        for (int ki = 0; ki < g->kh; ki++) {
            for (int kj = 0; kj < g->kw; kj++) {
                int r = (c * g->kh + ki) * g->kw + kj;
                int xoff = kj * g->dw - g->pw;
                int lo, hi;
                valid_range (g->ow, g->sw, xoff, g->w, &lo, &hi);
                for (int b = 0; b < batch; b++) {
                    const float *xp = x + ((size_t) b * g->c_in + c) * g->h * g->w;
                    float *dst = col + r * ld + (size_t) b * P;
                    for (int oy = 0; oy < g->oh; oy++) {
                        float *restrict d = dst + oy * g->ow;
                        int iy = oy * g->sh - g->ph + ki * g->dh;
                        if (iy < 0 || iy >= g->h) {
                            for (int ox = 0; ox < g->ow; ox++)
                                d[ox] = 0.0f;
                            continue;
                        }
                        const float *restrict src = xp + iy * g->w + xoff;
                        for (int ox = 0; ox < lo; ox++)
                            d[ox] = 0.0f;
                        if (g->sw == 1) {
                            copy_row (d + lo, src + lo, hi - lo);
                        } else {
                            for (int ox = lo; ox < hi; ox++)
                                d[ox] = src[ox * g->sw];
                        }
                        for (int ox = hi; ox < g->ow; ox++)
                            d[ox] = 0.0f;
                    }
                }
            }
        }
    }
}

// col is (c_in*kh*kw, batch*oh*ow); dx is (batch, c_in, h, w), accumulated
DN_CLONES void dn_cpu_col2im (DnBackend *be, const DnConvGeom *g, int batch, const float *col,
                              float *dx)
{
    const int P = g->oh * g->ow;
    const size_t ld = (size_t) batch * P;
    for (int b = 0; b < batch; b++) {
        for (int c = 0; c < g->c_in; c++) {
            float *xp = dx + ((size_t) b * g->c_in + c) * g->h * g->w;
            for (int ki = 0; ki < g->kh; ki++) {
                for (int kj = 0; kj < g->kw; kj++) {
                    int r = (c * g->kh + ki) * g->kw + kj;
                    int xoff = kj * g->dw - g->pw;
                    int lo, hi;
                    valid_range (g->ow, g->sw, xoff, g->w, &lo, &hi);
                    const float *src = col + r * ld + (size_t) b * P;
                    for (int oy = 0; oy < g->oh; oy++) {
                        int iy = oy * g->sh - g->ph + ki * g->dh;
                        if (iy < 0 || iy >= g->h)
                            continue;
                        const float *restrict s = src + oy * g->ow;
                        float *restrict d = xp + iy * g->w + xoff;
                        if (g->sw == 1) {
                            add_row (d + lo, s + lo, hi - lo);
                        } else {
                            for (int ox = lo; ox < hi; ox++)
                                d[ox * g->sw] += s[ox];
                        }
                    }
                }
            }
        }
    }
}

// src is (rows, batch, inner); dst is (batch, rows, inner)
void dn_cpu_transpose_outer (DnBackend *be, int rows, int batch, int inner, const float *src,
                             float *dst)
{
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < batch; b++)
            memcpy (dst + ((size_t) b * rows + r) * inner, src + ((size_t) r * batch + b) * inner,
                    inner * sizeof (float));
}

/* ---- whole convolutions, sample by sample across the cores ----
 *
 * Each thread owns a slice of the batch and a private slice of the
 * workspace (ConvScratch): a column buffer (K, P) for one sample, a (c_out, P)
 * sample of the output before a fused pooling or of the gradient a fusion gives
 * back, and (backward) its own weight and bias gradient sums, added up at the
 * end in thread order, so the result depends only on the thread count. BLAS
 * runs single-threaded inside; the parallelism is ours. The GEMM writes each
 * sample's (c_out, P) output in NCHW order directly, so no reordering pass is
 * needed, and a fused ReLU and pooling (DnConvFusion) run on it while it is
 * still in cache. */

typedef struct {
    float *col; /* (K, P) */
    float *buf; /* (c_out, P) */
    float *dwt; /* (groups, Kg, Mg): the weight gradient, transposed */
    float *dbt; /* (c_out) */
} ConvScratch;

/* n floats rounded up to 16, so every part stays 64-byte aligned */
static size_t round16 (size_t n)
{
    return (n + 15) & ~(size_t) 15;
}

static size_t conv_thread_size (const DnConvGeom *g)
{
    size_t P = (size_t) g->oh * g->ow, kg = (size_t) g->c_in / g->groups * g->kh * g->kw;
    return round16 ((size_t) g->c_in * g->kh * g->kw * P) + round16 ((size_t) g->c_out * P) +
           round16 ((size_t) g->c_out * (kg + 1));
}

static ConvScratch conv_scratch (const DnConvGeom *g, float *workspace, int t)
{
    size_t P = (size_t) g->oh * g->ow, kg = (size_t) g->c_in / g->groups * g->kh * g->kw;
    ConvScratch s;
    s.col = workspace + conv_thread_size (g) * (size_t) t;
    s.buf = s.col + round16 ((size_t) g->c_in * g->kh * g->kw * P);
    s.dwt = s.buf + round16 ((size_t) g->c_out * P);
    s.dbt = s.dwt + (size_t) g->c_out * kg;
    return s;
}

static int conv_threads (int batch)
{
    return MAX (1, MIN (dn_cpu_threads (), batch));
}

size_t dn_cpu_conv2d_workspace (DnBackend *be, const DnConvGeom *g, int batch)
{
    return conv_thread_size (g) * conv_threads (batch);
}

typedef struct {
    DnBackend *be;
    const DnConvGeom *g;
    const DnConvFusion *f;
    int batch;
    const float *x, *w, *bias, *y, *dy;
    float *out, *dx, *dw, *db, *workspace;
} ConvJob;

static gboolean is_direct (const DnConvGeom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* Floats per sample of the convolution's output after its fusion. */
static size_t fused_size (const DnConvGeom *g, const DnConvFusion *f)
{
    if (f != NULL && f->pool != NULL)
        return (size_t) g->c_out * f->pool->oh * f->pool->ow;
    return (size_t) g->c_out * g->oh * g->ow;
}

// y is (c_out, P): y += bias (may be NULL), then max(y, 0) when relu, as the ReLU layer does
DN_CLONES static void conv_epilogue (float *y, const float *bias, gboolean relu, int c_out, int P)
{
    for (int c = 0; c < c_out; c++) {
        float *restrict row = y + (size_t) c * P;
        if (bias != NULL) {
            float v = bias[c];
            if (relu)
                for (int p = 0; p < P; p++) {
                    float t = row[p] + v;
                    row[p] = t < 0.0f ? 0.0f : t;
                }
            else
                for (int p = 0; p < P; p++)
                    row[p] += v;
        } else if (relu) {
            for (int p = 0; p < P; p++)
                row[p] = row[p] < 0.0f ? 0.0f : row[p];
        }
    }
}

static void conv_forward_task (int t, int n_tasks, gpointer data)
{
    const ConvJob *j = data;
    const DnConvGeom *g = j->g;
    const DnConvFusion *f = j->f;
    const int P = g->oh * g->ow, G = g->groups;
    const int Kg = g->c_in / G * g->kh * g->kw, Mg = g->c_out / G;
    const size_t xs = (size_t) g->c_in * g->h * g->w, ys = fused_size (g, f);
    const gboolean pooled = f != NULL && f->pool != NULL;
    ConvScratch s = conv_scratch (g, j->workspace, t);
    size_t b0, b1;
    dn_parallel_slice ((size_t) j->batch, t, n_tasks, &b0, &b1);
    for (size_t b = b0; b < b1; b++) {
        const float *xb = j->x + b * xs;
        float *yb = pooled ? s.buf : j->out + b * ys;
        const float *src = xb;
        if (!is_direct (g)) {
            dn_cpu_im2col (j->be, g, 1, xb, s.col);
            src = s.col;
        }
        for (int k = 0; k < G; k++)
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Mg, P, Kg, 1.0f,
                         j->w + (size_t) k * Mg * Kg, Kg, src + (size_t) k * Kg * P, P, 0.0f,
                         yb + (size_t) k * Mg * P, P);
        conv_epilogue (yb, j->bias, f != NULL && f->relu, g->c_out, P);
        if (pooled)
            dn_cpu_maxpool2d_forward (j->be, f->pool, 1, s.buf, j->out + b * ys,
                                      f->argmax + b * ys);
    }
}

// x is (B, C_in, H, W), w is (C_out, C_in/G, kh, kw), bias is (C_out); y is (B, C_out, OH, OW)
// or the fused output
void dn_cpu_conv2d_forward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f, int batch,
                            const float *x, const float *w, const float *bias, float *y,
                            float *workspace)
{
    ConvJob job = {be, g, f, batch, x, w, bias, NULL, NULL, y, NULL, NULL, NULL, workspace};
    dn_parallel_run (conv_threads (batch), conv_forward_task, &job);
}

/* One sample's gradient at the convolution's output, dyc (c_out, P), from the fused output
 * y and its gradient dy: the ReLU passes dy where y > 0 (which is where its input was), the
 * pooling sends each output's gradient to its argmax. The same numbers as the layers' own
 * backward ops. */
DN_CLONES static void fused_grad (const DnConvFusion *f, int c_out, int P, const float *restrict y,
                                  const float *restrict dy, const int32_t *restrict argmax,
                                  float *restrict dyc)
{
    if (f->pool == NULL) {
        for (size_t i = 0; i < (size_t) c_out * P; i++)
            dyc[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        return;
    }
    const int Q = f->pool->oh * f->pool->ow;
    memset (dyc, 0, (size_t) c_out * P * sizeof (float));
    /* No branch on whether the ReLU passes, a coin toss the branch predictor loses: a
     * bit mask turns the gradient into +0, which adds nothing. */
    const uint32_t all = f->relu ? 0u : ~0u;
    for (int c = 0; c < c_out; c++) {
        const size_t o = (size_t) c * Q;
        float *restrict d = dyc + (size_t) c * P;
        for (int q = 0; q < Q; q++) {
            uint32_t bits;
            memcpy (&bits, &dy[o + q], sizeof bits);
            bits &= all | (uint32_t) - (int32_t) (y[o + q] > 0.0f);
            float v;
            memcpy (&v, &bits, sizeof v);
            d[argmax[o + q]] += v;
        }
    }
}

/* The sum of x (n) in 16 interleaved partial sums, which the compiler vectorises (one
 * running sum it may not reorder). */
static inline float row_sum (const float *restrict x, int n)
{
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += x[i + l];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i];
    for (int l = 0; l < 16; l++)
        s += acc[l];
    return s;
}

/* The weight gradient is summed transposed, (Kg, Mg) per group: col · dy^T is the GEMM
 * orientation OpenBLAS runs fastest for these shapes (a tall C with a long K), and the
 * transpose back costs one pass over a small matrix per thread at the end. */
static void conv_backward_task (int t, int n_tasks, gpointer data)
{
    const ConvJob *j = data;
    const DnConvGeom *g = j->g;
    const DnConvFusion *f = j->f;
    const int P = g->oh * g->ow, G = g->groups;
    const int Kg = g->c_in / G * g->kh * g->kw, Mg = g->c_out / G;
    const size_t xs = (size_t) g->c_in * g->h * g->w, ys = fused_size (g, f);
    ConvScratch s = conv_scratch (g, j->workspace, t);
    const gboolean direct = is_direct (g);
    if (j->dw != NULL)
        memset (s.dwt, 0, (size_t) g->c_out * (Kg + 1) * sizeof (float));
    size_t b0, b1;
    dn_parallel_slice ((size_t) j->batch, t, n_tasks, &b0, &b1);
    for (size_t b = b0; b < b1; b++) {
        const float *xb = j->x + b * xs, *dyb = j->dy + b * ys;
        if (f != NULL) {
            /* without pooling there is no argmax (NULL): no offset from it either */
            const int32_t *am = f->argmax != NULL ? f->argmax + b * ys : NULL;
            fused_grad (f, g->c_out, P, j->y + b * ys, dyb, am, s.buf);
            dyb = s.buf;
        }
        const float *src = xb;
        if (!direct && j->dw != NULL) {
            dn_cpu_im2col (j->be, g, 1, xb, s.col);
            src = s.col;
        }
        for (int k = 0; k < G && j->dw != NULL; k++)
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, Kg, Mg, P, 1.0f,
                         src + (size_t) k * Kg * P, P, dyb + (size_t) k * Mg * P, P, 1.0f,
                         s.dwt + (size_t) k * Kg * Mg, Mg);
        if (j->dw != NULL && j->db != NULL)
            for (int c = 0; c < g->c_out; c++)
                s.dbt[c] += row_sum (dyb + (size_t) c * P, P);
        if (j->dx != NULL) {
            float *dxb = j->dx + b * xs;
            /* direct: the GEMM adds straight into dx; otherwise through col2im */
            for (int k = 0; k < G; k++)
                cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Kg, P, Mg, 1.0f,
                             j->w + (size_t) k * Mg * Kg, Kg, dyb + (size_t) k * Mg * P, P,
                             direct ? 1.0f : 0.0f, (direct ? dxb : s.col) + (size_t) k * Kg * P, P);
            if (!direct)
                dn_cpu_col2im (j->be, g, 1, s.col, dxb);
        }
    }
}

// dy is (B, C_out, OH, OW) or that of the fused output y: dw += dy col^T, db += sum dy,
// dx += col2im (w^T dy), per sample
void dn_cpu_conv2d_backward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f, int batch,
                             const float *x, const float *w, const float *y, const float *dy,
                             float *dx, float *dw, float *db, float *workspace)
{
    ConvJob job = {be, g, f, batch, x, w, NULL, y, dy, NULL, dx, dw, db, workspace};
    const int nt = conv_threads (batch);
    dn_parallel_run (nt, conv_backward_task, &job);
    if (dw == NULL)
        return;
    /* the per-thread sums, added in thread order; dw[k][m][i] += dwt[k][i][m] */
    const int G = g->groups, Mg = g->c_out / G, Kg = g->c_in / G * g->kh * g->kw;
    for (int t = 0; t < nt; t++) {
        ConvScratch s = conv_scratch (g, workspace, t);
        for (int k = 0; k < G; k++)
            for (int m = 0; m < Mg; m++) {
                float *restrict d = dw + ((size_t) k * Mg + m) * Kg;
                const float *restrict src = s.dwt + (size_t) k * Kg * Mg + m;
                for (int i = 0; i < Kg; i++)
                    d[i] += src[(size_t) i * Mg];
            }
        if (db != NULL)
            for (int c = 0; c < g->c_out; c++)
                db[c] += s.dbt[c];
    }
}
