/* test-cuda.c: the CUDA backend against the CPU's, op by op and network by network.
 *
 * Every op of dn-backend.h runs with the same inputs on the CPU backend (host memory) and
 * on the CUDA backend (device memory, through upload and download), and the results are
 * compared; then whole networks train for 20 steps on both from the same seed, and a model
 * trained on the GPU resumes on the CPU. Without a CUDA device (or without a CUDA build)
 * every case is skipped, saying why.
 *
 * Tolerances (|cuda - cpu| <= atol + rtol |cpu|), and why:
 * - EXACT: selections, masks, integer results, copies, and elementwise float arithmetic
 *   written operation for operation as on the CPU (--fmad=false keeps a * b + c rounded
 *   twice on the GPU): bit for bit.
 * - ELEM (1e-6, 5e-7): elementwise ops through libm functions (expf, erff, logf), whose
 *   CUDA and glibc versions differ by an ulp or two; the CPU's sigmoid and tanh use a
 *   polynomial within 2e-7 of expf.
 * - REDUCE (1e-5, 1e-6): sums in another order (a tree on the GPU, a loop on the CPU), of
 *   float terms: n terms of size |x| differ by about log2(n) eps |x| each.
 * - GEMM (2e-4, 2e-5): cuBLAS sums k products in blocks and with fused multiply-adds where
 *   OpenBLAS uses another blocking: about sqrt(k) eps relative to the sum of |terms|, which
 *   for k in the hundreds and terms of both signs is well inside 2e-4 of the result's scale.
 * - TRAIN (2e-3 relative to the parameters' scale, 5e-3 on the loss): 20 steps of
 *   training amplify the GEMM-sized differences of each step; the CPU's own runs at
 *   different thread counts differ as much.
 */
#include "dn-backend.h"
#include "dn-dendrite.h"
#include "dn-error.h"
#include "dn-model.h"
#include "dn-optim.h"
#include "dn-test-util.h"
#include "dn-train-private.h"

#include <math.h>
#include <string.h>

static DnBackend *cpu, *gpu;
static char *no_gpu; /* why the cases are skipped */

