/* dn-continual.c: the continual-learning loop (docs/continual.md).
 *
 * For each task t: its prototype (the mean of its normalised, permuted training
 * images) joins the stored ones; the network trains for epochs_per_task epochs
 * with the task's context shared by every sample of a batch; then it is evaluated
 * on the test images of tasks 0..t, each image getting the nearest stored
 * prototype as its context (no task id). Synaptic Intelligence, when on, adds its
 * penalty gradient before each optimizer step and accumulates importance.
 */
#include "dn-continual.h"
#include "dn-error.h"
#include "dn-json.h"
#include "dn-model.h"
#include "dn-run-dir.h"
#include "dn-train-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    guint64 reuse_serial; /* last DnCtx.segment_reuse given out */
    DnExperiment *exp;
    const DnContinualConfig *cfg;
    const DnRunOptions *opts;
    const DnObserver *obs;
    DnBackend *be;
    RunData d;
    DnNetwork *net;
    DnOptimizer *opt;
    DnRng rng;
    guint64 seed;
    DnRunDir *dir; /* locked for the whole run */
    char *run_dir;
    int T, npix, bsz, ebs, cols, ctx_dim;
    int *perms;          /* T * npix */
    float *protos;       /* T * npix, host */
    float *protos_dev;   /* T * npix on the device */
    float *onehot_dev;   /* T * T on the device (task-id contexts) */
    float *proto_norms;  /* T, host */
    /* batch buffers (host and device) */
    float *xb, *xp, *x_dev, *dlogits, *targets, *dist_dev, *dist;
    int32_t *y, *ctx_idx, *ctx_idx_dev;
    int *idx;
    double *matrix; /* T * T percents, NaN where not measured */
    /* Synaptic Intelligence over the covered spans of the parameter arena */
    GArray *si_spans; /* (offset, length) pairs */
    size_t si_n;
    float *si_omega, *si_big_omega, *si_star, *si_prev;
    gboolean cancelled;
    double seconds;
    /* profile (opts->profile): seconds outside the layers, and per task */
    double t_data, t_loss, t_opt, t_eval;
    GArray *task_seconds;
    /* latest.safetensors: when the last write ended (monotonic µs; 0: none yet) and
     * how long it took */
    gint64 last_save_end;
    double last_save_secs;
    gboolean save_skip_logged;
    int saved_next_task;
    /* Idle segment rows (dn_optimizer_idle_exact): per tracked parameter, the step
     * count when each row went idle; NULL when not used */
    GArray *idle; /* IdleParam */
    int idle_check;
    gint64 idle_row_steps, row_steps; /* for the profile: row updates skipped, and all */
} Cl;

static double since (gint64 t0)
{
    return (g_get_monotonic_time () - t0) / 1e6;
}

/* ---- Synaptic Intelligence ---- */

/* Every trainable parameter except segment weights (the reference's choice). */
static gboolean si_setup (Cl *c, GError **error)
{
    c->si_spans = g_array_new (FALSE, FALSE, sizeof (size_t));
    g_autoptr (GPtrArray) named = dn_network_named_params (c->net);
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = named->pdata[i];
        if (!np->param->trainable || np->param->row_len > 0)
            continue;
        size_t pair[2] = {(size_t) (np->param->value - c->net->params),
                          (size_t) dn_shape_numel (&np->param->shape)};
        g_array_append_vals (c->si_spans, pair, 2);
        c->si_n += pair[1];
    }
    /* four copies of the covered parameters: as many as the network file asks for */
    gsize bytes = c->si_n * sizeof (float);
    return (c->si_omega = dn_try_malloc0 (bytes, "Synaptic Intelligence's omega", error)) != NULL &&
           (c->si_big_omega = dn_try_malloc0 (bytes, "Synaptic Intelligence's Omega", error)) !=
               NULL &&
           (c->si_star = dn_try_malloc0 (bytes, "Synaptic Intelligence's anchor weights", error)) !=
               NULL &&
           (c->si_prev =
                dn_try_malloc0 (bytes, "Synaptic Intelligence's previous weights", error)) != NULL;
}

/* Gathers the covered parameters (device) into a host array. */
static void si_gather (Cl *c, const float *arena, float *out)
{
    size_t k = 0;
    for (guint i = 0; i < c->si_spans->len; i += 2) {
        size_t off = g_array_index (c->si_spans, size_t, i);
        size_t len = g_array_index (c->si_spans, size_t, i + 1);
        c->be->download (c->be, out + k, arena + off, len * sizeof (float));
        k += len;
    }
}

/* The CPU backend's arena is host memory: SI then works on it in place, span by
 * span; other devices go through host copies. */
static gboolean si_in_place (Cl *c)
{
    return g_str_equal (c->be->name, "cpu");
}

/* loss += c * sum Omega (theta - theta*)^2; grad += 2 c Omega (theta - theta*). */
static double si_penalty (Cl *c, float *scratch_theta, float *scratch_grad)
{
    double pen = 0.0;
    if (si_in_place (c)) {
        size_t k = 0;
        for (guint i = 0; i < c->si_spans->len; i += 2) {
            size_t off = g_array_index (c->si_spans, size_t, i);
            size_t len = g_array_index (c->si_spans, size_t, i + 1);
            pen += dn_si_penalty (len, c->net->params + off, c->si_star + k, c->si_big_omega + k,
                                  c->cfg->si_c, c->net->grads + off);
            k += len;
        }
        return pen;
    }
    si_gather (c, c->net->params, scratch_theta);
    si_gather (c, c->net->grads, scratch_grad);
    pen = dn_si_penalty (c->si_n, scratch_theta, c->si_star, c->si_big_omega, c->cfg->si_c,
                         scratch_grad);
    size_t k = 0;
    for (guint i = 0; i < c->si_spans->len; i += 2) {
        size_t off = g_array_index (c->si_spans, size_t, i);
        size_t len = g_array_index (c->si_spans, size_t, i + 1);
        c->be->upload (c->be, c->net->grads + off, scratch_grad + k, len * sizeof (float));
        k += len;
    }
    return pen;
}

/* After a step: omega -= grad * (theta - theta_prev); theta_prev = theta. */
static void si_after_step (Cl *c, float *scratch_theta, float *scratch_grad)
{
    if (si_in_place (c)) {
        size_t k = 0;
        for (guint i = 0; i < c->si_spans->len; i += 2) {
            size_t off = g_array_index (c->si_spans, size_t, i);
            size_t len = g_array_index (c->si_spans, size_t, i + 1);
            dn_si_accumulate (len, c->net->grads + off, c->net->params + off, c->si_prev + k,
                              c->si_omega + k);
            k += len;
        }
        return;
    }
    si_gather (c, c->net->params, scratch_theta);
    si_gather (c, c->net->grads, scratch_grad);
    dn_si_accumulate (c->si_n, scratch_grad, scratch_theta, c->si_prev, c->si_omega);
}

/* At a task's end: Omega += relu(omega) / (delta^2 + xi); theta* = theta; omega = 0. */
static void si_end_task (Cl *c, float *scratch_theta)
{
    si_gather (c, c->net->params, scratch_theta);
    dn_si_consolidate (c->si_n, scratch_theta, c->si_star, c->si_omega, c->si_big_omega,
                       c->cfg->si_xi);
}

/* ---- data ---- */

/* Normalised samples idx[0..n) of `data`, permuted for task t, on the device. */
static void task_batch (Cl *c, const DnDataset *data, int t, const int *idx, int n)
{
    dn_dataset_get_batch (data, idx, n, &c->d.norm, c->xb, c->y);
    const int *perm = c->perms + (size_t) t * c->npix;
    for (int b = 0; b < n; b++) {
        const float *src = c->xb + (size_t) b * c->npix;
        float *dst = c->xp + (size_t) b * c->npix;
        for (int i = 0; i < c->npix; i++)
            dst[i] = src[perm[i]];
    }
    c->be->upload (c->be, c->x_dev, c->xp, (size_t) n * c->npix * sizeof (float));
}

