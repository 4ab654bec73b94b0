/* dn-run.c: dn_experiment_run(), the one training loop of the project.
 *
 * A run trains epoch by epoch. A plain run (no "dendrites" section) trains
 * for the experiment's epochs and keeps the model with the best validation
 * score; a tracker that only records (dn_tracker_new_recorder) keeps its
 * history, so its run folder gets the same tables and picture. A dendritic
 * run wraps the selected layers as neuron modules and lets the tracker
 * decide after every epoch: keep training, restore the best
 * model and add a dendrite set, retry with fresh dendrites, or finish; the
 * loop carries out the checkpoint operations the tracker asks for, rebuilds
 * the optimizer after every restructure, and trains with the tracker's
 * learning rate. The epoch limit still applies.
 *
 * After every epoch `latest.safetensors` holds everything a run needs to go
 * on exactly where it was: weights, optimizer state, tracker (with its
 * scheduler and history), the random generator and the counters. Files are
 * written atomically, so a kill at any moment leaves either the old or the
 * new checkpoint, and dn_experiment_resume() gives the same end result as an
 * uninterrupted run. The run folder, its experiment.json copy, the batch
 * step and the seed and generator in the run state come from the run base
 * (dn-run-private.h), which the continual schedule shares: a new run never
 * writes into an earlier run's folder, and a damaged run state is refused,
 * never resumed. Each batch goes through dn_run_step(); this file keeps the
 * optimizer step, the scheduler or tracker and the epochs.
 */
#include "dn-run.h"
#include "dn-continual.h"
#include "dn-error.h"
#include "dn-json.h"
#include "dn-run-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

typedef struct {
    DnRunBase b;
    DnScheduler *sched; /* plain runs; the tracker owns the schedule of dendritic runs */
    DnTracker *tracker; /* dendritic runs; plain runs: a recorder (NULL when resumed from a
                         * checkpoint written without one) */
    int epoch;          /* epochs completed */
    int epochs;         /* the limit */
    double best_val, test_at_best;
    int best_epoch;
    int bsz;
    int *perm; /* the shuffled order of the training set */
    /* correlation per dendritic layer, from the last batch of the epoch */
    int n_corr;
    double corr[DN_TRACKER_MAX_CORR];
    char *corr_names[DN_TRACKER_MAX_CORR];
    gboolean pb_run; /* perforated backpropagation: dn-run-pb.c */
    DnPb pb;
    /* `latest` of the last epoch, synced and renamed on a thread of its own while the
     * next epoch trains; finished before anything reads or rewrites checkpoints */
    DnFileCommit *latest_pending;
} Run;

/* Waits for the last epoch's `latest` to reach the disk. */
static gboolean finish_latest (Run *r, GError **error)
{
    DnFileCommit *c = g_steal_pointer (&r->latest_pending);
    if (dn_file_commit_finish (c, error))
        return TRUE;
    g_prefix_error (error, "saving the checkpoint latest: ");
    return FALSE;
}

/* The tracker decides (dendritic runs), as opposed to only recording. */
static gboolean dendritic (const Run *r)
{
    return r->b.exp->dendrites;
}

/* ---- saving ---- */

/* The run's counters as JSON, for the "dendrite_run" metadata of latest. */
static char *run_state_json (Run *r)
{
    GString *s = _dn_run_state_begin (&r->b, "epoch", r->epoch);
    _dn_run_state_add_number (s, "best_val", r->best_val);
    _dn_run_state_add_number (s, "test_at_best", r->test_at_best);
    g_string_append_printf (s, ",\"best_epoch\":%d", r->best_epoch);
    if (r->sched != NULL) {
        g_autoptr (JsonBuilder) b = json_builder_new ();
        dn_scheduler_state_to_json (r->sched, b);
        g_autoptr (JsonNode) n = json_builder_get_root (b);
        g_autofree char *text = dn_json_to_string (n, FALSE);
        g_string_append_printf (s, ",\"scheduler\":%s", text);
    }
    g_string_append_c (s, '}');
    return g_string_free (s, FALSE);
}

