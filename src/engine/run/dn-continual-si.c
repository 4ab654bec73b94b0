/* dn-continual-si.c: the continual schedule's update after each batch step
 * (dn-continual-private.h): Synaptic Intelligence (its penalty before the optimizer
 * step, its importance after) and the optimizer step over the live spans of the
 * parameter arena, which leaves idle segment rows out. */
#include "dn-continual-private.h"
#include "dn-error.h"

#include <string.h>

/* Gathers the covered parameters (device) into a host array. */
static void si_gather (DnContinualRun *c, const float *arena, float *out)
{
    size_t k = 0;
    for (guint i = 0; i < c->si_spans->len; i += 2) {
        size_t off = g_array_index (c->si_spans, size_t, i);
        size_t len = g_array_index (c->si_spans, size_t, i + 1);
        c->b.be->download (c->b.be, out + k, arena + off, len * sizeof (float));
        k += len;
    }
}

/* Every trainable parameter except segment weights (the reference's choice). */
gboolean _dn_continual_si_setup (DnContinualRun *c, GError **error)
{
    c->si_spans = g_array_new (FALSE, FALSE, sizeof (size_t));
    g_autoptr (GPtrArray) named = dn_network_named_params (c->b.net);
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = named->pdata[i];
        if (!np->param->trainable || np->param->row_len > 0)
            continue;
        size_t pair[2] = {(size_t) (np->param->value - c->b.net->params),
                          (size_t) dn_shape_numel (&np->param->shape)};
        g_array_append_vals (c->si_spans, pair, 2);
        c->si_n += pair[1];
    }
    /* four copies of the covered parameters: as many as the network file asks for */
    gsize bytes = c->si_n * sizeof (float);
    if ((c->si_omega = dn_try_malloc0 (bytes, "Synaptic Intelligence's omega", error)) == NULL ||
        (c->si_big_omega = dn_try_malloc0 (bytes, "Synaptic Intelligence's Omega", error)) ==
            NULL ||
        (c->si_star = dn_try_malloc0 (bytes, "Synaptic Intelligence's anchor weights", error)) ==
            NULL ||
        (c->si_prev = dn_try_malloc0 (bytes, "Synaptic Intelligence's previous weights", error)) ==
            NULL ||
        (c->si_theta = dn_try_malloc0 (bytes, "Synaptic Intelligence's scratch", error)) == NULL ||
        (c->si_grad = dn_try_malloc0 (bytes, "Synaptic Intelligence's scratch", error)) == NULL)
        return FALSE;
    si_gather (c, c->b.net->params, c->si_star);
    memcpy (c->si_prev, c->si_star, bytes);
    return TRUE;
}

/* A backend whose memory is host memory (the CPU) holds the arena where SI can work
 * on it in place, span by span; other devices go through host copies. */
static gboolean si_in_place (DnContinualRun *c)
{
    return c->b.be->host_memory;
}

/* loss += c * sum Omega (theta - theta*)^2; grad += 2 c Omega (theta - theta*). */
static double si_penalty (DnContinualRun *c)
{
    float *scratch_theta = c->si_theta, *scratch_grad = c->si_grad;
    double pen = 0.0;
    if (si_in_place (c)) {
        size_t k = 0;
        for (guint i = 0; i < c->si_spans->len; i += 2) {
            size_t off = g_array_index (c->si_spans, size_t, i);
            size_t len = g_array_index (c->si_spans, size_t, i + 1);
            pen += dn_si_penalty (len, c->b.net->params + off, c->si_star + k, c->si_big_omega + k,
                                  c->cfg->si_c, c->b.net->grads + off);
            k += len;
        }
        return pen;
    }
    si_gather (c, c->b.net->params, scratch_theta);
    si_gather (c, c->b.net->grads, scratch_grad);
    pen = dn_si_penalty (c->si_n, scratch_theta, c->si_star, c->si_big_omega, c->cfg->si_c,
                         scratch_grad);
    size_t k = 0;
    for (guint i = 0; i < c->si_spans->len; i += 2) {
        size_t off = g_array_index (c->si_spans, size_t, i);
        size_t len = g_array_index (c->si_spans, size_t, i + 1);
        c->b.be->upload (c->b.be, c->b.net->grads + off, scratch_grad + k, len * sizeof (float));
        k += len;
    }
    return pen;
}

/* After a step: omega -= grad * (theta - theta_prev); theta_prev = theta. */
static void si_after_step (DnContinualRun *c)
{
    float *scratch_theta = c->si_theta, *scratch_grad = c->si_grad;
    if (si_in_place (c)) {
        size_t k = 0;
        for (guint i = 0; i < c->si_spans->len; i += 2) {
            size_t off = g_array_index (c->si_spans, size_t, i);
            size_t len = g_array_index (c->si_spans, size_t, i + 1);
            dn_si_accumulate (len, c->b.net->grads + off, c->b.net->params + off, c->si_prev + k,
                              c->si_omega + k);
            k += len;
        }
        return;
    }
    si_gather (c, c->b.net->params, scratch_theta);
    si_gather (c, c->b.net->grads, scratch_grad);
    dn_si_accumulate (c->si_n, scratch_grad, scratch_theta, c->si_prev, c->si_omega);
}