#define NEED_GPU()                                                                                 \
    do {                                                                                           \
        if (gpu == NULL) {                                                                         \
            g_test_skip (no_gpu);                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* ---- buffers on both backends ---- */

/* The same n floats on the CPU (h) and on the GPU (d). */
typedef struct {
    float *h, *d;
    size_t n;
} Pair;

static DnRng rng;

static float uniform (float lo, float hi)
{
    return lo + (hi - lo) * (float) (dn_rng_next (&rng) >> 40) / 16777216.0f;
}

/* n floats in [lo, hi), or all zero when lo == hi. */
static Pair pair_new (size_t n, float lo, float hi)
{
    Pair p = {cpu->alloc (cpu, MAX (n, 1) * sizeof (float)),
              gpu->alloc (gpu, MAX (n, 1) * sizeof (float)), n};
    g_assert_nonnull (p.h);
    g_assert_nonnull (p.d);
    for (size_t i = 0; i < n && lo != hi; i++)
        p.h[i] = uniform (lo, hi);
    gpu->upload (gpu, p.d, p.h, n * sizeof (float));
    return p;
}

static void pair_free (Pair *p)
{
    cpu->free (cpu, p->h);
    gpu->free (gpu, p->d);
}

/* The GPU's copy against the CPU's, element by element. */
static void pair_check (const char *what, const Pair *p, double rtol, double atol)
{
    g_autofree float *back = g_new (float, MAX (p->n, 1));
    gpu->download (gpu, back, p->d, p->n * sizeof (float));
    g_assert_null (dn_backend_take_error (gpu));
    g_test_message ("%s: %zu values", what, p->n);
    dn_test_assert_floats_close (__FILE__, __LINE__, what, back, p->h, p->n, rtol, atol);
}

#define EXACT 0.0, 0.0
#define ELEM 1e-6, 5e-7
#define REDUCE 1e-5, 1e-6
#define GEMM 2e-4, 2e-5

/* int32 or byte buffers on both backends, from host values. */
static void *dev_copy (const void *h, size_t bytes)
{
    void *d = gpu->alloc (gpu, MAX (bytes, 1));
    g_assert_nonnull (d);
    gpu->upload (gpu, d, h, bytes);
    return d;
}

static void check_bytes (const char *what, const void *cpu_h, const void *gpu_d, size_t bytes)
{
    g_autofree guint8 *back = g_malloc (MAX (bytes, 1));
    gpu->download (gpu, back, gpu_d, bytes);
    g_test_message ("%s: %zu bytes", what, bytes);
    g_assert_cmpmem (back, bytes, cpu_h, bytes);
}

/* ---- BLAS and elementwise ---- */

static void test_blas (void)
{
    NEED_GPU ();
    const int m = 37, n = 53, k = 129;
    for (int t = 0; t < 4; t++) {
        gboolean ta = t & 1, tb = t >> 1;
        Pair a = pair_new ((size_t) m * k, -1, 1), b = pair_new ((size_t) k * n, -1, 1);
        Pair c = pair_new ((size_t) m * n, -1, 1);
        int lda = ta ? m : k, ldb = tb ? k : n;
        cpu->gemm (cpu, ta, tb, m, n, k, 0.5f, a.h, lda, b.h, ldb, 0.25f, c.h, n);
        gpu->gemm (gpu, ta, tb, m, n, k, 0.5f, a.d, lda, b.d, ldb, 0.25f, c.d, n);
        pair_check ("gemm", &c, GEMM);
        pair_free (&a);
        pair_free (&b);
        pair_free (&c);
    }
    const size_t len = 100003;
    Pair x = pair_new (len, -2, 2), y = pair_new (len, -2, 2), z = pair_new (len, 0, 0);
    cpu->axpy (cpu, len, 0.3f, x.h, y.h);
    gpu->axpy (gpu, len, 0.3f, x.d, y.d);
    pair_check ("axpy", &y, EXACT);
    cpu->scale (cpu, len, -1.7f, y.h);
    gpu->scale (gpu, len, -1.7f, y.d);
    pair_check ("scale", &y, EXACT);
    cpu->add (cpu, len, x.h, y.h, z.h);
    gpu->add (gpu, len, x.d, y.d, z.d);
    pair_check ("add", &z, EXACT);
    cpu->mul (cpu, len, x.h, y.h, z.h);
    gpu->mul (gpu, len, x.d, y.d, z.d);
    pair_check ("mul", &z, EXACT);
    double sc = cpu->sum (cpu, z.h, len), sg = gpu->sum (gpu, z.d, len);
    g_assert_cmpfloat (fabs (sc - sg), <=, 1e-9 * len);
    g_assert_cmpuint (cpu->count_nonzero (cpu, z.h, len), ==, gpu->count_nonzero (gpu, z.d, len));
    cpu->copy (cpu, z.h + 1, z.h, len - 1); /* overlapping: memmove's semantics */
    gpu->copy (gpu, z.d + 1, z.d, len - 1);
    pair_check ("copy", &z, EXACT);
    cpu->zero (cpu, z.h, len / 2);
    gpu->zero (gpu, z.d, len / 2);
    pair_check ("zero", &z, EXACT);
    const int bn = 5, bc = 7, bs = 33;
    Pair bias = pair_new (bc, -1, 1), db = pair_new (bc, -1, 1);
    Pair by = pair_new ((size_t) bn * bc * bs, -1, 1);
    cpu->bias_add (cpu, bn, bc, bs, bias.h, by.h);
    gpu->bias_add (gpu, bn, bc, bs, bias.d, by.d);
    pair_check ("bias_add", &by, EXACT);
    cpu->bias_backward (cpu, bn, bc, bs, by.h, db.h);
    gpu->bias_backward (gpu, bn, bc, bs, by.d, db.d);
    pair_check ("bias_backward", &db, REDUCE);
    Pair *all[] = {&x, &y, &z, &bias, &db, &by};
    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        pair_free (all[i]);
}

static void test_activations (void)
{
    NEED_GPU ();
    const size_t n = 4099;
    for (int act = DN_ACT_IDENTITY; act <= DN_ACT_GELU; act++) {
        Pair x = pair_new (n, -6, 6), y = pair_new (n, 0, 0), dy = pair_new (n, -1, 1);
        Pair dx = pair_new (n, -1, 1);
        cpu->act_forward (cpu, act, 0.1f, n, x.h, y.h);
        gpu->act_forward (gpu, act, 0.1f, n, x.d, y.d);
        pair_check ("act_forward", &y, ELEM);
        cpu->act_backward (cpu, act, 0.1f, n, x.h, y.h, dy.h, dx.h);
        gpu->act_backward (gpu, act, 0.1f, n, x.d, y.d, dy.d, dx.d);
        pair_check ("act_backward", &dx, ELEM);
        pair_free (&x);
        pair_free (&y);
        pair_free (&dy);
        pair_free (&dx);
    }
    /* softmax and log-softmax over rows of 10 and of 1000 */
    for (int cols = 10; cols <= 1000; cols *= 100)
        for (int lg = 0; lg <= 1; lg++) {
            const int rows = 17;
            Pair x = pair_new ((size_t) rows * cols, -5, 5), y = pair_new (x.n, 0, 0);
            Pair dy = pair_new (x.n, -1, 1), dx = pair_new (x.n, -1, 1);
            cpu->softmax_forward (cpu, lg, rows, cols, x.h, y.h);
            gpu->softmax_forward (gpu, lg, rows, cols, x.d, y.d);
            pair_check ("softmax_forward", &y, REDUCE);
            cpu->softmax_backward (cpu, lg, rows, cols, y.h, dy.h, dx.h);
            gpu->softmax_backward (gpu, lg, rows, cols, y.d, dy.d, dx.d);
            pair_check ("softmax_backward", &dx, REDUCE);
            pair_free (&x);
            pair_free (&y);
            pair_free (&dy);
            pair_free (&dx);
        }
    /* dropout: the counter-based mask is the CPU's, bit for bit */
    Pair x = pair_new (n, -1, 1), y = pair_new (n, 0, 0), dx = pair_new (n, -1, 1);
    cpu->dropout_forward (cpu, n, 0.3f, 12345, x.h, y.h);
    gpu->dropout_forward (gpu, n, 0.3f, 12345, x.d, y.d);
    pair_check ("dropout_forward", &y, EXACT);
    cpu->dropout_backward (cpu, n, 0.3f, 12345, x.h, dx.h);
    gpu->dropout_backward (gpu, n, 0.3f, 12345, x.d, dx.d);
    pair_check ("dropout_backward", &dx, EXACT);
    pair_free (&x);
    pair_free (&y);
    pair_free (&dx);
}

/* ---- convolutions and pooling ---- */

static DnConvGeom geom (int c_in, int h, int w, int c_out, int k, int s, int p, int d, int groups)
{
    DnConvGeom g = {c_in, h, w, c_out, 0, 0, k, k, s, s, p, p, d, d, groups};
    g.oh = (h + 2 * p - d * (k - 1) - 1) / s + 1;
    g.ow = (w + 2 * p - d * (k - 1) - 1) / s + 1;
    return g;
}

static void check_pool (const DnConvGeom *g, int batch)
{
    size_t in = (size_t) batch * g->c_in * g->h * g->w, out = (size_t) batch * g->c_in * g->oh * g->ow;
    Pair x = pair_new (in, -1, 1), y = pair_new (out, 0, 0), dy = pair_new (out, -1, 1);
    Pair dx = pair_new (in, -1, 1);
    g_autofree int32_t *am = g_new0 (int32_t, out);
    int32_t *am_d = dev_copy (am, out * sizeof (int32_t));
    cpu->maxpool2d_forward (cpu, g, batch, x.h, y.h, am);
    gpu->maxpool2d_forward (gpu, g, batch, x.d, y.d, am_d);
    pair_check ("maxpool2d_forward", &y, EXACT);
    check_bytes ("maxpool2d argmax", am, am_d, out * sizeof (int32_t));
    cpu->maxpool2d_backward (cpu, g, batch, dy.h, am, dx.h);
    gpu->maxpool2d_backward (gpu, g, batch, dy.d, am_d, dx.d);
    pair_check ("maxpool2d_backward", &dx, REDUCE);
    for (int pad = 0; pad <= 1; pad++) {
        cpu->avgpool2d_forward (cpu, g, batch, pad, x.h, y.h);
        gpu->avgpool2d_forward (gpu, g, batch, pad, x.d, y.d);
        pair_check ("avgpool2d_forward", &y, REDUCE);
        cpu->avgpool2d_backward (cpu, g, batch, pad, dy.h, dx.h);
        gpu->avgpool2d_backward (gpu, g, batch, pad, dy.d, dx.d);
        pair_check ("avgpool2d_backward", &dx, REDUCE);
    }
    gpu->free (gpu, am_d);
    pair_free (&x);
    pair_free (&y);
    pair_free (&dy);
    pair_free (&dx);
}

static void test_pooling (void)
{
    NEED_GPU ();
    DnConvGeom g2 = geom (3, 12, 10, 3, 2, 2, 0, 1, 1); /* the common 2x2 window */
    check_pool (&g2, 4);
    DnConvGeom g3 = geom (2, 9, 11, 2, 3, 2, 1, 1, 1); /* overlapping, padded */
    check_pool (&g3, 3);
}

/* One convolution geometry, with each fusion: none, ReLU, ReLU + 2x2 max pooling. */
static void check_conv (const DnConvGeom *g, int batch)
{
    const size_t xs = (size_t) batch * g->c_in * g->h * g->w;
    const size_t ws = (size_t) g->c_out * (g->c_in / g->groups) * g->kh * g->kw;
    Pair x = pair_new (xs, -1, 1), w = pair_new (ws, -0.5f, 0.5f), b = pair_new (g->c_out, -1, 1);
    DnConvGeom pool = geom (g->c_out, g->oh, g->ow, g->c_out, 2, 2, 0, 1, 1);
    for (int fusion = 0; fusion < 3; fusion++) {
        DnConvFusion fc = {fusion >= 1, fusion == 2 ? &pool : NULL, NULL}, fg = fc;
        const DnConvFusion *fp = fusion > 0 ? &fc : NULL, *fq = fusion > 0 ? &fg : NULL;
        size_t ys = (size_t) batch * g->c_out * (fusion == 2 ? pool.oh * pool.ow : g->oh * g->ow);
        g_autofree int32_t *am = fusion == 2 ? g_new0 (int32_t, ys) : NULL;
        fc.argmax = am;
        fg.argmax = am != NULL ? dev_copy (am, ys * sizeof (int32_t)) : NULL;
        Pair y = pair_new (ys, 0, 0), dy = pair_new (ys, -1, 1), dx = pair_new (xs, -1, 1);
        Pair dw = pair_new (ws, -1, 1), db = pair_new (g->c_out, -1, 1);
        Pair wk_c = {cpu->alloc (cpu, MAX (cpu->conv2d_workspace (cpu, g, batch), 1) * 4), NULL, 0};
        float *wk_g = gpu->alloc (gpu, MAX (gpu->conv2d_workspace (gpu, g, batch), 1) * 4);
        cpu->conv2d_forward (cpu, g, fp, batch, x.h, w.h, b.h, y.h, wk_c.h);
        gpu->conv2d_forward (gpu, g, fq, batch, x.d, w.d, b.d, y.d, wk_g);
        pair_check ("conv2d_forward", &y, GEMM);
        if (am != NULL)
            check_bytes ("conv2d_forward argmax", am, fg.argmax, ys * sizeof (int32_t));
        cpu->conv2d_backward (cpu, g, fp, batch, x.h, w.h, y.h, dy.h, dx.h, dw.h, db.h, wk_c.h);
        gpu->conv2d_backward (gpu, g, fq, batch, x.d, w.d, y.d, dy.d, dx.d, dw.d, db.d, wk_g);
        pair_check ("conv2d_backward dx", &dx, GEMM);
        pair_check ("conv2d_backward dw", &dw, GEMM);
        pair_check ("conv2d_backward db", &db, REDUCE);
        cpu->free (cpu, wk_c.h);
        gpu->free (gpu, wk_g);
        gpu->free (gpu, fg.argmax);
        Pair *all[] = {&y, &dy, &dx, &dw, &db};
        for (guint i = 0; i < G_N_ELEMENTS (all); i++)
            pair_free (all[i]);
    }
    /* the helpers on their own */
    Pair col = pair_new ((size_t) g->c_in * g->kh * g->kw * batch * g->oh * g->ow, 0, 0);
    Pair dx = pair_new (xs, -1, 1);
    cpu->im2col (cpu, g, batch, x.h, col.h);
    gpu->im2col (gpu, g, batch, x.d, col.d);
    pair_check ("im2col", &col, EXACT);
    cpu->col2im (cpu, g, batch, col.h, dx.h);
    gpu->col2im (gpu, g, batch, col.d, dx.d);
    pair_check ("col2im", &dx, REDUCE);
    Pair t = pair_new (col.n, 0, 0);
    int rows = g->c_in * g->kh * g->kw, inner = g->oh * g->ow;
    cpu->transpose_outer (cpu, rows, batch, inner, col.h, t.h);
    gpu->transpose_outer (gpu, rows, batch, inner, col.d, t.d);
    pair_check ("transpose_outer", &t, EXACT);
    Pair *all[] = {&x, &w, &b, &col, &dx, &t};
    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        pair_free (all[i]);
}

static void test_conv (void)
{
    NEED_GPU ();
    DnConvGeom plain = geom (3, 14, 14, 8, 3, 1, 0, 1, 1);
    check_conv (&plain, 5);
    DnConvGeom strided = geom (4, 13, 13, 6, 3, 2, 1, 2, 2); /* dilated, padded, 2 groups */
    check_conv (&strided, 3);
    DnConvGeom direct = geom (6, 8, 8, 4, 1, 1, 0, 1, 1); /* 1x1 */
    check_conv (&direct, 4);
}

/* ---- norms ---- */

static void test_norms (void)
{
    NEED_GPU ();
    const int n = 6, c = 5, s = 49;
    const size_t len = (size_t) n * c * s;
    Pair x = pair_new (len, -2, 3), y = pair_new (len, 0, 0), dy = pair_new (len, -1, 1);
    Pair dx = pair_new (len, -1, 1), gam = pair_new (c, 0.5f, 1.5f), bet = pair_new (c, -1, 1);
    Pair rm = pair_new (c, -1, 1), rv = pair_new (c, 0.5f, 2), sm = pair_new (c, 0, 0);
    Pair si = pair_new (c, 0, 0), dg = pair_new (c, -1, 1), dbt = pair_new (c, -1, 1);
    cpu->batchnorm_forward_train (cpu, n, c, s, x.h, gam.h, bet.h, 1e-5f, 0.1f, rm.h, rv.h, y.h,
                                  sm.h, si.h);
    gpu->batchnorm_forward_train (gpu, n, c, s, x.d, gam.d, bet.d, 1e-5f, 0.1f, rm.d, rv.d, y.d,
                                  sm.d, si.d);
    pair_check ("batchnorm_forward_train", &y, REDUCE);
    pair_check ("batchnorm running_var", &rv, REDUCE);
    pair_check ("batchnorm save_invstd", &si, REDUCE);
    cpu->batchnorm_backward (cpu, n, c, s, x.h, dy.h, gam.h, sm.h, si.h, dx.h, dg.h, dbt.h);
    gpu->batchnorm_backward (gpu, n, c, s, x.d, dy.d, gam.d, sm.d, si.d, dx.d, dg.d, dbt.d);
    pair_check ("batchnorm_backward dx", &dx, REDUCE);
    pair_check ("batchnorm_backward dgamma", &dg, REDUCE);
    cpu->batchnorm_forward_eval (cpu, n, c, s, x.h, gam.h, bet.h, 1e-5f, rm.h, rv.h, y.h);
    gpu->batchnorm_forward_eval (gpu, n, c, s, x.d, gam.d, bet.d, 1e-5f, rm.d, rv.d, y.d);
    pair_check ("batchnorm_forward_eval", &y, REDUCE);
    /* layer norm over rows of c * s */
    const int rows = n, cols = c * s;
    Pair lg = pair_new (cols, 0.5f, 1.5f), lb = pair_new (cols, -1, 1);
    Pair ldg = pair_new (cols, -1, 1), ldb = pair_new (cols, -1, 1);
    Pair lm = pair_new (rows, 0, 0), li = pair_new (rows, 0, 0);
    cpu->layernorm_forward (cpu, rows, cols, x.h, lg.h, lb.h, 1e-5f, y.h, lm.h, li.h);
    gpu->layernorm_forward (gpu, rows, cols, x.d, lg.d, lb.d, 1e-5f, y.d, lm.d, li.d);
    pair_check ("layernorm_forward", &y, REDUCE);
    cpu->layernorm_backward (cpu, rows, cols, x.h, dy.h, lg.h, lm.h, li.h, dx.h, ldg.h, ldb.h);
    gpu->layernorm_backward (gpu, rows, cols, x.d, dy.d, lg.d, lm.d, li.d, dx.d, ldg.d, ldb.d);
    pair_check ("layernorm_backward dx", &dx, REDUCE);
    pair_check ("layernorm_backward dgamma", &ldg, REDUCE);
    pair_check ("layernorm_backward dbeta", &ldb, REDUCE);
    Pair *all[] = {&x, &y, &dy, &dx, &gam, &bet, &rm, &rv, &sm, &si, &dg, &dbt, &lg, &lb, &ldg,
                   &ldb, &lm, &li};
    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        pair_free (all[i]);
}

/* ---- the dendrite combination ---- */

/* k dendrites over (n, c, spatial) with fusion 0 (none), 1 (ReLU) or 2 (ReLU + pooling). */
static void check_dendrite (int k, int n, int c, int h, int w, int fusion)
{
    const int S = h * w;
    const size_t numel = (size_t) n * c * S, nw = (size_t) (k + k * (k - 1) / 2) * c;
    Pair r = pair_new ((k + 1) * numel, -1, 1), wt = pair_new (nw, -0.7f, 0.7f);
    Pair s = pair_new (k * numel, 0, 0), dr = pair_new ((k + 1) * numel, 0, 0);
    Pair dw = pair_new (nw, -1, 1);
    DnConvGeom pool = geom (c, h, w, c, 2, 2, 0, 1, 1);
    size_t outs = fusion == 2 ? (size_t) n * c * pool.oh * pool.ow : numel;
    Pair out = pair_new (outs, 0, 0), dout = pair_new (outs, -1, 1);
    g_autofree int32_t *am = fusion == 2 ? g_new0 (int32_t, outs) : NULL;
    DnConvFusion fc = {TRUE, fusion == 2 ? &pool : NULL, am}, fg = fc;
    fg.argmax = am != NULL ? dev_copy (am, outs * sizeof (int32_t)) : NULL;
    const DnConvFusion *fp = fusion > 0 ? &fc : NULL, *fq = fusion > 0 ? &fg : NULL;
    /* r's slots one after the other: slot stride numel, sample stride c * S */
    for (DnAct act = DN_ACT_IDENTITY; act <= DN_ACT_TANH; act++) {
        cpu->dendrite_forward (cpu, act, k, n, c, S, wt.h, r.h, numel, (size_t) c * S, fp, s.h,
                               out.h);
        gpu->dendrite_forward (gpu, act, k, n, c, S, wt.d, r.d, numel, (size_t) c * S, fq, s.d,
                               out.d);
        pair_check ("dendrite_forward s", &s, REDUCE);
        pair_check ("dendrite_forward out", &out, REDUCE);
        cpu->dendrite_backward (cpu, act, k, n, c, S, wt.h, s.h, fp, fp ? out.h : NULL, dout.h,
                                dr.h, numel, (size_t) c * S, dw.h);
        gpu->dendrite_backward (gpu, act, k, n, c, S, wt.d, s.d, fq, fq ? out.d : NULL, dout.d,
                                dr.d, numel, (size_t) c * S, dw.d);
        pair_check ("dendrite_backward dr", &dr, REDUCE);
        pair_check ("dendrite_backward dw", &dw, REDUCE);
    }
    gpu->free (gpu, fg.argmax);
    Pair *all[] = {&r, &wt, &s, &dr, &dw, &out, &dout};
    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        pair_free (all[i]);
}

static void test_dendrite (void)
{
    NEED_GPU ();
    check_dendrite (1, 4, 6, 1, 1, 0);  /* a linear module's */
    check_dendrite (3, 4, 300, 1, 1, 1); /* three dendrites, cascade weights, ReLU */
    check_dendrite (2, 3, 5, 8, 6, 0);  /* a convolution's */
    check_dendrite (2, 3, 5, 8, 6, 2);  /* with ReLU and max pooling fused */
}

/* ---- active dendrites, k-WTA, sparse products ---- */

static void test_active (void)
{
    NEED_GPU ();
    const int n_ctx = 3, units = 40, segs = 7, dim = 50, batch = 9;
    for (int mode = DN_GATE_ABS_MAX; mode <= DN_GATE_ADDITIVE; mode++) {
        Pair resp = pair_new ((size_t) n_ctx * units * segs, -2, 2);
        Pair g = pair_new ((size_t) n_ctx * units, 0, 0), dg = pair_new (g.n, 0, 0);
        g_autofree int32_t *win = g_new0 (int32_t, g.n);
        int32_t *win_d = dev_copy (win, g.n * sizeof (int32_t));
        cpu->segment_select (cpu, mode, n_ctx, units, segs, resp.h, win, g.h);
        gpu->segment_select (gpu, mode, n_ctx, units, segs, resp.d, win_d, g.d);
        check_bytes ("segment_select win", win, win_d, g.n * sizeof (int32_t));
        pair_check ("segment_select g", &g, ELEM);
        int32_t ctx[9] = {0, 2, 1, 1, 0, 2, 2, 0, 1};
        int32_t *ctx_d = dev_copy (ctx, sizeof ctx);
        Pair t = pair_new ((size_t) batch * units, -1, 1), y = pair_new (t.n, 0, 0);
        Pair dy = pair_new (t.n, -1, 1), dt = pair_new (t.n, 0, 0);
        cpu->gate_forward (cpu, mode, batch, units, t.h, g.h, ctx, y.h);
        gpu->gate_forward (gpu, mode, batch, units, t.d, g.d, ctx_d, y.d);
        pair_check ("gate_forward", &y, ELEM);
        cpu->gate_backward (cpu, mode, batch, units, t.h, g.h, ctx, dy.h, dt.h, dg.h);
        gpu->gate_backward (gpu, mode, batch, units, t.d, g.d, ctx_d, dy.d, dt.d, dg.d);
        pair_check ("gate_backward dt", &dt, ELEM);
        pair_check ("gate_backward dg", &dg, ELEM);
        Pair contexts = pair_new ((size_t) n_ctx * dim, -1, 1);
        Pair du = pair_new ((size_t) units * segs * dim, -1, 1);
        g_autofree guint8 *touched_c = g_new0 (guint8, (size_t) units * segs);
        g_autofree guint8 *touched_g = g_new0 (guint8, (size_t) units * segs);
        cpu->segment_grad (cpu, n_ctx, units, segs, dim, win, dg.h, contexts.h, du.h, touched_c);
        gpu->segment_grad (gpu, n_ctx, units, segs, dim, win_d, dg.d, contexts.d, du.d,
                           touched_g);
        pair_check ("segment_grad", &du, ELEM);
        g_assert_cmpmem (touched_c, (size_t) units * segs, touched_g, (size_t) units * segs);
        int32_t rows[4] = {3, 17, 0, 200};
        int32_t *rows_d = dev_copy (rows, sizeof rows);
        Pair rr = pair_new ((size_t) units * segs, 0, 0);
        cpu->segment_rows (cpu, 4, rows, dim, du.h, contexts.h, rr.h);
        gpu->segment_rows (gpu, 4, rows_d, dim, du.d, contexts.d, rr.d);
        pair_check ("segment_rows listed", &rr, EXACT);
        cpu->segment_rows (cpu, units * segs, NULL, dim, du.h, contexts.h, rr.h);
        gpu->segment_rows (gpu, units * segs, NULL, dim, du.d, contexts.d, rr.d);
        pair_check ("segment_rows all", &rr, EXACT);
        gpu->free (gpu, win_d);
        gpu->free (gpu, ctx_d);
        gpu->free (gpu, rows_d);
        Pair *all[] = {&resp, &g, &dg, &t, &y, &dy, &dt, &contexts, &du, &rr};
        for (guint i = 0; i < G_N_ELEMENTS (all); i++)
            pair_free (all[i]);
    }
}

static void test_kwta (void)
{
    NEED_GPU ();
    const int rows = 7, cols = 2000, k = 100;
    Pair x = pair_new ((size_t) rows * cols, -3, 3), y = pair_new (x.n, 0, 0);
    /* ties at the threshold: row 1 holds few distinct values, row 2 only one */
    for (int j = 0; j < cols; j++) {
        x.h[cols + j] = (float) (j % 13);
        x.h[2 * cols + j] = 0.5f;
        x.h[3 * cols + j] = j % 2 ? -0.0f : 0.0f;
    }
    gpu->upload (gpu, x.d, x.h, x.n * sizeof (float));
    g_autofree guint8 *mask = g_new0 (guint8, x.n);
    guint8 *mask_d = dev_copy (mask, x.n);
    for (int kk = 1; kk <= cols; kk += k * 5) {
        cpu->kwta_forward (cpu, rows, cols, kk, x.h, y.h, mask);
        gpu->kwta_forward (gpu, rows, cols, kk, x.d, y.d, mask_d);
        check_bytes ("kwta_forward mask", mask, mask_d, x.n);
        pair_check ("kwta_forward", &y, EXACT);
    }
    Pair dy = pair_new (x.n, -1, 1), dx = pair_new (x.n, -1, 1);
    cpu->kwta_backward (cpu, rows, cols, mask, dy.h, dx.h);
    gpu->kwta_backward (gpu, rows, cols, mask_d, dy.d, dx.d);
    pair_check ("kwta_backward", &dx, EXACT);
    /* the sparse products on k-WTA's output */
    const int n = 33;
    Pair b = pair_new ((size_t) cols * n, -1, 1), out = pair_new ((size_t) rows * n, -1, 1);
    cpu->sparse_rows_gemm (cpu, rows, cols, n, y.h, b.h, out.h);
    gpu->sparse_rows_gemm (gpu, rows, cols, n, y.d, b.d, out.d);
    pair_check ("sparse_rows_gemm", &out, GEMM);
    Pair bt = pair_new ((size_t) n * cols, -1, 1);
    cpu->sparse_gemm_nt (cpu, rows, cols, n, y.h, bt.h, out.h);
    gpu->sparse_gemm_nt (gpu, rows, cols, n, y.d, bt.d, out.d);
    pair_check ("sparse_gemm_nt", &out, GEMM);
    Pair c = pair_new ((size_t) cols * n, -1, 1);
    Pair o2 = pair_new ((size_t) rows * n, -1, 1);
    cpu->sparse_outer (cpu, rows, cols, n, y.h, o2.h, c.h);
    gpu->sparse_outer (gpu, rows, cols, n, y.d, o2.d, c.d);
    pair_check ("sparse_outer", &c, GEMM);
    gpu->free (gpu, mask_d);
    Pair *all[] = {&x, &y, &dy, &dx, &b, &out, &bt, &c, &o2};
    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        pair_free (all[i]);
}

/* ---- losses and optimizers ---- */

static void test_losses (void)
{
    NEED_GPU ();
    const int rows = 70, cols = 10;
    Pair x = pair_new ((size_t) rows * cols, -4, 4), d = pair_new (x.n, 0, 0);
    Pair tgt = pair_new (x.n, 0, 0), lp = pair_new (x.n, 0, 0);
    g_autofree int32_t *labels = g_new (int32_t, rows);
    for (int r = 0; r < rows; r++)
        labels[r] = r == 5 ? -100 : (int32_t) (dn_rng_next (&rng) % cols); /* one ignored */
    int32_t *labels_d = dev_copy (labels, rows * sizeof (int32_t));
    double lc = 0, lg = 0;
    cpu->cross_entropy (cpu, rows, cols, x.h, labels, 0.1f, 2.0f, &lc, d.h);
    gpu->cross_entropy (gpu, rows, cols, x.d, labels_d, 0.1f, 2.0f, &lg, d.d);
    g_assert_cmpfloat (fabs (lc - lg), <=, 1e-6 * fabs (lc));
    pair_check ("cross_entropy", &d, ELEM);
    cpu->softmax_forward (cpu, TRUE, rows, cols, x.h, lp.h);
    gpu->softmax_forward (gpu, TRUE, rows, cols, x.d, lp.d);
    cpu->nll (cpu, rows, cols, lp.h, labels, 1.0f, &lc, d.h);
    gpu->nll (gpu, rows, cols, lp.d, labels_d, 1.0f, &lg, d.d);
    g_assert_cmpfloat (fabs (lc - lg), <=, 1e-6 * fabs (lc));
    pair_check ("nll", &d, EXACT);
    cpu->one_hot (cpu, rows, cols, labels, tgt.h);
    gpu->one_hot (gpu, rows, cols, labels_d, tgt.d);
    pair_check ("one_hot", &tgt, EXACT);
    cpu->mse (cpu, rows, cols, x.h, tgt.h, 1.0f, &lc, d.h);
    gpu->mse (gpu, rows, cols, x.d, tgt.d, 1.0f, &lg, d.d);
    g_assert_cmpfloat (fabs (lc - lg), <=, 1e-9 * fabs (lc));
    pair_check ("mse", &d, EXACT);
    cpu->bce_logits (cpu, rows, cols, x.h, tgt.h, 1.0f, &lc, d.h);
    gpu->bce_logits (gpu, rows, cols, x.d, tgt.d, 1.0f, &lg, d.d);
    g_assert_cmpfloat (fabs (lc - lg), <=, 1e-6 * fabs (lc));
    pair_check ("bce_logits", &d, ELEM);
    g_assert_cmpint (cpu->count_correct (cpu, rows, cols, x.h, labels), ==,
                     gpu->count_correct (gpu, rows, cols, x.d, labels_d));
    gpu->free (gpu, labels_d);
    pair_free (&x);
    pair_free (&d);
    pair_free (&tgt);
    pair_free (&lp);
}

/* One update of configuration `kind` (0-8) on either backend. */
static void opt_step (DnBackend *be, int kind, size_t n, float *w, const float *g, float *b0,
                      float *b1, float *b2, int step)
{
    const gboolean first = step == 1;
    switch (kind) {
    case 0: /* plain SGD with weight decay */
        be->sgd_update (be, n, w, g, NULL, 0.1f, 0.0f, 0.0f, FALSE, 0.01f, first);
        break;
    case 1: /* momentum, nesterov */
        be->sgd_update (be, n, w, g, b0, 0.1f, 0.9f, 0.0f, TRUE, 0.0f, first);
        break;
    case 2: /* momentum with dampening */
        be->sgd_update (be, n, w, g, b0, 0.1f, 0.9f, 0.1f, FALSE, 0.0f, first);
        break;
    case 3: /* Adam with weight decay */
        be->adam_update (be, n, w, g, b0, b1, NULL, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, FALSE,
                         FALSE, step);
        break;
    case 4: /* AdamW with amsgrad */
        be->adam_update (be, n, w, g, b0, b1, b2, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, TRUE, TRUE,
                         step);
        break;
    case 5:
        be->adadelta_update (be, n, w, g, b0, b1, 1.0f, 0.9f, 1e-6f, 0.01f);
        break;
    case 6: /* RMSprop */
        be->rmsprop_update (be, n, w, g, b0, NULL, NULL, 0.01f, 0.99f, 1e-8f, 0.0f, 0.0f, FALSE);
        break;
    case 7: /* centered, with momentum */
        be->rmsprop_update (be, n, w, g, b0, b1, b2, 0.01f, 0.99f, 1e-8f, 0.01f, 0.9f, TRUE);
        break;
    default: /* momentum, not centered */
        be->rmsprop_update (be, n, w, g, b0, NULL, b2, 0.01f, 0.99f, 1e-8f, 0.0f, 0.9f, FALSE);
        break;
    }
}

static void test_optimizers (void)
{
    NEED_GPU ();
    const size_t n = 5003;
    for (int kind = 0; kind < 9; kind++) {
        Pair w = pair_new (n, -1, 1), b0 = pair_new (n, 0, 0), b1 = pair_new (n, 0, 0);
        Pair b2 = pair_new (n, 0, 0);
        for (int step = 1; step <= 3; step++) {
            Pair g = pair_new (n, -1, 1);
            opt_step (cpu, kind, n, w.h, g.h, b0.h, b1.h, b2.h, step);
            opt_step (gpu, kind, n, w.d, g.d, b0.d, b1.d, b2.d, step);
            pair_free (&g);
        }
        /* the same float operations in the same order, but the step size and bias
         * corrections go through pow on the host and the quotients through the GPU's
         * division: within an ulp or two */
        g_test_message ("optimizer configuration %d", kind);
        pair_check ("optimizer weights", &w, ELEM);
        pair_check ("optimizer state", &b0, ELEM);
        Pair *all[] = {&w, &b0, &b1, &b2};
        for (guint i = 0; i < G_N_ELEMENTS (all); i++)
            pair_free (all[i]);
    }
}

/* ---- whole networks: 20 training steps on both backends ---- */

#define BATCH 32
#define STEPS 20

static DnDataset *train_set;
static DnNormalize norm;

static void load_data (void)
{
    g_autofree char *dir = dn_test_data_path ("datasets/mnist-10k");
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) all = dn_dataset_load_idx_dir (dir, "train", &error);
    g_assert_no_error (error);
    int idx[BATCH * STEPS];
    for (int i = 0; i < BATCH * STEPS; i++)
        idx[i] = i;
    train_set = dn_dataset_subset (all, idx, BATCH * STEPS, &error);
    g_assert_no_error (error);
    dn_dataset_compute_normalize (train_set, &norm);
}

/* A network from its description on `be`, initialised from `seed`, with `sets` dendrite
 * sets (wrapped first when sets >= 0; -1: a plain network). */
static DnNetwork *build (JsonNode *desc, DnBackend *be, int sets)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) wrapped = NULL;
    if (sets >= 0) {
        DnDendriteSelection sel;
        dn_dendrite_selection_init (&sel);
        wrapped = dn_dendrite_wrap_network (desc, &sel, NULL, &error);
        dn_dendrite_selection_clear (&sel);
        g_assert_no_error (error);
    }
    DnNetwork *net = dn_network_new_from_json (wrapped != NULL ? wrapped : desc, be, &error);
    g_assert_no_error (error);
    DnRng r;
    dn_rng_seed (&r, 11);
    dn_network_init (net, &r);
    for (int s = 0; s < sets; s++) {
        DnNetwork *bigger = dn_network_add_dendrites (net, &r, &error);
        g_assert_no_error (error);
        dn_network_free (net);
        net = bigger;
    }
    g_assert_true (dn_network_reserve (net, BATCH, &error));
    g_assert_no_error (error);
    return net;
}

