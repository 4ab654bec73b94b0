/* dn-layer-candidate.c: the dendritic node's side of perforated backpropagation
 * (dn-layer-dendritic.h says what the modes do).
 *
 * During a dendrite phase the newest dendrite i = k - 1 of a node (copy c = k) is
 * the candidate. With s (batch, C, S) its output after the forward function, a its
 * input to that function and e the loss gradient at the module's output (slot 0 of
 * the combination's gradients: d out / d y = 1), per sample b and channel c
 *
 *   v_bc = R_p s_bcp,  e'_bc = R_p e_bcp    (R: mean over the S positions, or sum)
 *
 * and the objective (dn_candidate_objective) is a function of v and e'. Its gradient
 * goes back through R and the forward function into a, then into the candidate's
 * layers (their input gradient is not needed) and into its cascade row:
 *
 *   d D2D[i][j][c] = sum_{b,p} da_bcp s_j,bcp       D2D[i] (i, C)
 *
 * The statistics are small next to a batch's forward and backward, so they run on
 * the host: in place where the backend's memory is the host's, else on copies.
 * Channels stay apart in the candidate: row c of every parameter (its first axis is
 * the output channel) and column c of the cascade weights make channel c, which is
 * what lets each channel keep the weights of its own best epoch.
 */
#include "dn-error.h"
#include "dn-layer-private.h"

#include <math.h>
#include <string.h>

void dn_dendritic_set_mode (DnLayer *l, DnDendriticMode mode, gboolean learn_live)
{
    DnDendritic *self = (DnDendritic *) l;
    self->mode = mode;
    self->learn_live = learn_live;
    self->use_fused = self->want_fused && self->fused != NULL && mode == DN_DENDRITIC_GD;
}

DnDendriticMode dn_dendritic_mode (const DnLayer *l)
{
    return ((const DnDendritic *) l)->mode;
}

/* The index of the first cascade matrix (or T when there is none) in l->params:
 * everything before it that does not belong to the neuron module is a dendrite's. */
static int first_dendrite_param (const DnDendritic *self)
{
    return self->k > 0 ? self->dend[0].first_param[0] : self->parent.n_params;
}

gboolean dn_dendritic_is_dendrite_param (const DnLayer *l, int p)
{
    const DnDendritic *self = (const DnDendritic *) l;
    if (self->k == 0 || p == self->t_param)
        return FALSE;
    return p >= first_dendrite_param (self);
}

/* The candidate's cascade row D2D[k-1] (shape (k - 1, C)), or -1 when k < 2. */
static int cascade_param (const DnDendritic *self)
{
    return self->k >= 2 ? self->d2d_param + self->k - 2 : -1;
}

int dn_dendritic_candidate_params (const DnLayer *l, int idx[DN_LAYER_MAX_PARAMS])
{
    const DnDendritic *self = (const DnDendritic *) l;
    int n = 0;
    if (self->k == 0)
        return 0;
    const DnChain *ch = &self->dend[self->k - 1];
    for (int i = 0; i < ch->n; i++)
        for (int j = 0; j < ch->layers[i]->n_params; j++)
            idx[n++] = ch->first_param[i] + j;
    if (cascade_param (self) >= 0)
        idx[n++] = cascade_param (self);
    return n;
}

gboolean dn_dendritic_candidate_check (const DnLayer *l, GError **error)
{
    const DnDendritic *self = (const DnDendritic *) l;
    for (int i = 0; i < self->main.n; i++) {
        const DnLayer *sub = self->main.layers[i];
        const char *type = sub->klass->type;
        gboolean mixes = g_str_equal (type, "layernorm") || g_str_equal (type, "softmax") ||
                         g_str_equal (type, "log_softmax");
        for (int j = 0; j < sub->n_params && !mixes; j++)
            mixes = sub->params[j].shape.ndim < 1 || sub->params[j].shape.d[0] != self->channels;
        if (mixes) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "layer '%s' (dendritic): its module's %s mixes output channels, so "
                         "perforated backpropagation cannot train one candidate per channel; "
                         "leave '%s' out of the module (\"groups\") or use gradient-descent "
                         "dendrites",
                         l->name, type, l->name);
            return FALSE;
        }
    }
    return TRUE;
}

size_t dn_dendritic_candidate_size (const DnLayer *l)
{
    int idx[DN_LAYER_MAX_PARAMS];
    int n = dn_dendritic_candidate_params (l, idx);
    size_t m = 0;
    for (int i = 0; i < n; i++)
        m += (size_t) dn_shape_numel (&l->params[idx[i]].shape);
    return m;
}

