/* dn-run-snapshot.c: immutable run pictures and the tracker copies they share. */
#include "dn-run-snapshot.h"

#include "dn-error.h"
#include "dn-network-info.h"
#include "dn-results-page.h"
#include "dn-safetensors.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

struct _DnSharedTracker {
    DnTracker *tracker;
};

static void shared_clear (gpointer p)
{
    DnSharedTracker *st = p;
    dn_tracker_free (st->tracker);
}

DnSharedTracker *dn_shared_tracker_new (DnTracker *tracker)
{
    DnSharedTracker *st = g_atomic_rc_box_new0 (DnSharedTracker);
    st->tracker = tracker;
    return st;
}

DnSharedTracker *dn_shared_tracker_ref (DnSharedTracker *st)
{
    return st != NULL ? g_atomic_rc_box_acquire (st) : NULL;
}

void dn_shared_tracker_unref (DnSharedTracker *st)
{
    if (st != NULL)
        g_atomic_rc_box_release_full (st, shared_clear);
}

const DnTracker *dn_shared_tracker_get (DnSharedTracker *st)
{
    return st != NULL ? st->tracker : NULL;
}

DnRunSnapshot *dn_run_snapshot_new (void)
{
    DnRunSnapshot *s = g_atomic_rc_box_new0 (DnRunSnapshot);
    s->best_val = NAN;
    s->test_at_best = NAN;
    s->val_acc = NAN;
    s->test_acc = NAN;
    s->average_accuracy = NAN;
    s->log = g_ptr_array_new_with_free_func (g_free);
    return s;
}

DnRunSnapshot *dn_run_snapshot_ref (DnRunSnapshot *s)
{
    return g_atomic_rc_box_acquire (s);
}

static void snapshot_clear (gpointer p)
{
    DnRunSnapshot *s = p;
    g_free (s->status);
    g_free (s->run_dir);
    g_free (s->device);
    g_free (s->model_path);
    g_free (s->summary);
    g_free (s->error);
    g_ptr_array_unref (s->log);
    dn_shared_tracker_unref (s->shared);
    g_clear_pointer (&s->accuracy, g_bytes_unref);
    g_clear_pointer (&s->activity, g_bytes_unref);
    g_free (s->activity_layer);
}

void dn_run_snapshot_unref (DnRunSnapshot *s)
{
    if (s != NULL)
        g_atomic_rc_box_release_full (s, snapshot_clear);
}

const DnTracker *dn_run_snapshot_get_tracker (const DnRunSnapshot *s)
{
    return s != NULL ? dn_shared_tracker_get (s->shared) : NULL;
}

const double *dn_run_snapshot_get_accuracy (const DnRunSnapshot *s)
{
    if (s == NULL || s->accuracy == NULL || s->tasks <= 0 ||
        g_bytes_get_size (s->accuracy) != (gsize) s->tasks * s->tasks * sizeof (double))
        return NULL;
    return g_bytes_get_data (s->accuracy, NULL);
}

const float *dn_run_snapshot_get_activity (const DnRunSnapshot *s)
{
    if (s == NULL || s->activity == NULL || s->tasks <= 0 || s->activity_units <= 0 ||
        g_bytes_get_size (s->activity) != (gsize) s->tasks * s->activity_units * sizeof (float))
        return NULL;
    return g_bytes_get_data (s->activity, NULL);
}

int dn_run_snapshot_tasks_evaluated (const DnRunSnapshot *s)
{
    const double *m = dn_run_snapshot_get_accuracy (s);
    int n = 0;
    for (int t = 0; m != NULL && t < s->tasks; t++)
        if (isfinite (m[(size_t) t * s->tasks]))
            n++;
    return n;
}

G_DEFINE_BOXED_TYPE (DnRunSnapshot, dn_run_snapshot, dn_run_snapshot_ref, dn_run_snapshot_unref)

static double json_number (JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member (o, key);
    return n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : NAN;
}