static gboolean compute_prototypes (Cl *c, GError **error)
{
    const DnDataset *tr = c->d.train;
    g_autofree double *sum =
        dn_try_malloc0 ((gsize) c->npix * sizeof (double), "the pixel sums of a prototype", error);
    if (sum == NULL)
        return FALSE;
    int *idx = c->idx; /* maxb >= bsz entries */
    for (int s = 0; s < tr->n; s += c->bsz) {
        int n = MIN (c->bsz, tr->n - s);
        for (int i = 0; i < n; i++)
            idx[i] = s + i;
        dn_dataset_get_batch (tr, idx, n, &c->d.norm, c->xb, c->y);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < c->npix; i++)
                sum[i] += c->xb[(size_t) b * c->npix + i];
    }
    /* Permuting commutes with the mean: task t's prototype is p_0 permuted. */
    for (int t = 0; t < c->T; t++) {
        const int *perm = c->perms + (size_t) t * c->npix;
        float *p = c->protos + (size_t) t * c->npix;
        double norm = 0.0;
        for (int i = 0; i < c->npix; i++) {
            p[i] = (float) (sum[perm[i]] / tr->n);
            norm += (double) p[i] * p[i];
        }
        c->proto_norms[t] = (float) norm;
    }
    c->be->upload (c->be, c->protos_dev, c->protos, (size_t) c->T * c->npix * sizeof (float));
    return TRUE;
}

/* Nearest of prototypes 0..n_protos-1 for each of the n samples in x_dev (and xp on
 * the host): |x|^2 - 2 x.p + |p|^2, the x.p by one GEMM. */
static void nearest_prototypes (Cl *c, int n, int n_protos)
{
    c->be->gemm (c->be, FALSE, TRUE, n, n_protos, c->npix, 1.0f, c->x_dev, c->npix, c->protos_dev,
                 c->npix, 0.0f, c->dist_dev, n_protos);
    c->be->download (c->be, c->dist, c->dist_dev, (size_t) n * n_protos * sizeof (float));
    for (int b = 0; b < n; b++) {
        int best = 0;
        float bd = INFINITY;
        for (int p = 0; p < n_protos; p++) {
            float d = c->proto_norms[p] - 2.0f * c->dist[(size_t) b * n_protos + p];
            if (d < bd) {
                bd = d;
                best = p;
            }
        }
        c->ctx_idx[b] = best;
    }
}

/* Sets the context table for training on task t. */
static void train_context (Cl *c, int t)
{
    switch (c->cfg->context) {
    case DN_CONTEXT_PROTOTYPE:
        dn_network_set_contexts (c->net, c->protos_dev + (size_t) t * c->npix, 1, c->npix);
        break;
    case DN_CONTEXT_TASK_ID:
        dn_network_set_contexts (c->net, c->onehot_dev + (size_t) t * c->T, 1, c->T);
        break;
    case DN_CONTEXT_NONE:
        dn_network_set_contexts (c->net, NULL, 0, 0);
        break;
    }
}

/* Accuracy (percent) on task j's test images after training tasks 0..seen-1; counts
 * the images whose nearest prototype is their own task in *inferred_ok. */
static double evaluate_task (Cl *c, int j, int seen, int64_t *inferred_ok)
{
    const DnDataset *te = c->d.test;
    DnBackend *be = c->be;
    gint64 t0 = g_get_monotonic_time ();
    gboolean profile = c->net->ctx.profile;
    c->net->ctx.profile = FALSE;
    if (c->cfg->context == DN_CONTEXT_PROTOTYPE)
        dn_network_set_contexts (c->net, c->protos_dev, seen, c->npix);
    else
        train_context (c, j); /* task id given; none: no context */
    int64_t correct = 0;
    for (int s = 0; s < te->n; s += c->ebs) {
        int n = MIN (c->ebs, te->n - s);
        for (int i = 0; i < n; i++)
            c->idx[i] = s + i;
        task_batch (c, te, j, c->idx, n);
        if (c->cfg->context == DN_CONTEXT_PROTOTYPE) {
            nearest_prototypes (c, n, seen);
            for (int b = 0; b < n; b++)
                *inferred_ok += c->ctx_idx[b] == j;
            be->upload (be, c->ctx_idx_dev, c->ctx_idx, (size_t) n * sizeof (int32_t));
            dn_network_set_context_index (c->net, c->ctx_idx_dev);
        }
        const DnTensor *out = dn_network_forward (c->net, c->x_dev, n, 0);
        correct += be->count_correct (be, n, c->cols, out->data, c->y);
    }
    dn_network_set_context_index (c->net, NULL);
    c->net->ctx.profile = profile;
    c->t_eval += since (t0);
    return 100.0 * (double) correct / te->n;
}

/* ---- hidden activity (the paper's Figure 6) ---- */

static int activity_node (Cl *c, GError **error)
{
    if (c->cfg->activity_layer != NULL) {
        for (int i = 0; i < dn_network_n_nodes (c->net); i++)
            if (g_str_equal (dn_network_node (c->net, i)->name, c->cfg->activity_layer))
                return i;
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "\"continual\": \"activity_layer\" names '%s', which is not a layer of the "
                     "network",
                     c->cfg->activity_layer);
        return -2;
    }
    int found = -1;
    for (const char *kind = "kwta"; found < 0 && kind != NULL;
         kind = g_str_equal (kind, "kwta") ? "relu" : NULL)
        for (int i = dn_network_n_nodes (c->net) - 1; i >= 0 && found < 0; i--) {
            DnLayer *l = dn_network_node (c->net, i)->layer;
            if (g_str_equal (l->klass->type, kind) && l->out_shape.ndim == 1)
                found = i;
        }
    return found;
}

/* Fraction of each task's sampled test images on which each unit is non-zero. */
static float *measure_activity (Cl *c, int node_i, int *units_out)
{
    DnNode *node = dn_network_node (c->net, node_i);
    int units = (int) dn_shape_numel (&node->layer->out_shape);
    const DnDataset *te = c->d.test;
    int total = MIN (c->cfg->activity_samples, c->T * te->n);
    g_autofree int64_t *count = g_new0 (int64_t, (size_t) c->T * units);
    g_autofree int *seen = g_new0 (int, c->T);
    g_autofree float *act = g_new (float, (size_t) c->ebs * units);
    DnRng rng;
    dn_rng_seed (&rng, c->seed ^ 0xac71u);
    /* Sample (task, image) pairs, then run them task by task (one permutation per batch). */
    g_autofree int *pick_task = g_new (int, total);
    g_autofree int *pick_img = g_new (int, total);
    for (int k = 0; k < total; k++) {
        pick_task[k] = (int) dn_rng_below (&rng, (uint32_t) c->T);
        pick_img[k] = (int) dn_rng_below (&rng, (uint32_t) te->n);
    }
    if (c->cfg->context == DN_CONTEXT_PROTOTYPE)
        dn_network_set_contexts (c->net, c->protos_dev, c->T, c->npix);
    for (int t = 0; t < c->T; t++) {
        if (c->cfg->context != DN_CONTEXT_PROTOTYPE)
            train_context (c, t);
        int n = 0;
        for (int k = 0; k <= total; k++) {
            if (k < total && pick_task[k] == t)
                c->idx[n++] = pick_img[k];
            if (n == c->ebs || (k == total && n > 0)) {
                task_batch (c, te, t, c->idx, n);
                if (c->cfg->context == DN_CONTEXT_PROTOTYPE) {
                    nearest_prototypes (c, n, c->T);
                    c->be->upload (c->be, c->ctx_idx_dev, c->ctx_idx, (size_t) n * sizeof (int32_t));
                    dn_network_set_context_index (c->net, c->ctx_idx_dev);
                }
                dn_network_forward (c->net, c->x_dev, n, 0);
                c->be->download (c->be, act, node->out.data, (size_t) n * units * sizeof (float));
                for (int b = 0; b < n; b++)
                    for (int u = 0; u < units; u++)
                        count[(size_t) t * units + u] += act[(size_t) b * units + u] != 0.0f;
                seen[t] += n;
                n = 0;
            }
        }
    }
    dn_network_set_context_index (c->net, NULL);
    float *frac = g_new0 (float, (size_t) c->T * units);
    for (int t = 0; t < c->T; t++)
        for (int u = 0; u < units && seen[t] > 0; u++)
            frac[(size_t) t * units + u] = (float) count[(size_t) t * units + u] / seen[t];
    *units_out = units;
    return frac;
}

/* ---- the loop ---- */

static gboolean new_optimizer (Cl *c, GError **error)
{
    g_clear_pointer (&c->opt, dn_optimizer_free);
    dn_network_forget_live_rows (c->net);
    c->opt = dn_optimizer_new (&c->exp->optim, c->be, c->net->n_params, error);
    return c->opt != NULL;
}

/* ---- idle segment rows ----
 * Without optimizer resets (Synaptic Intelligence) every segment row that ever won
 * keeps Adam state, and the update of a row whose gradient is zero moves it by its
 * first moment, which decays by beta1 each step until it rounds to zero or to a
 * subnormal that beta1 no longer shrinks, some 800 steps after the row last won
 * (and then costs subnormal arithmetic in every step). From then on a step moves
 * neither the row nor its first moment and only decays its second moment
 * (dn_optimizer_row_idle). Such rows are marked idle and left out of the steps (and
 * so keep their segment responses); the skipped decays are applied, with the same
 * roundings, when the row gets gradient again or the optimizer state is saved. */

