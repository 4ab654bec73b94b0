/* dn-check-ops.c: the checking backend's compute ops.
 *
 * Each op checks its pointer arguments, with the number of elements it touches as
 * dn-backend.h defines them, then runs the inner backend's op unchanged. Where an
 * extent depends on indices stored in an argument (a sample's context, a listed row),
 * the indices are read once the argument is known to be backend memory: the inner
 * backend's memory is host memory. A function check_<op> reports under the name <op>.
 */
#include "dn-backend-check-private.h"

#define OP (__func__ + sizeof "check_" - 1)
/* Argument p holds n elements of its own type: backend memory (DEV), or NULL too (OPT);
 * host memory (HOST). Each clears `ok`, which every op declares, when p is not. */
#define DEV(p, n) (ok &= _dn_check_dev (be, OP, #p, (p), (size_t) (n), sizeof *(p)))
#define OPT(p, n) (ok &= _dn_check_opt (be, OP, #p, (p), (size_t) (n), sizeof *(p)) || (p) == NULL)
#define HOST(p) (ok &= _dn_check_host (be, OP, #p, (p)))
/* Runs the inner backend's op of the same name when every argument passed: a device
 * would fault on a pointer it does not know, and the CPU might (NULL). */
#define RUN(op, ...)                                                                               \
    do {                                                                                           \
        DnBackend *in_ = _dn_check_inner (be);                                                     \
        if (ok)                                                                                    \
            in_->op (in_, __VA_ARGS__);                                                            \
    } while (0)
#define RUN_RETURN(op, ...)                                                                        \
    do {                                                                                           \
        DnBackend *in_ = _dn_check_inner (be);                                                     \
        return ok ? in_->op (in_, __VA_ARGS__) : 0;                                                \
    } while (0)

/* Elements of a row-major block of `rows` rows of `cols` used elements, `ld` apart. */
static size_t span (size_t rows, size_t ld, size_t cols)
{
    return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
}

/* 1 + the largest of n indices (valid backend memory), at least 1; NULL: 1. */
static size_t index_extent (const int32_t *idx, int n)
{
    int32_t top = 0;
    for (int i = 0; idx != NULL && i < n; i++)
        top = MAX (top, idx[i]);
    return (size_t) top + 1;
}

static size_t image_size (const DnConvGeom *g, int batch)
{
    return (size_t) batch * g->c_in * g->h * g->w;
}

static size_t pooled_size (const DnConvGeom *g, int batch)
{
    return (size_t) batch * g->c_in * g->oh * g->ow;
}

/* Floats of a (batch, channels, spatial) output after a fusion's pooling, if any. */
static size_t fused_size (const DnConvFusion *f, int batch, int channels, size_t spatial)
{
    if (f != NULL && f->pool != NULL)
        spatial = (size_t) f->pool->oh * f->pool->ow;
    return (size_t) batch * channels * spatial;
}

/* ---- BLAS and elementwise ---- */