void _dn_continual_si_end_task (DnContinualRun *c)
{
    si_gather (c, c->b.net->params, c->si_theta);
    dn_si_consolidate (c->si_n, c->si_theta, c->si_star, c->si_omega, c->si_big_omega,
                       c->cfg->si_xi);
}

gboolean _dn_continual_new_optimizer (DnContinualRun *c, GError **error)
{
    g_clear_pointer (&c->b.opt, dn_optimizer_free);
    dn_network_forget_live_rows (c->b.net);
    c->b.opt = dn_optimizer_new (&c->b.exp->optim, c->b.be, c->b.net->n_params, error);
    return c->b.opt != NULL;
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

gboolean _dn_continual_idle_setup (DnContinualRun *c, GError **error)
{
    if (c->b.net->n_tracked == 0 || g_strcmp0 (g_getenv ("DN_IDLE_ROWS"), "0") == 0)
        return TRUE;
    c->idle = g_array_new (FALSE, FALSE, sizeof (IdleParam));
    g_autoptr (GPtrArray) named = dn_network_named_params (c->b.net);
    for (guint i = 0; i < named->len; i++) {
        DnParam *p = ((DnNamedParam *) named->pdata[i])->param;
        if (!p->trainable || p->row_len == 0)
            continue;
        IdleParam ip = {p, (size_t) (p->value - c->b.net->params),
                        (size_t) dn_shape_numel (&p->shape) / p->row_len, NULL};
        ip.since = dn_try_malloc0 (ip.rows * sizeof (int64_t), "the idle-row counters", error);
        if (ip.since == NULL)
            return FALSE;
        g_array_append_val (c->idle, ip);
    }
    return TRUE;
}

void _dn_continual_free_si_idle (DnContinualRun *c)
{
    g_clear_pointer (&c->si_spans, g_array_unref);
    g_clear_pointer (&c->si_omega, g_free);
    g_clear_pointer (&c->si_big_omega, g_free);
    g_clear_pointer (&c->si_star, g_free);
    g_clear_pointer (&c->si_prev, g_free);
    g_clear_pointer (&c->si_theta, g_free);
    g_clear_pointer (&c->si_grad, g_free);
    if (c->idle == NULL)
        return;
    for (guint i = 0; i < c->idle->len; i++)
        g_free (g_array_index (c->idle, IdleParam, i).since);
    g_clear_pointer (&c->idle, g_array_unref);
}

static gboolean idle_on (DnContinualRun *c)
{
    return c->idle != NULL && dn_optimizer_spans_exact (c->b.opt) &&
           dn_optimizer_idle_exact (c->b.opt);
}

/* Applies the decays an idle row missed: to the rows that got gradient in this
 * step (which then take part in it again), or to all (settle). */
static void idle_catch_up (DnContinualRun *c, gboolean settle)
{
    int64_t now = dn_optimizer_steps (c->b.opt);
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
            dn_optimizer_decay_idle (c->b.opt, ip->off + r * ip->p->row_len, ip->p->row_len,
                                     now - ip->since[r]);
            ip->since[r] = now;
            if (!settle)
                ip->p->rows[r] &= (guint8) ~DN_ROW_IDLE;
        }
    }
}

/* After a step: live rows without gradient that further such steps leave as they
 * are. */
static void idle_find (DnContinualRun *c, double lr)
{
    int64_t now = dn_optimizer_steps (c->b.opt);
    for (guint i = 0; i < c->idle->len; i++) {
        IdleParam *ip = &g_array_index (c->idle, IdleParam, i);
        for (size_t r = 0; r < ip->rows; r++) {
            guint8 f = ip->p->rows[r];
            if ((f & (DN_ROW_LIVE | DN_ROW_IDLE | DN_ROW_DIRTY)) != DN_ROW_LIVE)
                continue;
            if (dn_optimizer_row_idle (c->b.opt, c->b.net->params, ip->off + r * ip->p->row_len,
                                       ip->p->row_len, lr)) {
                ip->p->rows[r] |= DN_ROW_IDLE;
                ip->since[r] = now;
            }
        }
    }
}

static void optimizer_step (DnContinualRun *c, double lr)
{
    if (c->b.net->n_tracked > 0 && dn_optimizer_spans_exact (c->b.opt)) {
        gboolean idle = idle_on (c);
        if (idle)
            idle_catch_up (c, FALSE);
        g_autoptr (GArray) spans = dn_network_live_spans (c->b.net);
        dn_optimizer_step_spans (c->b.opt, c->b.net->params, c->b.net->grads, lr,
                                 (const size_t *) spans->data, (int) spans->len / 2);
        dn_network_mark_stepped_rows (c->b.net, FALSE);
        if (idle && ++c->idle_check % IDLE_CHECK_EVERY == 0)
            idle_find (c, lr);
    } else {
        dn_optimizer_step (c->b.opt, c->b.net->params, c->b.net->grads, lr);
        if (c->b.net->n_tracked > 0)
            dn_network_mark_stepped_rows (c->b.net, TRUE);
    }
}

void _dn_continual_idle_settle (DnContinualRun *c)
{
    if (idle_on (c))
        idle_catch_up (c, TRUE);
}

double _dn_continual_update (DnContinualRun *c, gboolean si_penalty_on, double lr)
{
    double penalty = si_penalty_on ? si_penalty (c) : 0.0;
    optimizer_step (c, lr);
    if (c->cfg->si)
        si_after_step (c);
    c->b.be->synchronize (c->b.be);
    return penalty;
}