void dn_dendritic_candidate_save_channel (DnLayer *l, DnBackend *be, int c, float *snap)
{
    DnDendritic *self = (DnDendritic *) l;
    int idx[DN_LAYER_MAX_PARAMS];
    int n = dn_dendritic_candidate_params (l, idx);
    const int C = self->channels;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        DnParam *p = &l->params[idx[i]];
        size_t m = (size_t) dn_shape_numel (&p->shape);
        if (idx[i] == cascade_param (self)) {
            for (int64_t j = 0; j < p->shape.d[0]; j++)
                be->download (be, snap + off + j * C + c, p->value + j * C + c, sizeof (float));
        } else {
            size_t row = m / C;
            be->download (be, snap + off + c * row, p->value + c * row, row * sizeof (float));
        }
        off += m;
    }
}

void dn_dendritic_candidate_load (DnLayer *l, DnBackend *be, const float *snap)
{
    int idx[DN_LAYER_MAX_PARAMS];
    int n = dn_dendritic_candidate_params (l, idx);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        DnParam *p = &l->params[idx[i]];
        size_t m = (size_t) dn_shape_numel (&p->shape);
        be->upload (be, p->value, snap + off, m * sizeof (float));
        off += m;
    }
}

/* Per row r of x (rows, S): the mean or sum of its S values, summed in double in
 * position order. Four rows at a time: four independent sums in flight, each in the
 * same order as alone, so the same numbers in a quarter of the additions' latency. */
static void reduce_positions (const float *x, size_t rows, int S, gboolean by_mean, float *out)
{
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *p = x + r * S;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        for (int q = 0; q < S; q++) {
            s0 += p[q];
            s1 += p[S + q];
            s2 += p[2 * S + q];
            s3 += p[3 * S + q];
        }
        double sums[4] = {s0, s1, s2, s3};
        for (int i = 0; i < 4; i++)
            out[r + i] = (float) (by_mean ? sums[i] / S : sums[i]);
    }
    for (; r < rows; r++) {
        const float *p = x + r * S;
        double sum = 0.0;
        for (int q = 0; q < S; q++)
            sum += p[q];
        out[r] = (float) (by_mean ? sum / S : sum);
    }
}

/* The candidate's slot of the combination's gradients (copies one by one: slot c at
 * c * batch * numel). */
static float *grad_slot (DnDendritic *self, int c, int batch)
{
    return self->douts[self->main.n - 1] + (size_t) c * batch * self->numel;
}

/* n floats of the backend's buffer src for the host to read: src itself where the
 * backend's memory is the host's, else a copy in *copy (g_free it). */
static const float *host_view (DnBackend *be, const float *src, size_t n, float **copy)
{
    *copy = NULL;
    if (be->host_memory)
        return src;
    *copy = g_new (float, n);
    be->download (be, *copy, src, n * sizeof (float));
    return *copy;
}

gboolean dn_dendritic_candidate_values (DnLayer *l, gboolean by_mean, int batch, float *v, float *e)
{
    DnDendritic *self = (DnDendritic *) l;
    if (l->klass != &dn_dendritic_class || self->k == 0 || self->s == NULL ||
        self->mode != DN_DENDRITIC_PB_CANDIDATE || batch != self->last_batch)
        return FALSE;
    DnBackend *be = self->be;
    size_t n = self->numel * batch, rows = (size_t) batch * self->channels;
    float *copy;
    const float *h = host_view (be, self->s + (size_t) (self->k - 1) * n, n, &copy);
    reduce_positions (h, rows, self->spatial, by_mean, v);
    g_free (copy);
    h = host_view (be, grad_slot (self, 0, batch), n, &copy);
    reduce_positions (h, rows, self->spatial, by_mean, e);
    g_free (copy);
    return TRUE;
}

/* da = g * d s / d a over S positions of one (b, c), from s = sigma(a), for the
 * dendrites' forward functions; one loop per function so each vectorises. */
static void act_slope_scale (DnAct act, float g, const float *restrict s, int S, float *restrict da)
{
    switch (act) {
    case DN_ACT_SIGMOID:
        for (int q = 0; q < S; q++)
            da[q] = g * (s[q] * (1.0f - s[q]));
        break;
    case DN_ACT_TANH:
        for (int q = 0; q < S; q++)
            da[q] = g * (1.0f - s[q] * s[q]);
        break;
    default: /* relu */
        for (int q = 0; q < S; q++)
            da[q] = g * (s[q] > 0.0f ? 1.0f : 0.0f);
        break;
    }
}