static void check_gemm (DnBackend *be, gboolean trans_a, gboolean trans_b, int m, int n, int k,
                        float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                        float *c, int ldc)
{
    gboolean ok = TRUE;
    DEV (a, trans_a ? span (k, lda, m) : span (m, lda, k));
    DEV (b, trans_b ? span (n, ldb, k) : span (k, ldb, n));
    DEV (c, span (m, ldc, n));
    RUN (gemm, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void check_axpy (DnBackend *be, size_t n, float alpha, const float *x, float *y)
{
    gboolean ok = TRUE;
    DEV (x, n);
    DEV (y, n);
    RUN (axpy, n, alpha, x, y);
}

static void check_scale (DnBackend *be, size_t n, float alpha, float *x)
{
    gboolean ok = TRUE;
    DEV (x, n);
    RUN (scale, n, alpha, x);
}

static void check_add (DnBackend *be, size_t n, const float *x0, const float *x1, float *y)
{
    gboolean ok = TRUE;
    DEV (x0, n);
    DEV (x1, n);
    DEV (y, n);
    RUN (add, n, x0, x1, y);
}

static void check_mul (DnBackend *be, size_t n, const float *x, const float *m, float *y)
{
    gboolean ok = TRUE;
    DEV (x, n);
    DEV (m, n);
    DEV (y, n);
    RUN (mul, n, x, m, y);
}

static double check_sum (DnBackend *be, const float *x, size_t n)
{
    gboolean ok = TRUE;
    DEV (x, n);
    RUN_RETURN (sum, x, n);
}

static void check_bias_add (DnBackend *be, int n, int c, int spatial, const float *b, float *y)
{
    gboolean ok = TRUE;
    DEV (b, c);
    DEV (y, (size_t) n * c * spatial);
    RUN (bias_add, n, c, spatial, b, y);
}

static void check_bias_backward (DnBackend *be, int n, int c, int spatial, const float *dy,
                                 float *db)
{
    gboolean ok = TRUE;
    DEV (dy, (size_t) n * c * spatial);
    DEV (db, c);
    RUN (bias_backward, n, c, spatial, dy, db);
}

static void check_act_forward (DnBackend *be, DnAct act, float param, size_t n, const float *x,
                               float *y)
{
    gboolean ok = TRUE;
    DEV (x, n);
    DEV (y, n);
    RUN (act_forward, act, param, n, x, y);
}

/* Backward reads x or y, whichever the activation's derivative needs. */
static void check_act_backward (DnBackend *be, DnAct act, float param, size_t n, const float *x,
                                const float *y, const float *dy, float *dx)
{
    gboolean ok = TRUE;
    gboolean reads_y = act == DN_ACT_SIGMOID || act == DN_ACT_TANH;
    if (act != DN_ACT_IDENTITY && !reads_y)
        DEV (x, n);
    else
        OPT (x, n);
    if (reads_y)
        DEV (y, n);
    else
        OPT (y, n);
    DEV (dy, n);
    DEV (dx, n);
    RUN (act_backward, act, param, n, x, y, dy, dx);
}

static void check_dropout_forward (DnBackend *be, size_t n, float p, uint64_t seed, const float *x,
                                   float *y)
{
    gboolean ok = TRUE;
    DEV (x, n);
    DEV (y, n);
    RUN (dropout_forward, n, p, seed, x, y);
}

static void check_dropout_backward (DnBackend *be, size_t n, float p, uint64_t seed,
                                    const float *dy, float *dx)
{
    gboolean ok = TRUE;
    DEV (dy, n);
    DEV (dx, n);
    RUN (dropout_backward, n, p, seed, dy, dx);
}

static void check_softmax_forward (DnBackend *be, gboolean log, int rows, int cols, const float *x,
                                   float *y)
{
    gboolean ok = TRUE;
    DEV (x, (size_t) rows * cols);
    DEV (y, (size_t) rows * cols);
    RUN (softmax_forward, log, rows, cols, x, y);
}

static void check_softmax_backward (DnBackend *be, gboolean log, int rows, int cols, const float *y,
                                    const float *dy, float *dx)
{
    gboolean ok = TRUE;
    DEV (y, (size_t) rows * cols);
    DEV (dy, (size_t) rows * cols);
    DEV (dx, (size_t) rows * cols);
    RUN (softmax_backward, log, rows, cols, y, dy, dx);
}

/* ---- convolution and pooling ---- */

static void check_im2col (DnBackend *be, const DnConvGeom *g, int batch, const float *x, float *col)
{
    gboolean ok = TRUE;
    DEV (x, image_size (g, batch));
    DEV (col, (size_t) g->c_in * g->kh * g->kw * batch * g->oh * g->ow);
    RUN (im2col, g, batch, x, col);
}

static void check_col2im (DnBackend *be, const DnConvGeom *g, int batch, const float *col,
                          float *dx)
{
    gboolean ok = TRUE;
    DEV (col, (size_t) g->c_in * g->kh * g->kw * batch * g->oh * g->ow);
    DEV (dx, image_size (g, batch));
    RUN (col2im, g, batch, col, dx);
}

static void check_transpose_outer (DnBackend *be, int rows, int batch, int inner, const float *src,
                                   float *dst)
{
    gboolean ok = TRUE;
    DEV (src, (size_t) rows * batch * inner);
    DEV (dst, (size_t) rows * batch * inner);
    RUN (transpose_outer, rows, batch, inner, src, dst);
}

static size_t check_conv2d_workspace (DnBackend *be, const DnConvGeom *g, int batch)
{
    gboolean ok = TRUE;
    RUN_RETURN (conv2d_workspace, g, batch);
}

/* The output of a convolution (after its fusion) and the fusion's argmax. */
static size_t conv_output (DnBackend *be, const char *op, const DnConvGeom *g,
                           const DnConvFusion *f, int batch, gboolean *ok)
{
    size_t n = fused_size (f, batch, g->c_out, (size_t) g->oh * g->ow);
    if (f != NULL && f->pool != NULL)
        *ok &= _dn_check_dev (be, op, "f->argmax", f->argmax, n, sizeof (int32_t));
    return n;
}

static void check_conv2d_forward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f,
                                  int batch, const float *x, const float *w, const float *bias,
                                  float *y, float *workspace)
{
    gboolean ok = TRUE;
    DEV (x, image_size (g, batch));
    DEV (w, (size_t) g->c_out * (g->c_in / g->groups) * g->kh * g->kw);
    OPT (bias, g->c_out);
    DEV (y, conv_output (be, OP, g, f, batch, &ok));
    DEV (workspace, check_conv2d_workspace (be, g, batch));
    RUN (conv2d_forward, g, f, batch, x, w, bias, y, workspace);
}

static void check_conv2d_backward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f,
                                   int batch, const float *x, const float *w, const float *y,
                                   const float *dy, float *dx, float *dw, float *db,
                                   float *workspace)
{
    gboolean ok = TRUE;
    size_t weights = (size_t) g->c_out * (g->c_in / g->groups) * g->kh * g->kw;
    size_t out = conv_output (be, OP, g, f, batch, &ok);
    DEV (x, image_size (g, batch));
    DEV (w, weights);
    if (f != NULL)
        DEV (y, out);
    DEV (dy, out);
    OPT (dx, image_size (g, batch));
    OPT (dw, weights);
    OPT (db, g->c_out);
    DEV (workspace, check_conv2d_workspace (be, g, batch));
    RUN (conv2d_backward, g, f, batch, x, w, y, dy, dx, dw, db, workspace);
}

