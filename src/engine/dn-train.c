/* dn-train.c: dn_experiment_run(), the one training loop, and evaluation. */
#include "dn-error.h"
#include "dn-experiment.h"
#include "dn-model.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

void dn_run_result_clear (DnRunResult *r)
{
    g_clear_pointer (&r->run_dir, g_free);
    g_clear_pointer (&r->model_path, g_free);
}

/* Loss of (rows, cols) outputs against class labels; dlogits may be NULL.
 * MSE and BCE compare against one-hot targets built in `targets`. */
static void compute_loss (DnBackend *be, DnLossKind kind, int rows, int cols, const float *logits,
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
        memset (targets, 0, (size_t) rows * cols * sizeof (float));
        for (int i = 0; i < rows; i++)
            targets[(size_t) i * cols + labels[i]] = 1.0f;
        if (kind == DN_LOSS_MSE)
            be->mse (be, rows, cols, logits, targets, 1.0f, loss, dlogits);
        else
            be->bce_logits (be, rows, cols, logits, targets, 1.0f, loss, dlogits);
        break;
    }
}

gboolean dn_evaluate (DnNetwork *net, const DnDataset *data, const DnNormalize *norm,
                      DnLossKind loss, int batch_size, double *accuracy, double *mean_loss,
                      GError **error)
{
    DnBackend *be = net->backend;
    if (data == NULL || data->n == 0) {
        *accuracy = NAN;
        *mean_loss = NAN;
        return TRUE;
    }
    if (!dn_network_reserve (net, batch_size, error))
        return FALSE;
    DnShape out_shape = dn_network_output_shape (net);
    int cols = (int) dn_shape_numel (&out_shape);
    size_t sample = (size_t) dn_shape_numel (&data->shape);
    g_autofree float *x = g_try_new (float, sample * batch_size);
    g_autofree int32_t *y = g_new (int32_t, batch_size);
    g_autofree int *idx = g_new (int, batch_size);
    g_autofree float *targets = g_new (float, (size_t) batch_size * cols);
    if (x == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM, "out of memory for an evaluation batch");
        return FALSE;
    }
    gboolean was_training = net->training;
    dn_network_set_training (net, FALSE);
    int64_t correct = 0;
    double total_loss = 0.0;
    for (int start = 0; start < data->n; start += batch_size) {
        int n = MIN (batch_size, data->n - start);
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        dn_dataset_get_batch (data, idx, n, norm, x, y);
        const DnTensor *out = dn_network_forward (net, x, n, 0);
        double l = 0.0;
        compute_loss (be, loss, n, cols, out->data, y, 0.0f, targets, &l, NULL);
        total_loss += l * n;
        correct += be->count_correct (be, n, cols, out->data, y);
    }
    dn_network_set_training (net, was_training);
    *accuracy = 100.0 * (double) correct / data->n;
    *mean_loss = total_loss / data->n;
    return TRUE;
}

static void emit (const DnObserver *obs, DnEvent *ev)
{
    if (obs != NULL && obs->event != NULL)
        obs->event (ev, obs->user_data);
}

static void emit_log (const DnObserver *obs, const char *format, ...) G_GNUC_PRINTF (2, 3);
static void emit_log (const DnObserver *obs, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    g_autofree char *msg = g_strdup_vprintf (format, args);
    va_end (args);
    DnEvent ev = {.kind = DN_EVENT_LOG, .message = msg};
    emit (obs, &ev);
}

typedef struct {
    DnDataset *train, *val, *test;
    DnNormalize norm;
} RunData;

static void run_data_clear (RunData *d)
{
    g_clear_pointer (&d->train, dn_dataset_free);
    g_clear_pointer (&d->val, dn_dataset_free);
    g_clear_pointer (&d->test, dn_dataset_free);
}

