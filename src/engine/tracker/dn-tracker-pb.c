/* dn-tracker-pb.c: the tracker's side of Perforated Backpropagation
 * (correlation-trained dendrites, spec perforated-backpropagation.md).
 *
 * The engine hands in, for every dendrite-phase epoch, each candidate
 * channel's correlation score. Per channel the tracker keeps the phase's best;
 * an epoch improved when some channel beat its best by both thresholds
 * (new > best * (1 + pai_improvement_threshold) and new - best >
 * pai_improvement_threshold_raw; a first score counts). A layer's score is the
 * mean over its channels of their phase bests: the number the vendor's
 * guidance ("above about 0.02 is a good layer") speaks of.
 */
#include "dn-tracker-private.h"

#include "dn-error.h"

#include <math.h>
#include <string.h>

static void layer_clear (DnTrackerCandLayer *c)
{
    g_clear_pointer (&c->name, g_free);
    g_clear_pointer (&c->channel_best, g_free);
    g_clear_pointer (&c->pending, g_free);
    c->n_channels = 0;
    c->n_pending = -1;
}

void dn_tracker_cand_clear (DnTracker *t)
{
    for (int i = 0; i < t->n_cand; i++)
        layer_clear (&t->cand[i]);
    t->n_cand = 0;
    t->cand_pending = FALSE;
    t->cand_overflow = FALSE;
}

void dn_tracker_cand_copy (DnTracker *dst, const DnTracker *src)
{
    for (int i = 0; i < src->n_cand; i++) {
        const DnTrackerCandLayer *s = &src->cand[i];
        DnTrackerCandLayer *d = &dst->cand[i];
        *d = *s;
        d->name = g_strdup (s->name);
        d->channel_best = g_memdup2 (s->channel_best, sizeof (double) * (gsize) s->n_channels);
        d->pending = s->n_pending > 0
                         ? g_memdup2 (s->pending, sizeof (double) * (gsize) s->n_pending)
                         : NULL;
    }
}

static int find_layer (const DnTracker *t, const char *name)
{
    for (int i = 0; i < t->n_cand; i++)
        if (g_str_equal (t->cand[i].name, name))
            return i;
    return -1;
}

void dn_tracker_set_candidate_scores (DnTracker *t, const char *const *layer_names,
                                      const double *const *channel_scores, const int *n_channels,
                                      int n_layers)
{
    g_return_if_fail (t != NULL);
    g_return_if_fail (n_layers == 0 ||
                      (layer_names != NULL && channel_scores != NULL && n_channels != NULL));
    for (int i = 0; i < t->n_cand; i++) {
        g_clear_pointer (&t->cand[i].pending, g_free);
        t->cand[i].n_pending = -1;
    }
    t->cand_overflow = FALSE;
    for (int l = 0; l < n_layers; l++) {
        const char *name = layer_names[l] != NULL ? layer_names[l] : "";
        int i = find_layer (t, name);
        if (i < 0) {
            if (t->n_cand == DN_TRACKER_MAX_CORR) {
                t->cand_overflow = TRUE;
                continue;
            }
            i = t->n_cand++;
            DnTrackerCandLayer *c = &t->cand[i];
            memset (c, 0, sizeof *c);
            c->name = g_strdup (name);
            c->best_ever = NAN;
            c->phase_best = NAN;
            c->n_pending = -1;
        }
        DnTrackerCandLayer *c = &t->cand[i];
        int n = MAX (n_channels[l], 0);
        c->n_pending = n;
        c->pending = n > 0 && channel_scores[l] != NULL
                         ? g_memdup2 (channel_scores[l], sizeof (double) * (gsize) n)
                         : NULL;
        if (n > 0 && c->pending == NULL)
            c->n_pending = -1; /* no values: add_score refuses the epoch */
    }
    t->cand_pending = TRUE;
}

int dn_tracker_n_candidate_layers (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, 0);
    return t->n_cand;
}

gboolean dn_tracker_candidate_layer_scores (const DnTracker *t, int i, const char **name,
                                            double *best_ever, double *phase_best)
{
    g_return_val_if_fail (t != NULL, FALSE);
    if (i < 0 || i >= t->n_cand)
        return FALSE;
    if (name != NULL)
        *name = t->cand[i].name;
    if (best_ever != NULL)
        *best_ever = t->cand[i].best_ever;
    if (phase_best != NULL)
        *phase_best = t->cand[i].phase_best;
    return TRUE;
}

