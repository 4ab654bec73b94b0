/* dn-train.c: what the training loop (dn-run.c) builds on: losses, evaluation,
 * loading and splitting the data, checking that a network fits it. */
#include "dn-train.h"
#include "dn-run-step.h"
#include "dn-error.h"
#include "dn-model.h"
#include "dn-train-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

void dn_run_result_clear (DnRunResult *r)
{
    g_clear_pointer (&r->run_dir, g_free);
    g_clear_pointer (&r->model_path, g_free);
    g_clear_pointer (&r->profile_json, g_free);
}

/* Loss of (rows, cols) outputs against class labels; dlogits may be NULL.
 * MSE and BCE compare against one-hot targets built in `targets`. Every pointer is
 * memory of be. */
void dn_compute_loss (DnBackend *be, DnLossKind kind, int rows, int cols, const float *logits,
                      const int32_t *labels, float smoothing, float *targets, double *loss,
                      float *dlogits)
{
    switch (kind) {
    case DN_LOSS_CROSS_ENTROPY:
        be->cross_entropy (be, rows, cols, logits, labels, smoothing, 1.0f, loss, dlogits);
        break;
    case DN_LOSS_NLL:
        be->nll (be, rows, cols, logits, labels, 1.0f, loss, dlogits);
        break;
    case DN_LOSS_MSE:
    case DN_LOSS_BCE_LOGITS:
        be->one_hot (be, rows, cols, labels, targets);
        if (kind == DN_LOSS_MSE)
            be->mse (be, rows, cols, logits, targets, 1.0f, loss, dlogits);
        else
            be->bce_logits (be, rows, cols, logits, targets, 1.0f, loss, dlogits);
        break;
    }
}

/* The class each row of logits (rows, cols) points to: the first largest, as the
 * backends' count_correct takes it. */
void _dn_confusion_tally (DnConfusion *conf, int rows, int cols, const float *logits,
                          const int32_t *labels)
{
    for (int r = 0; r < rows; r++) {
        const float *x = logits + (size_t) r * cols;
        int best = 0;
        for (int j = 1; j < cols; j++)
            if (x[j] > x[best])
                best = j;
        if (labels[r] >= 0 && labels[r] < conf->n_classes && best < conf->n_classes)
            conf->counts[(size_t) labels[r] * conf->n_classes + best]++;
        conf->total++;
    }
}

gboolean dn_evaluate (DnNetwork *net, const DnDataset *data, const DnNormalize *norm,
                      DnLossKind loss, int batch_size, double *accuracy, double *mean_loss,
                      GError **error)
{
    return dn_evaluate_confusion (net, data, norm, loss, batch_size, accuracy, mean_loss, NULL,
                                  error);
}

gboolean dn_evaluate_confusion (DnNetwork *net, const DnDataset *data, const DnNormalize *norm,
                                DnLossKind loss, int batch_size, double *accuracy,
                                double *mean_loss, DnConfusion **confusion, GError **error)
{
    if (confusion != NULL)
        *confusion = NULL;
    if (data == NULL || data->n == 0) {
        *accuracy = NAN;
        *mean_loss = NAN;
        return TRUE;
    }
    DnShape out_shape = dn_network_output_shape (net);
    g_autoptr (DnRunStep) s =
        dn_run_step_new (net->backend, (gsize) dn_shape_numel (&data->shape),
                         (int) dn_shape_numel (&out_shape), batch_size, loss, 0.0f, error);
    if (s == NULL) {
        g_prefix_error (error, "evaluating on %s: ", net->backend->name);
        return FALSE;
    }
    int classes = MAX ((int) dn_shape_numel (&out_shape), data->n_classes);
    if (confusion != NULL && classes > DN_CONFUSION_MAX_CLASSES) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "the network gives %d outputs; a confusion matrix is drawn for at most %d "
                     "classes",
                     classes, DN_CONFUSION_MAX_CLASSES);
        return FALSE;
    }
    g_autoptr (DnConfusion) conf = confusion != NULL ? dn_confusion_new (classes) : NULL;
    if (!dn_run_step_evaluate (s, net, data, norm, accuracy, mean_loss, conf, error))
        return FALSE;
    if (confusion != NULL)
        *confusion = g_steal_pointer (&conf);
    return TRUE;
}

DnConfusion *dn_confusion_new (int n_classes)
{
    g_return_val_if_fail (n_classes > 0 && n_classes <= DN_CONFUSION_MAX_CLASSES, NULL);
    DnConfusion *c = g_new0 (DnConfusion, 1);
    c->n_classes = n_classes;
    c->counts = g_new0 (int64_t, (size_t) n_classes * n_classes);
    return c;
}

void dn_confusion_free (DnConfusion *c)
{
    if (c == NULL)
        return;
    g_free (c->counts);
    g_free (c);
}

int64_t dn_confusion_at (const DnConfusion *c, int truth, int predicted)
{
    return c->counts[(size_t) truth * c->n_classes + predicted];
}

