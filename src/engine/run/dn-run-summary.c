/* dn-run-summary.c: a run folder read back for the run table. */
#include "dn-run-summary.h"

#include "dn-error.h"
#include "dn-experiment.h"
#include "dn-network.h"
#include "dn-run-dir.h"
#include "dn-safetensors.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>

void dn_run_summary_free (DnRunSummary *s)
{
    if (s == NULL)
        return;
    g_free (s->path);
    g_free (s->name);
    g_free (s->experiment);
    g_free (s->data);
    g_free (s->network);
    g_free (s->mode);
    g_free (s->problem);
    g_free (s);
}

static void add_problem (GString *problems, const char *format, ...) G_GNUC_PRINTF (2, 3);
static void add_problem (GString *problems, const char *format, ...)
{
    va_list ap;
    va_start (ap, format);
    if (problems->len > 0)
        g_string_append (problems, "; ");
    g_string_append_vprintf (problems, format, ap);
    va_end (ap);
}

/* "5 layers: 2 conv2d, 2 linear": the count and the layers that hold weights. */
static char *describe_network (JsonNode *network)
{
    JsonObject *o = network != NULL && JSON_NODE_HOLDS_OBJECT (network)
                        ? json_node_get_object (network)
                        : NULL;
    JsonArray *layers = o != NULL && json_object_has_member (o, "layers")
                            ? json_object_get_array_member (o, "layers")
                            : NULL;
    if (layers == NULL)
        return g_strdup ("?");
    guint n = json_array_get_length (layers);
    g_autoptr (GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr (GPtrArray) order = g_ptr_array_new ();
    for (guint i = 0; i < n; i++) {
        JsonNode *l = json_array_get_element (layers, i);
        const char *type = JSON_NODE_HOLDS_OBJECT (l)
                               ? json_object_get_string_member_with_default (
                                     json_node_get_object (l), "type", "")
                               : "";
        if (!g_str_has_prefix (type, "conv") && !g_str_equal (type, "linear") &&
            !g_str_has_prefix (type, "active"))
            continue;
        gpointer c = g_hash_table_lookup (counts, type);
        if (c == NULL)
            g_ptr_array_add (order, (gpointer) type);
        g_hash_table_insert (counts, (gpointer) type, GINT_TO_POINTER (GPOINTER_TO_INT (c) + 1));
    }
    GString *s = g_string_new (NULL);
    g_string_printf (s, "%u layer%s", n, n == 1 ? "" : "s");
    for (guint i = 0; i < order->len; i++)
        g_string_append_printf (s, "%s%d %s", i == 0 ? ": " : ", ",
                                GPOINTER_TO_INT (g_hash_table_lookup (counts, order->pdata[i])),
                                (const char *) order->pdata[i]);
    return g_string_free (s, FALSE);
}

static void read_experiment (DnRunSummary *s, GString *problems)
{
    g_autofree char *path = g_build_filename (s->path, "experiment.json", NULL);
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
        add_problem (problems, "no experiment.json");
        return;
    }
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = dn_experiment_load (path, &error);
    if (exp == NULL) {
        add_problem (problems, "%s", error->message);
        return;
    }
    s->experiment = g_strdup (exp->name);
    s->data = g_strdup (exp->data_path != NULL ? exp->data_path : "bundled MNIST sample");
    s->network = describe_network (exp->network);
    if (exp->continual) {
        s->tasks = exp->cl.tasks;
        s->mode = g_strdup_printf ("continual, %d tasks", exp->cl.tasks);
    } else if (exp->dendrites) {
        s->mode = g_strdup_printf ("dendrites (%s)",
                                   dn_tracker_switch_mode_name (exp->tracker.switch_mode));
    } else {
        s->mode = g_strdup ("none");
    }
}

static JsonObject *metadata_object (DnSafetensors *st, const char *key, JsonNode **root)
{
    const char *text = dn_safetensors_metadata (st, key);
    *root = text != NULL ? json_from_string (text, NULL) : NULL;
    return *root != NULL && JSON_NODE_HOLDS_OBJECT (*root) ? json_node_get_object (*root) : NULL;
}

static double number_member (JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member (o, key);
    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
        return NAN;
    GType t = json_node_get_value_type (n);
    return t == G_TYPE_DOUBLE || t == G_TYPE_INT64 ? json_node_get_double (n) : NAN;
}

/* best_model: the scores the run kept and its dendrite sets. */
static void read_best_model (DnRunSummary *s, GString *problems)
{
    g_autofree char *path = g_build_filename (s->path, "best_model.safetensors", NULL);
    if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return;
    s->has_best_model = TRUE;
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_open (path, &error);
    if (st == NULL) {
        add_problem (problems, "%s", error->message);
        return;
    }
    g_autoptr (JsonNode) root = NULL;
    JsonObject *o = metadata_object (st, "dendrite_training", &root);
    if (o == NULL) {
        add_problem (problems, "best_model.safetensors records no training scores");
        return;
    }
    s->best_val = number_member (o, "val");
    s->test_at_best = number_member (o, "test");
    double k = number_member (o, "dendrites");
    s->dendrites = isfinite (k) && k >= 0 && k < 1e6 ? (int) k : -1;
}

/* latest: the history the tracker keeps (epochs, times, parameter counts); a continual
 * run's counts are in summary.json. */