typedef struct {
    DnParam *p;
    size_t off, rows;
    int64_t *since; /* steps done when the row went idle */
} IdleParam;

/* How many steps apart rows are checked for going idle. */
#define IDLE_CHECK_EVERY 8

static gboolean idle_setup (Cl *c, GError **error)
{
    if (c->net->n_tracked == 0 || g_strcmp0 (g_getenv ("DN_IDLE_ROWS"), "0") == 0)
        return TRUE;
    c->idle = g_array_new (FALSE, FALSE, sizeof (IdleParam));
    g_autoptr (GPtrArray) named = dn_network_named_params (c->net);
    for (guint i = 0; i < named->len; i++) {
        DnParam *p = ((DnNamedParam *) named->pdata[i])->param;
        if (!p->trainable || p->row_len == 0)
            continue;
        IdleParam ip = {p, (size_t) (p->value - c->net->params),
                        (size_t) dn_shape_numel (&p->shape) / p->row_len, NULL};
        ip.since = dn_try_malloc0 (ip.rows * sizeof (int64_t), "the idle-row counters", error);
        if (ip.since == NULL)
            return FALSE;
        g_array_append_val (c->idle, ip);
    }
    return TRUE;
}

static void idle_free (Cl *c)
{
    if (c->idle == NULL)
        return;
    for (guint i = 0; i < c->idle->len; i++)
        g_free (g_array_index (c->idle, IdleParam, i).since);
    g_clear_pointer (&c->idle, g_array_unref);
}

static gboolean idle_on (Cl *c)
{
    return c->idle != NULL && dn_optimizer_spans_exact (c->opt) &&
           dn_optimizer_idle_exact (c->opt);
}

/* Applies the decays an idle row missed: to the rows that got gradient in this
 * step (which then take part in it again), or to all (settle). */
static void idle_catch_up (Cl *c, gboolean settle)
{
    int64_t now = dn_optimizer_steps (c->opt);
    guint8 want = settle ? DN_ROW_IDLE : DN_ROW_IDLE | DN_ROW_DIRTY;
    for (guint i = 0; i < c->idle->len; i++) {
        IdleParam *ip = &g_array_index (c->idle, IdleParam, i);
        if (!settle)
            c->row_steps += (gint64) ip->rows;
        for (size_t r = 0; r < ip->rows; r++) {
            if ((ip->p->rows[r] & want) != want) {
                c->idle_row_steps += !settle && (ip->p->rows[r] & DN_ROW_IDLE) != 0;
                continue;
            }
            dn_optimizer_decay_idle (c->opt, ip->off + r * ip->p->row_len, ip->p->row_len,
                                     now - ip->since[r]);
            ip->since[r] = now;
            if (!settle)
                ip->p->rows[r] &= (guint8) ~DN_ROW_IDLE;
        }
    }
}

/* After a step: live rows without gradient that further such steps leave as they
 * are. */
static void idle_find (Cl *c, double lr)
{
    int64_t now = dn_optimizer_steps (c->opt);
    for (guint i = 0; i < c->idle->len; i++) {
        IdleParam *ip = &g_array_index (c->idle, IdleParam, i);
        for (size_t r = 0; r < ip->rows; r++) {
            guint8 f = ip->p->rows[r];
            if ((f & (DN_ROW_LIVE | DN_ROW_IDLE | DN_ROW_DIRTY)) != DN_ROW_LIVE)
                continue;
            if (dn_optimizer_row_idle (c->opt, c->net->params, ip->off + r * ip->p->row_len,
                                       ip->p->row_len, lr)) {
                ip->p->rows[r] |= DN_ROW_IDLE;
                ip->since[r] = now;
            }
        }
    }
}

static void optimizer_step (Cl *c, double lr)
{
    if (c->net->n_tracked > 0 && dn_optimizer_spans_exact (c->opt)) {
        gboolean idle = idle_on (c);
        if (idle)
            idle_catch_up (c, FALSE);
        g_autoptr (GArray) spans = dn_network_live_spans (c->net);
        dn_optimizer_step_spans (c->opt, c->net->params, c->net->grads, lr,
                                 (const size_t *) spans->data, (int) spans->len / 2);
        dn_network_mark_stepped_rows (c->net, FALSE);
        if (idle && ++c->idle_check % IDLE_CHECK_EVERY == 0)
            idle_find (c, lr);
    } else {
        dn_optimizer_step (c->opt, c->net->params, c->net->grads, lr);
        if (c->net->n_tracked > 0)
            dn_network_mark_stepped_rows (c->net, TRUE);
    }
}

static gboolean is_eval_point (const DnContinualConfig *cfg, int t, int T)
{
    if (cfg->n_eval_after == 0 || t == T - 1)
        return TRUE;
    for (int i = 0; i < cfg->n_eval_after; i++)
        if (cfg->eval_after[i] == t)
            return TRUE;
    return FALSE;
}

static gboolean cancelled (Cl *c)
{
    return c->obs != NULL && c->obs->cancel != NULL && g_atomic_int_get (c->obs->cancel);
}

static gboolean train_task_steps (Cl *c, int t, float *si_a, float *si_b, GError **error)
{
    const DnContinualConfig *cfg = c->cfg;
    const DnDataset *tr = c->d.train;
    DnBackend *be = c->be;
    int n_batches = cfg->drop_last ? tr->n / c->bsz : (tr->n + c->bsz - 1) / c->bsz;
    if (n_batches == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the training set has %d samples, fewer than one batch of %d; lower "
                     "\"batch_size\" or set \"drop_last\" to false",
                     tr->n, c->bsz);
        return FALSE;
    }
    g_autofree int *order = dn_data_try_alloc (
        (gsize) tr->n, sizeof (int), "the shuffled order of the training set", tr->source, error);
    if (order == NULL)
        return FALSE;
    double lr = c->exp->optim.lr;
    int every = c->opts->batch_every > 0 ? c->opts->batch_every : 5;
    gboolean si_on = cfg->si && t >= cfg->si_first_task;
    for (int e = 0; e < cfg->epochs_per_task; e++) {
        gint64 t0 = g_get_monotonic_time ();
        dn_rng_permutation (&c->rng, order, tr->n);
        double loss_sum = 0.0;
        int64_t correct = 0, samples = 0;
        dn_network_set_training (c->net, TRUE);
        for (int bi = 0; bi < n_batches; bi++) {
            if (cancelled (c)) {
                c->cancelled = TRUE;
                return TRUE;
            }
            int n = MIN (c->bsz, tr->n - bi * c->bsz);
            gint64 tq = g_get_monotonic_time ();
            task_batch (c, tr, t, order + (size_t) bi * c->bsz, n);
            c->t_data += since (tq);
            train_context (c, t);
            const DnTensor *out = dn_network_forward (c->net, c->x_dev, n, dn_rng_next (&c->rng));
            double loss = 0.0;
            tq = g_get_monotonic_time ();
            dn_compute_loss (be, c->exp->loss, n, c->cols, out->data, c->y, 0.0f, c->targets,
                             &loss, c->dlogits);
            c->t_loss += since (tq);
            if (!isfinite (loss)) {
                g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                             "task %d, epoch %d: the loss became %g; lower the learning rate "
                             "(now %g)",
                             t, e + 1, loss, lr);
                return FALSE;
            }
            correct += be->count_correct (be, n, c->cols, out->data, c->y);
            dn_network_zero_grad (c->net);
            dn_network_backward (c->net, c->dlogits, n);
            tq = g_get_monotonic_time ();
            if (si_on)
                loss += si_penalty (c, si_a, si_b);
            optimizer_step (c, lr);
            if (cfg->si)
                si_after_step (c, si_a, si_b);
            be->synchronize (be);
            c->t_opt += since (tq);
            loss_sum += loss * n;
            samples += n;
            if ((bi + 1) % every == 0 || bi + 1 == n_batches) {
                double secs = (g_get_monotonic_time () - t0) / 1e6;
                DnEvent ev = {.kind = DN_EVENT_BATCH,
                              .task = t,
                              .tasks = c->T,
                              .epoch = e + 1,
                              .epochs = cfg->epochs_per_task,
                              .batch = bi + 1,
                              .n_batches = n_batches,
                              .samples = samples,
                              .loss = loss_sum / samples,
                              .lr = lr,
                              .samples_per_s = samples / MAX (secs, 1e-9),
                              .eta_seconds = secs / (bi + 1) * (n_batches - bi - 1),
                              .accuracy_matrix = c->matrix,
                              .run_dir = c->run_dir};
                dn_emit (c->obs, &ev);
            }
        }
        double secs = (g_get_monotonic_time () - t0) / 1e6;
        dn_network_set_training (c->net, FALSE);
        int64_t inferred = 0;
        double test = evaluate_task (c, t, t + 1, &inferred);
        DnEvent ev = {.kind = DN_EVENT_EPOCH,
                      .task = t,
                      .tasks = c->T,
                      .epoch = e + 1,
                      .epochs = cfg->epochs_per_task,
                      .loss = loss_sum / samples,
                      .train_acc = 100.0 * correct / samples,
                      .val_acc = NAN,
                      .test_acc = test,
                      .lr = lr,
                      .seconds = secs,
                      .samples_per_s = samples / MAX (secs, 1e-9),
                      .params = dn_network_n_params (c->net),
                      .accuracy_matrix = c->matrix,
                      .run_dir = c->run_dir};
        dn_emit (c->obs, &ev);
    }
    return TRUE;
}