/* The mean training image as the one context of an Active Dendrites network. */
static float *mean_context (DnNetwork *net)
{
    const int dim = dn_network_context_dim (net);
    g_autofree float *x = g_new (float, (size_t) BATCH * STEPS * dim);
    g_autofree int32_t *y = g_new (int32_t, BATCH * STEPS);
    g_autofree int *idx = g_new (int, BATCH * STEPS);
    for (int i = 0; i < BATCH * STEPS; i++)
        idx[i] = i;
    dn_dataset_get_batch (train_set, idx, BATCH * STEPS, &norm, x, y);
    g_autofree float *mean = g_new0 (float, dim);
    for (size_t i = 0; i < (size_t) BATCH * STEPS * dim; i++)
        mean[i % dim] += x[i] / (BATCH * STEPS);
    float *d = net->backend->alloc (net->backend, (size_t) dim * sizeof (float));
    net->backend->upload (net->backend, d, mean, (size_t) dim * sizeof (float));
    dn_network_set_contexts (net, d, 1, dim);
    return d;
}

/* Steps [from, to) of training with `opt`; the losses go to losses[step]. */
static void train_steps (DnNetwork *net, DnOptimizer *opt, double lr, int from, int to,
                         double *losses)
{
    DnBackend *be = net->backend;
    DnShape out = dn_network_output_shape (net);
    const int sample = (int) dn_shape_numel (&net->input_shape), cols = (int) dn_shape_numel (&out);
    g_autofree float *xh = g_new (float, (size_t) BATCH * sample);
    g_autofree int32_t *yh = g_new (int32_t, BATCH);
    float *x = be->alloc (be, (size_t) BATCH * sample * sizeof (float));
    int32_t *y = be->alloc (be, BATCH * sizeof (int32_t));
    float *tg = be->alloc (be, (size_t) BATCH * cols * sizeof (float));
    float *dl = be->alloc (be, (size_t) BATCH * cols * sizeof (float));
    dn_network_set_training (net, TRUE);
    for (int s = from; s < to; s++) {
        int idx[BATCH];
        for (int i = 0; i < BATCH; i++)
            idx[i] = s * BATCH + i;
        dn_dataset_get_batch (train_set, idx, BATCH, &norm, xh, yh);
        be->upload (be, x, xh, (size_t) BATCH * sample * sizeof (float));
        be->upload (be, y, yh, BATCH * sizeof (int32_t));
        const DnTensor *o = dn_network_forward (net, x, BATCH, 500 + (uint64_t) s);
        dn_compute_loss (be, DN_LOSS_CROSS_ENTROPY, BATCH, cols, o->data, y, 0.0f, tg,
                         &losses[s], dl);
        dn_network_zero_grad (net);
        dn_network_backward (net, dl, BATCH);
        dn_optimizer_step (opt, net->params, net->grads, lr);
    }
    g_assert_null (dn_backend_take_error (be));
    be->free (be, x);
    be->free (be, y);
    be->free (be, tg);
    be->free (be, dl);
}