static void check_maxpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch, const float *x,
                                     float *y, int32_t *argmax)
{
    gboolean ok = TRUE;
    DEV (x, image_size (g, batch));
    DEV (y, pooled_size (g, batch));
    DEV (argmax, pooled_size (g, batch));
    RUN (maxpool2d_forward, g, batch, x, y, argmax);
}

static void check_maxpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch,
                                      const float *dy, const int32_t *argmax, float *dx)
{
    gboolean ok = TRUE;
    DEV (dy, pooled_size (g, batch));
    DEV (argmax, pooled_size (g, batch));
    DEV (dx, image_size (g, batch));
    RUN (maxpool2d_backward, g, batch, dy, argmax, dx);
}

static void check_avgpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch,
                                     gboolean count_include_pad, const float *x, float *y)
{
    gboolean ok = TRUE;
    DEV (x, image_size (g, batch));
    DEV (y, pooled_size (g, batch));
    RUN (avgpool2d_forward, g, batch, count_include_pad, x, y);
}

static void check_avgpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch,
                                      gboolean count_include_pad, const float *dy, float *dx)
{
    gboolean ok = TRUE;
    DEV (dy, pooled_size (g, batch));
    DEV (dx, image_size (g, batch));
    RUN (avgpool2d_backward, g, batch, count_include_pad, dy, dx);
}

/* ---- dendrites ---- */

/* T (k, c) and the cascade weights D2D[1..k-1], (i, c) each. */
static size_t dendrite_weights (int k, int c)
{
    return ((size_t) k + (size_t) k * (k - 1) / 2) * c;
}

/* The k + 1 slots of n samples of c * spatial floats, ld_slot and ld_sample apart. */
static size_t dendrite_slots (int k, int n, int c, int spatial, size_t ld_slot, size_t ld_sample)
{
    return n == 0 ? 0 : (size_t) k * ld_slot + (size_t) (n - 1) * ld_sample + (size_t) c * spatial;
}