/* Within a task the training context is fixed and only optimizer steps move the
 * weights, which mark the segment rows they move: active dendrite layers keep their
 * segment responses between batches and recompute the stale rows only, with the
 * same numbers as recomputing all (DN_SEGMENT_REUSE=0 recomputes all, for checks). */
static gboolean train_task (Cl *c, int t, float *si_a, float *si_b, GError **error)
{
    if (g_strcmp0 (g_getenv ("DN_SEGMENT_REUSE"), "0") != 0)
        c->net->ctx.segment_reuse = ++c->reuse_serial;
    gboolean ok = train_task_steps (c, t, si_a, si_b, error);
    c->net->ctx.segment_reuse = 0;
    return ok;
}

static GHashTable *model_metadata (Cl *c)
{
    GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert (meta, g_strdup ("dendrite_normalize"), dn_normalize_json (&c->d.norm));
    DnClassList classes;
    dn_dataset_classes (c->d.train, &classes);
    g_hash_table_insert (meta, g_strdup ("dendrite_classes"),
                         dn_class_list_to_json (&classes, NULL));
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "{\"tasks\":%d,\"permutation_seed\":%" G_GUINT64_FORMAT
                               ",\"context\":\"%s\",\"prototypes\":[",
                            c->T, c->cfg->permutation_seed, dn_context_kind_name (c->cfg->context));
    for (int t = 0; t < c->T && c->cfg->context == DN_CONTEXT_PROTOTYPE; t++) {
        g_string_append (s, t ? ",[" : "[");
        for (int i = 0; i < c->npix; i++) {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            g_string_append (s, i ? "," : "");
            g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.7g",
                                                 c->protos[(size_t) t * c->npix + i]));
        }
        g_string_append (s, "]");
    }
    g_string_append (s, "]}");
    g_hash_table_insert (meta, g_strdup ("dendrite_continual"), g_string_free (s, FALSE));
    return meta;
}

/* ---- checkpoints: latest.safetensors after every task, for --resume ---- */

static char *run_state_json (Cl *c, int next_task, double elapsed)
{
    GString *s = g_string_new (NULL);
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf (s,
                            "{\"next_task\":%d,\"seed\":%" G_GUINT64_FORMAT ",\"rng\":[\"%016" G_GINT64_MODIFIER
                            "x\",\"%016" G_GINT64_MODIFIER "x\",\"%016" G_GINT64_MODIFIER
                            "x\",\"%016" G_GINT64_MODIFIER "x\"],\"seconds\":%s,\"matrix\":[",
                            next_task, c->seed, (guint64) c->rng.s[0], (guint64) c->rng.s[1],
                            (guint64) c->rng.s[2], (guint64) c->rng.s[3],
                            g_ascii_dtostr (buf, sizeof buf, elapsed));
    for (size_t i = 0; i < (size_t) c->T * c->T; i++)
        g_string_append_printf (s, "%s%s", i ? "," : "",
                                isfinite (c->matrix[i]) ? g_ascii_dtostr (buf, sizeof buf, c->matrix[i])
                                                        : "null");
    g_string_append (s, "],\"task_seconds\":[");
    for (guint i = 0; i < c->task_seconds->len; i++)
        g_string_append_printf (s, "%s%s", i ? "," : "",
                                g_ascii_dtostr (buf, sizeof buf,
                                                g_array_index (c->task_seconds, double, i)));
    g_string_append (s, "]}");
    return g_string_free (s, FALSE);
}

/* SI state first (latest_si.safetensors), then latest.safetensors; both name the
 * task they follow, so a kill between the two is detected on resume. */
static gboolean save_latest (Cl *c, int next_task, double elapsed, GError **error)
{
    g_autofree char *tag = g_strdup_printf ("%d", next_task);
    if (c->cfg->si) {
        g_autofree char *si_path = g_build_filename (c->run_dir, "latest_si.safetensors", NULL);
        DnShape sh = dn_shape_1d ((int64_t) c->si_n);
        DnStWrite t[4] = {{"omega", sh, c->si_omega},
                          {"big_omega", sh, c->si_big_omega},
                          {"theta_star", sh, c->si_star},
                          {"theta_prev", sh, c->si_prev}};
        g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
        g_hash_table_insert (meta, (gpointer) "dendrite_next_task", tag);
        if (!dn_safetensors_write (si_path, t, 4, meta, error))
            return FALSE;
    }
    g_autofree char *path = g_build_filename (c->run_dir, "latest.safetensors", NULL);
    g_autoptr (GHashTable) meta = model_metadata (c);
    g_hash_table_insert (meta, g_strdup ("dendrite_continual_run"),
                         run_state_json (c, next_task, elapsed));
    /* An optimizer that has not stepped yet (just reset) has all-zero state, and
     * after the last task none is needed: the file then says so instead of holding
     * it (over twice the weights with Adam), and resume makes a new one. */
    gboolean fresh = dn_optimizer_steps (c->opt) == 0 || next_task >= c->T;
    if (!fresh && idle_on (c))
        idle_catch_up (c, TRUE);
    if (fresh)
        g_hash_table_insert (meta, g_strdup ("dendrite_optimizer_fresh"), g_strdup ("1"));
    return dn_model_save_checkpoint (c->net, fresh ? NULL : c->opt, path, meta, error);
}

/* latest.safetensors after every task while writing it is cheap; when it is not
 * (a 100-segment network writes over a gigabyte), only once at least nine times
 * its writing time has passed since the last, so it costs at most a tenth of the
 * run. The first task and the last are always saved. */
static gboolean maybe_save_latest (Cl *c, int next_task, gint64 start, GError **error)
{
    gint64 now = g_get_monotonic_time ();
    double since_last = (now - c->last_save_end) / 1e6;
    if (c->last_save_end != 0 && next_task < c->T && since_last < 9.0 * c->last_save_secs) {
        if (!c->save_skip_logged)
            dn_emit_log (c->obs,
                         "latest.safetensors took %.1f s to write; it is now written every "
                         "%.0f s or more (not after every task), so that saving stays under a "
                         "tenth of the run; --resume goes on from the last one written",
                         c->last_save_secs, 9.0 * c->last_save_secs);
        c->save_skip_logged = TRUE;
        return TRUE;
    }
    if (!save_latest (c, next_task, (now - start) / 1e6, error))
        return FALSE;
    c->saved_next_task = next_task;
    c->last_save_end = g_get_monotonic_time ();
    c->last_save_secs = (c->last_save_end - now) / 1e6;
    return TRUE;
}

/* The run state of latest.safetensors ("dendrite_continual_run"), checked member by
 * member against the experiment's task count before anything else is set up. */
typedef struct {
    int next_task;
    guint64 seed;
    guint64 rng[4];
    double elapsed;
    double *matrix; /* T * T, NaN where not measured */
    GArray *task_seconds;
} ClState;

static void cl_state_clear (ClState *s)
{
    g_clear_pointer (&s->matrix, g_free);
    g_clear_pointer (&s->task_seconds, g_array_unref);
}

