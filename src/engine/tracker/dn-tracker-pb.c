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