static DnOptimizer *optimizer (DnNetwork *net, DnOptimKind kind)
{
    DnOptimConfig cfg;
    dn_optim_config_defaults (&cfg, kind);
    g_autoptr (GError) error = NULL;
    DnOptimizer *opt = dn_optimizer_new (&cfg, net->backend, net->n_params, &error);
    g_assert_no_error (error);
    return opt;
}

static float *params_of (DnNetwork *net)
{
    float *h = g_new (float, MAX (net->n_params, 1));
    net->backend->download (net->backend, h, net->params, net->n_params * sizeof (float));
    return h;
}

/* ||a - b|| / ||b|| over n values. */
static double rel_diff (const float *a, const float *b, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        r += (double) b[i] * b[i];
    }
    return sqrt (d / MAX (r, 1e-30));
}

/* The parameters and losses of the two runs, within TRAIN's tolerance. */
static void compare_runs (const char *what, DnNetwork *nc, DnNetwork *ng, const double *lc,
                          const double *lg, int steps)
{
    g_assert_cmpuint (nc->n_params, ==, ng->n_params);
    for (int s = 0; s < steps; s++) {
        g_test_message ("%s step %d: loss %.6f (cpu) %.6f (cuda)", what, s + 1, lc[s], lg[s]);
        g_assert_cmpfloat (fabs (lc[s] - lg[s]), <=, 5e-3 * fabs (lc[s]) + 1e-5);
    }
    g_autofree float *pc = params_of (nc), *pg = params_of (ng);
    double d = rel_diff (pg, pc, nc->n_params);
    g_test_message ("%s: parameters differ by %.3g (relative 2-norm)", what, d);
    g_assert_cmpfloat (d, <=, 2e-3);
}

