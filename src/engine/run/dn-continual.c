/* dn-continual.c: the continual-learning schedule (docs/continual.md).
 *
 * For each task t: its prototype (the mean of its normalised, permuted training
 * images) joins the stored ones; the network trains for epochs_per_task epochs
 * with the task's context shared by every sample of a batch; then it is evaluated
 * on the test images of tasks 0..t, each image getting the nearest stored
 * prototype as its context (no task id). Each batch goes through dn_run_step();
 * the update after it (Synaptic Intelligence, when on, and the optimizer step that
 * leaves idle segment rows out) is dn-continual-si.c, and the model metadata,
 * checkpoints and profile are dn-continual-state.c.
 */
#include "dn-continual-private.h"
#include "dn-error.h"

#include <math.h>
#include <string.h>

static double since (gint64 t0)
{
    return (g_get_monotonic_time () - t0) / 1e6;
}

/* ---- data ---- */

/* Normalised samples idx[0..n) of `data`, permuted for task t, with their labels in
 * the step's batch (not uploaded yet: dn_run_step does that, or the caller). */
static void task_batch (DnContinualRun *c, const DnDataset *data, int t, const int *idx, int n)
{
    DnRunStep *step = c->b.step;
    dn_dataset_get_batch (data, idx, n, &c->b.d.norm, c->xb, step->y);
    const int *perm = c->perms + (size_t) t * c->npix;
    for (int b = 0; b < n; b++) {
        const float *src = c->xb + (size_t) b * c->npix;
        float *dst = step->x + (size_t) b * c->npix;
        for (int i = 0; i < c->npix; i++)
            dst[i] = src[perm[i]];
    }
}

static gboolean compute_prototypes (DnContinualRun *c, GError **error)
{
    const DnDataset *tr = c->b.d.train;
    g_autofree double *sum =
        dn_try_malloc0 ((gsize) c->npix * sizeof (double), "the pixel sums of a prototype", error);
    if (sum == NULL)
        return FALSE;
    int *idx = c->idx; /* maxb >= bsz entries */
    for (int s = 0; s < tr->n; s += c->bsz) {
        int n = MIN (c->bsz, tr->n - s);
        for (int i = 0; i < n; i++)
            idx[i] = s + i;
        dn_dataset_get_batch (tr, idx, n, &c->b.d.norm, c->xb, c->b.step->y);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < c->npix; i++)
                sum[i] += c->xb[(size_t) b * c->npix + i];
    }
    /* Permuting commutes with the mean: task t's prototype is p_0 permuted. */
    for (int t = 0; t < c->T; t++) {
        const int *perm = c->perms + (size_t) t * c->npix;
        float *p = c->protos + (size_t) t * c->npix;
        double norm = 0.0;
        for (int i = 0; i < c->npix; i++) {
            p[i] = (float) (sum[perm[i]] / tr->n);
            norm += (double) p[i] * p[i];
        }
        c->proto_norms[t] = (float) norm;
    }
    c->b.be->upload (c->b.be, c->protos_dev, c->protos, (size_t) c->T * c->npix * sizeof (float));
    return TRUE;
}

/* Nearest of prototypes 0..n_protos-1 for each of the n samples uploaded to the step's
 * x_dev: |x|^2 - 2 x.p + |p|^2, the x.p by one GEMM. */
static void nearest_prototypes (DnContinualRun *c, int n, int n_protos)
{
    c->b.be->gemm (c->b.be, FALSE, TRUE, n, n_protos, c->npix, 1.0f, c->b.step->x_dev, c->npix,
                   c->protos_dev, c->npix, 0.0f, c->dist_dev, n_protos);
    c->b.be->download (c->b.be, c->dist, c->dist_dev, (size_t) n * n_protos * sizeof (float));
    for (int b = 0; b < n; b++) {
        int best = 0;
        float bd = INFINITY;
        for (int p = 0; p < n_protos; p++) {
            float d = c->proto_norms[p] - 2.0f * c->dist[(size_t) b * n_protos + p];
            if (d < bd) {
                bd = d;
                best = p;
            }
        }
        c->ctx_idx[b] = best;
    }
}

/* Sets the context table for training on task t. */
static void train_context (DnContinualRun *c, int t)
{
    switch (c->cfg->context) {
    case DN_CONTEXT_PROTOTYPE:
        dn_network_set_contexts (c->b.net, c->protos_dev + (size_t) t * c->npix, 1, c->npix);
        break;
    case DN_CONTEXT_TASK_ID:
        dn_network_set_contexts (c->b.net, c->onehot_dev + (size_t) t * c->T, 1, c->T);
        break;
    case DN_CONTEXT_NONE:
        dn_network_set_contexts (c->b.net, NULL, 0, 0);
        break;
    }
}

