/* dn-cpu-conv.c: im2col / col2im and the outer transpose on the CPU.
 *
 * A convolution of a whole batch is one GEMM per group over a column matrix
 * col (c_in*kh*kw, batch*oh*ow); see dn-layer-conv.c. These loops are memory
 * bound, so they work row by row with contiguous inner copies where the
 * stride allows.
 */
#include "dn-backend-cpu-private.h"

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

// x is (batch, c_in, h, w); col is (c_in*kh*kw, batch*oh*ow)
void dn_cpu_im2col (DnBackend *be, const DnConvGeom *g, int batch, const float *x, float *col)
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
                        float *d = dst + oy * g->ow;
                        int iy = oy * g->sh - g->ph + ki * g->dh;
                        if (iy < 0 || iy >= g->h) {
                            memset (d, 0, g->ow * sizeof (float));
                            continue;
                        }
                        const float *src = xp + iy * g->w + xoff;
                        for (int ox = 0; ox < lo; ox++)
                            d[ox] = 0.0f;
                        if (g->sw == 1) {
                            memcpy (d + lo, src + lo, (hi - lo) * sizeof (float));
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
void dn_cpu_col2im (DnBackend *be, const DnConvGeom *g, int batch, const float *col, float *dx)
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
                        const float *s = src + oy * g->ow;
                        float *d = xp + iy * g->w + xoff;
                        if (g->sw == 1) {
                            for (int ox = lo; ox < hi; ox++)
                                d[ox] += s[ox];
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