/* 20 steps of `example`'s network on both backends. */
static void check_training (const char *example, int sets, DnOptimKind kind, double lr)
{
    g_autoptr (JsonNode) desc = dn_test_example_network (example);
    g_autoptr (DnNetwork) nc = build (desc, cpu, sets), ng = build (desc, gpu, sets);
    float *ctx_c = NULL, *ctx_g = NULL;
    if (dn_network_context_dim (nc) > 0) {
        ctx_c = mean_context (nc);
        ctx_g = mean_context (ng);
    }
    DnOptimizer *oc = optimizer (nc, kind), *og = optimizer (ng, kind);
    double lc[STEPS], lg[STEPS];
    train_steps (nc, oc, lr, 0, STEPS, lc);
    train_steps (ng, og, lr, 0, STEPS, lg);
    compare_runs (example, nc, ng, lc, lg, STEPS);
    dn_optimizer_free (oc);
    dn_optimizer_free (og);
    if (ctx_c != NULL) {
        dn_network_set_contexts (nc, NULL, 0, 0);
        dn_network_set_contexts (ng, NULL, 0, 0);
        cpu->free (cpu, ctx_c);
        gpu->free (gpu, ctx_g);
    }
}

static void test_train_cnn (void)
{
    NEED_GPU ();
    check_training ("mnist-cnn", -1, DN_OPTIM_ADADELTA, 1.0);
}