/* Accuracy (percent) on task j's test images after training tasks 0..seen-1; counts
 * the images whose nearest prototype is their own task in *inferred_ok. */
static double evaluate_task (DnContinualRun *c, int j, int seen, int64_t *inferred_ok)
{
    const DnDataset *te = c->b.d.test;
    DnBackend *be = c->b.be;
    gint64 t0 = g_get_monotonic_time ();
    gboolean profile = c->b.net->ctx.profile;
    c->b.net->ctx.profile = FALSE;
    if (c->cfg->context == DN_CONTEXT_PROTOTYPE)
        dn_network_set_contexts (c->b.net, c->protos_dev, seen, c->npix);
    else
        train_context (c, j); /* task id given; none: no context */
    int64_t correct = 0;
    for (int s = 0; s < te->n; s += c->ebs) {
        int n = MIN (c->ebs, te->n - s);
        for (int i = 0; i < n; i++)
            c->idx[i] = s + i;
        task_batch (c, te, j, c->idx, n);
        dn_run_step_upload (c->b.step, n);
        if (c->cfg->context == DN_CONTEXT_PROTOTYPE) {
            nearest_prototypes (c, n, seen);
            for (int b = 0; b < n; b++)
                *inferred_ok += c->ctx_idx[b] == j;
            be->upload (be, c->ctx_idx_dev, c->ctx_idx, (size_t) n * sizeof (int32_t));
            dn_network_set_context_index (c->b.net, c->ctx_idx_dev);
        }
        const DnTensor *out = dn_network_forward (c->b.net, c->b.step->x_dev, n, 0);
        correct += be->count_correct (be, n, c->cols, out->data, c->b.step->y_dev);
    }
    dn_network_set_context_index (c->b.net, NULL);
    c->b.net->ctx.profile = profile;
    c->t_eval += since (t0);
    return 100.0 * (double) correct / te->n;
}

/* ---- hidden activity (the paper's Figure 6) ---- */

static int activity_node (DnContinualRun *c, GError **error)
{
    if (c->cfg->activity_layer != NULL) {
        for (int i = 0; i < dn_network_n_nodes (c->b.net); i++)
            if (g_str_equal (dn_network_node (c->b.net, i)->name, c->cfg->activity_layer))
                return i;
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "\"continual\": \"activity_layer\" names '%s', which is not a layer of the "
                     "network",
                     c->cfg->activity_layer);
        return -2;
    }
    int found = -1;
    for (const char *kind = "kwta"; found < 0 && kind != NULL;
         kind = g_str_equal (kind, "kwta") ? "relu" : NULL)
        for (int i = dn_network_n_nodes (c->b.net) - 1; i >= 0 && found < 0; i--) {
            DnLayer *l = dn_network_node (c->b.net, i)->layer;
            if (g_str_equal (l->klass->type, kind) && l->out_shape.ndim == 1)
                found = i;
        }
    return found;
}

/* Fraction of each task's sampled test images on which each unit is non-zero. */
static float *measure_activity (DnContinualRun *c, int node_i, int *units_out)
{
    DnNode *node = dn_network_node (c->b.net, node_i);
    int units = (int) dn_shape_numel (&node->layer->out_shape);
    const DnDataset *te = c->b.d.test;
    int total = MIN (c->cfg->activity_samples, c->T * te->n);
    g_autofree int64_t *count = g_new0 (int64_t, (size_t) c->T * units);
    g_autofree int *seen = g_new0 (int, c->T);
    g_autofree float *act = g_new (float, (size_t) c->ebs *units);
    DnRng rng;
    dn_rng_seed (&rng, c->b.seed ^ 0xac71u);
    /* Sample (task, image) pairs, then run them task by task (one permutation per batch). */
    g_autofree int *pick_task = g_new (int, total);
    g_autofree int *pick_img = g_new (int, total);
    for (int k = 0; k < total; k++) {
        pick_task[k] = (int) dn_rng_below (&rng, (uint32_t) c->T);
        pick_img[k] = (int) dn_rng_below (&rng, (uint32_t) te->n);
    }
    if (c->cfg->context == DN_CONTEXT_PROTOTYPE)
        dn_network_set_contexts (c->b.net, c->protos_dev, c->T, c->npix);
    for (int t = 0; t < c->T; t++) {
        if (c->cfg->context != DN_CONTEXT_PROTOTYPE)
            train_context (c, t);
        int n = 0;
        for (int k = 0; k <= total; k++) {
            if (k < total && pick_task[k] == t)
                c->idx[n++] = pick_img[k];
            if (n == c->ebs || (k == total && n > 0)) {
                task_batch (c, te, t, c->idx, n);
                dn_run_step_upload (c->b.step, n);
                if (c->cfg->context == DN_CONTEXT_PROTOTYPE) {
                    nearest_prototypes (c, n, c->T);
                    c->b.be->upload (c->b.be, c->ctx_idx_dev, c->ctx_idx,
                                     (size_t) n * sizeof (int32_t));
                    dn_network_set_context_index (c->b.net, c->ctx_idx_dev);
                }
                dn_network_forward (c->b.net, c->b.step->x_dev, n, 0);
                c->b.be->download (c->b.be, act, node->out.data,
                                   (size_t) n * units * sizeof (float));
                for (int b = 0; b < n; b++)
                    for (int u = 0; u < units; u++)
                        count[(size_t) t * units + u] += act[(size_t) b * units + u] != 0.0f;
                seen[t] += n;
                n = 0;
            }
        }
    }
    dn_network_set_context_index (c->b.net, NULL);
    float *frac = g_new0 (float, (size_t) c->T *units);
    for (int t = 0; t < c->T; t++)
        for (int u = 0; u < units && seen[t] > 0; u++)
            frac[(size_t) t * units + u] = (float) count[(size_t) t * units + u] / seen[t];
    *units_out = units;
    return frac;
}

