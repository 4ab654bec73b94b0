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
    /* the loss came back to the host: the forward pass's device work is done */
    const char *failed = dn_backend_take_error (be);
    if (failed != NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "the %s device failed in the forward pass (%s); use --device cpu", be->name,
                     failed);
        return FALSE;
    }
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

gboolean dn_run_step_evaluate (DnRunStep *s, DnNetwork *net, const DnDataset *data,
                               const DnNormalize *norm, double *accuracy, double *mean_loss,
                               DnConfusion *tally, GError **error)
{
    DnBackend *be = s->be;
    if (data == NULL || data->n == 0) {
        *accuracy = NAN;
        *mean_loss = NAN;
        return TRUE;
    }
    if (!dn_network_reserve (net, s->capacity, error))
        return FALSE;
    DnShape out_shape = dn_network_output_shape (net);
    int cols = (int) dn_shape_numel (&out_shape);
    gsize sample = (gsize) dn_shape_numel (&data->shape);
    /* the network reads numel(input) values a sample, the step's buffers hold s->sample,
     * and the loss reads one output per class */
    if ((int64_t) sample != dn_shape_numel (&net->input_shape) || sample != s->sample ||
        cols != s->cols || data->n_classes > cols) {
        g_autofree char *a = dn_shape_to_string (&data->shape);
        g_autofree char *b = dn_shape_to_string (&net->input_shape);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "the samples of %s are %s with %d classes but the network takes %s and "
                     "gives %d outputs; evaluate it on data of the shape and classes it was "
                     "trained on",
                     data->source ? data->source : "the data", a, data->n_classes, b, cols);
        return FALSE;
    }
    g_return_val_if_fail (tally == NULL || tally->n_classes >= cols, FALSE);
    g_autofree int *idx = dn_batch_try_alloc (1, s->capacity, sizeof (int),
                                              "the sample indices of an evaluation batch", error);
    if (idx == NULL)
        return FALSE;
    /* the outputs come back to the host only for a confusion matrix */
    g_autofree float *logits =
        tally == NULL ? NULL
                      : dn_batch_try_alloc ((gsize) cols, s->capacity, sizeof (float),
                                            "the outputs of an evaluation batch", error);
    if (tally != NULL && logits == NULL)
        return FALSE;
    gboolean was_training = net->training;
    dn_network_set_training (net, FALSE);
    int64_t correct = 0;
    double total_loss = 0.0;
    for (int start = 0; start < data->n; start += s->capacity) {
        int n = MIN (s->capacity, data->n - start);
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        /* gathered into the step's host buffers, which on host memory are the batch itself */
        dn_dataset_get_batch (data, idx, n, norm, s->x, s->y);
        dn_run_step_upload (s, n);
        const DnTensor *out = dn_network_forward (net, s->x_dev, n, 0);
        double l = 0.0;
        dn_compute_loss (be, s->loss, n, cols, out->data, s->y_dev, 0.0f, s->targets, &l, NULL);
        total_loss += l * n;
        correct += be->count_correct (be, n, cols, out->data, s->y_dev);
        if (tally != NULL) {
            be->download (be, logits, out->data, (size_t) n * cols * sizeof (float));
            _dn_confusion_tally (tally, n, cols, logits, s->y);
        }
    }
    dn_network_set_training (net, was_training);
    *accuracy = 100.0 * (double) correct / data->n;
    *mean_loss = total_loss / data->n;
    return TRUE;
}
