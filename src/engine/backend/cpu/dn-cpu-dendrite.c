/* dn-cpu-dendrite.c: the dendrite combination on the CPU (see dn-layer-dendritic.c).
 *
 * One pass over the k + 1 module outputs does what a chain of whole-tensor
 * per-channel axpys, activations and dots would do, each of them streaming
 * the tensors through memory again: the data is worked through in chunks of
 * CHUNK elements of one sample and one channel (or, with spatial = 1, of one
 * sample and CHUNK channels), which stay in L1 while every dendrite reads and
 * writes them. Forward splits the samples across the threads; backward splits
 * the channels, so every thread owns its weight gradients and sums them in a
 * fixed order: the result does not depend on the thread count.
 *
 * A ReLU and a max pooling after the module can be fused in (DnConvFusion): forward
 * clamps each sample's output and pools it while it is in cache, and backward rebuilds
 * each channel's gradient at the module output from the pooled gradient and the argmax,
 * so the full-size output and its gradient never go through memory.
 */
#include "dn-backend-cpu-private.h"
#include "dn-parallel.h"

#include <string.h>

#define CHUNK 256
#define LANES 16
/* Below this many elements per dendrite the pass stays on the calling thread. */
#define PAR_MIN_ELEMENTS 32768

typedef struct {
    DnBackend *be;
    DnAct act;
    const DnConvFusion *f;
    gboolean relu; /* f->relu */
    int k, n, c, spatial;
    const float *w, *r, *dout, *s_in; /* s_in: backward's s */
    const float *out_in;              /* backward's (fused) out, NULL without fusion */
    size_t ld_slot, ld_sample;
    float *s, *out, *dr, *dw;
} CombineJob;

/* Row of D2D[i][j] in the packed weights (T's k rows come first). */
static inline size_t cascade_row (int k, int i, int j)
{
    return (size_t) k + (size_t) i * (i - 1) / 2 + j;
}

/* sum_e a[e] * b[e] over LANES partial sums, added up in a fixed order (a float
 * reduction in one accumulator would not vectorise). */