static void test_train_resnet (void)
{
    NEED_GPU ();
    check_training ("resnet-small", -1, DN_OPTIM_ADAM, 1e-3);
}

static void test_train_dendritic_cnn (void)
{
    NEED_GPU ();
    check_training ("mnist-cnn", 2, DN_OPTIM_ADAM, 1e-3);
}

static void test_train_dendritic_mlp (void)
{
    NEED_GPU ();
    check_training ("mlp-dendrites", 1, DN_OPTIM_ADAM, 1e-3);
}

static void test_train_prototype (void)
{
    NEED_GPU ();
    check_training ("continual/prototype_10", -1, DN_OPTIM_ADAM, 5e-4);
}

/* A model trained on the GPU, saved, loaded on the CPU: the same weights, bit for bit,
 * and ten more steps on each give the same run within TRAIN's tolerance. */
static void test_resume_across (void)
{
    NEED_GPU ();
    g_autoptr (JsonNode) desc = dn_test_example_network ("mnist-cnn");
    g_autoptr (DnNetwork) ng = build (desc, gpu, -1);
    DnOptimizer *og = optimizer (ng, DN_OPTIM_SGD);
    double lg[STEPS], lc[STEPS];
    train_steps (ng, og, 0.05, 0, STEPS / 2, lg);
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (dir, "gpu.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_model_save_checkpoint (ng, NULL, path, NULL, &error));
    g_assert_no_error (error);
    g_autoptr (DnNetwork) nc = dn_model_load (path, cpu, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (dn_network_reserve (nc, BATCH, &error));
    g_autofree float *pc = params_of (nc), *pg = params_of (ng);
    g_assert_cmpmem (pc, nc->n_params * sizeof (float), pg, ng->n_params * sizeof (float));
    /* and back: the CPU's file on the GPU */
    g_autoptr (DnNetwork) back = dn_model_load (path, gpu, NULL, &error);
    g_assert_no_error (error);
    g_autofree float *pb = params_of (back);
    g_assert_cmpmem (pb, nc->n_params * sizeof (float), pc, nc->n_params * sizeof (float));
    /* plain SGD keeps no state, so both go on from the same place */
    DnOptimizer *oc = optimizer (nc, DN_OPTIM_SGD);
    memcpy (lc, lg, sizeof lc);
    train_steps (ng, og, 0.05, STEPS / 2, STEPS, lg);
    train_steps (nc, oc, 0.05, STEPS / 2, STEPS, lc);
    compare_runs ("resume on the CPU", nc, ng, lc + STEPS / 2, lg + STEPS / 2, STEPS / 2);
    dn_optimizer_free (oc);
    dn_optimizer_free (og);
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    cpu = dn_backend_cpu ();
    g_autoptr (GError) error = NULL;
    gpu = dn_backend_by_name ("cuda", &error);
    if (gpu == NULL)
        no_gpu = g_strdup_printf ("no CUDA backend to compare with the CPU: %s", error->message);
    dn_rng_seed (&rng, 2024);
    if (gpu != NULL)
        load_data ();
    g_test_add_func ("/cuda/ops/blas", test_blas);
    g_test_add_func ("/cuda/ops/activations", test_activations);
    g_test_add_func ("/cuda/ops/pooling", test_pooling);
    g_test_add_func ("/cuda/ops/conv", test_conv);
    g_test_add_func ("/cuda/ops/norms", test_norms);
    g_test_add_func ("/cuda/ops/dendrite", test_dendrite);
    g_test_add_func ("/cuda/ops/active", test_active);
    g_test_add_func ("/cuda/ops/kwta-sparse", test_kwta);
    g_test_add_func ("/cuda/ops/losses", test_losses);
    g_test_add_func ("/cuda/ops/optimizers", test_optimizers);
    g_test_add_func ("/cuda/train/mnist-cnn", test_train_cnn);
    g_test_add_func ("/cuda/train/residual-cnn", test_train_resnet);
    g_test_add_func ("/cuda/train/dendritic-cnn-2-sets", test_train_dendritic_cnn);
    g_test_add_func ("/cuda/train/dendritic-mlp", test_train_dendritic_mlp);
    g_test_add_func ("/cuda/train/prototype-10", test_train_prototype);
    g_test_add_func ("/cuda/train/resume-on-cpu", test_resume_across);
    int rc = g_test_run ();
    if (train_set != NULL)
        dn_dataset_free (train_set);
    g_free (no_gpu);
    return rc;
}