static gboolean is_eval_point (const DnContinualConfig *cfg, int t, int T)
{
    if (cfg->n_eval_after == 0 || t == T - 1)
        return TRUE;
    for (int i = 0; i < cfg->n_eval_after; i++)
        if (cfg->eval_after[i] == t)
            return TRUE;
    return FALSE;
}

static gboolean train_task_steps (DnContinualRun *c, int t, GError **error)
{
    const DnContinualConfig *cfg = c->cfg;
    const DnDataset *tr = c->b.d.train;
    DnRunStep *step = c->b.step;
    int n_batches = cfg->drop_last ? tr->n / c->bsz : (tr->n + c->bsz - 1) / c->bsz;
    if (n_batches == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the training set has %d samples, fewer than one batch of %d; lower "
                     "\"batch_size\" or set \"drop_last\" to false",
                     tr->n, c->bsz);
        return FALSE;
    }
    g_autofree int *order = dn_data_try_alloc (
        (gsize) tr->n, sizeof (int), "the shuffled order of the training set", tr->source, error);
    if (order == NULL)
        return FALSE;
    double lr = c->b.exp->optim.lr;
    int every = c->b.opts->batch_every > 0 ? c->b.opts->batch_every : 5;
    gboolean si_on = cfg->si && t >= cfg->si_first_task;
    for (int e = 0; e < cfg->epochs_per_task; e++) {
        gint64 t0 = g_get_monotonic_time ();
        dn_rng_permutation (&c->b.rng, order, tr->n);
        double loss_sum = 0.0;
        int64_t correct = 0, samples = 0;
        dn_network_set_training (c->b.net, TRUE);
        for (int bi = 0; bi < n_batches; bi++) {
            if (_dn_run_base_cancelled (&c->b)) {
                c->cancelled = TRUE;
                return TRUE;
            }
            int n = MIN (c->bsz, tr->n - bi * c->bsz);
            gint64 tq = g_get_monotonic_time ();
            task_batch (c, tr, t, order + (size_t) bi * c->bsz, n);
            c->t_data += since (tq);
            train_context (c, t);
            double loss = 0.0;
            int right = 0;
            if (!dn_run_step (step, c->b.net, n, dn_rng_next (&c->b.rng), &loss, &right, error)) {
                g_prefix_error (error, "task %d, epoch %d (learning rate %g): ", t, e + 1, lr);
                return FALSE;
            }
            correct += right;
            tq = g_get_monotonic_time ();
            loss += _dn_continual_update (c, si_on, lr);
            c->t_opt += since (tq);
            loss_sum += loss * n;
            samples += n;
            if ((bi + 1) % every == 0 || bi + 1 == n_batches) {
                double secs = (g_get_monotonic_time () - t0) / 1e6;
                DnEvent ev = {.kind = DN_EVENT_BATCH,
                              .task = t,
                              .tasks = c->T,
                              .epoch = e + 1,
                              .epochs = cfg->epochs_per_task,
                              .batch = bi + 1,
                              .n_batches = n_batches,
                              .samples = samples,
                              .loss = loss_sum / samples,
                              .lr = lr,
                              .samples_per_s = samples / MAX (secs, 1e-9),
                              .eta_seconds = secs / (bi + 1) * (n_batches - bi - 1),
                              .accuracy_matrix = c->matrix,
                              .run_dir = c->b.run_dir};
                dn_emit (c->b.obs, &ev);
            }
        }
        double secs = (g_get_monotonic_time () - t0) / 1e6;
        dn_network_set_training (c->b.net, FALSE);
        int64_t inferred = 0;
        double test = evaluate_task (c, t, t + 1, &inferred);
        DnEvent ev = {.kind = DN_EVENT_EPOCH,
                      .task = t,
                      .tasks = c->T,
                      .epoch = e + 1,
                      .epochs = cfg->epochs_per_task,
                      .loss = loss_sum / samples,
                      .train_acc = 100.0 * correct / samples,
                      .val_acc = NAN,
                      .test_acc = test,
                      .lr = lr,
                      .seconds = secs,
                      .samples_per_s = samples / MAX (secs, 1e-9),
                      .params = dn_network_n_params (c->b.net),
                      .accuracy_matrix = c->matrix,
                      .run_dir = c->b.run_dir};
        dn_emit (c->b.obs, &ev);
    }
    return TRUE;
}