/* ---- the dendrite phase ---- */

gboolean dn_tracker_pb_check_pending (const DnTracker *t, GError **error)
{
    int shown = t->st.num_epochs_run + 1;
    if (!t->cand_pending) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "epoch %d is in a dendrite phase but has no candidate scores; call "
                     "dn_tracker_set_candidate_scores before dn_tracker_add_score",
                     shown);
        return FALSE;
    }
    if (t->cand_overflow) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "epoch %d has candidate scores for more than %d layers; the tracker keeps "
                     "at most %d dendritic layers",
                     shown, DN_TRACKER_MAX_CORR, DN_TRACKER_MAX_CORR);
        return FALSE;
    }
    int given = 0;
    for (int i = 0; i < t->n_cand; i++) {
        const DnTrackerCandLayer *c = &t->cand[i];
        if (c->n_pending < 0)
            continue;
        given++;
        if (c->n_pending == 0 || (c->n_channels > 0 && c->n_pending != c->n_channels)) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "epoch %d: layer %s has candidate scores for %d channels, but %d in this "
                         "dendrite phase; pass one score per output channel",
                         shown, c->name, c->n_pending, c->n_channels);
            return FALSE;
        }
        for (int ch = 0; ch < c->n_pending; ch++) {
            if (!isfinite (c->pending[ch]) || c->pending[ch] < 0) {
                g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                             "epoch %d: layer %s channel %d has candidate score %g; scores are "
                             "correlation magnitudes, finite and >= 0 (lower the candidates' "
                             "learning rate if they diverged)",
                             shown, c->name, ch, c->pending[ch]);
                return FALSE;
            }
        }
    }
    if (given == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "epoch %d is in a dendrite phase but its candidate scores name no layer; "
                     "pass every dendritic layer's scores",
                     shown);
        return FALSE;
    }
    return TRUE;
}

void dn_tracker_pb_start_phase (DnTracker *t, DnTrackerAction *a, int b, int neuron_epochs)
{
    DnTrackerState *s = &t->st;
    s->mode = DN_TRACKER_MODE_DENDRITE;
    s->phase_start = b;
    s->phase_last_improved = b;
    s->neuron_epochs = MAX (neuron_epochs, 1);
    for (int i = 0; i < t->n_cand; i++) {
        DnTrackerCandLayer *c = &t->cand[i];
        g_clear_pointer (&c->channel_best, g_free);
        c->n_channels = 0;
        c->phase_best = NAN;
    }
    DnTrackerOp *op = dn_tracker_add_op (a, DN_TRACKER_OP_START_DENDRITE_PHASE,
                                         "candidates for dendrite set %d", s->dendrites + 1);
    op->dendrites = s->dendrites;
}

/* Both thresholds of the phase-end rule; a channel's first score counts. */
static gboolean channel_improved (const DnTracker *t, double best, double v)
{
    if (isnan (best))
        return TRUE;
    return v > best * (1.0 + t->run.pai_improvement_threshold) &&
           v - best > t->run.pai_improvement_threshold_raw;
}

void dn_tracker_pb_record (DnTracker *t, DnTrackerEpoch *row, gboolean dendrite_epoch)
{
    gboolean improved = FALSE;
    for (int i = 0; i < t->n_cand && dendrite_epoch; i++) {
        DnTrackerCandLayer *c = &t->cand[i];
        if (c->n_pending <= 0)
            continue;
        if (c->n_channels == 0) {
            /* a state loaded before the phase's first scores holds an empty list */
            g_free (c->channel_best);
            c->n_channels = c->n_pending;
            c->channel_best = g_new (double, c->n_channels);
            for (int ch = 0; ch < c->n_channels; ch++)
                c->channel_best[ch] = NAN;
        }
        double sum = 0;
        for (int ch = 0; ch < c->n_channels; ch++) {
            double v = c->pending[ch];
            if (channel_improved (t, c->channel_best[ch], v))
                improved = TRUE;
            if (isnan (c->channel_best[ch]) || v > c->channel_best[ch])
                c->channel_best[ch] = v;
            sum += c->channel_best[ch];
        }
        c->phase_best = sum / c->n_channels;
        if (isnan (c->best_ever) || c->phase_best > c->best_ever)
            c->best_ever = c->phase_best;
    }
    if (improved)
        t->st.phase_last_improved = row->epoch;
    row->pb_improved = improved;
    for (int i = 0; i < DN_TRACKER_MAX_CORR; i++) {
        gboolean have = i < t->n_cand;
        row->pb_best_ever[i] = have ? t->cand[i].best_ever : NAN;
        row->pb_phase_best[i] = have && dendrite_epoch ? t->cand[i].phase_best : NAN;
    }
    for (int i = 0; i < t->n_cand; i++) {
        g_clear_pointer (&t->cand[i].pending, g_free);
        t->cand[i].n_pending = -1;
    }
    t->cand_pending = FALSE;
    t->cand_overflow = FALSE;
}