static gboolean load_data (DnExperiment *exp, const DnRunOptions *opts, guint64 seed,
                           RunData *d, GError **error)
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
        if (d->test == NULL)
            return FALSE;
    } else {
        DnCsvOptions copts;
        dn_csv_options_init (&copts);
        copts.label_name = exp->label_column;
        full = dn_dataset_load_csv (path, &copts, error);
        if (full == NULL)
            return FALSE;
        if (exp->test_path != NULL) {
            g_autofree char *tp = dn_experiment_resolve_path (exp, exp->test_path);
            d->test = dn_dataset_load_csv (tp, &copts, error);
            if (d->test == NULL)
                return FALSE;
        } else {
            DnDataset *rest = NULL;
            dn_dataset_split (full, exp->test_fraction, &split_rng, &rest, &d->test);
            dn_dataset_free (g_steal_pointer (&full));
            full = rest;
        }
    }
    if (full->n == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: the training data has no samples",
                     path);
        return FALSE;
    }
    dn_dataset_split (full, exp->val_fraction, &split_rng, &d->train, &d->val);
    if (exp->normalize_from_data)
        dn_dataset_compute_normalize (d->train, &d->norm);
    else
        d->norm = exp->normalize;
    return TRUE;
}

static gboolean check_fit (DnNetwork *net, const RunData *d, DnLossKind loss, GError **error)
{
    if (dn_shape_numel (&net->input_shape) != dn_shape_numel (&d->train->shape)) {
        g_autofree char *a = dn_shape_to_string (&net->input_shape);
        g_autofree char *b = dn_shape_to_string (&d->train->shape);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "the network's input is %s but each sample of %s is %s; set the network's "
                     "\"input\" to %s",
                     a, d->train->source ? d->train->source : "the data", b, b);
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

static char *normalize_json (const DnNormalize *n)
{
    GString *s = g_string_new ("{\"mean\":[");
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    for (int i = 0; i < n->n_channels; i++)
        g_string_append_printf (s, "%s%s", i ? "," : "", g_ascii_dtostr (buf, sizeof buf, n->mean[i]));
    g_string_append (s, "],\"std\":[");
    for (int i = 0; i < n->n_channels; i++)
        g_string_append_printf (s, "%s%s", i ? "," : "", g_ascii_dtostr (buf, sizeof buf, n->std[i]));
    g_string_append (s, "]}");
    return g_string_free (s, FALSE);
}

static gboolean save_model (DnNetwork *net, const char *path, const DnExperiment *exp,
                            guint64 seed, const RunData *d, int epoch, double val, double test,
                            GError **error)
{
    g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
    g_hash_table_insert (meta, (char *) "dendrite_normalize", normalize_json (&d->norm));
    char vbuf[G_ASCII_DTOSTR_BUF_SIZE], tbuf[G_ASCII_DTOSTR_BUF_SIZE];
    g_hash_table_insert (
        meta, (char *) "dendrite_training",
        g_strdup_printf ("{\"experiment\":\"%s\",\"epoch\":%d,\"val\":%s,\"test\":%s,\"seed\":%"
                         G_GUINT64_FORMAT ",\"loss\":\"%s\"}",
                         exp->name, epoch, isnan (val) ? "null" : g_ascii_dtostr (vbuf, sizeof vbuf, val),
                         isnan (test) ? "null" : g_ascii_dtostr (tbuf, sizeof tbuf, test), seed,
                         dn_loss_kind_name (exp->loss)));
    return dn_model_save (net, path, meta, error);
}

gboolean dn_experiment_run (DnExperiment *exp, const DnRunOptions *opts,
                            const DnObserver *obs, DnRunResult *result, GError **error)
{
    DnRunOptions none = {0};
    if (opts == NULL)
        opts = &none;
    if (opts->threads > 0)
        dn_backend_cpu_set_threads (opts->threads);
    else
        dn_backend_cpu_set_threads (0);
    DnBackend *be = dn_backend_by_name (opts->device ? opts->device : exp->device, error);
    if (be == NULL)
        return FALSE;
    guint64 seed = opts->seed_set ? opts->seed : exp->seed;
    int epochs = opts->epochs > 0 ? opts->epochs : exp->epochs;
    int bsz = exp->batch_size;
    int batch_every = opts->batch_every > 0 ? opts->batch_every : 20;
    gint64 t_start = g_get_monotonic_time ();

    RunData d = {0};
    DnNetwork *net = NULL;
    DnOptimizer *opt = NULL;
    DnScheduler *sched = NULL;
    gboolean ok = FALSE;
    float *x = NULL, *targets = NULL, *dlogits = NULL;
    int32_t *y = NULL;
    int *perm = NULL;
    char *run_dir = NULL, *best_path = NULL, *latest_path = NULL, *summary = NULL;

    if (!load_data (exp, opts, seed, &d, error))
        goto out;
    net = dn_network_new_from_json (exp->network, be, error);
    if (net == NULL || !check_fit (net, &d, exp->loss, error))
        goto out;
    emit_log (obs, "data: %d training, %d validation and %d test samples from %s",
              d.train->n, d.val ? d.val->n : 0, d.test ? d.test->n : 0,
              d.train->source ? d.train->source : "?");
    DnRng rng;
    dn_rng_seed (&rng, seed);
    dn_network_init (net, &rng);
    opt = dn_optimizer_new (&exp->optim, be, net->n_params, error);
    if (opt == NULL)
        goto out;
    sched = dn_scheduler_new (&exp->sched, exp->optim.lr);
    if (!dn_network_reserve (net, bsz, error))
        goto out;

    const char *out_dir = opts->out_dir ? opts->out_dir : exp->out_dir;
    run_dir = g_build_filename (out_dir, exp->name, NULL);
    if (g_mkdir_with_parents (run_dir, 0755) != 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "could not create the output folder %s: %s; choose another with --out",
                     run_dir, g_strerror (errno));
        goto out;
    }
    best_path = g_build_filename (run_dir, "best_model.safetensors", NULL);
    latest_path = g_build_filename (run_dir, "latest.safetensors", NULL);
    {
        g_autofree char *exp_copy = g_build_filename (run_dir, "experiment.json", NULL);
        if (!dn_experiment_save (exp, exp_copy, error))
            goto out;
    }

    DnShape out_shape = dn_network_output_shape (net);
    int cols = (int) dn_shape_numel (&out_shape);
    size_t sample = (size_t) dn_shape_numel (&d.train->shape);
    int n_train = d.train->n;
    int n_batches = (n_train + bsz - 1) / bsz;
    x = g_try_new (float, sample * bsz);
    targets = g_try_new (float, (size_t) bsz * cols);
    dlogits = be->alloc (be, (size_t) bsz * cols * sizeof (float));
    y = g_new (int32_t, bsz);
    perm = g_new (int, n_train);
    if (x == NULL || targets == NULL || dlogits == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM, "out of memory for a batch of %d", bsz);
        goto out;
    }

    DnEvent ev = {0};
    ev.epochs = epochs;
    ev.n_batches = n_batches;
    ev.train_samples = n_train;
    ev.val_samples = d.val ? d.val->n : 0;
    ev.test_samples = d.test ? d.test->n : 0;
    ev.params = dn_network_n_params (net);
    ev.run_dir = run_dir;
    ev.device = be->name;
    ev.best_val = NAN;
    ev.test_at_best_val = NAN;
    ev.kind = DN_EVENT_START;
    emit (obs, &ev);

    double best_val = -INFINITY, test_at_best = NAN;
    int best_epoch = 0;
    gboolean cancelled = FALSE;
    for (int epoch = 1; epoch <= epochs && !cancelled; epoch++) {
        gint64 t_epoch = g_get_monotonic_time ();
        double lr = dn_scheduler_lr (sched);
        dn_network_set_training (net, TRUE);
        dn_rng_permutation (&rng, perm, n_train);
        double loss_sum = 0.0;
        int64_t correct = 0, seen = 0;
        for (int b = 0; b < n_batches; b++) {
            if (obs != NULL && obs->cancel != NULL && g_atomic_int_get (obs->cancel)) {
                cancelled = TRUE;
                break;
            }
            int n = MIN (bsz, n_train - b * bsz);
            dn_dataset_get_batch (d.train, perm + (size_t) b * bsz, n, &d.norm, x, y);
            uint64_t step_seed = dn_rng_next (&rng);
            const DnTensor *logits = dn_network_forward (net, x, n, step_seed);
            double loss = 0.0;
            compute_loss (be, exp->loss, n, cols, logits->data, y, (float) exp->label_smoothing,
                          targets, &loss, dlogits);
            if (!isfinite (loss)) {
                g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                             "the training loss became %s at epoch %d, batch %d; lower the "
                             "learning rate (now %g) or check the data. The best model so far "
                             "is in %s",
                             isnan (loss) ? "NaN" : "infinite", epoch, b + 1, lr, run_dir);
                goto out;
            }
            correct += be->count_correct (be, n, cols, logits->data, y);
            dn_network_zero_grad (net);
            dn_network_backward (net, dlogits, n);
            dn_optimizer_step (opt, net->params, net->grads, lr);
            loss_sum += loss * n;
            seen += n;
            if ((b + 1) % batch_every == 0 || b + 1 == n_batches) {
                double secs = (g_get_monotonic_time () - t_epoch) / 1e6;
                ev.kind = DN_EVENT_BATCH;
                ev.epoch = epoch;
                ev.batch = b + 1;
                ev.samples = seen;
                ev.loss = loss_sum / seen;
                ev.train_acc = 100.0 * correct / seen;
                ev.lr = lr;
                ev.seconds = secs;
                ev.samples_per_s = seen / MAX (secs, 1e-9);
                ev.eta_seconds = (n_train - seen) / MAX (ev.samples_per_s, 1e-9);
                emit (obs, &ev);
            }
        }
        if (cancelled)
            break;
        double train_secs = (g_get_monotonic_time () - t_epoch) / 1e6;
        double val_acc, val_loss, test_acc, test_loss;
        if (!dn_evaluate (net, d.val, &d.norm, exp->loss, bsz, &val_acc, &val_loss, error) ||
            !dn_evaluate (net, d.test, &d.norm, exp->loss, bsz, &test_acc, &test_loss, error))
            goto out;
        /* Without a validation split the test score selects the best model. */
        double score = isnan (val_acc) ? test_acc : val_acc;
        dn_scheduler_step (sched, isnan (score) ? -loss_sum / seen : score);
        gboolean improved = score > best_val;
        if (improved) {
            best_val = score;
            test_at_best = test_acc;
            best_epoch = epoch;
            if (!save_model (net, best_path, exp, seed, &d, epoch, val_acc, test_acc, error))
                goto out;
        }
        if (!save_model (net, latest_path, exp, seed, &d, epoch, val_acc, test_acc, error))
            goto out;
        double secs = (g_get_monotonic_time () - t_epoch) / 1e6;
        ev.kind = DN_EVENT_EPOCH;
        ev.epoch = epoch;
        ev.batch = n_batches;
        ev.samples = seen;
        ev.loss = loss_sum / seen;
        ev.train_acc = 100.0 * correct / seen;
        ev.val_acc = val_acc;
        ev.val_loss = val_loss;
        ev.test_acc = test_acc;
        ev.test_loss = test_loss;
        ev.lr = lr;
        ev.seconds = secs;
        ev.samples_per_s = seen / MAX (train_secs, 1e-9);
        ev.eta_seconds = secs * (epochs - epoch);
        ev.best_val = best_val;
        ev.test_at_best_val = test_at_best;
        ev.best_epoch = best_epoch;
        ev.improved = improved;
        emit (obs, &ev);
    }

    double total = (g_get_monotonic_time () - t_start) / 1e6;
    if (best_epoch > 0)
        summary = g_strdup_printf ("best validation %.2f %% at epoch %d (test %.2f %%)", best_val,
                                   best_epoch, test_at_best);
    else
        summary = g_strdup ("stopped before the first epoch finished; nothing was saved");
    memset (&ev, 0, sizeof ev);
    ev.kind = DN_EVENT_DONE;
    ev.epochs = epochs;
    ev.best_val = best_epoch > 0 ? best_val : NAN;
    ev.test_at_best_val = test_at_best;
    ev.best_epoch = best_epoch;
    ev.params = dn_network_n_params (net);
    ev.seconds = total;
    ev.cancelled = cancelled;
    ev.message = summary;
    ev.model_path = best_epoch > 0 ? best_path : NULL;
    ev.run_dir = run_dir;
    ev.device = be->name;
    emit (obs, &ev);
    if (result != NULL) {
        result->best_val = ev.best_val;
        result->test_at_best_val = test_at_best;
        result->best_epoch = best_epoch;
        result->params = ev.params;
        result->seconds = total;
        result->run_dir = g_strdup (run_dir);
        result->model_path = best_epoch > 0 ? g_strdup (best_path) : NULL;
    }
    ok = TRUE;
out:
    if (be != NULL && dlogits != NULL)
        be->free (be, dlogits);
    g_free (x);
    g_free (targets);
    g_free (y);
    g_free (perm);
    g_free (run_dir);
    g_free (best_path);
    g_free (latest_path);
    g_free (summary);
    dn_scheduler_free (sched);
    dn_optimizer_free (opt);
    dn_network_free (net);
    run_data_clear (&d);
    return ok;
}