/* Within a task the training context is fixed and only optimizer steps move the
 * weights, which mark the segment rows they move: active dendrite layers keep their
 * segment responses between batches and recompute the stale rows only, with the
 * same numbers as recomputing all (DN_SEGMENT_REUSE=0 recomputes all, for checks). */
static gboolean train_task (DnContinualRun *c, int t, GError **error)
{
    if (g_strcmp0 (g_getenv ("DN_SEGMENT_REUSE"), "0") != 0)
        c->b.net->ctx.segment_reuse = ++c->reuse_serial;
    gboolean ok = train_task_steps (c, t, error);
    c->b.net->ctx.segment_reuse = 0;
    return ok;
}

static gboolean setup (DnContinualRun *c, GError **error)
{
    DnExperiment *exp = c->b.exp;
    const DnContinualConfig *cfg = c->cfg;
    if (!_dn_run_base_setup (&c->b, error))
        return FALSE;
    if (c->b.d.train->u8 == NULL || c->b.d.test == NULL || c->b.d.test->n == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "continual runs permute the pixels of an image dataset (IDX, such as MNIST) "
                     "with a test split; %s is not one",
                     c->b.d.train->source ? c->b.d.train->source : "the data");
        return FALSE;
    }
    c->T = cfg->tasks;
    c->npix = (int) dn_shape_numel (&c->b.d.train->shape);
    c->bsz = exp->batch_size;
    c->ebs = MAX (cfg->eval_batch_size, 1);
    c->b.net = dn_network_new_from_json (exp->network, c->b.be, error);
    if (c->b.net == NULL || !dn_check_fit (c->b.net, &c->b.d, exp->loss, error))
        return FALSE;
    c->ctx_dim = dn_network_context_dim (c->b.net);
    int want = cfg->context == DN_CONTEXT_PROTOTYPE ? c->npix
               : cfg->context == DN_CONTEXT_TASK_ID ? c->T
                                                    : 0;
    if (c->ctx_dim != 0 && c->ctx_dim != want) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the network's active dendrite layers read contexts of %d values but the "
                     "\"%s\" context has %d; set \"context_dim\" of those layers to %d%s",
                     c->ctx_dim, dn_context_kind_name (cfg->context), want, want,
                     want == 0 ? " or choose the \"prototype\" or \"task_id\" context" : "");
        return FALSE;
    }
    DnShape out = dn_network_output_shape (c->b.net);
    c->cols = (int) dn_shape_numel (&out);
    int maxb = MAX (c->bsz, c->ebs);
    const char *src = c->b.d.train->source;
    /* tasks, image size and batch sizes all come from the experiment and the data file:
     * memory that is not there is an error, never an abort. T <= DN_CONTINUAL_MAX_TASKS
     * and npix < 2^31, so T * npix and T * T fit. */
    gsize tp = (gsize) c->T * (gsize) c->npix;
    if ((c->perms = dn_data_try_alloc (tp, sizeof (int), "the task permutations", src, error)) ==
            NULL ||
        (c->protos = dn_data_try_alloc (tp, sizeof (float), "the task prototypes", src, error)) ==
            NULL ||
        (c->proto_norms = dn_data_try_alloc ((gsize) c->T, sizeof (float), "the prototype norms",
                                             src, error)) == NULL ||
        (c->matrix = dn_data_try_alloc ((gsize) c->T * c->T, sizeof (double),
                                        "the task accuracy matrix", src, error)) == NULL ||
        !_dn_run_base_setup_step (&c->b, maxb, 0.0f, error) ||
        (c->xb = dn_batch_try_alloc ((gsize) c->npix, maxb, sizeof (float), "the inputs", error)) ==
            NULL ||
        (c->dist = dn_batch_try_alloc ((gsize) c->T, maxb, sizeof (float),
                                       "the prototype distances", error)) == NULL ||
        (c->ctx_idx = dn_batch_try_alloc (1, maxb, sizeof (int32_t), "the contexts", error)) ==
            NULL ||
        (c->idx = dn_batch_try_alloc (1, maxb, sizeof (int), "the sample indices", error)) == NULL)
        return FALSE;
    for (int t = 0; t < c->T; t++)
        dn_continual_permutation (cfg->permutation_seed, t, c->npix,
                                  c->perms + (size_t) t * c->npix);
    for (size_t i = 0; i < (size_t) c->T * c->T; i++)
        c->matrix[i] = NAN;
    DnBackend *be = c->b.be;
    c->protos_dev = be->alloc (be, (size_t) c->T * c->npix * sizeof (float));
    c->dist_dev = be->alloc (be, (size_t) maxb * c->T * sizeof (float));
    c->ctx_idx_dev = be->alloc (be, (size_t) maxb * sizeof (int32_t));
    if (cfg->context == DN_CONTEXT_TASK_ID) {
        g_autofree float *eye = g_new0 (float, (size_t) c->T * c->T);
        for (int t = 0; t < c->T; t++)
            eye[(size_t) t * c->T + t] = 1.0f;
        c->onehot_dev = be->alloc (be, (size_t) c->T * c->T * sizeof (float));
        if (c->onehot_dev != NULL)
            be->upload (be, c->onehot_dev, eye, (size_t) c->T * c->T * sizeof (float));
    }
    if (c->protos_dev == NULL || c->dist_dev == NULL || c->ctx_idx_dev == NULL ||
        (cfg->context == DN_CONTEXT_TASK_ID && c->onehot_dev == NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory for %d tasks and batches of %d; use fewer tasks or smaller "
                     "batches",
                     c->T, maxb);
        return FALSE;
    }
    c->b.net->ctx.profile = c->b.opts->profile;
    c->task_seconds = g_array_new (FALSE, FALSE, sizeof (double));
    dn_rng_seed (&c->b.rng, c->b.seed);
    dn_network_init (c->b.net, &c->b.rng);
    return compute_prototypes (c, error) && _dn_continual_new_optimizer (c, error);
}