static inline float lane_dot (int len, const float *restrict a, const float *restrict b)
{
    float acc[LANES] = {0};
    int e = 0;
    for (; e + LANES <= len; e += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += a[e + l] * b[e + l];
    for (int l = 0; e + l < len; l++)
        acc[l] += a[e + l] * b[e + l];
    for (int h = LANES / 2; h > 0; h /= 2)
        for (int l = 0; l < h; l++)
            acc[l] += acc[l + h];
    return acc[0];
}

/* One chunk of len elements. ws = 0: one channel's positions, whose weights are w[row * C];
 * ws = 1: one position of len channels, weights w[row * C + e]. r, s and out point at the
 * chunk in slot 0, dendrite 0's s and out; ld_s is the distance between dendrites in s. */
static G_ALWAYS_INLINE inline void forward_chunk (const CombineJob *j, int ws, int len,
                                                  const float *w, const float *r, float *s,
                                                  size_t ld_s, float *restrict out)
{
    const int k = j->k, C = j->c;
    for (int e = 0; e < len; e++)
        out[e] = r[e];
    for (int i = 0; i < k; i++) {
        const float *restrict ri = r + (size_t) (i + 1) * j->ld_slot;
        float *restrict a = s + (size_t) i * ld_s;
        for (int e = 0; e < len; e++)
            a[e] = ri[e];
        for (int m = 0; m < i; m++) {
            const float *restrict wm = w + cascade_row (k, i, m) * C;
            const float *restrict sm = s + (size_t) m * ld_s;
            for (int e = 0; e < len; e++)
                a[e] += wm[e * ws] * sm[e];
        }
        dn_cpu_act_forward (NULL, j->act, 0.0f, len, a, a);
        const float *restrict t = w + (size_t) i * C;
        for (int e = 0; e < len; e++)
            out[e] += t[e * ws] * a[e];
    }
    if (j->relu)
        for (int e = 0; e < len; e++)
            out[e] = out[e] > 0.0f ? out[e] : 0.0f;
}

/* Floats per sample of the fused output. */
static size_t out_size (const CombineJob *j)
{
    const DnConvGeom *p = j->f != NULL ? j->f->pool : NULL;
    return p != NULL ? (size_t) j->c * p->oh * p->ow : (size_t) j->c * j->spatial;
}

static void forward_task (int t, int n_tasks, gpointer data)
{
    const CombineJob *j = data;
    const int C = j->c, S = j->spatial;
    const size_t numel = (size_t) C * S, ld_s = (size_t) j->n * numel, ys = out_size (j);
    const DnConvGeom *pool = j->f != NULL ? j->f->pool : NULL;
    g_autofree float *buf = pool != NULL ? g_new (float, numel) : NULL;
    size_t b0, b1;
    dn_parallel_slice ((size_t) j->n, t, n_tasks, &b0, &b1);
    for (size_t b = b0; b < b1; b++) {
        const float *r = j->r + b * j->ld_sample;
        float *s = j->s + b * numel, *out = pool != NULL ? buf : j->out + b * numel;
        if (S == 1) {
            for (int c0 = 0; c0 < C; c0 += CHUNK)
                forward_chunk (j, 1, MIN (CHUNK, C - c0), j->w + c0, r + c0, s + c0, ld_s,
                               out + c0);
            continue;
        }
        for (int c = 0; c < C; c++)
            for (int p0 = 0; p0 < S; p0 += CHUNK) {
                size_t o = (size_t) c * S + p0;
                forward_chunk (j, 0, MIN (CHUNK, S - p0), j->w + c, r + o, s + o, ld_s, out + o);
            }
        if (pool != NULL)
            dn_cpu_maxpool2d_forward (j->be, pool, 1, buf, j->out + b * ys, j->f->argmax + b * ys);
    }
}

static int combine_tasks (size_t elements, int parts)
{
    if (elements < PAR_MIN_ELEMENTS)
        return 1;
    return MAX (1, MIN (dn_cpu_threads (), parts));
}

// r is (k + 1 slots, n, c, spatial) with strides ld_slot, ld_sample; w is (k + k(k-1)/2, c);
// s is (k, n, c, spatial), out (n, c, spatial)
void dn_cpu_dendrite_forward (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                              const float *w, const float *r, size_t ld_slot, size_t ld_sample,
                              const DnConvFusion *f, float *s, float *out)
{
    CombineJob job = {.be = be,
                      .act = act,
                      .f = f,
                      .relu = f != NULL && f->relu,
                      .k = k,
                      .n = n,
                      .c = c,
                      .spatial = spatial,
                      .w = w,
                      .r = r,
                      .ld_slot = ld_slot,
                      .ld_sample = ld_sample,
                      .s = s,
                      .out = out};
    dn_parallel_run (combine_tasks ((size_t) n * c * spatial, n), forward_task, &job);
}

/* Adds sum_e a[e] * b[e] to dw[0] (ws = 0) or a[e] * b[e] to dw[e] (ws = 1). */
static G_ALWAYS_INLINE inline void dot_add (int ws, int len, const float *restrict a,
                                            const float *restrict b, float *restrict dw)
{
    if (ws == 0) {
        dw[0] += lane_dot (len, a, b);
        return;
    }
    for (int e = 0; e < len; e++)
        dw[e] += a[e] * b[e];
}

/* The chain rule through one chunk (layout as in forward_chunk), dendrites in decreasing
 * order: da_m of every later dendrite is in dr before dendrite i needs it. dw points at
 * the chunk's channel in the packed weight gradients. */
static G_ALWAYS_INLINE inline void backward_chunk (const CombineJob *j, int ws, int len,
                                                   const float *w, const float *s, size_t ld_s,
                                                   const float *restrict out,
                                                   const float *restrict dout, float *dr,
                                                   float *dw)
{
    const int k = j->k, C = j->c;
    float ds[CHUNK], gm[CHUNK];
    const float *restrict g = dout;
    if (out != NULL) { /* a fused ReLU without pooling */
        for (int e = 0; e < len; e++)
            gm[e] = out[e] > 0.0f ? dout[e] : 0.0f;
        g = gm;
    }
    for (int e = 0; e < len; e++)
        dr[e] = g[e];
    for (int i = k - 1; i >= 0; i--) {
        const float *restrict si = s + (size_t) i * ld_s;
        float *restrict da = dr + (size_t) (i + 1) * j->ld_slot;
        const float *restrict t = w + (size_t) i * C;
        dot_add (ws, len, g, si, dw + (size_t) i * C);
        /* ds_i = T[i] * g + sum_{m>i} D2D[m][i] * da_m */
        for (int e = 0; e < len; e++)
            ds[e] = t[e * ws] * g[e];
        for (int m = i + 1; m < k; m++) {
            const float *restrict wm = w + cascade_row (k, m, i) * C;
            const float *restrict dam = dr + (size_t) (m + 1) * j->ld_slot;
            for (int e = 0; e < len; e++)
                ds[e] += wm[e * ws] * dam[e];
        }
        for (int e = 0; e < len; e++)
            da[e] = 0.0f;
        /* act'(a) from s: relu's derivative is 1 where s > 0, like where a > 0 */
        dn_cpu_act_backward (NULL, j->act, 0.0f, len, si, si, ds, da);
        for (int m = 0; m < i; m++)
            dot_add (ws, len, da, s + (size_t) m * ld_s, dw + cascade_row (k, i, m) * C);
    }
}

/* One channel's gradient at the module output, g (S), from the pooled output y and its
 * gradient dy (Q each): every pooled gradient goes to its argmax where the ReLU (if any)
 * passed, as the ReLU and max-pool layers' backward would do it. */
static void unpool_plane (const CombineJob *j, int S, int Q, const float *restrict y,
                          const float *restrict dy, const int32_t *restrict argmax,
                          float *restrict g)
{
    memset (g, 0, (size_t) S * sizeof (float));
    for (int q = 0; q < Q; q++)
        if (!j->relu || y[q] > 0.0f)
            g[argmax[q]] += dy[q];
}

static void backward_task (int t, int n_tasks, gpointer data)
{
    const CombineJob *j = data;
    const int C = j->c, S = j->spatial;
    const size_t numel = (size_t) C * S, ld_s = (size_t) j->n * numel, ys = out_size (j);
    const DnConvGeom *pool = j->f != NULL ? j->f->pool : NULL;
    const int Q = pool != NULL ? pool->oh * pool->ow : 0;
    g_autofree float *plane = pool != NULL ? g_new (float, S) : NULL;
    size_t c_lo, c_hi;
    dn_parallel_slice ((size_t) C, t, n_tasks, &c_lo, &c_hi);
    for (int b = 0; b < j->n; b++) {
        const float *s = j->s_in + (size_t) b * numel, *g = j->dout + (size_t) b * ys;
        const float *out = j->out_in != NULL ? j->out_in + (size_t) b * ys : NULL;
        float *dr = j->dr + (size_t) b * j->ld_sample;
        if (pool != NULL) {
            for (size_t c = c_lo; c < c_hi; c++) {
                unpool_plane (j, S, Q, out + c * Q, g + c * Q, j->f->argmax + b * ys + c * Q,
                              plane);
                for (int p0 = 0; p0 < S; p0 += CHUNK) {
                    size_t o = c * S + p0;
                    backward_chunk (j, 0, MIN (CHUNK, S - p0), j->w + c, s + o, ld_s, NULL,
                                    plane + p0, dr + o, j->dw + c);
                }
            }
            continue;
        }
        if (!j->relu)
            out = NULL;
        if (S == 1) {
            for (size_t c0 = c_lo; c0 < c_hi; c0 += CHUNK)
                backward_chunk (j, 1, (int) MIN (CHUNK, c_hi - c0), j->w + c0, s + c0, ld_s,
                                out != NULL ? out + c0 : NULL, g + c0, dr + c0, j->dw + c0);
            continue;
        }
        for (size_t c = c_lo; c < c_hi; c++)
            for (int p0 = 0; p0 < S; p0 += CHUNK) {
                size_t o = c * S + p0;
                backward_chunk (j, 0, MIN (CHUNK, S - p0), j->w + c, s + o, ld_s,
                                out != NULL ? out + o : NULL, g + o, dr + o, j->dw + c);
            }
    }
}

// dout and out (NULL without fusion) are (n, c, spatial) or the fused output's shape,
// s (k, n, c, spatial); dr has r's layout; dw is w's
void dn_cpu_dendrite_backward (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                               const float *w, const float *s, const DnConvFusion *f,
                               const float *out, const float *dout, float *dr, size_t ld_slot,
                               size_t ld_sample, float *dw)
{
    CombineJob job = {.be = be,
                      .act = act,
                      .f = f,
                      .relu = f != NULL && f->relu,
                      .k = k,
                      .n = n,
                      .c = c,
                      .spatial = spatial,
                      .w = w,
                      .dout = dout,
                      .out_in = out,
                      .ld_slot = ld_slot,
                      .ld_sample = ld_sample,
                      .s_in = s,
                      .dr = dr,
                      .dw = dw};
    dn_parallel_run (combine_tasks ((size_t) n * c * spatial, c), backward_task, &job);
}