static GHashTable *model_metadata (Run *r, double val, double test)
{
    GHashTable *meta = _dn_run_base_metadata (&r->b);
    /* built, not printed: a name in any script must come back as the same JSON string */
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "experiment");
    json_builder_add_string_value (b, r->b.exp->name);
    json_builder_set_member_name (b, "epoch");
    json_builder_add_int_value (b, r->epoch);
    json_builder_set_member_name (b, "val");
    if (isfinite (val))
        json_builder_add_double_value (b, val);
    else
        json_builder_add_null_value (b);
    json_builder_set_member_name (b, "test");
    if (isfinite (test))
        json_builder_add_double_value (b, test);
    else
        json_builder_add_null_value (b);
    /* seeds are 0..G_MAXINT64 (the experiment reader and the run state check it) */
    json_builder_set_member_name (b, "seed");
    json_builder_add_int_value (b, (gint64) r->b.seed);
    json_builder_set_member_name (b, "loss");
    json_builder_add_string_value (b, dn_loss_kind_name (r->b.exp->loss));
    json_builder_set_member_name (b, "dendrites");
    json_builder_add_int_value (b, dn_network_dendrite_count (r->b.net));
    json_builder_end_object (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    g_hash_table_insert (meta, g_strdup ("dendrite_training"), dn_json_to_string (root, FALSE));
    return meta;
}

/* A model file users keep: weights, network, normalisation (best_model, clean). */
static gboolean save_model (Run *r, const char *name, double val, double test, GError **error)
{
    g_autofree char *path = _dn_run_base_path (&r->b, name);
    g_autoptr (GHashTable) meta = model_metadata (r, val, test);
    return dn_model_save (r->b.net, path, meta, error);
}

/* A checkpoint the run can go on from: adds optimizer, tracker and counters. */
static gboolean save_checkpoint (Run *r, const char *name, double val, double test, GError **error)
{
    g_autofree char *path = _dn_run_base_path (&r->b, name);
    g_autoptr (GHashTable) meta = model_metadata (r, val, test);
    g_hash_table_insert (meta, g_strdup ("dendrite_run"), run_state_json (r));
    if (r->tracker != NULL)
        g_hash_table_insert (meta, g_strdup ("dendrite_tracker"),
                             dn_tracker_state_to_string (r->tracker));
    if (r->pb_run)
        g_hash_table_insert (meta, g_strdup ("dendrite_pb"), _dn_pb_state_to_string (&r->pb));
    if (!finish_latest (r, error))
        return FALSE;
    /* `latest` is written every epoch: its sync overlaps the next epoch */
    DnFileCommit **pending = g_str_equal (name, "latest") ? &r->latest_pending : NULL;
    return dn_model_save_checkpoint_pending (r->b.net, r->b.opt, path, meta, pending, error);
}

static gboolean copy_file (Run *r, const char *from, const char *to, GError **error)
{
    g_autofree char *src = _dn_run_base_path (&r->b, from);
    g_autofree char *dst = _dn_run_base_path (&r->b, to);
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr (GError) local = NULL;
    if (!g_file_get_contents (src, &data, &len, &local) ||
        !dn_file_write_atomic (dst, data, len, &local)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "could not copy %s to %s: %s", src, dst,
                     local->message);
        return FALSE;
    }
    return TRUE;
}

/* ---- building ---- */

static gboolean new_optimizer (Run *r, GError **error)
{
    dn_optimizer_free (r->b.opt);
    r->b.opt = dn_optimizer_new (&r->b.exp->optim, r->b.be, r->b.net->n_params, error);
    return r->b.opt != NULL;
}

static gboolean replace_network (Run *r, DnNetwork *net, GError **error)
{
    dn_network_free (r->b.net);
    r->b.net = net;
    return dn_network_reserve (net, r->bsz, error);
}

static gboolean restore_checkpoint (Run *r, const char *name, GError **error)
{
    g_autofree char *path = _dn_run_base_path (&r->b, name);
    DnNetwork *net = dn_model_load (path, r->b.be, NULL, error);
    return net != NULL && replace_network (r, net, error);
}

static void correlation_names (Run *r)
{
    r->n_corr = 0;
    for (int i = 0; i < dn_network_n_nodes (r->b.net) && r->n_corr < DN_TRACKER_MAX_CORR; i++) {
        DnNode *n = dn_network_node (r->b.net, i);
        if (dn_dendritic_count (n->layer) >= 0) {
            g_free (r->corr_names[r->n_corr]);
            r->corr_names[r->n_corr++] = g_strdup (n->name);
        }
    }
}

static void measure_correlation (Run *r, int batch)
{
    int c = 0;
    for (int i = 0; i < dn_network_n_nodes (r->b.net) && c < DN_TRACKER_MAX_CORR; i++) {
        DnNode *n = dn_network_node (r->b.net, i);
        if (dn_dendritic_count (n->layer) >= 0)
            r->corr[c++] = dn_dendritic_correlation (n->layer, n->dout.data, batch);
    }
}

/* ---- one epoch ---- */