/* "conv2's candidates reached correlation 0.041" or, for several layers,
 * "candidates reached correlation conv1 0.012, conv2 0.041". */
static void describe_layers (const DnTracker *t, GString *out)
{
    char num[G_ASCII_DTOSTR_BUF_SIZE];
    if (t->n_cand == 1) {
        g_ascii_formatd (num, sizeof num, "%.3g", t->cand[0].phase_best);
        g_string_append_printf (out, "%s's candidates reached correlation %s", t->cand[0].name,
                                num);
        return;
    }
    g_string_append (out, "candidates reached correlation");
    int shown = 0;
    for (int i = 0; i < t->n_cand; i++) {
        if (isnan (t->cand[i].phase_best))
            continue;
        if (shown == 6) {
            g_string_append_printf (out, " and %d more layers", t->n_cand - i);
            break;
        }
        g_ascii_formatd (num, sizeof num, "%.3g", t->cand[i].phase_best);
        g_string_append_printf (out, "%s %s %s", shown > 0 ? "," : "", t->cand[i].name, num);
        shown++;
    }
}

gboolean dn_tracker_pb_maybe_end_phase (DnTracker *t, DnTrackerAction *a, gboolean forced)
{
    DnTrackerState *s = &t->st;
    int r = s->num_epochs_run; /* the row just added */
    int since = r - s->phase_last_improved;
    int p = t->run.p_epochs_to_switch;
    gboolean stalled = since >= p;
    gboolean capped = t->run.cap_at_n && r - s->phase_start >= s->neuron_epochs;
    if (!forced && !stalled && !capped)
        return FALSE;

    GString *msg = g_string_new ("dendrite phase: ");
    describe_layers (t, msg);
    if (forced) {
        g_string_append_printf (msg, "; switch requested at epoch %d", r + 1);
    } else if (stalled) {
        char pct[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd (pct, sizeof pct, "%g", 100.0 * t->run.pai_improvement_threshold);
        g_string_append_printf (msg, ", no channel improved by %s %% for %d epoch%s", pct, since,
                                since == 1 ? "" : "s");
    } else {
        g_string_append_printf (msg,
                                "; the phase is as long as the neuron phase before it "
                                "(cap_at_n, %d epoch%s)",
                                s->neuron_epochs, s->neuron_epochs == 1 ? "" : "s");
    }
    s->last_switch = r;
    dn_tracker_neuron_mode_again (t, a);
    g_string_append_printf (msg, "; installing dendrite set %d", s->dendrites);
    DnTrackerOp *op =
        dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "switch_%d", 2 * (int) s->switches->len);
    dn_tracker_snapshot (&t->snap_switch, s);
    g_strlcpy (t->snap_switch_name, op->name, sizeof t->snap_switch_name);
    a->restructured = TRUE;
    dn_tracker_set_message (a, "%s", msg->str);
    g_string_free (msg, TRUE);
    return TRUE;
}

void dn_tracker_pb_status (const DnTracker *t, int *without, int *ending_in)
{
    const DnTrackerState *s = &t->st;
    int next = s->num_epochs_run;
    *without = MAX (0, next - 1 - s->phase_last_improved);
    int at = s->phase_last_improved + t->run.p_epochs_to_switch;
    if (t->run.cap_at_n)
        at = MIN (at, s->phase_start + s->neuron_epochs);
    *ending_in = MAX (at, next) - next + 1;
}