static void check_dendrite_forward (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                                    const float *w, const float *r, size_t ld_slot,
                                    size_t ld_sample, const DnConvFusion *f, float *s, float *out)
{
    gboolean ok = TRUE;
    DEV (w, dendrite_weights (k, c));
    DEV (r, dendrite_slots (k, n, c, spatial, ld_slot, ld_sample));
    DEV (s, (size_t) k * n * c * spatial);
    size_t outs = fused_size (f, n, c, spatial);
    if (f != NULL && f->pool != NULL)
        DEV (f->argmax, outs);
    DEV (out, outs);
    RUN (dendrite_forward, act, k, n, c, spatial, w, r, ld_slot, ld_sample, f, s, out);
}

static void check_dendrite_backward (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                                     const float *w, const float *s, const DnConvFusion *f,
                                     const float *out, const float *dout, float *dr, size_t ld_slot,
                                     size_t ld_sample, float *dw)
{
    gboolean ok = TRUE;
    size_t outs = fused_size (f, n, c, spatial);
    DEV (w, dendrite_weights (k, c));
    DEV (s, (size_t) k * n * c * spatial);
    if (f != NULL && f->pool != NULL)
        DEV (f->argmax, outs);
    if (f != NULL)
        DEV (out, outs);
    else
        OPT (out, outs);
    DEV (dout, outs);
    DEV (dr, dendrite_slots (k, n, c, spatial, ld_slot, ld_sample));
    DEV (dw, dendrite_weights (k, c));
    RUN (dendrite_backward, act, k, n, c, spatial, w, s, f, out, dout, dr, ld_slot, ld_sample, dw);
}

/* ---- normalisation ---- */

static void check_batchnorm_forward_train (DnBackend *be, int n, int c, int spatial, const float *x,
                                           const float *gamma, const float *beta, float eps,
                                           float momentum, float *running_mean, float *running_var,
                                           float *y, float *save_mean, float *save_invstd)
{
    gboolean ok = TRUE;
    DEV (x, (size_t) n * c * spatial);
    OPT (gamma, c);
    OPT (beta, c);
    OPT (running_mean, c);
    OPT (running_var, c);
    DEV (y, (size_t) n * c * spatial);
    OPT (save_mean, c);
    OPT (save_invstd, c);
    RUN (batchnorm_forward_train, n, c, spatial, x, gamma, beta, eps, momentum, running_mean,
         running_var, y, save_mean, save_invstd);
}

static void check_batchnorm_forward_eval (DnBackend *be, int n, int c, int spatial, const float *x,
                                          const float *gamma, const float *beta, float eps,
                                          const float *running_mean, const float *running_var,
                                          float *y)
{
    gboolean ok = TRUE;
    DEV (x, (size_t) n * c * spatial);
    OPT (gamma, c);
    OPT (beta, c);
    DEV (running_mean, c);
    DEV (running_var, c);
    DEV (y, (size_t) n * c * spatial);
    RUN (batchnorm_forward_eval, n, c, spatial, x, gamma, beta, eps, running_mean, running_var, y);
}

static void check_batchnorm_backward (DnBackend *be, int n, int c, int spatial, const float *x,
                                      const float *dy, const float *gamma, const float *save_mean,
                                      const float *save_invstd, float *dx, float *dgamma,
                                      float *dbeta)
{
    gboolean ok = TRUE;
    DEV (x, (size_t) n * c * spatial);
    DEV (dy, (size_t) n * c * spatial);
    OPT (gamma, c);
    DEV (save_mean, c);
    DEV (save_invstd, c);
    OPT (dx, (size_t) n * c * spatial);
    OPT (dgamma, c);
    OPT (dbeta, c);
    RUN (batchnorm_backward, n, c, spatial, x, dy, gamma, save_mean, save_invstd, dx, dgamma,
         dbeta);
}

static void check_layernorm_forward (DnBackend *be, int rows, int cols, const float *x,
                                     const float *gamma, const float *beta, float eps, float *y,
                                     float *save_mean, float *save_invstd)
{
    gboolean ok = TRUE;
    DEV (x, (size_t) rows * cols);
    OPT (gamma, cols);
    OPT (beta, cols);
    DEV (y, (size_t) rows * cols);
    OPT (save_mean, rows);
    OPT (save_invstd, rows);
    RUN (layernorm_forward, rows, cols, x, gamma, beta, eps, y, save_mean, save_invstd);
}

