/* dn-cli-json.c: `--json` output, one event object per line. */
#include "dn-cli.h"
#include "dn-run-dir.h"
#include "dn-json.h"

#include <math.h>

void dn_cli_json_number (JsonBuilder *b, const char *key, double v)
{
    json_builder_set_member_name (b, key);
    if (isfinite (v))
        json_builder_add_double_value (b, v);
    else
        json_builder_add_null_value (b);
}

static void add_int (JsonBuilder *b, const char *key, gint64 v)
{
    json_builder_set_member_name (b, key);
    json_builder_add_int_value (b, v);
}

static void add_string (JsonBuilder *b, const char *key, const char *v)
{
    json_builder_set_member_name (b, key);
    if (v != NULL)
        json_builder_add_string_value (b, v);
    else
        json_builder_add_null_value (b);
}

void dn_cli_json_print (FILE *out, JsonBuilder *b)
{
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    g_autofree char *text = dn_json_to_string (root, FALSE);
    fprintf (out, "%s\n", text);
    fflush (out);
}

/* The accuracy matrix so far: rows 0..upto, each with the tasks seen (null where
 * not measured). */
static void add_matrix (JsonBuilder *b, const char *key, int tasks, const double *m, int upto)
{
    json_builder_set_member_name (b, key);
    json_builder_begin_array (b);
    for (int t = 0; t <= upto; t++) {
        json_builder_begin_array (b);
        for (int j = 0; j <= t; j++) {
            double v = m[(size_t) t * tasks + j];
            if (isfinite (v))
                json_builder_add_double_value (b, v);
            else
                json_builder_add_null_value (b);
        }
        json_builder_end_array (b);
    }
    json_builder_end_array (b);
}

static gboolean continual_event (JsonBuilder *b, const DnEvent *ev)
{
    switch (ev->kind) {
    case DN_EVENT_START:
        add_string (b, "event", "start");
        add_int (b, "tasks", ev->tasks);
        add_int (b, "epochs_per_task", ev->epochs);
        add_int (b, "batches", ev->n_batches);
        add_int (b, "train_samples", ev->train_samples);
        add_int (b, "test_samples", ev->test_samples);
        add_int (b, "params", ev->params);
        add_string (b, "device", ev->device);
        add_string (b, "run_dir", ev->run_dir);
        return TRUE;
    case DN_EVENT_BATCH:
        add_string (b, "event", "batch");
        add_int (b, "task", ev->task);
        add_int (b, "epoch", ev->epoch);
        add_int (b, "batch", ev->batch);
        add_int (b, "batches", ev->n_batches);
        dn_cli_json_number (b, "loss", ev->loss);
        dn_cli_json_number (b, "samples_per_s", ev->samples_per_s);
        dn_cli_json_number (b, "eta", ev->eta_seconds);
        return TRUE;
    case DN_EVENT_EPOCH:
        add_string (b, "event", "epoch");
        add_int (b, "task", ev->task);
        add_int (b, "epoch", ev->epoch);
        dn_cli_json_number (b, "loss", ev->loss);
        dn_cli_json_number (b, "train", ev->train_acc);
        dn_cli_json_number (b, "test", ev->test_acc);
        dn_cli_json_number (b, "lr", ev->lr);
        dn_cli_json_number (b, "seconds", ev->seconds);
        dn_cli_json_number (b, "samples_per_s", ev->samples_per_s);
        return TRUE;
    case DN_EVENT_TASK: {
        add_string (b, "event", "task");
        add_int (b, "task", ev->task);
        add_int (b, "tasks", ev->tasks);
        json_builder_set_member_name (b, "accuracies");
        json_builder_begin_array (b);
        for (int j = 0; j <= ev->task; j++)
            json_builder_add_double_value (b, ev->accuracy_matrix[(size_t) ev->task * ev->tasks + j]);
        json_builder_end_array (b);
        dn_cli_json_number (b, "average_accuracy", ev->test_acc);
        dn_cli_json_number (b, "seconds", ev->seconds);
        return TRUE;
    }
    case DN_EVENT_DONE: {
        add_string (b, "event", "done");
        add_int (b, "tasks", ev->tasks);
        dn_cli_json_number (b, "average_accuracy", ev->average_accuracy);
        int last = -1;
        for (int t = 0; t < ev->tasks; t++)
            if (isfinite (ev->accuracy_matrix[(size_t) t * ev->tasks]))
                last = t;
        add_matrix (b, "accuracy_matrix", ev->tasks, ev->accuracy_matrix, last);
        add_int (b, "params", ev->params);
        dn_cli_json_number (b, "seconds", ev->seconds);
        add_string (b, "model", ev->model_path);
        add_string (b, "run_dir", ev->run_dir);
        json_builder_set_member_name (b, "cancelled");
        json_builder_add_boolean_value (b, ev->cancelled);
        return TRUE;
    }
    default:
        return FALSE;
    }
}

/* The tracker decides; a run without dendrites has one that only records. */
static gboolean dendritic (const DnEvent *ev)
{
    return ev->tracker != NULL && !dn_tracker_is_recorder (ev->tracker);
}