double dn_confusion_precision (const DnConfusion *c, int k)
{
    int64_t predicted = 0;
    for (int t = 0; t < c->n_classes; t++)
        predicted += dn_confusion_at (c, t, k);
    return predicted > 0 ? (double) dn_confusion_at (c, k, k) / predicted : NAN;
}

double dn_confusion_recall (const DnConfusion *c, int k)
{
    int64_t actual = 0;
    for (int p = 0; p < c->n_classes; p++)
        actual += dn_confusion_at (c, k, p);
    return actual > 0 ? (double) dn_confusion_at (c, k, k) / actual : NAN;
}

double dn_confusion_accuracy (const DnConfusion *c)
{
    int64_t right = 0;
    for (int k = 0; k < c->n_classes; k++)
        right += dn_confusion_at (c, k, k);
    return c->total > 0 ? 100.0 * (double) right / c->total : NAN;
}

void dn_emit (const DnObserver *obs, DnEvent *ev)
{
    if (obs != NULL && obs->event != NULL)
        obs->event (ev, obs->user_data);
}

void dn_emit_log (const DnObserver *obs, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    g_autofree char *msg = g_strdup_vprintf (format, args);
    va_end (args);
    DnEvent ev = {.kind = DN_EVENT_LOG, .message = msg};
    dn_emit (obs, &ev);
}

void dn_run_data_clear (RunData *d)
{
    g_clear_pointer (&d->train, dn_dataset_free);
    g_clear_pointer (&d->val, dn_dataset_free);
    g_clear_pointer (&d->test, dn_dataset_free);
}

/* A file that reaches the network next to the training data must hold samples of
 * the same shape: the network reads numel(shape) values per sample. */
static gboolean same_shape (const DnDataset *train, const DnDataset *other, const char *what,
                            GError **error)
{
    if (dn_shape_equal (&train->shape, &other->shape))
        return TRUE;
    g_autofree char *a = dn_shape_to_string (&other->shape);
    g_autofree char *b = dn_shape_to_string (&train->shape);
    g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                 "the %s '%s' has samples of shape %s but the training data '%s' has %s; use "
                 "%s files of the same shape (the same image size, or the same columns)",
                 what, other->source ? other->source : "?", a,
                 train->source ? train->source : "?", b, what);
    return FALSE;
}

/* Fixed constants are "far" from the data's own when a mean is off by more than a
 * quarter of the data's std, or a std is under half or over twice the data's: the
 * inputs then have a mean off zero by over a quarter of their spread, or a spread
 * off one by a factor of two (docs/experiment-format.md). MNIST's constants on
 * Fashion-MNIST (mean 0.286, std 0.353) are off by 0.44 of its std. */
static void check_fixed_normalize (const DnNormalize *fixed, const DnDataset *train,
                                   const DnObserver *obs)
{
    gboolean identity = TRUE;
    for (int c = 0; c < fixed->n_channels; c++)
        identity = identity && fixed->mean[c] == 0.0f && fixed->std[c] == 1.0f;
    if (identity || train->n == 0)
        return; /* "none": the caller asked for no scaling */
    DnNormalize own;
    dn_dataset_compute_normalize (train, &own);
    if (fixed->n_channels != 1 && fixed->n_channels != own.n_channels)
        return; /* one value per feature of a table: nothing to compare with one global value */
    for (int c = 0; c < own.n_channels; c++) {
        int f = fixed->n_channels == 1 ? 0 : c;
        double m = fixed->mean[f], sd = fixed->std[f], dm = own.mean[c], dsd = own.std[c];
        double ratio = sd / dsd;
        if (fabs (m - dm) <= 0.25 * dsd && ratio >= 0.5 && ratio <= 2.0)
            continue;
        g_autofree char *channel =
            own.n_channels > 1 ? g_strdup_printf (", channel %d", c) : g_strdup ("");
        dn_emit_log (obs,
                     "warning: the fixed \"normalize\" constants (mean %.4g, std %.4g) are far "
                     "from those of the training data %s (mean %.4g, std %.4g%s); inputs will "
                     "not be centred and scaled as intended: use \"normalize\": \"dataset\" or "
                     "constants measured on this data",
                     m, sd, train->source ? train->source : "", dm, dsd, channel);
        return;
    }
}

