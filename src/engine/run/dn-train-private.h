/* dn-train-private.h: the pieces the schedules (dn-run.c, dn-continual.c) share
 * with dn-train.c (losses, evaluation, data, events); used inside run/ only. */
#pragma once

#include "dn-train.h"

G_BEGIN_DECLS

typedef struct {
    DnDataset *train, *val, *test;
    DnNormalize norm;
} RunData;

void dn_run_data_clear (RunData *d);
/* The experiment's data (or opts->data_path), split with a stream of its own
 * (seed-derived) so the split never depends on the network. The test file must
 * have the training file's sample shape, and a CSV test file is read through the
 * training file's classes. Fixed "normalize" constants far from the training
 * split's own mean and std are reported through obs (may be NULL) as a warning. */
gboolean dn_load_data (DnExperiment *exp, const DnRunOptions *opts, guint64 seed,
                       const DnObserver *obs, RunData *d, GError **error);
/* Every split against the network's input size and the classes against its outputs. */
gboolean dn_check_fit (DnNetwork *net, const RunData *d, DnLossKind loss, GError **error);
/* Loss of (rows, cols) outputs against labels; dlogits (may be NULL) is overwritten.
 * targets is scratch of rows * cols floats for the one-hot losses. Every pointer but
 * loss is memory of be. */
void dn_compute_loss (DnBackend *be, DnLossKind kind, int rows, int cols, const float *logits,
                      const int32_t *labels, float smoothing, float *targets, double *loss,
                      float *dlogits);
char *dn_normalize_json (const DnNormalize *n);
/* A batch buffer of per_sample items of `size` bytes for each of batch samples, or NULL
 * with "out of memory: a batch of B needs N MB for <what>; lower "batch_size"" (also when
 * the product does not fit in memory's addresses). Never aborts. */
gpointer dn_batch_try_alloc (gsize per_sample, int batch, gsize size, const char *what,
                             GError **error);
/* The same in memory of the backend be (be->alloc; free with be->free), or with be
 * NULL on the host (g_free). */
gpointer dn_batch_try_alloc_on (DnBackend *be, gsize per_sample, int batch, gsize size,
                                const char *what, GError **error);
void dn_emit (const DnObserver *obs, DnEvent *ev);
void dn_emit_log (const DnObserver *obs, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Counts rows of logits (rows, cols), on the host, into conf by their labels: the
 * predicted class is the first largest output, as the backends' count_correct takes it. */
void _dn_confusion_tally (DnConfusion *conf, int rows, int cols, const float *logits,
                          const int32_t *labels);

G_END_DECLS
