// dn-cuda-conv.cu: im2col / col2im, the outer transpose, and whole convolutions (with a
// fused ReLU and max pooling) on CUDA; the twin of dn-cpu-conv.c.
//
// A convolution runs over chunks of the batch: im2col of the chunk into col
// (c_in*kh*kw, chunk*oh*ow), one cuBLAS GEMM per group into (c_out, chunk*oh*ow), then one
// epilogue kernel that reorders to NCHW and adds the bias and the ReLU, and a pooling
// kernel when one is fused. The chunk is chosen from the geometry and the batch alone (at
// most CHUNK_FLOATS of column matrix), never from the device, so results repeat.
// col2im gathers: each input element sums its taps in a fixed order, no atomics.
#include "dn-backend-cuda-private.h"

#define CHUNK_FLOATS ((size_t) 32 << 20)

// x is (batch, c_in, h, w); col is (c_in*kh*kw, batch*oh*ow)
__global__ void im2col_kernel (DnConvGeom g, int batch, const float *x, float *col)
{
    const size_t P = (size_t) g.oh * g.ow, ld = (size_t) batch * P;
    const size_t total = (size_t) g.c_in * g.kh * g.kw * ld;
    DN_CUDA_LOOP (i, total)
    {
        size_t r = i / ld, q = i % ld;
        int b = (int) (q / P), p = (int) (q % P);
        int oy = p / g.ow, ox = p % g.ow;
        int kj = (int) (r % g.kw), ki = (int) ((r / g.kw) % g.kh), c = (int) (r / g.kw / g.kh);
        int iy = oy * g.sh - g.ph + ki * g.dh, ix = ox * g.sw - g.pw + kj * g.dw;
        float v = 0.0f;
        if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w)
            v = x[(((size_t) b * g.c_in + c) * g.h + iy) * g.w + ix];
        col[i] = v;
    }
}

// col is (c_in*kh*kw, batch*oh*ow); dx is (batch, c_in, h, w): every element of dx adds
// the column entries it was copied to, taps in (ki, kj) order
__global__ void col2im_kernel (DnConvGeom g, int batch, const float *col, float *dx)
{
    const size_t P = (size_t) g.oh * g.ow, ld = (size_t) batch * P;
    const size_t total = (size_t) batch * g.c_in * g.h * g.w;
    DN_CUDA_LOOP (i, total)
    {
        int ix = (int) (i % g.w), iy = (int) ((i / g.w) % g.h);
        int c = (int) ((i / ((size_t) g.w * g.h)) % g.c_in);
        int b = (int) (i / ((size_t) g.w * g.h * g.c_in));
        float s = 0.0f;
        for (int ki = 0; ki < g.kh; ki++) {
            int ty = iy + g.ph - ki * g.dh;
            if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.oh)
                continue;
            int oy = ty / g.sh;
            for (int kj = 0; kj < g.kw; kj++) {
                int tx = ix + g.pw - kj * g.dw;
                if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.ow)
                    continue;
                int ox = tx / g.sw;
                size_t r = ((size_t) c * g.kh + ki) * g.kw + kj;
                s += col[r * ld + (size_t) b * P + (size_t) oy * g.ow + ox];
            }
        }
        dx[i] += s;
    }
}

// src is (rows, batch, inner); dst is (batch, rows, inner)
__global__ void transpose_outer_kernel (int rows, int batch, int inner, const float *src,
                                        float *dst)
{
    const size_t total = (size_t) rows * batch * inner;
    DN_CUDA_LOOP (i, total)
    {
        size_t e = i % inner, rb = i / inner;
        size_t b = rb % batch, r = rb / batch;
        dst[(b * rows + r) * inner + e] = src[i];
    }
}

extern "C" void dn_cuda_im2col (DnBackend *be, const DnConvGeom *g, int batch, const float *x,
                                float *col)
{
    size_t total = (size_t) g->c_in * g->kh * g->kw * batch * g->oh * g->ow;
    if (total == 0)
        return;
    im2col_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (*g, batch, x, col);
    DN_CUDA_LAUNCHED ("im2col");
}

extern "C" void dn_cuda_col2im (DnBackend *be, const DnConvGeom *g, int batch, const float *col,
                                float *dx)
{
    size_t total = (size_t) batch * g->c_in * g->h * g->w;
    if (total == 0)
        return;
    col2im_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (*g, batch, col, dx);
    DN_CUDA_LAUNCHED ("col2im");
}