static gboolean train_epoch (Run *r, double lr, DnEvent *ev, double *loss_out, double *acc_out,
                             gboolean *cancelled, GError **error)
{
    DnRunStep *step = r->b.step;
    int n_train = r->b.d.train->n;
    int n_batches = (n_train + r->bsz - 1) / r->bsz;
    int batch_every = r->b.opts->batch_every > 0 ? r->b.opts->batch_every : 20;
    gint64 t0 = g_get_monotonic_time ();
    dn_network_set_training (r->b.net, TRUE);
    if (r->pb_run) {
        _dn_pb_apply (&r->pb, r->b.net);
        _dn_pb_epoch_begin (&r->pb);
    }
    dn_rng_permutation (&r->b.rng, r->perm, n_train);
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0;
    for (int b = 0; b < n_batches; b++) {
        if (_dn_run_base_cancelled (&r->b)) {
            *cancelled = TRUE;
            return TRUE;
        }
        int n = MIN (r->bsz, n_train - b * r->bsz);
        dn_dataset_get_batch (r->b.d.train, r->perm + (size_t) b * r->bsz, n, &r->b.d.norm, step->x,
                              step->y);
        double loss = 0.0;
        int right = 0;
        if (!dn_run_step (step, r->b.net, n, dn_rng_next (&r->b.rng), &loss, &right, error)) {
            g_prefix_error (error, "epoch %d, batch %d (learning rate %g; %s%s): ", r->epoch + 1,
                            b + 1, lr,
                            r->epoch > 0 ? "the checkpoints of the epochs before are in "
                                         : "nothing was saved yet",
                            r->epoch > 0 ? r->b.run_dir : "");
            return FALSE;
        }
        correct += right;
        if (b + 1 == n_batches && dendritic (r))
            measure_correlation (r, n);
        if (r->pb.in_phase && !_dn_pb_after_step (&r->pb, r->b.net, n, error))
            return FALSE;
        if (r->pb_run)
            _dn_pb_optimizer_step (&r->pb, r->b.net, r->b.opt, lr);
        else
            dn_optimizer_step (r->b.opt, r->b.net->params, r->b.net->grads, lr);
        loss_sum += loss * n;
        seen += n;
        if ((b + 1) % batch_every == 0 || b + 1 == n_batches) {
            double secs = (g_get_monotonic_time () - t0) / 1e6;
            ev->kind = DN_EVENT_BATCH;
            ev->epoch = r->epoch + 1;
            ev->batch = b + 1;
            ev->n_batches = n_batches;
            ev->samples = seen;
            ev->loss = loss_sum / seen;
            ev->train_acc = 100.0 * correct / seen;
            ev->lr = lr;
            ev->seconds = secs;
            ev->samples_per_s = seen / MAX (secs, 1e-9);
            ev->eta_seconds = (n_train - seen) / MAX (ev->samples_per_s, 1e-9);
            dn_emit (r->b.obs, ev);
        }
    }
    *loss_out = loss_sum / MAX (seen, 1);
    *acc_out = 100.0 * correct / MAX (seen, 1);
    ev->samples = seen;
    ev->samples_per_s = seen / MAX ((g_get_monotonic_time () - t0) / 1e6, 1e-9);
    return TRUE;
}

/* Carries out the tracker's operations in order. */
static gboolean run_ops (Run *r, const DnTrackerAction *a, double val, double test, GError **error)
{
    int snapshots = 0;
    if (a->n_ops > 0 && !finish_latest (r, error))
        return FALSE;
    for (int i = 0; i < a->n_ops; i++) {
        const DnTrackerOp *op = &a->ops[i];
        switch (op->kind) {
        case DN_TRACKER_OP_SAVE:
            /* The tracker restores only weights from its checkpoints (it keeps its own
             * state), so they are plain model files; `latest`, the resume point, is
             * written with everything after the operations. */
            if (g_str_equal (op->name, "latest"))
                break;
            if (!save_model (r, op->name, val, test, error))
                return FALSE;
            break;
        case DN_TRACKER_OP_COPY:
            if (!copy_file (r, op->from, op->name, error))
                return FALSE;
            break;
        case DN_TRACKER_OP_RESTORE:
            if (!restore_checkpoint (r, op->name, error))
                return FALSE;
            break;
        case DN_TRACKER_OP_ADD_DENDRITES:
        case DN_TRACKER_OP_START_DENDRITE_PHASE: {
            DnNetwork *bigger = dn_network_add_dendrites (r->b.net, &r->b.rng, error);
            if (bigger == NULL || !replace_network (r, bigger, error))
                return FALSE;
            correlation_names (r);
            if (op->kind == DN_TRACKER_OP_START_DENDRITE_PHASE &&
                !_dn_pb_start (&r->pb, r->b.net, r->bsz, error))
                return FALSE;
            break;
        }
        case DN_TRACKER_OP_END_DENDRITE_PHASE:
            _dn_pb_end (&r->pb, r->b.net);
            break;
        case DN_TRACKER_OP_SAVE_GRAPHS: {
            DnEvent ev = {0};
            ev.kind = DN_EVENT_SNAPSHOT;
            ev.tracker = r->tracker;
            ev.suffix = op->name;
            ev.before_restore = op->before_restore;
            ev.timestamped = op->timestamped;
            ev.epoch = r->epoch;
            ev.snapshot = ++snapshots;
            ev.run_dir = r->b.run_dir;
            ev.save_name = r->b.exp->name;
            dn_emit (r->b.obs, &ev);
            break;
        }
        case DN_TRACKER_OP_SAVE_CLEAN:
            if (!save_model (r, op->name, val, test, error))
                return FALSE;
            break;
        }
    }
    if (a->rebuild_optimizer && !new_optimizer (r, error))
        return FALSE;
    if (r->pb_run)
        _dn_pb_apply (&r->pb, r->b.net);
    return TRUE;
}