void dn_cli_json_event (const DnEvent *ev, gpointer user_data)
{
    FILE *out = user_data;
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    if (ev->tasks > 0 && continual_event (b, ev)) {
        json_builder_end_object (b);
        dn_cli_json_print (out, b);
        return;
    }
    switch (ev->kind) {
    case DN_EVENT_START:
        add_string (b, "event", "start");
        add_int (b, "epochs", ev->epochs);
        add_int (b, "batches", ev->n_batches);
        add_int (b, "train_samples", ev->train_samples);
        add_int (b, "val_samples", ev->val_samples);
        add_int (b, "test_samples", ev->test_samples);
        add_int (b, "params", ev->params);
        add_string (b, "device", ev->device);
        add_string (b, "run_dir", ev->run_dir);
        break;
    case DN_EVENT_BATCH:
        add_string (b, "event", "batch");
        add_int (b, "epoch", ev->epoch);
        add_int (b, "batch", ev->batch);
        add_int (b, "batches", ev->n_batches);
        dn_cli_json_number (b, "loss", ev->loss);
        dn_cli_json_number (b, "samples_per_s", ev->samples_per_s);
        dn_cli_json_number (b, "eta", ev->eta_seconds);
        break;
    case DN_EVENT_EPOCH:
        add_string (b, "event", "epoch");
        add_int (b, "epoch", ev->epoch);
        if (dendritic (ev))
            add_int (b, "graph_epoch", ev->graph_epoch);
        dn_cli_json_number (b, "loss", ev->loss);
        dn_cli_json_number (b, "train", ev->train_acc);
        dn_cli_json_number (b, "val", ev->val_acc);
        dn_cli_json_number (b, "val_loss", ev->val_loss);
        dn_cli_json_number (b, "test", ev->test_acc);
        dn_cli_json_number (b, "test_loss", ev->test_loss);
        dn_cli_json_number (b, "lr", ev->lr);
        dn_cli_json_number (b, "seconds", ev->seconds);
        dn_cli_json_number (b, "samples_per_s", ev->samples_per_s);
        json_builder_set_member_name (b, "improved");
        json_builder_add_boolean_value (b, ev->improved);
        dn_cli_json_number (b, "best_val", ev->best_val);
        add_int (b, "params", ev->params);
        if (dendritic (ev)) {
            DnTrackerStatus st;
            dn_tracker_get_status (ev->tracker, &st);
            add_int (b, "dendrites", ev->dendrites);
            add_int (b, "reference_params", ev->reference_params);
            add_string (b, "mode", st.mode == DN_TRACKER_MODE_NEURON ? "neuron" : "dendrite");
            add_int (b, "epochs_since_improved", st.epochs_since_improved);
            if (st.switch_in >= 0)
                add_int (b, "switch_in", st.switch_in);
            add_string (b, "status", ev->status);
            /* the values the graphs draw for this epoch */
            int n = 0;
            const DnTrackerEpoch *rows = dn_tracker_epochs (ev->tracker, &n);
            if (n > 0) {
                const DnTrackerEpoch *last = &rows[n - 1];
                dn_cli_json_number (b, "val_running", last->running);
                json_builder_set_member_name (b, "correlation");
                json_builder_begin_object (b);
                for (int i = 0; i < dn_tracker_n_correlations (ev->tracker); i++)
                    dn_cli_json_number (b, dn_tracker_correlation_name (ev->tracker, i),
                                        last->correlation[i]);
                json_builder_end_object (b);
            }
        }
        break;
    case DN_EVENT_LOG:
        add_string (b, "event", "log");
        add_string (b, "message", ev->message);
        break;
    case DN_EVENT_DECISION: {
        static const char *const names[] = {"continue", "add_dendrites", "retry", "restart_lr",
                                            "complete"};
        add_string (b, "event", "decision");
        add_int (b, "epoch", ev->epoch);
        add_string (b, "decision", names[ev->action->decision]);
        add_string (b, "message", ev->message);
        add_int (b, "dendrites", ev->dendrites);
        dn_cli_json_number (b, "lr", ev->action->lr);
        if (ev->action->restored_epoch >= 0)
            add_int (b, "restored_epoch", ev->action->restored_epoch + 1);
        json_builder_set_member_name (b, "complete");
        json_builder_add_boolean_value (b, ev->action->complete);
        break;
    }
    case DN_EVENT_SNAPSHOT:
        add_string (b, "event", "snapshot");
    {
        /* the suffix of the files written, as the run writer names them */
        g_autofree char *suffix = dn_run_dir_snapshot_suffix (ev->suffix != NULL ? ev->suffix : "",
                                                              ev->timestamped, ev->epoch,
                                                              ev->snapshot);
        add_string (b, "suffix", suffix);
        break;
    }
    case DN_EVENT_TASK:
        break;
    case DN_EVENT_DONE:
        add_string (b, "event", "done");
        dn_cli_json_number (b, "best_val", ev->best_val);
        dn_cli_json_number (b, "test_at_best_val", ev->test_at_best_val);
        add_int (b, "best_epoch", ev->best_epoch);
        add_int (b, "params", ev->params);
        dn_cli_json_number (b, "seconds", ev->seconds);
        add_string (b, "model", ev->model_path);
        add_string (b, "run_dir", ev->run_dir);
        json_builder_set_member_name (b, "cancelled");
        json_builder_add_boolean_value (b, ev->cancelled);
        if (dendritic (ev)) {
            add_int (b, "dendrites", ev->dendrites);
            int n = 0;
            g_autofree DnTrackerArchScore *arch = dn_tracker_best_scores (ev->tracker, &n);
            json_builder_set_member_name (b, "architectures");
            json_builder_begin_array (b);
            for (int i = 0; i < n; i++) {
                json_builder_begin_object (b);
                add_int (b, "dendrites", arch[i].dendrites);
                add_int (b, "params", arch[i].params);
                dn_cli_json_number (b, "best_val", arch[i].best_val);
                dn_cli_json_number (b, "test_at_best_val", arch[i].test_at_best);
                json_builder_end_object (b);
            }
            json_builder_end_array (b);
        }
        break;
    }
    json_builder_end_object (b);
    dn_cli_json_print (out, b);
}