static JsonObject *parse_object (JsonParser *p, const char *text)
{
    if (text == NULL || !json_parser_load_from_data (p, text, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
        return NULL;
    return json_node_get_object (json_parser_get_root (p));
}

/* hidden_activity.csv: "task,unit_0,...,unit_{U-1}", then one row per task */
static void read_activity (DnRunSnapshot *s)
{
    g_autofree char *path = g_build_filename (s->run_dir, "hidden_activity.csv", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents (path, &text, NULL, NULL))
        return;
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    if (lines[0] == NULL)
        return;
    g_auto (GStrv) header = g_strsplit (lines[0], ",", -1);
    int units = (int) g_strv_length (header) - 1;
    if (units <= 0 || g_strv_length (lines) < (guint) s->tasks + 1)
        return;
    float *a = g_new0 (float, (size_t) s->tasks *units);
    for (int t = 0; t < s->tasks; t++) {
        g_auto (GStrv) cells = g_strsplit (lines[t + 1], ",", -1);
        if (g_strv_length (cells) != (guint) units + 1) {
            g_free (a);
            return;
        }
        for (int u = 0; u < units; u++)
            a[(size_t) t * units + u] = (float) g_ascii_strtod (cells[u + 1], NULL);
    }
    s->activity = g_bytes_new_take (a, (size_t) s->tasks * units * sizeof (float));
    s->activity_units = units;
}

/* The continual run's state in latest.safetensors ("dendrite_continual": tasks;
 * "dendrite_continual_run": the next task and the matrix). */
static void read_continual (DnRunSnapshot *s, DnSafetensors *st)
{
    g_autoptr (JsonParser) p1 = json_parser_new ();
    g_autoptr (JsonParser) p2 = json_parser_new ();
    JsonObject *cl = parse_object (p1, dn_safetensors_metadata (st, "dendrite_continual"));
    JsonObject *run = parse_object (p2, dn_safetensors_metadata (st, "dendrite_continual_run"));
    if (cl == NULL || run == NULL)
        return;
    int tasks = (int) json_object_get_int_member_with_default (cl, "tasks", 0);
    JsonNode *mn = json_object_get_member (run, "matrix");
    JsonArray *m = mn != NULL && JSON_NODE_HOLDS_ARRAY (mn) ? json_node_get_array (mn) : NULL;
    if (tasks <= 0 || tasks > DN_CONTINUAL_MAX_TASKS || m == NULL ||
        json_array_get_length (m) != (guint) tasks * tasks)
        return;
    double *matrix = g_new (double, (size_t) tasks *tasks);
    for (guint i = 0; i < (guint) tasks * tasks; i++) {
        JsonNode *v = json_array_get_element (m, i);
        matrix[i] = JSON_NODE_HOLDS_VALUE (v) ? json_node_get_double (v) : NAN;
    }
    s->tasks = tasks;
    s->accuracy = g_bytes_new_take (matrix, (size_t) tasks * tasks * sizeof (double));
    s->tasks_done = (int) json_object_get_int_member_with_default (run, "next_task", 0);
    s->task = MIN (s->tasks_done, tasks - 1);
    s->epoch = s->epochs = 0;
    s->state = s->tasks_done >= tasks ? DN_RUN_FINISHED : DN_RUN_STOPPED;
    if (s->state == DN_RUN_FINISHED) {
        double sum = 0.0;
        for (int j = 0; j < tasks; j++)
            sum += matrix[(size_t) (tasks - 1) * tasks + j];
        s->average_accuracy = sum / tasks;
        s->best_val = s->test_at_best = s->average_accuracy;
        read_activity (s);
    }
    g_autofree char *final = g_build_filename (s->run_dir, "final_model.safetensors", NULL);
    if (g_file_test (final, G_FILE_TEST_EXISTS))
        s->model_path = g_steal_pointer (&final);
}

DnRunSnapshot *dn_run_snapshot_new_from_folder (const char *run_dir, GError **error)
{
    g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
    /* a picture needs only the metadata: the header is checked, no tensor converted */
    g_autoptr (DnSafetensors) st = dn_safetensors_open (latest, error);
    if (st == NULL)
        return NULL;
    g_autoptr (DnRunSnapshot) s = dn_run_snapshot_new ();
    s->run_dir = g_strdup (run_dir);
    const char *tracker = dn_safetensors_metadata (st, "dendrite_tracker");
    if (tracker != NULL) {
        DnTracker *t = dn_tracker_state_from_string (tracker, error);
        if (t == NULL)
            return NULL;
        s->shared = dn_shared_tracker_new (t);
        /* a run without dendrites keeps a tracker that only records */
        s->dendritic = !dn_tracker_is_recorder (t);
        if (s->dendritic) {
            s->dendrites = dn_tracker_dendrites (t);
            s->status = dn_tracker_status_text (t);
        }
    }
    const char *run = dn_safetensors_metadata (st, "dendrite_run");
    g_autoptr (JsonParser) p = json_parser_new ();
    if (run != NULL && json_parser_load_from_data (p, run, -1, NULL) &&
        JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
        JsonObject *o = json_node_get_object (json_parser_get_root (p));
        s->epoch = (int) json_object_get_int_member_with_default (o, "epoch", 0);
        s->best_val = json_number (o, "best_val");
        s->test_at_best = json_number (o, "test_at_best");
        s->best_epoch = (int) json_object_get_int_member_with_default (o, "best_epoch", 0);
        if (!isfinite (s->best_val))
            s->best_val = NAN;
    }
    g_autofree char *best = g_build_filename (run_dir, "best_model.safetensors", NULL);
    if (g_file_test (best, G_FILE_TEST_EXISTS))
        s->model_path = g_steal_pointer (&best);
    const DnTracker *t = dn_run_snapshot_get_tracker (s);
    s->state = t != NULL && dn_tracker_is_complete (t) ? DN_RUN_FINISHED : DN_RUN_STOPPED;
    read_continual (s, st);
    if (t != NULL && s->params == 0) {
        int n;
        const DnTrackerEpoch *rows = dn_tracker_epochs (t, &n);
        s->params = n > 0 ? rows[n - 1].params : 0;
    }
    g_ptr_array_unref (s->log);
    s->log = dn_run_snapshot_read_log (run_dir, s->tasks);
    return g_steal_pointer (&s);
}

/* run.log lines are "YYYY-MM-DD HH:MM:SS  text" (dn-run-writer.c): epoch lines,
 * start and end lines, and the decisions and messages, which follow the epoch
 * they were made at. */
GPtrArray *dn_run_snapshot_read_log (const char *run_dir, int tasks)
{
    GPtrArray *log = g_ptr_array_new_with_free_func (g_free);
    g_autofree char *path = g_build_filename (run_dir, "run.log", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents (path, &text, NULL, NULL))
        return log;
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    int epoch = 0;
    for (int i = 0; lines[i] != NULL; i++) {
        const char *sep = strstr (lines[i], "  ");
        if (sep == NULL || sep[2] == '\0')
            continue;
        const char *msg = sep + 2;
        int a, b;
        double mean;
        if (sscanf (msg, "epoch %d:", &a) == 1) {
            epoch = a;
        } else if (sscanf (msg, "after task %d: mean accuracy over tasks 0..%d %lf", &a, &b,
                           &mean) == 3) {
            g_ptr_array_add (log, g_strdup_printf (_ ("Task %d of %d done: %.2f %% mean accuracy "
                                                      "over the tasks so far"),
                                                   a + 1, MAX (tasks, a + 1), mean));
        } else if (g_str_has_prefix (msg, "stopped: ")) {
            g_ptr_array_add (log, tasks == 0 ? g_strdup_printf (_ ("Stopped after epoch %d"), epoch)
                                             : g_strdup (_ ("Stopped")));
        } else if (g_str_has_prefix (msg, "start: ") || g_str_has_prefix (msg, "done: ") ||
                   g_str_has_prefix (msg, "task ")) {
            continue;
        } else if (epoch > 0 && tasks == 0) {
            g_ptr_array_add (log, g_strdup_printf (_ ("Epoch %d · %s"), epoch, msg));
        } else {
            g_ptr_array_add (log, g_strdup (msg));
        }
    }
    return log;
}

int dn_run_snapshot_best_epoch (const DnRunSnapshot *s)
{
    const DnTracker *t = dn_run_snapshot_get_tracker (s);
    if (t == NULL)
        return s->best_epoch;
    DnTrackerMarkers m;
    dn_tracker_get_markers (t, &m);
    return m.has_global_best ? m.global_best_epoch + 1 : s->best_epoch;
}

/* Seconds of training: every epoch, the rolled-back ones too. */
static double training_seconds (const DnTracker *t)
{
    int n;
    const DnTrackerEpoch *rows = dn_tracker_epochs (t, &n);
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += rows[i].seconds;
    for (int r = 0; r < dn_tracker_n_rollbacks (t); r++) {
        DnTrackerRollback rb;
        if (dn_tracker_get_rollback (t, r, &rb))
            for (int i = 0; i < rb.n_rows; i++)
                sum += rb.rows[i].seconds;
    }
    return sum;
}

char *dn_run_snapshot_summary (const DnRunSnapshot *s)
{
    const DnTracker *t = dn_run_snapshot_get_tracker (s);
    if (s->tasks > 0 || t == NULL || !isfinite (s->best_val))
        return NULL;
    int n;
    const DnTrackerEpoch *rows = dn_tracker_epochs (t, &n);
    if (n == 0)
        return NULL;
    GString *str = g_string_new (NULL);
    g_string_append_printf (str, _ ("Best %.2f %% at epoch %d"), s->best_val,
                            dn_run_snapshot_best_epoch (s));
    if (isfinite (s->test_at_best))
        g_string_append_printf (str, _ (" (test %.2f %%)"), s->test_at_best);
    int64_t before = rows[0].params;
    int64_t after = s->params > 0 ? s->params : rows[n - 1].params;
    g_autofree char *p0 = dn_format_count (before);
    g_autofree char *p1 = dn_format_count (after);
    if (s->dendritic) {
        g_string_append_printf (
            str, ngettext (" · %d dendrite set kept", " · %d dendrite sets kept", s->dendrites),
            s->dendrites);
        g_string_append_printf (str, _ (" · parameters %s → %s"), p0, p1);
        int n_arch;
        g_autofree DnTrackerArchScore *arch = dn_tracker_best_scores (t, &n_arch);
        /* the remaining error the dendrites removed, against the network without them */
        double removed = n_arch > 0 && arch[0].dendrites == 0 && s->dendrites > 0
                             ? dn_remaining_error_reduction (arch[0].best_val, s->best_val)
                             : NAN;
        if (isfinite (removed)) {
            g_string_append_printf (str, _ (" · %.0f %% of the remaining error removed"),
                                    removed * 100);
        }
    } else {
        g_string_append_printf (str, _ (" · %s parameters"), p1);
    }
    double secs = training_seconds (t);
    if (secs >= 3600)
        g_string_append_printf (str, _ (" · %.1f h of training"), secs / 3600);
    else if (secs >= 90)
        g_string_append_printf (str, _ (" · %.0f min of training"), secs / 60);
    else
        g_string_append_printf (str, _ (" · %.0f s of training"), secs);
    return g_string_free (str, FALSE);
}