static void clear (DnContinualRun *c)
{
    DnBackend *be = c->b.be;
    if (be != NULL) {
        be->free (be, c->protos_dev);
        be->free (be, c->dist_dev);
        be->free (be, c->ctx_idx_dev);
        be->free (be, c->onehot_dev);
    }
    g_free (c->perms);
    g_free (c->protos);
    g_free (c->proto_norms);
    g_free (c->xb);
    g_free (c->dist);
    g_free (c->ctx_idx);
    g_free (c->idx);
    g_free (c->matrix);
    _dn_continual_free_si_idle (c);
    if (c->task_seconds != NULL)
        g_array_unref (c->task_seconds);
    _dn_run_base_clear (&c->b);
}

gboolean dn_continual_run (DnExperiment *exp, const DnRunOptions *opts, const DnObserver *obs,
                           DnRunResult *result, GError **error)
{
    DnRunOptions none = {0};
    if (opts == NULL)
        opts = &none;
    g_return_val_if_fail (exp->continual, FALSE);
    if (opts->init_model != NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: a continual run starts every task's context from its own training, "
                     "so it cannot start from a trained model; leave out --init",
                     opts->init_model);
        return FALSE;
    }
    if (opts->epochs > 0) {
        /* --epochs: the epochs of every task. A resumed run goes on as it was set up. */
        if (opts->resume_dir != NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "a continual run goes on with the epochs per task it started with "
                         "(%d); --epochs cannot change it on --resume",
                         exp->cl.epochs_per_task);
            return FALSE;
        }
        exp->cl.epochs_per_task = opts->epochs;
    }
    DnContinualRun c = {0};
    _dn_run_base_init (&c.b, exp, opts, obs);
    c.cfg = &exp->cl;
    gboolean ok = FALSE;
    gint64 start = g_get_monotonic_time ();
    g_autofree float *activity = NULL;
    int act_units = 0;
    double avg = NAN;
    int first_task = 0;
    double elapsed0 = 0.0;
    DnContinualState state = {0};
    if (opts->resume_dir != NULL) {
        /* the whole state is checked before the seed it holds drives the weights'
         * initialisation */
        g_autoptr (DnSafetensors) st = _dn_run_base_open_folder (&c.b, opts->resume_dir, error);
        g_autofree char *path = _dn_run_base_path (&c.b, "latest");
        if (st == NULL || !_dn_continual_state_read (st, path, exp->cl.tasks, &state, error))
            goto out;
        c.b.seed = state.seed;
    }
    if (!setup (&c, error) ||
        (opts->resume_dir == NULL && !_dn_run_base_create_folder (&c.b, exp->epochs, error)))
        goto out;
    int act_node = activity_node (&c, error);
    if (act_node == -2)
        goto out;
    if (act_node >= 0)
        dn_network_keep_output (c.b.net, act_node);
    if ((exp->cl.si && !_dn_continual_si_setup (&c, error)) ||
        !_dn_continual_idle_setup (&c, error))
        goto out;
    if (opts->resume_dir != NULL) {
        if (!_dn_continual_load_latest (&c, &state, &first_task, &elapsed0, error))
            goto out;
        start -= (gint64) (elapsed0 * 1e6);
        /* the averages so far, for the DONE event if no task is left */
        for (int t = first_task - 1; t >= 0 && isnan (avg); t--)
            if (!isnan (c.matrix[(size_t) t * c.T])) {
                double sum = 0.0;
                for (int j = 0; j <= t; j++)
                    sum += c.matrix[(size_t) t * c.T + j];
                avg = sum / (t + 1);
            }
    }
    {
        DnEvent ev = {.kind = DN_EVENT_START,
                      .tasks = c.T,
                      .epochs = exp->cl.epochs_per_task,
                      .params = dn_network_n_params (c.b.net),
                      .train_samples = c.b.d.train->n,
                      .test_samples = c.b.d.test->n,
                      .n_batches = exp->cl.drop_last ? c.b.d.train->n / c.bsz
                                                     : (c.b.d.train->n + c.bsz - 1) / c.bsz,
                      .run_dir = c.b.run_dir,
                      .device = c.b.be->name,
                      .save_name = exp->name};
        dn_emit (obs, &ev);
    }
    dn_emit_log (obs,
                 "continual learning: %d tasks of %d training and %d test images from %s (task 0 "
                 "as is, tasks 1..%d permuted with seed %" G_GUINT64_FORMAT "); context: %s%s",
                 c.T, c.b.d.train->n, c.b.d.test->n,
                 c.b.d.train->source ? c.b.d.train->source : "?", c.T - 1, exp->cl.permutation_seed,
                 dn_context_kind_name (exp->cl.context),
                 exp->cl.si ? "; Synaptic Intelligence on" : "");
    if (first_task > 0)
        dn_emit_log (obs, "resuming %s after task %d (%d/%d)", c.b.run_dir, first_task - 1,
                     first_task, c.T);
    for (int t = first_task; t < c.T; t++) {
        if (t > first_task && _dn_run_base_cancelled (&c.b)) { /* stopped between tasks */
            c.cancelled = TRUE;
            if (c.saved_next_task != t &&
                !_dn_continual_save_latest (&c, t, (g_get_monotonic_time () - start) / 1e6, error))
                goto out;
            break;
        }
        gint64 t0 = g_get_monotonic_time ();
        if (!train_task (&c, t, error))
            goto out;
        if (c.cancelled)
            break;
        if (exp->cl.si)
            _dn_continual_si_end_task (&c);
        double task_secs = (g_get_monotonic_time () - t0) / 1e6;
        g_array_append_val (c.task_seconds, task_secs);
        if (is_eval_point (&exp->cl, t, c.T)) {
            int64_t inferred = 0;
            double sum = 0.0;
            for (int j = 0; j <= t; j++) {
                c.matrix[(size_t) t * c.T + j] = evaluate_task (&c, j, t + 1, &inferred);
                sum += c.matrix[(size_t) t * c.T + j];
            }
            double mean = sum / (t + 1);
            if (exp->cl.context == DN_CONTEXT_PROTOTYPE)
                dn_emit_log (obs,
                             "after task %d: the nearest prototype was the image's own task "
                             "for %" G_GINT64_FORMAT " of %d test images",
                             t, inferred, (t + 1) * c.b.d.test->n);
            DnEvent ev = {.kind = DN_EVENT_TASK,
                          .task = t,
                          .tasks = c.T,
                          .test_acc = mean,
                          .seconds = task_secs,
                          .accuracy_matrix = c.matrix,
                          .run_dir = c.b.run_dir};
            dn_emit (obs, &ev);
            avg = mean;
        }
        if (exp->cl.reset_optimizer && !exp->cl.si && t + 1 < c.T &&
            !_dn_continual_new_optimizer (&c, error))
            goto out;
        if (!_dn_continual_maybe_save_latest (&c, t + 1, start, error))
            goto out;
    }
    if (!c.cancelled && act_node >= 0)
        activity = measure_activity (&c, act_node, &act_units);
    {
        g_autofree char *model = _dn_run_base_path (&c.b, "final_model");
        g_autoptr (GHashTable) meta = _dn_continual_metadata (&c);
        if (!dn_model_save (c.b.net, model, meta, error))
            goto out;
        c.seconds = (g_get_monotonic_time () - start) / 1e6;
        g_autofree char *summary =
            c.cancelled ? g_strdup ("stopped before the last task")
                        : g_strdup_printf ("average accuracy over %d tasks: %.2f %%", c.T, avg);
        DnEvent ev = {.kind = DN_EVENT_DONE,
                      .tasks = c.T,
                      .task = c.T - 1,
                      .average_accuracy = c.cancelled ? NAN : avg,
                      .best_val = c.cancelled ? NAN : avg,
                      .test_at_best_val = c.cancelled ? NAN : avg,
                      .accuracy_matrix = c.matrix,
                      .activity = activity,
                      .activity_units = act_units,
                      .activity_layer =
                          act_node >= 0 ? dn_network_node (c.b.net, act_node)->name : NULL,
                      .params = dn_network_n_params (c.b.net),
                      .seconds = c.seconds,
                      .cancelled = c.cancelled,
                      .message = summary,
                      .model_path = model,
                      .run_dir = c.b.run_dir,
                      .save_name = exp->name};
        dn_emit (obs, &ev);
        if (result != NULL) {
            result->best_val = ev.best_val;
            result->test_at_best_val = ev.test_at_best_val;
            result->best_epoch = c.T;
            result->params = ev.params;
            result->seconds = c.seconds;
            result->run_dir = g_strdup (c.b.run_dir);
            result->model_path = g_strdup (model);
            if (opts->profile)
                result->profile_json = _dn_continual_profile_json (&c);
        }
    }
    ok = TRUE;