static void fill_dendrite_fields (Run *r, DnEvent *ev, char **status)
{
    ev->tracker = r->tracker;
    ev->save_name = r->b.exp->name;
    if (!dendritic (r))
        return;
    ev->dendrites = dn_network_dendrite_count (r->b.net);
    g_free (*status);
    *status = dn_tracker_status_text (r->tracker);
    ev->status = *status;
    ev->reference_params = dn_network_reference_param_count (r->b.net);
}

static gboolean run_loop (Run *r, DnRunResult *result, GError **error)
{
    g_autofree char *status = NULL;
    DnEvent ev = {0};
    ev.epochs = r->epochs;
    ev.n_batches = (r->b.d.train->n + r->bsz - 1) / r->bsz;
    ev.train_samples = r->b.d.train->n;
    ev.val_samples = r->b.d.val ? r->b.d.val->n : 0;
    ev.test_samples = r->b.d.test ? r->b.d.test->n : 0;
    ev.params = dn_network_n_params (r->b.net);
    ev.run_dir = r->b.run_dir;
    ev.device = r->b.be->name;
    ev.best_val = r->best_epoch > 0 ? r->best_val : NAN;
    ev.test_at_best_val = r->test_at_best;
    ev.best_epoch = r->best_epoch;
    ev.epoch = r->epoch;
    ev.kind = DN_EVENT_START;
    fill_dendrite_fields (r, &ev, &status);
    dn_emit (r->b.obs, &ev);

    gint64 t_start = g_get_monotonic_time ();
    gboolean cancelled = FALSE,
             complete = r->tracker != NULL && dn_tracker_is_complete (r->tracker);
    while (r->epoch < r->epochs && !cancelled && !complete) {
        gint64 t_epoch = g_get_monotonic_time ();
        double lr = dendritic (r) ? dn_tracker_lr (r->tracker) : dn_scheduler_lr (r->sched);
        double train_loss = 0, train_acc = 0;
        if (!train_epoch (r, lr, &ev, &train_loss, &train_acc, &cancelled, error))
            return FALSE;
        if (cancelled)
            break;
        double val_acc, val_loss, test_acc, test_loss;
        if (!dn_run_step_evaluate (r->b.step, r->b.net, r->b.d.val, &r->b.d.norm, &val_acc,
                                   &val_loss, NULL, error) ||
            !dn_run_step_evaluate (r->b.step, r->b.net, r->b.d.test, &r->b.d.norm, &test_acc,
                                   &test_loss, NULL, error))
            return FALSE;
        /* Without a validation split the test score selects the best model. */
        double score = isnan (val_acc) ? test_acc : val_acc;
        double secs = (g_get_monotonic_time () - t_epoch) / 1e6;
        int64_t params_now = dn_network_n_params (r->b.net);
        int dendrites_now = dn_network_dendrite_count (r->b.net);
        gboolean improved = FALSE;
        DnTrackerAction action;
        memset (&action, 0, sizeof action);
        r->epoch++;
        DnTrackerScores sc = {0};
        double extra[1] = {train_acc};
        sc.val = score;
        sc.test = test_acc;
        sc.extra = extra;
        sc.n_extra = 1;
        sc.seconds = secs;
        sc.params = dn_network_reference_param_count (r->b.net);
        sc.lr = lr;
        if (dendritic (r)) {
            dn_tracker_set_correlations (r->tracker, (const char *const *) r->corr_names, r->corr,
                                         r->n_corr);
            if (r->pb.in_phase) {
                _dn_pb_epoch_end (&r->pb, r->b.net);
                _dn_pb_report (&r->pb, r->tracker);
            }
            if (!dn_tracker_add_score (r->tracker, &sc, &action, error))
                return FALSE;
            improved = action.new_best;
            if (improved) {
                r->best_val = score;
                r->test_at_best = test_acc;
                r->best_epoch = r->epoch;
            }
            if (!run_ops (r, &action, val_acc, test_acc, error))
                return FALSE;
            complete = action.complete;
        } else {
            /* the recorder only keeps the history: its action asks for nothing */
            DnTrackerAction recorded;
            if (r->tracker != NULL && !dn_tracker_add_score (r->tracker, &sc, &recorded, error))
                return FALSE;
            dn_scheduler_step (r->sched, score);
            improved = score > r->best_val;
            if (improved) {
                r->best_val = score;
                r->test_at_best = test_acc;
                r->best_epoch = r->epoch;
                if (!save_model (r, "best_model", val_acc, test_acc, error))
                    return FALSE;
            }
        }
        if (!save_checkpoint (r, "latest", val_acc, test_acc, error) ||
            (r->b.opts->sync_latest && !finish_latest (r, error)))
            return FALSE;

        ev.kind = DN_EVENT_EPOCH;
        ev.epoch = r->epoch;
        ev.batch = ev.n_batches;
        ev.loss = train_loss;
        ev.train_acc = train_acc;
        ev.val_acc = val_acc;
        ev.val_loss = val_loss;
        ev.test_acc = test_acc;
        ev.test_loss = test_loss;
        ev.lr = lr;
        ev.seconds = secs;
        ev.eta_seconds = secs * (r->epochs - r->epoch);
        ev.best_val = r->best_epoch > 0 ? r->best_val : NAN;
        ev.test_at_best_val = r->test_at_best;
        ev.best_epoch = r->best_epoch;
        ev.improved = improved;
        ev.params = params_now;
        fill_dendrite_fields (r, &ev, &status);
        ev.dendrites = dendritic (r) ? dendrites_now : 0;
        ev.action = dendritic (r) ? &action : NULL;
        ev.graph_epoch = dendritic (r) ? action.epoch + 1 : r->epoch;
        ev.message = action.message[0] != '\0' ? action.message : NULL;
        dn_emit (r->b.obs, &ev);
        if (dendritic (r) && action.message[0] != '\0') {
            DnEvent dec = ev;
            dec.kind = DN_EVENT_DECISION;
            dec.action = &action;
            dec.message = action.message;
            dec.dendrites = dn_network_dendrite_count (r->b.net);
            dn_emit (r->b.obs, &dec);
        }
    }

    if (!finish_latest (r, error))
        return FALSE;

    /* A dendritic run that hit the epoch limit ends with its best model, as the
     * tracker would have at completion. */
    if (dendritic (r) && !complete && !cancelled && r->best_epoch > 0) {
        dn_emit_log (r->b.obs,
                     "epoch limit of %d reached before the tracker finished; the best model "
                     "so far is best_model",
                     r->epochs);
    }
    if (dendritic (r) && !cancelled && r->best_epoch > 0) {
        g_autofree char *best = _dn_run_base_path (&r->b, "best_model");
        DnNetwork *final = dn_model_load (best, r->b.be, NULL, error);
        if (final == NULL || !replace_network (r, final, error) ||
            !save_model (r, "final_clean_pai", r->best_val, r->test_at_best, error))
            return FALSE;
    }

    double total = (g_get_monotonic_time () - t_start) / 1e6;
    g_autofree char *summary = NULL;
    if (r->best_epoch > 0 && dendritic (r))
        summary = g_strdup_printf (
            "best validation %.2f %% at epoch %d (test %.2f %%) with %d dendrite set%s, "
            "%" G_GINT64_FORMAT " parameters",
            r->best_val, r->best_epoch, r->test_at_best, dn_network_dendrite_count (r->b.net),
            dn_network_dendrite_count (r->b.net) == 1 ? "" : "s", dn_network_n_params (r->b.net));
    else if (r->best_epoch > 0)
        summary = g_strdup_printf ("best validation %.2f %% at epoch %d (test %.2f %%)",
                                   r->best_val, r->best_epoch, r->test_at_best);
    else
        summary = g_strdup ("stopped before the first epoch finished; nothing was saved");
    g_autofree char *best_path = _dn_run_base_path (&r->b, "best_model");
    memset (&ev, 0, sizeof ev);
    ev.kind = DN_EVENT_DONE;
    ev.epochs = r->epochs;
    ev.epoch = r->epoch;
    ev.best_val = r->best_epoch > 0 ? r->best_val : NAN;
    ev.test_at_best_val = r->test_at_best;
    ev.best_epoch = r->best_epoch;
    ev.params = dn_network_n_params (r->b.net);
    ev.seconds = total;
    ev.cancelled = cancelled;
    ev.message = summary;
    ev.model_path = r->best_epoch > 0 ? best_path : NULL;
    ev.run_dir = r->b.run_dir;
    ev.device = r->b.be->name;
    fill_dendrite_fields (r, &ev, &status);
    dn_emit (r->b.obs, &ev);
    if (result != NULL) {
        result->best_val = ev.best_val;
        result->test_at_best_val = r->test_at_best;
        result->best_epoch = r->best_epoch;
        result->params = ev.params;
        result->seconds = total;
        result->run_dir = g_strdup (r->b.run_dir);
        result->model_path = r->best_epoch > 0 ? g_strdup (best_path) : NULL;
    }
    return TRUE;
}