extern "C" void dn_cuda_transpose_outer (DnBackend *be, int rows, int batch, int inner,
                                         const float *src, float *dst)
{
    size_t total = (size_t) rows * batch * inner;
    if (total == 0)
        return;
    transpose_outer_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (rows, batch, inner, src,
                                                                         dst);
    DN_CUDA_LAUNCHED ("transpose_outer");
}

/* ---- whole convolutions ---- */

/* Samples per chunk: the column matrix of a chunk stays under CHUNK_FLOATS. */
static int conv_chunk (const DnConvGeom *g, int batch)
{
    size_t per = (size_t) g->c_in * g->kh * g->kw * g->oh * g->ow;
    size_t c = per > 0 ? CHUNK_FLOATS / per : (size_t) batch;
    if (c < 1)
        c = 1;
    return (int) (c < (size_t) batch ? c : (size_t) batch);
}

/* The workspace of a chunk of cb samples: col (K, cb*P), then two (c_out, cb*P) buffers
 * (the GEMM's output and the NCHW or gradient copy), each rounded to 64 floats. */
static size_t round64 (size_t n)
{
    return (n + 63) & ~(size_t) 63;
}

extern "C" size_t dn_cuda_conv2d_workspace (DnBackend *be, const DnConvGeom *g, int batch)
{
    int cb = conv_chunk (g, batch > 0 ? batch : 1);
    size_t P = (size_t) g->oh * g->ow * cb;
    return round64 ((size_t) g->c_in * g->kh * g->kw * P) + 2 * round64 ((size_t) g->c_out * P);
}

// gemm_out is (c_out, cb, P); y is (cb, c_out, P) = gemm_out reordered + bias, ReLU'd
__global__ void conv_epilogue_kernel (int c_out, int cb, int P, const float *gemm_out,
                                      const float *bias, int relu, float *y)
{
    const size_t total = (size_t) c_out * cb * P;
    DN_CUDA_LOOP (i, total)
    {
        int p = (int) (i % P);
        size_t cbi = i / P;
        int b = (int) (cbi % cb), c = (int) (cbi / cb);
        float v = gemm_out[i];
        if (bias != NULL)
            v += bias[c];
        if (relu)
            v = v < 0.0f ? 0.0f : v;
        y[((size_t) b * c_out + c) * P + p] = v;
    }
}

static size_t fused_size (const DnConvGeom *g, const DnConvFusion *f)
{
    if (f != NULL && f->pool != NULL)
        return (size_t) g->c_out * f->pool->oh * f->pool->ow;
    return (size_t) g->c_out * g->oh * g->ow;
}

// x is (B, C_in, H, W), w is (C_out, C_in/G, kh, kw), bias is (C_out); y is (B, C_out, OH, OW)
// or the fused output
extern "C" void dn_cuda_conv2d_forward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f,
                                        int batch, const float *x, const float *w,
                                        const float *bias, float *y, float *workspace)
{
    const int cbmax = conv_chunk (g, batch), G = g->groups;
    const int P = g->oh * g->ow, Kg = g->c_in / G * g->kh * g->kw, Mg = g->c_out / G;
    const size_t xs = (size_t) g->c_in * g->h * g->w, ys = fused_size (g, f);
    const gboolean pooled = f != NULL && f->pool != NULL;
    float *col = workspace;
    float *gout = col + round64 ((size_t) g->c_in * g->kh * g->kw * P * cbmax);
    float *pre = gout + round64 ((size_t) g->c_out * P * cbmax);
    for (int b0 = 0; b0 < batch; b0 += cbmax) {
        const int cb = cbmax < batch - b0 ? cbmax : batch - b0;
        const size_t N = (size_t) cb * P;
        dn_cuda_im2col (be, g, cb, x + b0 * xs, col);
        for (int k = 0; k < G; k++)
            dn_cuda_gemm (be, FALSE, FALSE, Mg, (int) N, Kg, 1.0f, w + (size_t) k * Mg * Kg, Kg,
                          col + (size_t) k * Kg * N, (int) N, 0.0f, gout + (size_t) k * Mg * N,
                          (int) N);
        float *dst = pooled ? pre : y + b0 * ys;
        size_t total = (size_t) g->c_out * N;
        conv_epilogue_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (
            g->c_out, cb, P, gout, bias, f != NULL && f->relu, dst);
        DN_CUDA_LAUNCHED ("conv2d_forward");
        if (pooled)
            dn_cuda_maxpool2d_forward (be, f->pool, cb, pre, y + b0 * ys, f->argmax + b0 * ys);
    }
}