static void check_layernorm_backward (DnBackend *be, int rows, int cols, const float *x,
                                      const float *dy, const float *gamma, const float *save_mean,
                                      const float *save_invstd, float *dx, float *dgamma,
                                      float *dbeta)
{
    gboolean ok = TRUE;
    DEV (x, (size_t) rows * cols);
    DEV (dy, (size_t) rows * cols);
    OPT (gamma, cols);
    DEV (save_mean, rows);
    DEV (save_invstd, rows);
    OPT (dx, (size_t) rows * cols);
    OPT (dgamma, cols);
    OPT (dbeta, cols);
    RUN (layernorm_backward, rows, cols, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

/* ---- active dendrites, k-WTA and sparse products ---- */

static void check_segment_select (DnBackend *be, DnGateMode mode, int n_ctx, int units,
                                  int segments, const float *resp, int32_t *win, float *g)
{
    gboolean ok = TRUE;
    DEV (resp, (size_t) n_ctx * units * segments);
    DEV (win, (size_t) n_ctx * units);
    DEV (g, (size_t) n_ctx * units);
    RUN (segment_select, mode, n_ctx, units, segments, resp, win, g);
}

/* The contexts a batch's samples use: 1 + the largest index (1 without an index). */
static size_t batch_contexts (DnBackend *be, const char *op, int batch, const int32_t *ctx_index,
                              gboolean *ok)
{
    if (!_dn_check_opt (be, op, "ctx_index", ctx_index, batch, sizeof (int32_t))) {
        *ok &= ctx_index == NULL;
        return 1;
    }
    return index_extent (ctx_index, batch);
}

static void check_gate_forward (DnBackend *be, DnGateMode mode, int batch, int units,
                                const float *t, const float *g, const int32_t *ctx_index, float *y)
{
    gboolean ok = TRUE;
    size_t n_ctx = batch_contexts (be, OP, batch, ctx_index, &ok);
    DEV (t, (size_t) batch * units);
    DEV (g, n_ctx * units);
    DEV (y, (size_t) batch * units);
    RUN (gate_forward, mode, batch, units, t, g, ctx_index, y);
}

static void check_gate_backward (DnBackend *be, DnGateMode mode, int batch, int units,
                                 const float *t, const float *g, const int32_t *ctx_index,
                                 const float *dy, float *dt, float *dg)
{
    gboolean ok = TRUE;
    size_t n_ctx = batch_contexts (be, OP, batch, ctx_index, &ok);
    DEV (t, (size_t) batch * units);
    DEV (g, n_ctx * units);
    DEV (dy, (size_t) batch * units);
    DEV (dt, (size_t) batch * units);
    DEV (dg, n_ctx * units);
    RUN (gate_backward, mode, batch, units, t, g, ctx_index, dy, dt, dg);
}

/* rows_touched is the host's bookkeeping of the rows an optimizer must step. */
static void check_segment_grad (DnBackend *be, int n_ctx, int units, int segments, int dim,
                                const int32_t *win, const float *dg, const float *contexts,
                                float *du, guint8 *rows_touched)
{
    gboolean ok = TRUE;
    DEV (win, (size_t) n_ctx * units);
    DEV (dg, (size_t) n_ctx * units);
    DEV (contexts, (size_t) n_ctx * dim);
    DEV (du, (size_t) units * segments * dim);
    HOST (rows_touched);
    RUN (segment_grad, n_ctx, units, segments, dim, win, dg, contexts, du, rows_touched);
}

static void check_segment_rows (DnBackend *be, int n, const int32_t *rows, int dim, const float *u,
                                const float *context, float *resp)
{
    gboolean ok = TRUE;
    size_t used = (size_t) n;
    if (rows != NULL && DEV (rows, n))
        used = index_extent (rows, n);
    DEV (u, used * dim);
    DEV (context, dim);
    DEV (resp, used);
    RUN (segment_rows, n, rows, dim, u, context, resp);
}

static void check_kwta_forward (DnBackend *be, int rows, int cols, int k, const float *x, float *y,
                                guint8 *mask)
{
    gboolean ok = TRUE;
    DEV (x, (size_t) rows * cols);
    DEV (y, (size_t) rows * cols);
    DEV (mask, (size_t) rows * cols);
    RUN (kwta_forward, rows, cols, k, x, y, mask);
}

static void check_kwta_backward (DnBackend *be, int rows, int cols, const guint8 *mask,
                                 const float *dy, float *dx)
{
    gboolean ok = TRUE;
    DEV (mask, (size_t) rows * cols);
    DEV (dy, (size_t) rows * cols);
    DEV (dx, (size_t) rows * cols);
    RUN (kwta_backward, rows, cols, mask, dy, dx);
}

static size_t check_count_nonzero (DnBackend *be, const float *x, size_t n)
{
    gboolean ok = TRUE;
    DEV (x, n);
    RUN_RETURN (count_nonzero, x, n);
}

static void check_sparse_rows_gemm (DnBackend *be, int rows, int k, int n, const float *a,
                                    const float *b, float *y)
{
    gboolean ok = TRUE;
    DEV (a, (size_t) rows * k);
    DEV (b, (size_t) k * n);
    DEV (y, (size_t) rows * n);
    RUN (sparse_rows_gemm, rows, k, n, a, b, y);
}

static void check_sparse_outer (DnBackend *be, int rows, int k, int n, const float *a,
                                const float *b, float *c)
{
    gboolean ok = TRUE;
    DEV (a, (size_t) rows * k);
    DEV (b, (size_t) rows * n);
    DEV (c, (size_t) k * n);
    RUN (sparse_outer, rows, k, n, a, b, c);
}

static void check_sparse_gemm_nt (DnBackend *be, int rows, int k, int n, const float *a,
                                  const float *b, float *y)
{
    gboolean ok = TRUE;
    DEV (a, (size_t) rows * k);
    DEV (b, (size_t) n * k);
    DEV (y, (size_t) rows * n);
    RUN (sparse_gemm_nt, rows, k, n, a, b, y);
}

/* ---- losses ---- */

static void check_cross_entropy (DnBackend *be, int rows, int cols, const float *logits,
                                 const int32_t *labels, float label_smoothing, float scale,
                                 double *loss, float *dlogits)
{
    gboolean ok = TRUE;
    DEV (logits, (size_t) rows * cols);
    DEV (labels, rows);
    HOST (loss);
    OPT (dlogits, (size_t) rows * cols);
    RUN (cross_entropy, rows, cols, logits, labels, label_smoothing, scale, loss, dlogits);
}

static void check_nll (DnBackend *be, int rows, int cols, const float *logp, const int32_t *labels,
                       float scale, double *loss, float *dlogp)
{
    gboolean ok = TRUE;
    DEV (logp, (size_t) rows * cols);
    DEV (labels, rows);
    HOST (loss);
    OPT (dlogp, (size_t) rows * cols);
    RUN (nll, rows, cols, logp, labels, scale, loss, dlogp);
}

static void check_mse (DnBackend *be, int rows, int cols, const float *pred, const float *target,
                       float scale, double *loss, float *dpred)
{
    gboolean ok = TRUE;
    DEV (pred, (size_t) rows * cols);
    DEV (target, (size_t) rows * cols);
    HOST (loss);
    OPT (dpred, (size_t) rows * cols);
    RUN (mse, rows, cols, pred, target, scale, loss, dpred);
}

static void check_bce_logits (DnBackend *be, int rows, int cols, const float *logits,
                              const float *target, float scale, double *loss, float *dlogits)
{
    gboolean ok = TRUE;
    DEV (logits, (size_t) rows * cols);
    DEV (target, (size_t) rows * cols);
    HOST (loss);
    OPT (dlogits, (size_t) rows * cols);
    RUN (bce_logits, rows, cols, logits, target, scale, loss, dlogits);
}

static void check_one_hot (DnBackend *be, int rows, int cols, const int32_t *labels, float *targets)
{
    gboolean ok = TRUE;
    DEV (labels, rows);
    DEV (targets, (size_t) rows * cols);
    RUN (one_hot, rows, cols, labels, targets);
}

static int check_count_correct (DnBackend *be, int rows, int cols, const float *logits,
                                const int32_t *labels)
{
    gboolean ok = TRUE;
    DEV (logits, (size_t) rows * cols);
    DEV (labels, rows);
    RUN_RETURN (count_correct, rows, cols, logits, labels);
}

/* ---- optimizers ---- */

static void check_sgd_update (DnBackend *be, size_t n, float *w, const float *g,
                              float *momentum_buf, float lr, float momentum, float dampening,
                              gboolean nesterov, float weight_decay, gboolean first_step)
{
    gboolean ok = TRUE;
    DEV (w, n);
    DEV (g, n);
    OPT (momentum_buf, n);
    RUN (sgd_update, n, w, g, momentum_buf, lr, momentum, dampening, nesterov, weight_decay,
         first_step);
}

static void check_adam_update (DnBackend *be, size_t n, float *w, const float *g, float *m,
                               float *v, float *vmax, float lr, float beta1, float beta2, float eps,
                               float weight_decay, gboolean decoupled, gboolean amsgrad,
                               int64_t step)
{
    gboolean ok = TRUE;
    DEV (w, n);
    DEV (g, n);
    DEV (m, n);
    DEV (v, n);
    OPT (vmax, n);
    RUN (adam_update, n, w, g, m, v, vmax, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
         step);
}

static void check_adadelta_update (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                                   float *acc_delta, float lr, float rho, float eps,
                                   float weight_decay)
{
    gboolean ok = TRUE;
    DEV (w, n);
    DEV (g, n);
    DEV (sq_avg, n);
    DEV (acc_delta, n);
    RUN (adadelta_update, n, w, g, sq_avg, acc_delta, lr, rho, eps, weight_decay);
}

static void check_rmsprop_update (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                                  float *grad_avg, float *momentum_buf, float lr, float alpha,
                                  float eps, float weight_decay, float momentum, gboolean centered)
{
    gboolean ok = TRUE;
    DEV (w, n);
    DEV (g, n);
    DEV (sq_avg, n);
    OPT (grad_avg, n);
    OPT (momentum_buf, n);
    RUN (rmsprop_update, n, w, g, sq_avg, grad_avg, momentum_buf, lr, alpha, eps, weight_decay,
         momentum, centered);
}

void _dn_check_fill_ops (DnBackend *t)
{
    t->gemm = check_gemm;
    t->axpy = check_axpy;
    t->scale = check_scale;
    t->add = check_add;
    t->mul = check_mul;
    t->sum = check_sum;
    t->im2col = check_im2col;
    t->col2im = check_col2im;
    t->transpose_outer = check_transpose_outer;
    t->conv2d_workspace = check_conv2d_workspace;
    t->conv2d_forward = check_conv2d_forward;
    t->conv2d_backward = check_conv2d_backward;
    t->dendrite_forward = check_dendrite_forward;
    t->dendrite_backward = check_dendrite_backward;
    t->bias_add = check_bias_add;
    t->bias_backward = check_bias_backward;
    t->act_forward = check_act_forward;
    t->act_backward = check_act_backward;
    t->maxpool2d_forward = check_maxpool2d_forward;
    t->maxpool2d_backward = check_maxpool2d_backward;
    t->avgpool2d_forward = check_avgpool2d_forward;
    t->avgpool2d_backward = check_avgpool2d_backward;
    t->batchnorm_forward_train = check_batchnorm_forward_train;
    t->batchnorm_forward_eval = check_batchnorm_forward_eval;
    t->batchnorm_backward = check_batchnorm_backward;
    t->layernorm_forward = check_layernorm_forward;
    t->layernorm_backward = check_layernorm_backward;
    t->softmax_forward = check_softmax_forward;
    t->softmax_backward = check_softmax_backward;
    t->dropout_forward = check_dropout_forward;
    t->dropout_backward = check_dropout_backward;
    t->segment_select = check_segment_select;
    t->gate_forward = check_gate_forward;
    t->gate_backward = check_gate_backward;
    t->segment_grad = check_segment_grad;
    t->segment_rows = check_segment_rows;
    t->kwta_forward = check_kwta_forward;
    t->kwta_backward = check_kwta_backward;
    t->count_nonzero = check_count_nonzero;
    t->sparse_rows_gemm = check_sparse_rows_gemm;
    t->sparse_outer = check_sparse_outer;
    t->sparse_gemm_nt = check_sparse_gemm_nt;
    t->cross_entropy = check_cross_entropy;
    t->nll = check_nll;
    t->mse = check_mse;
    t->bce_logits = check_bce_logits;
    t->one_hot = check_one_hot;
    t->count_correct = check_count_correct;
    t->sgd_update = check_sgd_update;
    t->adam_update = check_adam_update;
    t->adadelta_update = check_adadelta_update;
    t->rmsprop_update = check_rmsprop_update;
}