static gboolean read_state (DnSafetensors *st, const char *path, int T, ClState *out,
                            GError **error)
{
    DnStateReader rs;
    gint64 next_task = 0, seed = 0;
    gboolean ok =
        dn_run_state_init (&rs, path, "dendrite_continual_run",
                           dn_safetensors_metadata (st, "dendrite_continual_run"), error) &&
        dn_run_state_int (&rs, "next_task", 1, T, &next_task, error) &&
        dn_run_state_int (&rs, "seed", 0, G_MAXINT64, &seed, error) &&
        dn_run_state_rng (&rs, "rng", out->rng, error) &&
        dn_run_state_double (&rs, "seconds", 0.0, G_MAXDOUBLE, FALSE, &out->elapsed, error);
    JsonArray *m = ok ? dn_run_state_array (&rs, "matrix", (guint) T * T, (guint) T * T, error)
                      : NULL;
    JsonArray *ts =
        m != NULL ? dn_run_state_array (&rs, "task_seconds", 0, (guint) T, error) : NULL;
    ok = ts != NULL;
    if (ok) {
        out->next_task = (int) next_task;
        out->seed = (guint64) seed;
        out->matrix = g_new (double, (size_t) T * T);
        out->task_seconds = g_array_new (FALSE, FALSE, sizeof (double));
    }
    for (guint i = 0; ok && i < (guint) T * T; i++) {
        JsonNode *e = json_array_get_element (m, i);
        GType t = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;
        double v = t == G_TYPE_INT64 || t == G_TYPE_DOUBLE ? json_node_get_double (e) : NAN;
        if (JSON_NODE_HOLDS_NULL (e))
            out->matrix[i] = NAN;
        else if (isfinite (v) && v >= 0.0 && v <= 100.0)
            out->matrix[i] = v;
        else
            ok = dn_run_state_fail (&rs, error,
                                    "element %u of \"matrix\" must be a percentage from 0 to "
                                    "100, or null",
                                    i);
    }
    for (guint i = 0; ok && i < json_array_get_length (ts); i++) {
        JsonNode *e = json_array_get_element (ts, i);
        GType t = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;
        double v = t == G_TYPE_INT64 || t == G_TYPE_DOUBLE ? json_node_get_double (e) : NAN;
        if (isfinite (v) && v >= 0.0)
            g_array_append_val (out->task_seconds, v);
        else
            ok = dn_run_state_fail (&rs, error,
                                    "element %u of \"task_seconds\" must be a number of seconds "
                                    ">= 0",
                                    i);
    }
    dn_run_state_clear (&rs);
    if (!ok)
        cl_state_clear (out);
    return ok;
}

/* Restores weights, optimizer, SI, RNG, matrix and the task to go on from. */
static gboolean load_latest (Cl *c, const ClState *state, int *next_task, double *elapsed,
                             GError **error)
{
    g_autofree char *path = g_build_filename (c->run_dir, "latest.safetensors", NULL);
    g_autoptr (DnSafetensors) st = dn_safetensors_open (path, error);
    gboolean fresh =
        st != NULL && g_strcmp0 (dn_safetensors_metadata (st, "dendrite_optimizer_fresh"), "1") == 0;
    if (st == NULL || !dn_model_load_weights (c->net, st, path, error) ||
        (!fresh && !dn_model_load_optimizer (st, c->opt, path, error)))
        return FALSE;
    memcpy (c->rng.s, state->rng, sizeof c->rng.s);
    memcpy (c->matrix, state->matrix, (size_t) c->T * c->T * sizeof (double));
    g_array_append_vals (c->task_seconds, state->task_seconds->data, state->task_seconds->len);
    *next_task = state->next_task;
    *elapsed = state->elapsed;
    /* Every segment row may carry optimizer state: all live is exact (rows with
     * zero state and gradient do not move), only slower until the next reset. A
     * fresh optimizer has none. */
    if (!fresh)
        dn_network_mark_all_live (c->net);
    if (c->cfg->si) {
        g_autofree char *si_path = g_build_filename (c->run_dir, "latest_si.safetensors", NULL);
        g_autoptr (DnSafetensors) si = dn_safetensors_open (si_path, error);
        if (si == NULL)
            return FALSE;
        const char *tag = dn_safetensors_metadata (si, "dendrite_next_task");
        g_autofree char *want = g_strdup_printf ("%d", *next_task);
        if (g_strcmp0 (tag, want) != 0) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s and %s were written after different tasks (the run was killed "
                         "while saving); start the run again",
                         si_path, path);
            return FALSE;
        }
        float *dst[4] = {c->si_omega, c->si_big_omega, c->si_star, c->si_prev};
        const char *names[4] = {"omega", "big_omega", "theta_star", "theta_prev"};
        for (int i = 0; i < 4; i++) {
            DnStTensor *t = NULL;
            for (guint k = 0; t == NULL && k < si->tensors->len; k++)
                if (g_str_equal (((DnStTensor *) si->tensors->pdata[k])->name, names[i]))
                    t = si->tensors->pdata[k];
            if (t == NULL || dn_shape_numel (&t->shape) != (int64_t) c->si_n) {
                g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                             "%s: \"%s\" is missing or has the wrong size", si_path, names[i]);
                return FALSE;
            }
            /* converted one at a time: an allocation failure is its own error */
            const float *data = dn_safetensors_tensor_data (si, t, error);
            if (data == NULL)
                return FALSE;
            memcpy (dst[i], data, c->si_n * sizeof (float));
            dn_safetensors_tensor_release (si, t);
        }
    }
    return TRUE;
}

static char *profile_json (Cl *c)
{
    double segments = 0.0, kwta = 0.0, dense = 0.0, other = 0.0;
    for (int i = 0; i < dn_network_n_nodes (c->net); i++) {
        DnLayer *l = dn_network_node (c->net, i)->layer;
        double both = l->prof_seconds[0] + l->prof_seconds[1];
        if (g_getenv ("DN_PROFILE_LAYERS") != NULL)
            dn_emit_log (c->obs, "%-8s %-16s forward %.2f s, backward %.2f s, segments %.2f s",
                         dn_network_node (c->net, i)->name, l->klass->type, l->prof_seconds[0],
                         l->prof_seconds[1], l->prof_seconds[2]);
        const char *type = l->klass->type;
        if (g_str_equal (type, "active_dendrite") || g_str_equal (type, "sparse_linear") ||
            g_str_equal (type, "linear")) {
            segments += l->prof_seconds[2];
            dense += both - l->prof_seconds[2];
        } else if (g_str_equal (type, "kwta")) {
            kwta += both;
        } else {
            other += both;
        }
    }
    GString *s = g_string_new ("{");
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
#define PUT(k, v) g_string_append_printf (s, "\"%s\":%s,", k, g_ascii_dtostr (buf, sizeof buf, v))
    PUT ("segments", segments);
    PUT ("kwta", kwta);
    PUT ("dense", dense);
    PUT ("other_layers", other);
    PUT ("optimizer", c->t_opt);
    PUT ("loss", c->t_loss);
    PUT ("data", c->t_data);
    PUT ("evaluation", c->t_eval);
    PUT ("total", c->seconds);
    /* segment-row updates left out as idle, of all tracked rows times steps */
    PUT ("idle_row_steps", (double) c->idle_row_steps);
    PUT ("row_steps", (double) c->row_steps);
#undef PUT
    g_string_append (s, "\"task_seconds\":[");
    for (guint i = 0; c->task_seconds != NULL && i < c->task_seconds->len; i++)
        g_string_append_printf (s, "%s%s", i ? "," : "",
                                g_ascii_dtostr (buf, sizeof buf,
                                                g_array_index (c->task_seconds, double, i)));
    g_string_append (s, "]}");
    return g_string_free (s, FALSE);
}

