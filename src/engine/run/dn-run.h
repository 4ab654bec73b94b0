/* dn-run.h: a plain or dendritic run of an experiment, epoch by epoch (dn-run.c).
 *
 * A dendritic run (an experiment with a "dendrites" section) is driven by the
 * tracker; a continual experiment runs through dn-continual.h instead.
 */
#pragma once

#include "dn-train.h"

G_BEGIN_DECLS

gboolean dn_experiment_run (DnExperiment *exp, const DnRunOptions *opts, const DnObserver *observer,
                            DnRunResult *result, GError **error);
/* Continues the run in run_dir (its experiment.json and latest checkpoint) after a
 * crash, kill or stop; the result is the same as an uninterrupted run. */
gboolean dn_experiment_resume (const char *run_dir, const DnRunOptions *opts,
                               const DnObserver *observer, DnRunResult *result, GError **error);

G_END_DECLS