/* ---- setting up ---- */

static gboolean setup_common (Run *r, GError **error)
{
    r->bsz = r->b.exp->batch_size;
    r->epochs = r->b.opts->epochs > 0 ? r->b.opts->epochs : r->b.exp->epochs;
    r->best_val = -INFINITY;
    r->test_at_best = NAN;
    if (!_dn_run_base_setup (&r->b, error))
        return FALSE;
    r->pb_run = r->b.exp->dendrites && r->b.exp->tracker.perforated_backpropagation;
    _dn_pb_init (&r->pb, &r->b.exp->selection.pb, r->b.be);
    return TRUE;
}

static gboolean setup_buffers (Run *r, GError **error)
{
    return _dn_run_base_setup_step (&r->b, r->bsz, (float) r->b.exp->label_smoothing, error) &&
           (r->perm = dn_data_try_alloc ((gsize) r->b.d.train->n, sizeof (int),
                                         "the shuffled order of the training set",
                                         r->b.d.train->source, error)) != NULL;
}

static void run_clear (Run *r)
{
    /* a run ending in an error still leaves a whole `latest`; the error it met is
     * the one reported */
    dn_file_commit_finish (g_steal_pointer (&r->latest_pending), NULL);
    g_free (r->perm);
    for (int i = 0; i < DN_TRACKER_MAX_CORR; i++)
        g_free (r->corr_names[i]);
    dn_scheduler_free (r->sched);
    dn_tracker_free (r->tracker);
    _dn_pb_clear (&r->pb);
    _dn_run_base_clear (&r->b);
}