static gboolean setup (Cl *c, GError **error)
{
    DnExperiment *exp = c->exp;
    const DnContinualConfig *cfg = c->cfg;
    dn_backend_cpu_set_threads (c->opts->threads > 0 ? c->opts->threads : 0);
    c->be = dn_backend_by_name (c->opts->device ? c->opts->device : exp->device, error);
    if (c->be == NULL || !dn_load_data (exp, c->opts, c->seed, c->obs, &c->d, error))
        return FALSE;
    if (c->d.train->u8 == NULL || c->d.test == NULL || c->d.test->n == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "continual runs permute the pixels of an image dataset (IDX, such as MNIST) "
                     "with a test split; %s is not one",
                     c->d.train->source ? c->d.train->source : "the data");
        return FALSE;
    }
    c->T = cfg->tasks;
    c->npix = (int) dn_shape_numel (&c->d.train->shape);
    c->bsz = exp->batch_size;
    c->ebs = MAX (cfg->eval_batch_size, 1);
    c->net = dn_network_new_from_json (exp->network, c->be, error);
    if (c->net == NULL || !dn_check_fit (c->net, &c->d, exp->loss, error))
        return FALSE;
    c->ctx_dim = dn_network_context_dim (c->net);
    int want = cfg->context == DN_CONTEXT_PROTOTYPE ? c->npix
               : cfg->context == DN_CONTEXT_TASK_ID ? c->T
                                                    : 0;
    if (c->ctx_dim != 0 && c->ctx_dim != want) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the network's active dendrite layers read contexts of %d values but the "
                     "\"%s\" context has %d; set \"context_dim\" of those layers to %d%s",
                     c->ctx_dim, dn_context_kind_name (cfg->context), want, want,
                     want == 0 ? " or choose the \"prototype\" or \"task_id\" context" : "");
        return FALSE;
    }
    DnShape out = dn_network_output_shape (c->net);
    c->cols = (int) dn_shape_numel (&out);
    int maxb = MAX (c->bsz, c->ebs);
    const char *src = c->d.train->source;
    /* tasks, image size and batch sizes all come from the experiment and the data file:
     * memory that is not there is an error, never an abort. T <= DN_CONTINUAL_MAX_TASKS
     * and npix < 2^31, so T * npix and T * T fit. */
    gsize tp = (gsize) c->T * (gsize) c->npix;
    if ((c->perms = dn_data_try_alloc (tp, sizeof (int), "the task permutations", src, error)) ==
            NULL ||
        (c->protos = dn_data_try_alloc (tp, sizeof (float), "the task prototypes", src, error)) ==
            NULL ||
        (c->proto_norms = dn_data_try_alloc ((gsize) c->T, sizeof (float), "the prototype norms",
                                             src, error)) == NULL ||
        (c->matrix = dn_data_try_alloc ((gsize) c->T * c->T, sizeof (double),
                                        "the task accuracy matrix", src, error)) == NULL ||
        (c->xb = dn_batch_try_alloc ((gsize) c->npix, maxb, sizeof (float), "the inputs", error)) ==
            NULL ||
        (c->xp = dn_batch_try_alloc ((gsize) c->npix, maxb, sizeof (float), "the permuted inputs",
                                     error)) == NULL ||
        (c->dist = dn_batch_try_alloc ((gsize) c->T, maxb, sizeof (float),
                                       "the prototype distances", error)) == NULL ||
        (c->targets = dn_batch_try_alloc ((gsize) c->cols, maxb, sizeof (float), "the targets",
                                          error)) == NULL ||
        (c->y = dn_batch_try_alloc (1, maxb, sizeof (int32_t), "the labels", error)) == NULL ||
        (c->ctx_idx = dn_batch_try_alloc (1, maxb, sizeof (int32_t), "the contexts", error)) ==
            NULL ||
        (c->idx = dn_batch_try_alloc (1, maxb, sizeof (int), "the sample indices", error)) == NULL)
        return FALSE;
    for (int t = 0; t < c->T; t++)
        dn_continual_permutation (cfg->permutation_seed, t, c->npix,
                                  c->perms + (size_t) t * c->npix);
    for (size_t i = 0; i < (size_t) c->T * c->T; i++)
        c->matrix[i] = NAN;
    DnBackend *be = c->be;
    c->x_dev = be->alloc (be, (size_t) maxb * c->npix * sizeof (float));
    c->dlogits = be->alloc (be, (size_t) maxb * c->cols * sizeof (float));
    c->protos_dev = be->alloc (be, (size_t) c->T * c->npix * sizeof (float));
    c->dist_dev = be->alloc (be, (size_t) maxb * c->T * sizeof (float));
    c->ctx_idx_dev = be->alloc (be, (size_t) maxb * sizeof (int32_t));
    if (cfg->context == DN_CONTEXT_TASK_ID) {
        g_autofree float *eye = g_new0 (float, (size_t) c->T * c->T);
        for (int t = 0; t < c->T; t++)
            eye[(size_t) t * c->T + t] = 1.0f;
        c->onehot_dev = be->alloc (be, (size_t) c->T * c->T * sizeof (float));
        if (c->onehot_dev != NULL)
            be->upload (be, c->onehot_dev, eye, (size_t) c->T * c->T * sizeof (float));
    }
    if (c->protos == NULL || c->xb == NULL || c->xp == NULL || c->dist == NULL ||
        c->targets == NULL || c->x_dev == NULL || c->dlogits == NULL || c->protos_dev == NULL ||
        c->dist_dev == NULL || c->ctx_idx_dev == NULL ||
        (cfg->context == DN_CONTEXT_TASK_ID && c->onehot_dev == NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory for %d tasks and batches of %d; use fewer tasks or smaller "
                     "batches",
                     c->T, maxb);
        return FALSE;
    }
    if (!dn_network_reserve (c->net, maxb, error))
        return FALSE;
    c->net->ctx.profile = c->opts->profile;
    c->task_seconds = g_array_new (FALSE, FALSE, sizeof (double));
    dn_rng_seed (&c->rng, c->seed);
    dn_network_init (c->net, &c->rng);
    return compute_prototypes (c, error) && new_optimizer (c, error);
}

static void clear (Cl *c)
{
    DnBackend *be = c->be;
    if (be != NULL) {
        be->free (be, c->x_dev);
        be->free (be, c->dlogits);
        be->free (be, c->protos_dev);
        be->free (be, c->dist_dev);
        be->free (be, c->ctx_idx_dev);
        be->free (be, c->onehot_dev);
    }
    g_clear_pointer (&c->opt, dn_optimizer_free);
    g_clear_pointer (&c->net, dn_network_free);
    dn_run_data_clear (&c->d);
    g_free (c->perms);
    g_free (c->protos);
    g_free (c->proto_norms);
    g_free (c->xb);
    g_free (c->xp);
    g_free (c->dist);
    g_free (c->targets);
    g_free (c->y);
    g_free (c->ctx_idx);
    g_free (c->idx);
    g_free (c->matrix);
    g_free (c->run_dir);
    dn_run_dir_free (c->dir);
    if (c->si_spans != NULL)
        g_array_unref (c->si_spans);
    idle_free (c);
    if (c->task_seconds != NULL)
        g_array_unref (c->task_seconds);
    g_free (c->si_omega);
    g_free (c->si_big_omega);
    g_free (c->si_star);
    g_free (c->si_prev);
}