static void read_history (DnRunSummary *s, const DnTracker *t)
{
    int n = 0;
    const DnTrackerEpoch *rows = dn_tracker_epochs (t, &n);
    double seconds = 0.0;
    for (int i = 0; i < n; i++)
        seconds += rows[i].seconds;
    for (int r = 0; r < dn_tracker_n_rollbacks (t); r++) {
        DnTrackerRollback rb;
        if (dn_tracker_get_rollback (t, r, &rb))
            for (int i = 0; i < rb.n_rows; i++)
                seconds += rb.rows[i].seconds;
    }
    s->epochs = dn_tracker_total_epochs (t);
    s->seconds = seconds;
    int archs = 0;
    g_autofree DnTrackerArchScore *best = dn_tracker_best_scores (t, &archs);
    for (int i = 0; i < archs; i++)
        if (i == archs - 1 || best[i].dendrites == s->dendrites)
            if (s->params < 0)
                s->params = best[i].params;
    if (s->dendrites < 0 && archs > 0)
        s->dendrites = best[archs - 1].dendrites;
}

static void read_latest (DnRunSummary *s, GString *problems)
{
    g_autofree char *path = g_build_filename (s->path, "latest.safetensors", NULL);
    GStatBuf sb;
    if (g_stat (path, &sb) != 0) {
        g_autofree char *holder = NULL;
        if (dn_run_dir_is_locked (s->path, &holder))
            add_problem (problems, "still running (%s), before its first checkpoint", holder);
        else
            add_problem (problems, "no latest.safetensors: the run stopped before its first "
                                   "epoch ended");
        return;
    }
    s->has_latest = TRUE;
    s->mtime = sb.st_mtime;
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_open (path, &error);
    if (st == NULL) {
        add_problem (problems, "%s", error->message);
        return;
    }
    const char *tracker = dn_safetensors_metadata (st, "dendrite_tracker");
    if (tracker != NULL) {
        g_autoptr (DnTracker) t = dn_tracker_state_from_string (tracker, &error);
        if (t == NULL)
            add_problem (problems, "latest.safetensors: %s", error->message);
        else
            read_history (s, t);
    }
    g_autofree char *holder = NULL;
    if (dn_run_dir_is_locked (s->path, &holder))
        add_problem (problems, "still running (%s)", holder);
}

/* A continual run: summary.json from its end. */
static void read_continual (DnRunSummary *s, GString *problems)
{
    g_autofree char *path = g_build_filename (s->path, "summary.json", NULL);
    g_autoptr (JsonParser) p = json_parser_new ();
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
        add_problem (problems, "no summary.json: the run stopped before its last task");
        return;
    }
    g_autoptr (GError) error = NULL;
    if (!json_parser_load_from_file (p, path, &error) ||
        !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
        add_problem (problems, "summary.json is damaged%s%s", error != NULL ? ": " : "",
                     error != NULL ? error->message : "");
        return;
    }
    JsonObject *o = json_node_get_object (json_parser_get_root (p));
    s->best_val = number_member (o, "average_accuracy");
    double params = number_member (o, "params"), secs = number_member (o, "seconds");
    if (isfinite (params) && params >= 0)
        s->params = (gint64) params;
    if (isfinite (secs))
        s->seconds = secs;
}

static gboolean has_tables (const char *dir)
{
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        if (g_str_has_suffix (name, ".csv"))
            return TRUE;
    return FALSE;
}

DnRunSummary *dn_run_summary_read (const char *dir)
{
    DnRunSummary *s = g_new0 (DnRunSummary, 1);
    s->path = g_strdup (dir);
    s->name = g_path_get_basename (dir);
    s->dendrites = -1;
    s->params = -1;
    s->epochs = -1;
    s->best_val = s->test_at_best = s->seconds = NAN;
    GStatBuf sb;
    if (g_stat (dir, &sb) == 0)
        s->mtime = sb.st_mtime;
    g_autoptr (GString) problems = g_string_new (NULL);
    if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
        add_problem (problems, "not a folder");
        s->problem = g_string_free (g_steal_pointer (&problems), FALSE);
        return s;
    }
    read_experiment (s, problems);
    read_best_model (s, problems);
    read_latest (s, problems);
    if (s->tasks > 0)
        read_continual (s, problems);
    else if (s->has_latest && !s->has_best_model)
        add_problem (problems, "no best_model.safetensors: no epoch improved on validation");
    s->has_tables = has_tables (dir);
    if (s->tasks == 0 && s->has_latest && !s->has_tables)
        add_problem (problems, "no CSV tables");
    if (s->mode == NULL)
        s->mode = g_strdup ("?");
    if (problems->len > 0)
        s->problem = g_string_free (g_steal_pointer (&problems), FALSE);
    return s;
}

static gboolean looks_like_run (const char *dir)
{
    g_autofree char *exp = g_build_filename (dir, "experiment.json", NULL);
    if (g_file_test (exp, G_FILE_TEST_EXISTS))
        return TRUE;
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        if (g_str_has_suffix (name, ".safetensors"))
            return TRUE;
    return FALSE;
}

static int newest_first (gconstpointer a, gconstpointer b)
{
    const DnRunSummary *x = *(DnRunSummary **) a, *y = *(DnRunSummary **) b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? 1 : -1;
    return g_strcmp0 (x->name, y->name);
}

GPtrArray *dn_run_summary_scan (const char *out_dir, GError **error)
{
    GError *local = NULL;
    g_autoptr (GDir) d = g_dir_open (out_dir, 0, &local);
    if (d == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "cannot list the runs in %s: %s", out_dir,
                     local->message);
        g_error_free (local);
        return NULL;
    }
    GPtrArray *runs = g_ptr_array_new_with_free_func ((GDestroyNotify) dn_run_summary_free);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL) {
        g_autofree char *dir = g_build_filename (out_dir, name, NULL);
        if (g_file_test (dir, G_FILE_TEST_IS_DIR) && looks_like_run (dir))
            g_ptr_array_add (runs, dn_run_summary_read (dir));
    }
    g_ptr_array_sort (runs, newest_first);
    return runs;
}
