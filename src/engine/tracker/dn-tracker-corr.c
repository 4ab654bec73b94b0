/* dn-tracker-corr.c: the correlation series the tracker keeps for the graphs.
 *
 * The engine measures, once per epoch, how well each dendritic layer's newest
 * dendrite set follows its neuron's remaining error, and hands the values in
 * before the epoch's score. They are stored in the history row like the
 * scores, so rollbacks and resume treat them the same way. */
#include "dn-tracker-private.h"

#include <math.h>

void dn_tracker_set_correlations (DnTracker *t, const char *const *names, const double *values,
                                  int n)
{
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < t->n_corr && g_strcmp0 (t->corr_names[j], names[i]) != 0)
            j++;
        if (j == t->n_corr) {
            if (t->n_corr == DN_TRACKER_MAX_CORR)
                continue;
            t->corr_names[t->n_corr++] = g_strdup (names[i]);
        }
        t->pending_corr[j] = values[i];
    }
}

int dn_tracker_n_correlations (const DnTracker *t)
{
    return t->n_corr;
}

const char *dn_tracker_correlation_name (const DnTracker *t, int i)
{
    return i >= 0 && i < t->n_corr ? t->corr_names[i] : NULL;
}