gboolean dn_continual_run (DnExperiment *exp, const DnRunOptions *opts, const DnObserver *obs,
                           DnRunResult *result, GError **error)
{
    DnRunOptions none = {0};
    if (opts == NULL)
        opts = &none;
    g_return_val_if_fail (exp->continual, FALSE);
    if (opts->epochs > 0) {
        /* --epochs: the epochs of every task. A resumed run goes on as it was set up. */
        if (opts->resume_dir != NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "a continual run goes on with the epochs per task it started with "
                         "(%d); --epochs cannot change it on --resume",
                         exp->cl.epochs_per_task);
            return FALSE;
        }
        exp->cl.epochs_per_task = opts->epochs;
    }
    Cl c = {0};
    c.exp = exp;
    c.cfg = &exp->cl;
    c.opts = opts;
    c.obs = obs;
    c.seed = opts->seed_set ? opts->seed : exp->seed;
    gboolean ok = FALSE;
    gint64 start = g_get_monotonic_time ();
    g_autofree float *si_a = NULL, *si_b = NULL, *activity = NULL;
    int act_units = 0;
    double avg = NAN;
    int first_task = 0;
    double elapsed0 = 0.0;
    ClState state = {0};
    if (opts->resume_dir != NULL) {
        /* locked before anything is read or removed; the whole state is checked before
         * the seed it holds drives the weights' initialisation */
        c.dir = dn_run_dir_open (opts->resume_dir, error);
        if (c.dir == NULL)
            goto out;
        g_autofree char *path = g_build_filename (opts->resume_dir, "latest.safetensors", NULL);
        g_autoptr (DnSafetensors) st = dn_safetensors_open (path, error);
        if (st == NULL || !read_state (st, path, exp->cl.tasks, &state, error))
            goto out;
        c.seed = state.seed;
    }
    if (!setup (&c, error))
        goto out;
    if (opts->resume_dir != NULL) {
        c.run_dir = g_strdup (opts->resume_dir);
    } else {
        const char *out_dir = opts->out_dir ? opts->out_dir : exp->out_dir;
        c.dir = dn_run_dir_create (out_dir, exp->name, opts->overwrite, error);
        if (c.dir == NULL)
            goto out;
        c.run_dir = g_strdup (dn_run_dir_path (c.dir));
        if (!g_str_equal (c.run_dir, dn_run_dir_requested (c.dir)))
            dn_emit_log (obs,
                         "%s holds an earlier run; this run goes to %s (overwrite replaces the "
                         "earlier run, resume continues it)",
                         dn_run_dir_requested (c.dir), c.run_dir);
        g_autofree char *copy = g_build_filename (c.run_dir, "experiment.json", NULL);
        guint64 saved_seed = exp->seed;
        exp->seed = c.seed;
        gboolean saved = dn_experiment_save (exp, copy, error);
        exp->seed = saved_seed;
        if (!saved)
            goto out;
    }
    int act_node = activity_node (&c, error);
    if (act_node == -2)
        goto out;
    if (act_node >= 0)
        dn_network_keep_output (c.net, act_node);
    if (exp->cl.si) {
        if (!si_setup (&c, error) ||
            (si_a = dn_try_malloc0 (c.si_n * sizeof (float), "Synaptic Intelligence's scratch",
                                    error)) == NULL ||
            (si_b = dn_try_malloc0 (c.si_n * sizeof (float), "Synaptic Intelligence's scratch",
                                    error)) == NULL)
            goto out;
        si_gather (&c, c.net->params, c.si_star);
        memcpy (c.si_prev, c.si_star, c.si_n * sizeof (float));
    }
    if (!idle_setup (&c, error))
        goto out;
    if (opts->resume_dir != NULL) {
        if (!load_latest (&c, &state, &first_task, &elapsed0, error))
            goto out;
        start -= (gint64) (elapsed0 * 1e6);
        /* the averages so far, for the DONE event if no task is left */
        for (int t = first_task - 1; t >= 0 && isnan (avg); t--)
            if (!isnan (c.matrix[(size_t) t * c.T])) {
                double sum = 0.0;
                for (int j = 0; j <= t; j++)
                    sum += c.matrix[(size_t) t * c.T + j];
                avg = sum / (t + 1);
            }
    }
    {
        DnEvent ev = {.kind = DN_EVENT_START,
                      .tasks = c.T,
                      .epochs = exp->cl.epochs_per_task,
                      .params = dn_network_n_params (c.net),
                      .train_samples = c.d.train->n,
                      .test_samples = c.d.test->n,
                      .n_batches = exp->cl.drop_last ? c.d.train->n / c.bsz
                                                     : (c.d.train->n + c.bsz - 1) / c.bsz,
                      .run_dir = c.run_dir,
                      .device = c.be->name,
                      .save_name = exp->name};
        dn_emit (obs, &ev);
    }
    dn_emit_log (obs,
                 "continual learning: %d tasks of %d training and %d test images from %s (task 0 "
                 "as is, tasks 1..%d permuted with seed %" G_GUINT64_FORMAT "); context: %s%s",
                 c.T, c.d.train->n, c.d.test->n, c.d.train->source ? c.d.train->source : "?",
                 c.T - 1, exp->cl.permutation_seed, dn_context_kind_name (exp->cl.context),
                 exp->cl.si ? "; Synaptic Intelligence on" : "");
    if (first_task > 0)
        dn_emit_log (obs, "resuming %s after task %d (%d/%d)", c.run_dir, first_task - 1,
                     first_task, c.T);
    for (int t = first_task; t < c.T; t++) {
        if (t > first_task && cancelled (&c)) { /* stopped between tasks */
            c.cancelled = TRUE;
            if (c.saved_next_task != t &&
                !save_latest (&c, t, (g_get_monotonic_time () - start) / 1e6, error))
                goto out;
            break;
        }
        gint64 t0 = g_get_monotonic_time ();
        if (!train_task (&c, t, si_a, si_b, error))
            goto out;
        if (c.cancelled)
            break;
        if (exp->cl.si)
            si_end_task (&c, si_a);
        double task_secs = (g_get_monotonic_time () - t0) / 1e6;
        g_array_append_val (c.task_seconds, task_secs);
        if (is_eval_point (&exp->cl, t, c.T)) {
            int64_t inferred = 0;
            double sum = 0.0;
            for (int j = 0; j <= t; j++) {
                c.matrix[(size_t) t * c.T + j] = evaluate_task (&c, j, t + 1, &inferred);
                sum += c.matrix[(size_t) t * c.T + j];
            }
            double mean = sum / (t + 1);
            if (exp->cl.context == DN_CONTEXT_PROTOTYPE)
                dn_emit_log (obs, "after task %d: the nearest prototype was the image's own task "
                                  "for %" G_GINT64_FORMAT " of %d test images",
                             t, inferred, (t + 1) * c.d.test->n);
            DnEvent ev = {.kind = DN_EVENT_TASK,
                          .task = t,
                          .tasks = c.T,
                          .test_acc = mean,
                          .seconds = task_secs,
                          .accuracy_matrix = c.matrix,
                          .run_dir = c.run_dir};
            dn_emit (obs, &ev);
            avg = mean;
        }
        if (exp->cl.reset_optimizer && !exp->cl.si && t + 1 < c.T && !new_optimizer (&c, error))
            goto out;
        if (!maybe_save_latest (&c, t + 1, start, error))
            goto out;
    }
    if (!c.cancelled && act_node >= 0)
        activity = measure_activity (&c, act_node, &act_units);
    {
        g_autofree char *model = g_build_filename (c.run_dir, "final_model.safetensors", NULL);
        g_autoptr (GHashTable) meta = model_metadata (&c);
        if (!dn_model_save (c.net, model, meta, error))
            goto out;
        c.seconds = (g_get_monotonic_time () - start) / 1e6;
        g_autofree char *summary =
            c.cancelled ? g_strdup ("stopped before the last task")
                        : g_strdup_printf ("average accuracy over %d tasks: %.2f %%", c.T, avg);
        DnEvent ev = {.kind = DN_EVENT_DONE,
                      .tasks = c.T,
                      .task = c.T - 1,
                      .average_accuracy = c.cancelled ? NAN : avg,
                      .best_val = c.cancelled ? NAN : avg,
                      .test_at_best_val = c.cancelled ? NAN : avg,
                      .accuracy_matrix = c.matrix,
                      .activity = activity,
                      .activity_units = act_units,
                      .activity_layer = act_node >= 0 ? dn_network_node (c.net, act_node)->name : NULL,
                      .params = dn_network_n_params (c.net),
                      .seconds = c.seconds,
                      .cancelled = c.cancelled,
                      .message = summary,
                      .model_path = model,
                      .run_dir = c.run_dir,
                      .save_name = exp->name};
        dn_emit (obs, &ev);
        if (result != NULL) {
            result->best_val = ev.best_val;
            result->test_at_best_val = ev.test_at_best_val;
            result->best_epoch = c.T;
            result->params = ev.params;
            result->seconds = c.seconds;
            result->run_dir = g_strdup (c.run_dir);
            result->model_path = g_strdup (model);
            if (opts->profile)
                result->profile_json = profile_json (&c);
        }
    }
    ok = TRUE;
out:
    cl_state_clear (&state);
    clear (&c);
    return ok;
}

/* ---- evaluating a saved model ---- */

#define DAMAGED_MODEL "evaluate an undamaged copy of the model, or save it again from its run"

/* The "dendrite_continual" metadata of a saved model, every member type- and range-checked
 * against the network and the test images (npix pixels): a damaged model is an error naming
 * the file and the member, never a critical or a read past the prototypes. *protos points into
 * rd, which the caller clears. */