/* --init: the weights of a trained model, drawn after the random ones so that the
 * generator continues as in a run without it. */
static gboolean init_from_model (Run *r, const char *path, GError **error)
{
    g_autoptr (DnNetwork) model = dn_model_load (path, r->b.be, NULL, error);
    if (model == NULL || !dn_network_init_from (r->b.net, model, path, error))
        return FALSE;
    dn_emit_log (r->b.obs, "weights from %s%s", path,
                 dendritic (r) ? ": its neurons start the dendritic run" : "");
    return TRUE;
}

gboolean dn_experiment_run (DnExperiment *exp, const DnRunOptions *opts, const DnObserver *obs,
                            DnRunResult *result, GError **error)
{
    DnRunOptions none = {0};
    if (opts == NULL)
        opts = &none;
    if (opts->resume_dir != NULL)
        return dn_experiment_resume (opts->resume_dir, opts, obs, result, error);
    if (exp->continual)
        return dn_continual_run (exp, opts, obs, result, error);
    Run r = {0};
    _dn_run_base_init (&r.b, exp, opts, obs);
    gboolean ok = FALSE;
    g_autoptr (JsonNode) desc = NULL;
    if (!setup_common (&r, error))
        goto out;
    dn_emit_log (obs, "data: %d training, %d validation and %d test samples from %s",
                 r.b.d.train->n, r.b.d.val ? r.b.d.val->n : 0, r.b.d.test ? r.b.d.test->n : 0,
                 r.b.d.train->source ? r.b.d.train->source : "?");
    if (exp->dendrites) {
        g_autoptr (GPtrArray) warnings = NULL;
        desc = dn_dendrite_wrap_network (exp->network, &exp->selection, &warnings, error);
        if (desc == NULL)
            goto out;
        for (guint i = 0; i < warnings->len; i++)
            dn_emit_log (obs, "warning: %s", (char *) warnings->pdata[i]);
    } else {
        desc = json_node_copy (exp->network);
    }
    r.b.net = dn_network_new_from_json (desc, r.b.be, error);
    if (r.b.net == NULL || !dn_check_fit (r.b.net, &r.b.d, exp->loss, error))
        goto out;
    if (dn_network_context_dim (r.b.net) > 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the network has active dendrite layers, which read a context vector; add a "
                     "\"continual\" section (for example {\"tasks\": 10, \"context\": "
                     "\"prototype\"}) so the engine knows which context to give them");
        goto out;
    }
    if (exp->dendrites && dn_network_n_dendritic (r.b.net) == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "no layer gets dendrites: the \"dendrites\" section selects none of the "
                     "network's layers (perforate_types: linear, conv1d, conv2d by default)");
        goto out;
    }
    dn_rng_seed (&r.b.rng, r.b.seed);
    dn_network_init (r.b.net, &r.b.rng);
    if (opts->init_model != NULL && !init_from_model (&r, opts->init_model, error))
        goto out;
    if (!new_optimizer (&r, error))
        goto out;
    if (exp->dendrites) {
        r.tracker = dn_tracker_new (&exp->tracker, &exp->sched, exp->optim.lr, error);
        if (r.tracker == NULL)
            goto out;
        correlation_names (&r);
    } else {
        r.sched = dn_scheduler_new (&exp->sched, exp->optim.lr);
        /* without a validation or a test split there is no score to record */
        if ((r.b.d.val != NULL && r.b.d.val->n > 0) || (r.b.d.test != NULL && r.b.d.test->n > 0))
            r.tracker = dn_tracker_new_recorder ();
    }
    if (r.tracker != NULL) {
        const char *extra[] = {"Train"};
        if (!dn_tracker_set_extra_names (r.tracker, extra, 1, error))
            goto out;
        dn_tracker_set_score_unit (r.tracker, "%");
    }
    if (!setup_buffers (&r, error) || !_dn_run_base_create_folder (&r.b, r.epochs, error))
        goto out;
    ok = run_loop (&r, result, error);
