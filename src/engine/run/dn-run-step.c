/* dn-run-step.c: the batch step every schedule shares (dn-run-step.h). */
#include "dn-run-step.h"
#include "dn-error.h"
#include "dn-train-private.h"

#include <math.h>

void dn_run_step_free (DnRunStep *s)
{
    if (s == NULL)
        return;
    DnBackend *be = s->be;
    if (s->x != s->x_dev)
        g_free (s->x);
    if (s->y != s->y_dev)
        g_free (s->y);
    be->free (be, s->x_dev);
    be->free (be, s->y_dev);
    be->free (be, s->targets);
    be->free (be, s->dlogits);
    g_free (s);
}

DnRunStep *dn_run_step_new (DnBackend *be, gsize sample, int cols, int capacity, DnLossKind loss,
                            float label_smoothing, GError **error)
{
    g_autoptr (DnRunStep) s = g_new0 (DnRunStep, 1);
    s->be = be;
    s->loss = loss;
    s->label_smoothing = label_smoothing;
    s->capacity = capacity;
    s->sample = sample;
    s->cols = cols;
    /* every size comes from the data file or the experiment: none may abort */
    if ((s->x_dev = dn_batch_try_alloc_on (be, sample, capacity, sizeof (float), "the inputs",
                                           error)) == NULL ||
        (s->y_dev = dn_batch_try_alloc_on (be, 1, capacity, sizeof (int32_t), "the labels",
                                           error)) == NULL ||
        (s->targets = dn_batch_try_alloc_on (be, (gsize) cols, capacity, sizeof (float),
                                             "the targets", error)) == NULL ||
        (s->dlogits = dn_batch_try_alloc_on (be, (gsize) cols, capacity, sizeof (float),
                                             "the output gradients", error)) == NULL)
        return NULL;
    if (be->host_memory) {
        s->x = s->x_dev;
        s->y = s->y_dev;
    } else if ((s->x = dn_batch_try_alloc (sample, capacity, sizeof (float),
                                           "the inputs on the host", error)) == NULL ||
               (s->y = dn_batch_try_alloc (1, capacity, sizeof (int32_t), "the labels on the host",
                                           error)) == NULL) {
        return NULL;
    }
    return g_steal_pointer (&s);
}

void dn_run_step_upload (DnRunStep *s, int n)
{
    if (s->x != s->x_dev)
        s->be->upload (s->be, s->x_dev, s->x, (size_t) n * s->sample * sizeof (float));
    if (s->y != s->y_dev)
        s->be->upload (s->be, s->y_dev, s->y, (size_t) n * sizeof (int32_t));
}

gboolean dn_run_step (DnRunStep *s, DnNetwork *net, int n, uint64_t seed, double *loss,
                      int *correct, GError **error)
{
    DnBackend *be = s->be;
    gboolean profile = net->ctx.profile;
    gint64 t0 = profile ? g_get_monotonic_time () : 0;
    dn_run_step_upload (s, n);
    if (profile)
        s->upload_seconds += (g_get_monotonic_time () - t0) / 1e6;
    const DnTensor *logits = dn_network_forward (net, s->x_dev, n, seed);
    t0 = profile ? g_get_monotonic_time () : 0;
    dn_compute_loss (be, s->loss, n, s->cols, logits->data, s->y_dev, s->label_smoothing,
                     s->targets, loss, s->dlogits);
    if (profile)
        s->loss_seconds += (g_get_monotonic_time () - t0) / 1e6;
    if (!isfinite (*loss)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                     "the training loss became %s; lower the learning rate or check the data",
                     isnan (*loss) ? "NaN" : "infinite");
        return FALSE;
    }
    *correct = be->count_correct (be, n, s->cols, logits->data, s->y_dev);
    dn_network_zero_grad (net);
    dn_network_backward (net, s->dlogits, n);
    return TRUE;
}