static gboolean read_eval_metadata (DnStateReader *rd, const char *what, const char *text,
                                    DnNetwork *net, int npix, DnContinualConfig *cfg,
                                    JsonArray **protos, GError **error)
{
    gint64 tasks = 0, seed = 0;
    if (!dn_run_state_init_model (rd, what, "dendrite_continual", text, DAMAGED_MODEL, error) ||
        !dn_run_state_int (rd, "tasks", 1, DN_CONTINUAL_MAX_TASKS, &tasks, error) ||
        !dn_run_state_int (rd, "permutation_seed", 0, G_MAXINT64, &seed, error))
        return FALSE;
    cfg->tasks = (int) tasks;
    cfg->permutation_seed = (guint64) seed;
    JsonNode *ctx = json_object_get_member (rd->o, "context");
    const char *name = ctx != NULL && JSON_NODE_HOLDS_VALUE (ctx) &&
                               json_node_get_value_type (ctx) == G_TYPE_STRING
                           ? json_node_get_string (ctx)
                           : NULL;
    int kind = DN_CONTEXT_PROTOTYPE;
    while (name != NULL && kind <= DN_CONTEXT_NONE &&
           !g_str_equal (name, dn_context_kind_name (kind)))
        kind++;
    if (name == NULL || kind > DN_CONTEXT_NONE) {
        g_autofree char *got = ctx != NULL ? dn_json_describe (ctx) : g_strdup ("missing");
        return dn_run_state_fail (rd, error,
                                  "\"context\" is %s but must be \"prototype\", \"task_id\" or "
                                  "\"none\"",
                                  got);
    }
    cfg->context = (DnContextKind) kind;
    /* the network's contexts must be as wide as the ones this context kind feeds it */
    int want = kind == DN_CONTEXT_PROTOTYPE ? npix : kind == DN_CONTEXT_TASK_ID ? cfg->tasks : 0;
    int have = dn_network_context_dim (net);
    if (have != 0 && have != want)
        return dn_run_state_fail (rd, error,
                                  "the network reads contexts of %d values but the \"%s\" "
                                  "context of %d tasks gives %d",
                                  have, name, cfg->tasks, want);
    guint rows = kind == DN_CONTEXT_PROTOTYPE ? (guint) cfg->tasks : 0;
    *protos = dn_run_state_array (rd, "prototypes", rows, rows, error);
    if (*protos == NULL)
        return FALSE;
    for (guint t = 0; t < rows; t++) {
        JsonNode *row = json_array_get_element (*protos, t);
        if (!JSON_NODE_HOLDS_ARRAY (row) ||
            json_array_get_length (json_node_get_array (row)) != (guint) npix)
            return dn_run_state_fail (rd, error,
                                      "prototype %u is not an array of %d numbers, one per "
                                      "pixel of the test images",
                                      t, npix);
        JsonArray *a = json_node_get_array (row);
        for (int i = 0; i < npix; i++) {
            JsonNode *e = json_array_get_element (a, i);
            GType type = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;
            if ((type != G_TYPE_INT64 && type != G_TYPE_DOUBLE) ||
                !isfinite (json_node_get_double (e))) {
                g_autofree char *got = dn_json_describe (e);
                return dn_run_state_fail (rd, error,
                                          "value %d of prototype %u is %s but must be a finite "
                                          "number",
                                          i, t, got);
            }
        }
    }
    return TRUE;
}

gboolean dn_continual_evaluate (DnNetwork *net, GHashTable *metadata, const char *what,
                                const DnDataset *test, const DnNormalize *norm, int batch_size,
                                double **per_task, int *tasks, double *average, GError **error)
{
    const char *text = metadata != NULL ? g_hash_table_lookup (metadata, "dendrite_continual") : NULL;
    if (text == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s records no continual-learning tasks (metadata \"dendrite_continual\"); "
                     "it was not written by a continual run",
                     what);
        return FALSE;
    }
    int npix = (int) dn_shape_numel (&test->shape);
    DnShape net_out = dn_network_output_shape (net);
    if (npix != dn_shape_numel (&net->input_shape) || test->n_classes > dn_shape_numel (&net_out)) {
        g_autofree char *a = dn_shape_to_string (&test->shape);
        g_autofree char *b = dn_shape_to_string (&net->input_shape);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "the samples of %s are %s with %d classes but the model takes %s and gives "
                     "%d outputs; evaluate it on images of the size and classes it was trained on",
                     test->source ? test->source : "the data", a, test->n_classes, b,
                     (int) dn_shape_numel (&net_out));
        return FALSE;
    }
    if (test->u8 == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s is not an image dataset; a continual model is evaluated on the IDX "
                     "images whose pixels its tasks permute",
                     test->source ? test->source : "the data");
        return FALSE;
    }
    if (batch_size < 1) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the evaluation batch size is %d; it must be at least 1", batch_size);
        return FALSE;
    }
    DnContinualConfig cfg;
    dn_continual_config_defaults (&cfg);
    DnStateReader rd = {0};
    JsonArray *protos = NULL;
    if (!read_eval_metadata (&rd, what, text, net, npix, &cfg, &protos, error)) {
        dn_run_state_clear (&rd);
        return FALSE;
    }
    Cl c = {0};
    c.cfg = &cfg;
    c.be = net->backend;
    c.net = net;
    c.d.test = (DnDataset *) test;
    c.d.norm = *norm;
    c.T = cfg.tasks;
    c.npix = npix;
    c.ebs = batch_size;
    DnShape out = dn_network_output_shape (net);
    c.cols = (int) dn_shape_numel (&out);
    DnBackend *be = c.be;
    gboolean ok = TRUE;
    gsize tp = (gsize) c.T * npix;
    const char *src = test->source;
    if ((c.perms = dn_data_try_alloc (tp, sizeof (int), "the task permutations", src, error)) ==
            NULL ||
        (c.protos = dn_data_try_alloc (tp, sizeof (float), "the task prototypes", src, error)) ==
            NULL ||
        (c.proto_norms = dn_data_try_alloc ((gsize) c.T, sizeof (float), "the prototype norms", src,
                                            error)) == NULL ||
        (c.xb = dn_batch_try_alloc ((gsize) npix, batch_size, sizeof (float), "the inputs",
                                    error)) == NULL ||
        (c.xp = dn_batch_try_alloc ((gsize) npix, batch_size, sizeof (float), "the permuted inputs",
                                    error)) == NULL ||
        (c.dist = dn_batch_try_alloc ((gsize) c.T, batch_size, sizeof (float),
                                      "the prototype distances", error)) == NULL ||
        (c.y = dn_batch_try_alloc (1, batch_size, sizeof (int32_t), "the labels", error)) == NULL ||
        (c.ctx_idx = dn_batch_try_alloc (1, batch_size, sizeof (int32_t), "the contexts", error)) ==
            NULL ||
        (c.idx = dn_batch_try_alloc (1, batch_size, sizeof (int), "the sample indices", error)) ==
            NULL) {
        ok = FALSE;
        goto out;
    }
    for (int t = 0; t < c.T; t++) {
        dn_continual_permutation (cfg.permutation_seed, t, npix, c.perms + (size_t) t * npix);
        c.proto_norms[t] = 0.0f;
        if (cfg.context != DN_CONTEXT_PROTOTYPE)
            continue;
        /* every value was checked by read_eval_metadata */
        JsonArray *row = json_array_get_array_element (protos, t);
        double n2 = 0.0;
        for (int i = 0; i < npix; i++) {
            float v = (float) json_array_get_double_element (row, i);
            c.protos[(size_t) t * npix + i] = v;
            n2 += (double) v * v;
        }
        c.proto_norms[t] = (float) n2;
    }
    if (cfg.context != DN_CONTEXT_PROTOTYPE)
        memset (c.protos, 0, tp * sizeof (float));
    c.x_dev = be->alloc (be, (size_t) batch_size * npix * sizeof (float));
    c.protos_dev = be->alloc (be, (size_t) c.T * npix * sizeof (float));
    c.dist_dev = be->alloc (be, (size_t) batch_size * c.T * sizeof (float));
    c.ctx_idx_dev = be->alloc (be, (size_t) batch_size * sizeof (int32_t));
    if (cfg.context == DN_CONTEXT_TASK_ID) {
        g_autofree float *eye = g_new0 (float, (size_t) c.T * c.T);
        for (int t = 0; t < c.T; t++)
            eye[(size_t) t * c.T + t] = 1.0f;
        c.onehot_dev = be->alloc (be, (size_t) c.T * c.T * sizeof (float));
        if (c.onehot_dev != NULL)
            be->upload (be, c.onehot_dev, eye, (size_t) c.T * c.T * sizeof (float));
    }
    if (c.x_dev == NULL || c.protos_dev == NULL || c.dist_dev == NULL || c.ctx_idx_dev == NULL ||
        (cfg.context == DN_CONTEXT_TASK_ID && c.onehot_dev == NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory: evaluating %d tasks in batches of %d needs more device "
                     "memory; use a smaller batch",
                     c.T, batch_size);
        ok = FALSE;
    } else if (!dn_network_reserve (net, batch_size, error)) {
        ok = FALSE;
    }
    if (ok) {
        be->upload (be, c.protos_dev, c.protos, (size_t) c.T * npix * sizeof (float));
        dn_network_set_training (net, FALSE);
        *per_task = g_new (double, c.T);
        *tasks = c.T;
        double sum = 0.0;
        int64_t inferred = 0;
        for (int t = 0; t < c.T; t++) {
            (*per_task)[t] = evaluate_task (&c, t, c.T, &inferred);
            sum += (*per_task)[t];
        }
        *average = sum / c.T;
        dn_network_set_contexts (net, NULL, 0, 0);
    }
out:
    dn_run_state_clear (&rd);
    be->free (be, c.x_dev);
    be->free (be, c.protos_dev);
    be->free (be, c.dist_dev);
    be->free (be, c.ctx_idx_dev);
    be->free (be, c.onehot_dev);
    g_free (c.perms);
    g_free (c.protos);
    g_free (c.proto_norms);
    g_free (c.xb);
    g_free (c.xp);
    g_free (c.dist);
    g_free (c.y);
    g_free (c.ctx_idx);
    g_free (c.idx);
    return ok;
}