gboolean dn_load_data (DnExperiment *exp, const DnRunOptions *opts, guint64 seed,
                       const DnObserver *obs, RunData *d, GError **error)
{
    g_autofree char *path = NULL;
    if (opts != NULL && opts->data_path != NULL)
        path = g_strdup (opts->data_path);
    else if (exp->data_path != NULL)
        path = dn_experiment_resolve_path (exp, exp->data_path);
    else
        path = dn_default_data_dir ();
    /* The split has its own stream so it does not depend on the network's size. */
    DnRng split_rng;
    dn_rng_seed (&split_rng, seed ^ 0x5eed5a1177ULL);
    g_autoptr (DnDataset) full = NULL;
    if (g_str_equal (exp->data_format, "idx")) {
        full = dn_dataset_load_idx_dir (path, "train", error);
        if (full == NULL)
            return FALSE;
        d->test = dn_dataset_load_idx_dir (path, "test", error);
        if (d->test == NULL || !same_shape (full, d->test, "test data", error))
            return FALSE;
    } else {
        DnCsvOptions copts;
        dn_csv_options_init (&copts);
        copts.label_name = exp->label_column;
        full = dn_dataset_load_csv (path, &copts, error);
        if (full == NULL)
            return FALSE;
        if (exp->test_path != NULL) {
            /* the training file fixes the classes; the test file is read through them */
            DnClassList classes;
            dn_dataset_classes (full, &classes);
            copts.classes = &classes;
            g_autofree char *tp = dn_experiment_resolve_path (exp, exp->test_path);
            d->test = dn_dataset_load_csv (tp, &copts, error);
            if (d->test == NULL || !same_shape (full, d->test, "test data", error))
                return FALSE;
        } else {
            DnDataset *rest = NULL;
            if (!dn_dataset_split (full, exp->test_fraction, &split_rng, &rest, &d->test, error))
                return FALSE;
            dn_dataset_free (g_steal_pointer (&full));
            full = rest;
        }
    }
    if (full->n == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: the training data has no samples",
                     path);
        return FALSE;
    }
    if (!dn_dataset_split (full, exp->val_fraction, &split_rng, &d->train, &d->val, error))
        return FALSE;
    if (exp->normalize_from_data) {
        dn_dataset_compute_normalize (d->train, &d->norm);
    } else {
        d->norm = exp->normalize;
        int channels = full->shape.ndim == 3 ? (int) full->shape.d[0] : 1;
        if (d->norm.n_channels != 1 && d->norm.n_channels != channels) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "\"normalize\" gives %d means and stds but the samples of %s have %d "
                         "channel%s; give one value, or one per channel",
                         d->norm.n_channels, path, channels, channels == 1 ? "" : "s");
            return FALSE;
        }
        check_fixed_normalize (&d->norm, d->train, obs);
    }
    return TRUE;
}

gboolean dn_check_fit (DnNetwork *net, const RunData *d, DnLossKind loss, GError **error)
{
    const DnDataset *splits[] = {d->train, d->val, d->test};
    for (gsize i = 0; i < G_N_ELEMENTS (splits); i++) {
        const DnDataset *s = splits[i];
        if (s == NULL || dn_shape_numel (&net->input_shape) == dn_shape_numel (&s->shape))
            continue;
        g_autofree char *a = dn_shape_to_string (&net->input_shape);
        g_autofree char *b = dn_shape_to_string (&s->shape);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "the network's input is %s but each sample of %s is %s; set the network's "
                     "\"input\" to %s",
                     a, s->source ? s->source : "the data", b, b);
        return FALSE;
    }
    DnShape out = dn_network_output_shape (net);
    int classes = MAX (d->train->n_classes, d->test ? d->test->n_classes : 0);
    if (out.ndim != 1 || out.d[0] < classes) {
        g_autofree char *a = dn_shape_to_string (&out);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "the network's output is %s but the data has %d classes; end the network "
                     "with a linear layer of %d out_features",
                     a, classes, classes);
        return FALSE;
    }
    return TRUE;
}

char *dn_normalize_json (const DnNormalize *n)
{
    GString *s = g_string_new ("{\"mean\":[");
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    for (int i = 0; i < n->n_channels; i++)
        g_string_append_printf (s, "%s%s", i ? "," : "",
                                g_ascii_dtostr (buf, sizeof buf, n->mean[i]));
    g_string_append (s, "],\"std\":[");
    for (int i = 0; i < n->n_channels; i++)
        g_string_append_printf (s, "%s%s", i ? "," : "",
                                g_ascii_dtostr (buf, sizeof buf, n->std[i]));
    g_string_append (s, "]}");
    return g_string_free (s, FALSE);
}

gpointer dn_batch_try_alloc (gsize per_sample, int batch, gsize size, const char *what,
                             GError **error)
{
    return dn_batch_try_alloc_on (NULL, per_sample, batch, size, what, error);
}

gpointer dn_batch_try_alloc_on (DnBackend *be, gsize per_sample, int batch, gsize size,
                                const char *what, GError **error)
{
    gsize n = 0;
    gpointer p = NULL;
    if (batch >= 0 && g_size_checked_mul (&n, per_sample, (gsize) batch) &&
        (size == 0 || n <= G_MAXSIZE / size))
        p = be != NULL ? be->alloc (be, MAX (n * size, 1)) : g_try_malloc (MAX (n * size, 1));
    if (p == NULL)
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory: a batch of %d needs %.1f MB for %s; lower \"batch_size\"",
                     batch, (double) per_sample * batch * (double) size / 1e6, what);
    return p;
}