void dn_dendritic_candidate_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *x,
                                      const float *dv, gboolean by_mean)
{
    DnDendritic *self = (DnDendritic *) l;
    DnBackend *be = ctx->backend;
    const int C = self->channels, S = self->spatial, k = self->k;
    const size_t n = self->numel * batch;
    g_return_if_fail (k > 0 && self->s != NULL && !self->use_fused && batch == self->last_batch);
    /* every dendrite's s (k, batch, C, S): the candidate's and, for its cascade row,
     * the earlier ones'; da goes straight into the candidate's gradient slot where the
     * backend's memory is the host's */
    float *s_copy;
    const float *s = host_view (be, self->s, (size_t) k * n, &s_copy);
    float *da = be->host_memory ? grad_slot (self, k, batch) : g_new (float, n);
    const float *sc = s + (size_t) (k - 1) * n;
    const float scale = by_mean ? 1.0f / S : 1.0f;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < C; c++) {
            size_t o = ((size_t) b * C + c) * S;
            act_slope_scale (self->act, dv[(size_t) b * C + c] * scale, sc + o, S, da + o);
        }
    int cp = cascade_param (self);
    if (cp >= 0) {
        DnParam *p = &l->params[cp];
        float *grad = be->host_memory ? p->grad : g_new (float, (size_t) (k - 1) * C);
        if (!be->host_memory)
            be->download (be, grad, p->grad, (size_t) (k - 1) * C * sizeof (float));
        for (int j = 0; j < k - 1; j++)
            for (int c = 0; c < C; c++) {
                double sum = 0.0;
                for (int b = 0; b < batch; b++) {
                    size_t o = ((size_t) b * C + c) * S;
                    for (int q = 0; q < S; q++)
                        sum += (double) da[o + q] * s[(size_t) j * n + o + q];
                }
                grad[j * C + c] += (float) sum;
            }
        if (!be->host_memory) {
            be->upload (be, p->grad, grad, (size_t) (k - 1) * C * sizeof (float));
            g_free (grad);
        }
    }
    /* a = D(x) + cascade: da is the gradient of the candidate module's output */
    if (!be->host_memory) {
        be->upload (be, grad_slot (self, k, batch), da, n * sizeof (float));
        g_free (da);
    }
    g_free (s_copy);
    const int nl = self->main.n;
    for (int j = 0; j < nl - 1; j++) {
        size_t m = _dn_dendritic_out_numel (self->main.layers[j]) * batch;
        be->zero (be, self->douts[j] + (size_t) k * m, m);
    }
    _dn_dendritic_chain_backward (self, k, 0, ctx, batch, x, grad_slot (self, k, batch), NULL,
                                  NULL);
}

double dn_candidate_objective (int batch, int channels, const float *v, const float *e,
                               const double *mean_v, const double *mean_e, gboolean normalized,
                               double *score, float *dv)
{
    /* per channel: cov, vv, ee; samples outer, channels inner, each sum in sample order */
    double *acc = g_new0 (double, 3 * (size_t) channels);
    double *cov = acc, *vv = acc + channels, *ee = acc + 2 * (size_t) channels;
    for (int b = 0; b < batch; b++) {
        const float *vb = v + (size_t) b * channels, *eb = e + (size_t) b * channels;
        for (int c = 0; c < channels; c++) {
            double dvb = vb[c] - mean_v[c];
            double deb = eb[c] - mean_e[c];
            cov[c] += dvb * deb;
            vv[c] += dvb * dvb;
            ee[c] += deb * deb;
        }
    }
    double total = 0.0;
    for (int c = 0; c < channels; c++) {
        cov[c] /= batch;
        vv[c] /= batch;
        ee[c] /= batch;
        double norm = normalized ? sqrt (vv[c] * ee[c] + 1e-12) : 1.0;
        double r = cov[c] / norm;
        double sign = r > 0.0 ? 1.0 : r < 0.0 ? -1.0 : 0.0;
        score[c] = fabs (r);
        total += score[c];
        if (dv == NULL)
            continue;
        /* d r / d v_b = (e_b - me) / (B norm) - r ee (v_b - mv) / (B norm^2) */
        for (int b = 0; b < batch; b++) {
            double dvb = v[(size_t) b * channels + c] - mean_v[c];
            double deb = e[(size_t) b * channels + c] - mean_e[c];
            double g = deb / (batch * norm);
            if (normalized)
                g -= r * ee[c] * dvb / (batch * norm * norm);
            dv[(size_t) b * channels + c] = (float) (sign * g);
        }
    }
    g_free (acc);
    return total;
}