out:
    _dn_continual_state_clear (&state);
    clear (&c);
    return ok;
}

/* ---- evaluating a saved model ---- */

gboolean dn_continual_evaluate (DnNetwork *net, GHashTable *metadata, const char *what,
                                const DnDataset *test, const DnNormalize *norm, int batch_size,
                                double **per_task, int *tasks, double *average, GError **error)
{
    const char *text =
        metadata != NULL ? g_hash_table_lookup (metadata, "dendrite_continual") : NULL;
    if (text == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s records no continual-learning tasks (metadata \"dendrite_continual\"); "
                     "it was not written by a continual run",
                     what);
        return FALSE;
    }
    int npix = (int) dn_shape_numel (&test->shape);
    DnShape net_out = dn_network_output_shape (net);
    if (npix != dn_shape_numel (&net->input_shape) || test->n_classes > dn_shape_numel (&net_out)) {
        g_autofree char *a = dn_shape_to_string (&test->shape);
        g_autofree char *b = dn_shape_to_string (&net->input_shape);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "the samples of %s are %s with %d classes but the model takes %s and gives "
                     "%d outputs; evaluate it on images of the size and classes it was trained on",
                     test->source ? test->source : "the data", a, test->n_classes, b,
                     (int) dn_shape_numel (&net_out));
        return FALSE;
    }
    if (test->u8 == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s is not an image dataset; a continual model is evaluated on the IDX "
                     "images whose pixels its tasks permute",
                     test->source ? test->source : "the data");
        return FALSE;
    }
    if (batch_size < 1) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the evaluation batch size is %d; it must be at least 1", batch_size);
        return FALSE;
    }
    DnContinualConfig cfg;
    dn_continual_config_defaults (&cfg);
    DnStateReader rd = {0};
    JsonArray *protos = NULL;
    if (!_dn_continual_read_metadata (&rd, what, text, net, npix, &cfg, &protos, error)) {
        dn_run_state_clear (&rd);
        return FALSE;
    }
    DnContinualRun c = {0};
    c.cfg = &cfg;
    c.b.be = net->backend;
    c.b.net = net;
    c.b.d.test = (DnDataset *) test;
    c.b.d.norm = *norm;
    c.T = cfg.tasks;
    c.npix = npix;
    c.ebs = batch_size;
    DnShape out = dn_network_output_shape (net);
    c.cols = (int) dn_shape_numel (&out);
    DnBackend *be = c.b.be;
    gboolean ok = TRUE;
    gsize tp = (gsize) c.T * npix;
    const char *src = test->source;
    if ((c.perms = dn_data_try_alloc (tp, sizeof (int), "the task permutations", src, error)) ==
            NULL ||
        (c.protos = dn_data_try_alloc (tp, sizeof (float), "the task prototypes", src, error)) ==
            NULL ||
        (c.proto_norms = dn_data_try_alloc ((gsize) c.T, sizeof (float), "the prototype norms", src,
                                            error)) == NULL ||
        (c.b.step = dn_run_step_new (be, (gsize) npix, c.cols, batch_size, DN_LOSS_CROSS_ENTROPY,
                                     0.0f, error)) == NULL ||
        (c.xb = dn_batch_try_alloc ((gsize) npix, batch_size, sizeof (float), "the inputs",
                                    error)) == NULL ||
        (c.dist = dn_batch_try_alloc ((gsize) c.T, batch_size, sizeof (float),
                                      "the prototype distances", error)) == NULL ||
        (c.ctx_idx = dn_batch_try_alloc (1, batch_size, sizeof (int32_t), "the contexts", error)) ==
            NULL ||
        (c.idx = dn_batch_try_alloc (1, batch_size, sizeof (int), "the sample indices", error)) ==
            NULL) {
        ok = FALSE;
        goto out;
    }
    for (int t = 0; t < c.T; t++) {
        dn_continual_permutation (cfg.permutation_seed, t, npix, c.perms + (size_t) t * npix);
        c.proto_norms[t] = 0.0f;
        if (cfg.context != DN_CONTEXT_PROTOTYPE)
            continue;
        /* every value was checked by _dn_continual_read_metadata */
        JsonArray *row = json_array_get_array_element (protos, t);
        double n2 = 0.0;
        for (int i = 0; i < npix; i++) {
            float v = (float) json_array_get_double_element (row, i);
            c.protos[(size_t) t * npix + i] = v;
            n2 += (double) v * v;
        }
        c.proto_norms[t] = (float) n2;
    }
    if (cfg.context != DN_CONTEXT_PROTOTYPE)
        memset (c.protos, 0, tp * sizeof (float));
    c.protos_dev = be->alloc (be, (size_t) c.T * npix * sizeof (float));
    c.dist_dev = be->alloc (be, (size_t) batch_size * c.T * sizeof (float));
    c.ctx_idx_dev = be->alloc (be, (size_t) batch_size * sizeof (int32_t));
    if (cfg.context == DN_CONTEXT_TASK_ID) {
        g_autofree float *eye = g_new0 (float, (size_t) c.T *c.T);
        for (int t = 0; t < c.T; t++)
            eye[(size_t) t * c.T + t] = 1.0f;
        c.onehot_dev = be->alloc (be, (size_t) c.T * c.T * sizeof (float));
        if (c.onehot_dev != NULL)
            be->upload (be, c.onehot_dev, eye, (size_t) c.T * c.T * sizeof (float));
    }
    if (c.protos_dev == NULL || c.dist_dev == NULL || c.ctx_idx_dev == NULL ||
        (cfg.context == DN_CONTEXT_TASK_ID && c.onehot_dev == NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory: evaluating %d tasks in batches of %d needs more device "
                     "memory; use a smaller batch",
                     c.T, batch_size);
        ok = FALSE;
    } else if (!dn_network_reserve (net, batch_size, error)) {
        ok = FALSE;
    }
    if (ok) {
        be->upload (be, c.protos_dev, c.protos, (size_t) c.T * npix * sizeof (float));
        dn_network_set_training (net, FALSE);
        *per_task = g_new (double, c.T);
        *tasks = c.T;
        double sum = 0.0;
        int64_t inferred = 0;
        for (int t = 0; t < c.T; t++) {
            (*per_task)[t] = evaluate_task (&c, t, c.T, &inferred);
            sum += (*per_task)[t];
        }
        *average = sum / c.T;
        dn_network_set_contexts (net, NULL, 0, 0);
    }
out:
    dn_run_state_clear (&rd);
    be->free (be, c.protos_dev);
    be->free (be, c.dist_dev);
    be->free (be, c.ctx_idx_dev);
    be->free (be, c.onehot_dev);
    g_free (c.perms);
    g_free (c.protos);
    g_free (c.proto_norms);
    g_free (c.xb);
    g_free (c.dist);
    dn_run_step_free (c.b.step);
    g_free (c.ctx_idx);
    g_free (c.idx);
    return ok;
}