out:
    run_clear (&r);
    return ok;
}

/* The run's counters from the checkpoint's "dendrite_run", every member checked.
 * The scheduler's state is read later (apply_scheduler_state), once it exists. */
static gboolean parse_run_state (Run *r, DnStateReader *st, GError **error)
{
    gint64 epoch, best_epoch;
    guint64 seed;
    double best_val, test_at_best;
    if (!dn_run_state_int (st, "epoch", 1, 100000000, &epoch, error) ||
        !_dn_run_state_read_seed (st, &seed, r->b.rng.s, error) ||
        !dn_run_state_int (st, "best_epoch", 0, epoch, &best_epoch, error) ||
        !dn_run_state_double (st, "best_val", -G_MAXDOUBLE, G_MAXDOUBLE, TRUE, &best_val, error) ||
        !dn_run_state_double (st, "test_at_best", -G_MAXDOUBLE, G_MAXDOUBLE, TRUE, &test_at_best,
                              error))
        return FALSE;
    if ((best_epoch > 0) == isnan (best_val))
        return dn_run_state_fail (st, error,
                                  "\"best_val\" must be a number when \"best_epoch\" is above 0 "
                                  "and null when it is 0 (it is %" G_GINT64_FORMAT ")",
                                  best_epoch);
    r->epoch = (int) epoch;
    r->b.seed = seed;
    r->best_epoch = (int) best_epoch;
    r->best_val = best_epoch > 0 ? best_val : -INFINITY;
    r->test_at_best = test_at_best;
    return TRUE;
}

static gboolean apply_scheduler_state (Run *r, DnStateReader *st, GError **error)
{
    JsonNode *sched = json_object_get_member (st->o, "scheduler");
    if (sched == NULL || !JSON_NODE_HOLDS_OBJECT (sched))
        return dn_run_state_fail (st, error, "\"scheduler\" is missing or not an object");
    g_autoptr (GError) local = NULL;
    if (!dn_scheduler_state_from_json (r->sched, json_node_get_object (sched), &local))
        return dn_run_state_fail (st, error, "%s", local->message);
    return TRUE;
}

/* The tracker of `latest`: a dendritic run's own, or a plain run's recorder that has
 * recorded every epoch the run state counts. */