// y, dy (cb, c_out, Q) the fused output and its gradient; dyt (c_out, cb, P): the gradient
// at the convolution's output, reordered for the GEMMs
__global__ void conv_fused_grad_kernel (DnConvGeom g, int pooled, DnConvGeom pg, int relu, int cb, const float *y,
                                        const float *dy, const int32_t *argmax, float *dyt)
{
    const int P = g.oh * g.ow, C = g.c_out;
    const size_t total = (size_t) cb * C * P;
    DN_CUDA_LOOP (i, total)
    {
        int p = (int) (i % P);
        size_t bc = i / P;
        int c = (int) (bc % C), b = (int) (bc / C);
        float v;
        if (pooled) {
            size_t Q = (size_t) pg.oh * pg.ow, o = bc * Q;
            v = dn_maxpool_gather (&pg, dy + o, argmax + o, relu ? y + o : NULL, p / g.ow,
                                   p % g.ow);
        } else if (relu) {
            v = y[i] > 0.0f ? dy[i] : 0.0f;
        } else {
            v = dy[i];
        }
        dyt[((size_t) c * cb + b) * P + p] = v;
    }
}

// dy is (B, C_out, OH, OW) or that of the fused output y: dw += dy col^T, db += sum dy,
// dx += col2im (w^T dy), chunk by chunk in batch order
extern "C" void dn_cuda_conv2d_backward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f,
                                         int batch, const float *x, const float *w,
                                         const float *y, const float *dy, float *dx, float *dw,
                                         float *db, float *workspace)
{
    const int cbmax = conv_chunk (g, batch), G = g->groups;
    const int P = g->oh * g->ow, Kg = g->c_in / G * g->kh * g->kw, Mg = g->c_out / G;
    const size_t xs = (size_t) g->c_in * g->h * g->w, ys = fused_size (g, f);
    const gboolean pooled = f != NULL && f->pool != NULL;
    const DnConvGeom none = {0};
    float *col = workspace;
    float *dyt = col + round64 ((size_t) g->c_in * g->kh * g->kw * P * cbmax);
    for (int b0 = 0; b0 < batch; b0 += cbmax) {
        const int cb = cbmax < batch - b0 ? cbmax : batch - b0;
        const size_t N = (size_t) cb * P;
        size_t total = (size_t) g->c_out * N;
        conv_fused_grad_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (
            *g, pooled, pooled ? *f->pool : none, f != NULL && f->relu, cb,
            y != NULL ? y + b0 * ys : NULL, dy + b0 * ys,
            pooled ? f->argmax + b0 * ys : NULL, dyt);
        DN_CUDA_LAUNCHED ("conv2d_backward");
        if (dw != NULL) {
            /* a frozen layer passes dw NULL: no weight or bias gradient (dn-backend.h) */
            dn_cuda_im2col (be, g, cb, x + b0 * xs, col);
            for (int k = 0; k < G; k++)
                dn_cuda_gemm (be, FALSE, TRUE, Mg, Kg, (int) N, 1.0f, dyt + (size_t) k * Mg * N,
                              (int) N, col + (size_t) k * Kg * N, (int) N, 1.0f,
                              dw + (size_t) k * Mg * Kg, Kg);
        }
        if (dw != NULL && db != NULL)
            dn_cuda_bias_backward (be, 1, g->c_out, (int) N, dyt, db);
        if (dx != NULL) {
            for (int k = 0; k < G; k++)
                dn_cuda_gemm (be, TRUE, FALSE, Kg, (int) N, Mg, 1.0f, w + (size_t) k * Mg * Kg, Kg,
                              dyt + (size_t) k * Mg * N, (int) N, 0.0f, col + (size_t) k * Kg * N,
                              (int) N);
            dn_cuda_col2im (be, g, cb, col, dx + b0 * xs);
        }
    }
}
