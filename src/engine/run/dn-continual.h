/* dn-continual.h: running a continual experiment and evaluating its model
 * (dn-continual.c; the "continual" section itself is dn-continual-config.h).
 *
 * A continual run trains one network on a sequence of permuted tasks and
 * fills the accuracy matrix as it goes (docs/continual.md).
 */
#pragma once

#include "dn-train.h"

G_BEGIN_DECLS

/* Runs a continual experiment (exp->continual). */
gboolean dn_continual_run (DnExperiment *exp, const DnRunOptions *opts, const DnObserver *observer,
                           DnRunResult *result, GError **error);

/* A saved continual model on every task of `test` (its permutations and prototypes
 * come from the model's metadata, every member checked; `what` names the model file in
 * messages): per-task accuracies (percent, g_free) and their mean. */
gboolean dn_continual_evaluate (DnNetwork *net, GHashTable *metadata, const char *what,
                                const DnDataset *test, const DnNormalize *norm, int batch_size,
                                double **per_task, int *tasks, double *average, GError **error);

G_END_DECLS