static gboolean restore_tracker (Run *r, const char *text, const char *latest, GError **error)
{
    g_autoptr (GError) local = NULL;
    r->tracker = dn_tracker_state_from_string (text, &local);
    if (r->tracker == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the tracker state (\"dendrite_tracker\" in the metadata) is damaged: %s",
                     latest, local->message);
        return FALSE;
    }
    g_autofree char *why = NULL;
    if (dn_tracker_is_recorder (r->tracker) == r->b.exp->dendrites)
        why = g_strdup (r->b.exp->dendrites
                            ? "it records a run without dendrites, but experiment.json has a "
                              "\"dendrites\" section"
                            : "it is a dendritic run's, but experiment.json has no \"dendrites\" "
                              "section");
    else if (!r->b.exp->dendrites && dn_tracker_total_epochs (r->tracker) != r->epoch)
        why = g_strdup_printf ("it recorded %d epochs, but the run state counts %d",
                               dn_tracker_total_epochs (r->tracker), r->epoch);
    if (why != NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the tracker state (\"dendrite_tracker\" in the metadata) does not "
                     "belong to this run: %s; this checkpoint cannot be resumed",
                     latest, why);
        return FALSE;
    }
    return TRUE;
}

gboolean dn_experiment_resume (const char *run_dir, const DnRunOptions *opts, const DnObserver *obs,
                               DnRunResult *result, GError **error)
{
    DnRunOptions none = {0};
    if (opts == NULL)
        opts = &none;
    g_autofree char *exp_path = g_build_filename (run_dir, "experiment.json", NULL);
    g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
    if (!g_file_test (run_dir, G_FILE_TEST_IS_DIR)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "%s is not a folder; --resume takes the run folder a run wrote (for "
                     "example runs/NAME)",
                     run_dir);
        return FALSE;
    }
    if (!g_file_test (exp_path, G_FILE_TEST_EXISTS)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "%s has no experiment.json, so it is not a run folder; --resume takes the "
                     "folder a run wrote (for example runs/NAME)",
                     run_dir);
        return FALSE;
    }
    g_autoptr (DnExperiment) exp = dn_experiment_load (exp_path, error);
    if (exp == NULL)
        return FALSE;
    if (exp->continual) {
        DnRunOptions co = *opts;
        co.resume_dir = run_dir;
        return dn_continual_run (exp, &co, obs, result, error);
    }
    DnRunOptions o = *opts;
    o.resume_dir = NULL;
    Run r = {0};
    _dn_run_base_init (&r.b, exp, &o, obs);
    gboolean ok = FALSE;
    DnStateReader state = {0};
    g_autoptr (DnSafetensors) st = _dn_run_base_open_folder (&r.b, run_dir, error);
    /* the seed drives the data split: the whole state is checked before the data is read */
    if (st == NULL ||
        !dn_run_state_init (&state, latest, "dendrite_run",
                            dn_safetensors_metadata (st, "dendrite_run"), error) ||
        !parse_run_state (&r, &state, error))
        goto out;
    const char *tracker_state = dn_safetensors_metadata (st, "dendrite_tracker");
    if (exp->dendrites && tracker_state == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the tracker state (\"dendrite_tracker\" in the metadata) is missing, "
                     "but the experiment has dendrites; this checkpoint cannot be resumed",
                     latest);
        goto out;
    }
    if (!setup_common (&r, error))
        goto out;
    r.b.net = dn_model_load (latest, r.b.be, NULL, error);
    if (r.b.net == NULL || !dn_check_fit (r.b.net, &r.b.d, exp->loss, error) ||
        !new_optimizer (&r, error) || !dn_model_load_optimizer (st, r.b.opt, latest, error))
        goto out;
    /* a plain run's checkpoint written without a recorder resumes without history */
    if (tracker_state != NULL && !restore_tracker (&r, tracker_state, latest, error))
        goto out;
    if (exp->dendrites) {
        correlation_names (&r);
        const char *pb_state = dn_safetensors_metadata (st, "dendrite_pb");
        if (r.pb_run && pb_state == NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: the dendrite-phase state (\"dendrite_pb\" in the metadata) is "
                         "missing, but the experiment trains dendrites by correlation; this "
                         "checkpoint cannot be resumed",
                         latest);
            goto out;
        }
        if (r.pb_run &&
            !_dn_pb_state_load (&r.pb, r.b.net, r.bsz, latest, pb_state, error))
            goto out;
    } else {
        r.sched = dn_scheduler_new (&exp->sched, exp->optim.lr);
        if (!apply_scheduler_state (&r, &state, error))
            goto out;
    }
    /* setup_common reset the best score; the checkpoint's counts */
    if (!parse_run_state (&r, &state, error))
        goto out;
    if (!setup_buffers (&r, error))
        goto out;
    dn_emit_log (obs, "resuming %s after epoch %d", run_dir, r.epoch);
    ok = run_loop (&r, result, error);
out:
    dn_run_state_clear (&state);
    run_clear (&r);
    return ok;
}
