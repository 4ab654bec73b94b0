/* dn-results-page.c: architectures, baseline, recent runs. */
#include "dn-results-page.h"

#include "dn-application.h"
#include "dn-chart-widget.h"
#include "dn-error.h"
#include "dn-evaluation-window.h"
#include "dn-paths.h"
#include "dn-run-summary.h"
#include "dn-run-table.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>

struct _DnResultsPage {
    AdwBin parent_instance;
    AdwPreferencesGroup *arch_group;
    GtkMenuButton *export_button;
    GtkListBox *arch_list;
    AdwActionRow *baseline_row;
    GtkButton *unpin_button;
    GtkButton *refresh_button;
    GtkListBox *recent_list;
    DnRunTable *run_table;
    GtkGrid *compare_grid;
    GtkButton *export_compare_button;
    GtkButton *confusion_button;
    GtkLabel *compare_status;
    GtkWidget *compare_charts[DN_CHART_N_KINDS];

    DnDocument *document;
    DnRunSnapshot *shown;
    double baseline_test; /* test accuracy at best validation of the pinned run; NaN: none */
    char *baseline_name;
    guint n_recent;
    GCancellable *scanning;
    GCancellable *table_scanning;
    GCancellable *loading;
    GPtrArray *overlays; /* DnChartWidgetOverlay drawn on the comparison charts; or NULL */
};

G_DEFINE_FINAL_TYPE (DnResultsPage, dn_results_page, ADW_TYPE_BIN)

double dn_remaining_error_reduction (double base, double acc)
{
    if (!isfinite (base) || !isfinite (acc))
        return NAN;
    double eb = 100.0 - base, ed = 100.0 - acc;
    if (eb <= 0)
        return NAN;
    return (eb - ed) / eb;
}

static void clear_list (GtkListBox *list)
{
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
        gtk_list_box_remove (list, child);
}

static GtkWidget *info_row (const char *title, const char *subtitle)
{
    GtkWidget *row = adw_action_row_new ();
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
    adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
    return row;
}

/* ---- architectures ---- */

/* A continual run has one architecture and one score: the average accuracy over
 * all tasks after the last one (where a tracker's run has its best validation). */
static void show_continual (DnResultsPage *self)
{
    const DnRunSnapshot *s = self->shown;
    /* how well the first task is remembered at the end: the forgetting in one number */
    const double *m = dn_run_snapshot_get_accuracy (s);
    double first = m != NULL ? m[(size_t) (s->tasks - 1) * s->tasks] : NAN;
    g_autofree char *params = dn_format_count (s->params);
    g_autofree char *title =
        g_strdup_printf (ngettext ("Continual learning, %d task · %s parameters",
                                   "Continual learning, %d tasks · %s parameters", s->tasks),
                         s->tasks, params);
    g_autofree char *sub =
        isfinite (s->average_accuracy)
            ? isfinite (first)
                  ? g_strdup_printf (_ ("average accuracy over all tasks %.2f %% · the first task "
                                        "after the last %.2f %%"),
                                     s->average_accuracy, first)
                  : g_strdup_printf (_ ("average accuracy over all tasks %.2f %%"),
                                     s->average_accuracy)
            : g_strdup_printf (_ ("stopped after %d of %d tasks: no average over all tasks"),
                               s->tasks_done, s->tasks);
    gtk_list_box_append (self->arch_list, info_row (title, sub));
}

static void show_architectures (DnResultsPage *self)
{
    clear_list (self->arch_list);
    if (self->shown != NULL && self->shown->tasks > 0) {
        show_continual (self);
        return;
    }
    const DnTracker *t = dn_run_snapshot_get_tracker (self->shown);
    int n = 0;
    g_autofree DnTrackerArchScore *rows = t != NULL ? dn_tracker_best_scores (t, &n) : NULL;
    if (n == 0) {
        gtk_list_box_append (self->arch_list,
                             info_row (_ ("No results yet"),
                                       _ ("Train an experiment, or open a run from the list below: "
                                          "its best scores per architecture appear here.")));
        return;
    }
    /* the baseline: the pinned run, else this run's first architecture */
    double base = self->baseline_test;
    gboolean own = !isfinite (base);
    if (own)
        base = rows[0].test_at_best;
    for (int i = 0; i < n; i++) {
        g_autofree char *params = dn_format_count (rows[i].params);
        g_autofree char *title =
            g_strdup_printf (ngettext ("%d dendrite set · %s parameters",
                                       "%d dendrite sets · %s parameters", rows[i].dendrites),
                             rows[i].dendrites, params);
        GString *sub = g_string_new (NULL);
        g_string_append_printf (sub,
                                _ ("best validation %.2f %% (epoch %d) · test at best %.2f %%"),
                                rows[i].best_val, rows[i].epoch + 1, rows[i].test_at_best);
        double red = dn_remaining_error_reduction (base, rows[i].test_at_best);
        if (!(own && i == 0) && isfinite (red))
            g_string_append_printf (sub, _ (" · remaining error reduction %+.1f %%"), red * 100);
        else if (own && i == 0)
            g_string_append (sub, _ (" · the baseline"));
        gtk_list_box_append (self->arch_list, info_row (title, sub->str));
        g_string_free (sub, TRUE);
    }
}

static void show_baseline (DnResultsPage *self)
{
    gboolean pinned = isfinite (self->baseline_test);
    g_autofree char *text =
        pinned ? g_strdup_printf (_ ("%s: test %.2f %% at its best validation epoch"),
                                  self->baseline_name, self->baseline_test)
               : g_strdup (_ ("The run’s own first architecture (no dendrites). Pin a run without "
                              "dendrites below to compare against it instead."));
    adw_action_row_set_subtitle (self->baseline_row, text);
    gtk_widget_set_visible (GTK_WIDGET (self->unpin_button), pinned);
}

static void scan_table (DnResultsPage *self);

static void load_baseline (DnResultsPage *self)
{
    self->baseline_test = NAN;
    g_clear_pointer (&self->baseline_name, g_free);
    GSettings *settings = dn_settings ();
    g_autofree char *dir =
        settings != NULL ? g_settings_get_string (settings, "baseline-run") : NULL;
    if (dir != NULL && *dir != '\0') {
        g_autoptr (DnRunSnapshot) s = dn_run_snapshot_new_from_folder (dir, NULL);
        if (s != NULL && isfinite (s->test_at_best)) {
            self->baseline_test = s->test_at_best;
            /* a run folder's name is shown, never interpreted: control characters written out */
            g_autofree char *base = g_path_get_basename (dir);
            self->baseline_name = dn_quote_inner (base);
        }
    }
    show_baseline (self);
    show_architectures (self);
}

static void on_unpin (GtkButton *b, DnResultsPage *self)
{
    GSettings *settings = dn_settings ();
    if (settings != NULL)
        g_settings_set_string (settings, "baseline-run", "");
    load_baseline (self);
    scan_table (self);
}

/* ---- recent runs, found on a worker thread ---- */

typedef struct {
    char *dir;
    char *name;
    gint64 mtime;
    double val, test;
    int dendrites;
    int epoch;
    int tasks; /* continual runs: T, and the average accuracy in val */
} RecentRun;

static void recent_free (gpointer p)
{
    RecentRun *r = p;
    g_free (r->dir);
    g_free (r->name);
    g_free (r);
}

/* The "dendrite_training" metadata of a safetensors file, reading only its header. */
static char *read_training_metadata (const char *path)
{
    FILE *f = g_fopen (path, "rb");
    if (f == NULL)
        return NULL;
    guint8 len8[8];
    char *out = NULL;
    if (fread (len8, 1, 8, f) == 8) {
        guint64 n = 0;
        for (int i = 7; i >= 0; i--)
            n = (n << 8) | len8[i];
        if (n > 0 && n < 64 * 1024 * 1024) {
            char *header = g_malloc (n + 1);
            if (fread (header, 1, n, f) == n) {
                header[n] = '\0';
                g_autoptr (JsonParser) p = json_parser_new ();
                if (json_parser_load_from_data (p, header, (gssize) n, NULL) &&
                    JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
                    JsonObject *o = json_node_get_object (json_parser_get_root (p));
                    JsonObject *m = json_object_has_member (o, "__metadata__")
                                        ? json_object_get_object_member (o, "__metadata__")
                                        : NULL;
                    if (m != NULL && json_object_has_member (m, "dendrite_training"))
                        out = g_strdup (json_object_get_string_member (m, "dendrite_training"));
                }
            }
            g_free (header);
        }
    }
    fclose (f);
    return out;
}

static double number_member (JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member (o, key);
    return n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : NAN;
}

static void scan_thread (GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    const char *root = data;
    GPtrArray *runs = g_ptr_array_new_with_free_func (recent_free);
    g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
        g_autofree char *dir = g_build_filename (root, name, NULL);
        g_autofree char *exp = g_build_filename (dir, "experiment.json", NULL);
        g_autofree char *latest = g_build_filename (dir, "latest.safetensors", NULL);
        GStatBuf st;
        if (!g_file_test (exp, G_FILE_TEST_EXISTS) || g_stat (latest, &st) != 0)
            continue;
        RecentRun *r = g_new0 (RecentRun, 1);
        r->dir = g_strdup (dir);
        r->name = g_strdup (name);
        r->mtime = st.st_mtime;
        r->val = r->test = NAN;
        g_autofree char *best = g_build_filename (dir, "best_model.safetensors", NULL);
        g_autofree char *meta = read_training_metadata (best);
        g_autofree char *summary = g_build_filename (dir, "summary.json", NULL);
        g_autoptr (JsonParser) p = json_parser_new ();
        if (meta == NULL && json_parser_load_from_file (p, summary, NULL) &&
            JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
            /* a continual run: summary.json from its end */
            JsonObject *o = json_node_get_object (json_parser_get_root (p));
            r->tasks = (int) json_object_get_int_member_with_default (o, "tasks", 0);
            r->val = number_member (o, "average_accuracy");
        } else if (meta != NULL && json_parser_load_from_data (p, meta, -1, NULL) &&
                   JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
            JsonObject *o = json_node_get_object (json_parser_get_root (p));
            r->val = number_member (o, "val");
            r->test = number_member (o, "test");
            r->dendrites = (int) json_object_get_int_member_with_default (o, "dendrites", 0);
            r->epoch = (int) json_object_get_int_member_with_default (o, "epoch", 0);
        }
        g_ptr_array_add (runs, r);
    }
    g_task_return_pointer (task, runs, (GDestroyNotify) g_ptr_array_unref);
}

static int recent_cmp (gconstpointer a, gconstpointer b)
{
    const RecentRun *x = *(RecentRun **) a, *y = *(RecentRun **) b;
    return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : 0;
}

static void on_pin (GtkButton *b, DnResultsPage *self)
{
    GSettings *settings = dn_settings ();
    if (settings != NULL)
        g_settings_set_string (settings, "baseline-run",
                               g_object_get_data (G_OBJECT (b), "dn-dir"));
    load_baseline (self);
    scan_table (self);
}

static void scan_done (GObject *src, GAsyncResult *res, gpointer data)
{
    if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (res))))
        return;
    DnResultsPage *self = DN_RESULTS_PAGE (data);
    g_autoptr (GPtrArray) runs = g_task_propagate_pointer (G_TASK (res), NULL);
    clear_list (self->recent_list);
    self->n_recent = runs != NULL ? runs->len : 0;
    if (runs == NULL || runs->len == 0) {
        g_autofree char *folder = dn_paths_output_folder (dn_settings ());
        g_autofree char *sub = g_strdup_printf (_ ("Runs are written to %s"), folder);
        gtk_list_box_append (self->recent_list, info_row (_ ("No runs yet"), sub));
        return;
    }
    g_ptr_array_sort (runs, recent_cmp);
    for (guint i = 0; i < MIN (runs->len, 20); i++) {
        RecentRun *r = runs->pdata[i];
        g_autoptr (GDateTime) when = g_date_time_new_from_unix_local (r->mtime);
        g_autofree char *date = g_date_time_format (when, "%x %X");
        g_autofree char *sub =
            r->tasks > 0
                ? isfinite (r->val)
                      ? g_strdup_printf (ngettext ("%s · average accuracy %.2f %% over %d task",
                                                   "%s · average accuracy %.2f %% over %d tasks",
                                                   r->tasks),
                                         date, r->val, r->tasks)
                      : g_strdup_printf (_ ("%s · stopped before the last task"), date)
            : isfinite (r->val)
                ? g_strdup_printf (ngettext ("%s · best validation %.2f %% · test %.2f %% · %d "
                                             "dendrite set",
                                             "%s · best validation %.2f %% · test %.2f %% · %d "
                                             "dendrite sets",
                                             r->dendrites),
                                   date, r->val, isfinite (r->test) ? r->test : NAN, r->dendrites)
                : g_strdup_printf (_ ("%s · no best model yet"), date);
        GtkWidget *row = info_row (r->name, sub);
        GtkWidget *open = gtk_button_new_with_label (_ ("Open"));
        gtk_widget_set_valign (open, GTK_ALIGN_CENTER);
        gtk_actionable_set_action_name (GTK_ACTIONABLE (open), "win.open-run");
        gtk_actionable_set_action_target_value (GTK_ACTIONABLE (open),
                                                g_variant_new_string (r->dir));
        g_autofree char *open_label = g_strdup_printf (_ ("Open run %s"), r->name);
        gtk_accessible_update_property (GTK_ACCESSIBLE (open), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                        open_label, -1);
        GtkWidget *pin = gtk_button_new_with_label (_ ("Pin as Baseline"));
        gtk_widget_set_valign (pin, GTK_ALIGN_CENTER);
        g_object_set_data_full (G_OBJECT (pin), "dn-dir", g_strdup (r->dir), g_free);
        g_signal_connect (pin, "clicked", G_CALLBACK (on_pin), self);
        adw_action_row_add_suffix (ADW_ACTION_ROW (row), pin);
        adw_action_row_add_suffix (ADW_ACTION_ROW (row), open);
        gtk_list_box_append (self->recent_list, row);
    }
}

static void scan (DnResultsPage *self)
{
    if (self->scanning != NULL)
        g_cancellable_cancel (self->scanning);
    g_clear_object (&self->scanning);
    self->scanning = g_cancellable_new ();
    char *folder = dn_paths_output_folder (dn_settings ());
    GTask *task = g_task_new (NULL, self->scanning, scan_done, self);
    g_task_set_task_data (task, folder, g_free);
    g_task_run_in_thread (task, scan_thread);
    g_object_unref (task);
}

/* ---- the run table and the comparison charts ---- */

static void table_scan_thread (GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    GPtrArray *runs = dn_run_summary_scan (data, NULL);
    g_task_return_pointer (task, runs, runs != NULL ? (GDestroyNotify) g_ptr_array_unref : NULL);
}

static void table_scan_done (GObject *src, GAsyncResult *res, gpointer data)
{
    if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (res))))
        return;
    DnResultsPage *self = DN_RESULTS_PAGE (data);
    g_autoptr (GPtrArray) runs = g_task_propagate_pointer (G_TASK (res), NULL);
    dn_run_table_set_runs (self->run_table, runs, self->baseline_test);
}

static void scan_table (DnResultsPage *self)
{
    if (self->table_scanning != NULL)
        g_cancellable_cancel (self->table_scanning);
    g_clear_object (&self->table_scanning);
    self->table_scanning = g_cancellable_new ();
    GTask *task = g_task_new (NULL, self->table_scanning, table_scan_done, self);
    g_task_set_task_data (task, dn_paths_output_folder (dn_settings ()), g_free);
    g_task_run_in_thread (task, table_scan_thread);
    g_object_unref (task);
}

/* The folders to draw: the selected runs, then the pinned baseline. */
typedef struct {
    GPtrArray *dirs;   /* char* */
    char *baseline;    /* or NULL */
    GPtrArray *loaded; /* DnRunSnapshot* or NULL, one per dir */
} LoadJob;

static void load_job_free (gpointer p)
{
    LoadJob *j = p;
    g_ptr_array_unref (j->dirs);
    g_free (j->baseline);
    if (j->loaded != NULL)
        g_ptr_array_unref (j->loaded);
    g_free (j);
}

static void load_thread (GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    LoadJob *j = data;
    j->loaded = g_ptr_array_new_with_free_func ((GDestroyNotify) dn_run_snapshot_unref);
    for (guint i = 0; i < j->dirs->len && !g_cancellable_is_cancelled (c); i++)
        g_ptr_array_add (j->loaded, dn_run_snapshot_new_from_folder (j->dirs->pdata[i], NULL));
    g_task_return_boolean (task, TRUE);
}

static void show_overlays (DnResultsPage *self, GPtrArray *overlays)
{
    g_clear_pointer (&self->overlays, g_ptr_array_unref);
    self->overlays = overlays != NULL ? g_ptr_array_ref (overlays) : NULL;
    for (int k = 0; k < DN_CHART_N_KINDS; k++)
        dn_chart_widget_set_overlays (DN_CHART_WIDGET (self->compare_charts[k]), overlays);
    guint n = overlays != NULL ? overlays->len : 0;
    gtk_widget_set_sensitive (GTK_WIDGET (self->export_compare_button), n > 0);
    g_autofree char *text =
        n == 0 ? g_strdup (_ ("Select runs in the table to draw them here."))
               : g_strdup_printf (ngettext ("%u run drawn over the charts.",
                                            "%u runs drawn over the charts.", n),
                                  n);
    gtk_label_set_text (self->compare_status, text);
}

static void load_done (GObject *src, GAsyncResult *res, gpointer data)
{
    if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (res))))
        return;
    DnResultsPage *self = DN_RESULTS_PAGE (data);
    LoadJob *j = g_task_get_task_data (G_TASK (res));
    g_autoptr (GPtrArray) overlays = g_ptr_array_new_with_free_func (dn_chart_widget_overlay_free);
    for (guint i = 0; i < j->loaded->len; i++) {
        DnRunSnapshot *snap = j->loaded->pdata[i];
        if (snap == NULL || dn_run_snapshot_get_tracker (snap) == NULL)
            continue;
        const char *dir = j->dirs->pdata[i];
        g_autofree char *base = g_path_get_basename (dir);
        g_autofree char *name = dn_quote_inner (base);
        gboolean is_baseline = j->baseline != NULL && g_str_equal (dir, j->baseline);
        g_ptr_array_add (overlays, dn_chart_widget_overlay_new (snap, name, is_baseline));
    }
    show_overlays (self, overlays);
}

/* The best model of the one run selected, or NULL (g_free). */
static char *selected_best_model (DnResultsPage *self)
{
    g_autoptr (GPtrArray) dirs = dn_run_table_get_selected (self->run_table);
    if (dirs->len != 1)
        return NULL;
    char *path = g_build_filename (dirs->pdata[0], "best_model.safetensors", NULL);
    g_autofree char *exp = g_build_filename (dirs->pdata[0], "experiment.json", NULL);
    if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || !g_file_test (exp, G_FILE_TEST_IS_REGULAR))
        g_clear_pointer (&path, g_free);
    return path;
}

DnEvaluationWindow *dn_results_page_show_confusion (DnResultsPage *self, GError **error)
{
    g_autofree char *model = selected_best_model (self);
    if (model == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     _ ("Select one run that kept a best model to see its confusion matrix"));
        return NULL;
    }
    /* the run's own copy of its experiment: its data, split and seed */
    g_autofree char *dir = g_path_get_dirname (model);
    g_autofree char *exp_path = g_build_filename (dir, "experiment.json", NULL);
    DnExperiment *exp = dn_experiment_load (exp_path, error);
    if (exp == NULL)
        return NULL;
    GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
    DnEvaluationWindow *win =
        dn_evaluation_window_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, model, NULL, exp);
    gtk_window_present (GTK_WINDOW (win));
    return win;
}

static void on_confusion (GtkButton *button, DnResultsPage *self)
{
    g_autoptr (GError) error = NULL;
    if (dn_results_page_show_confusion (self, &error) != NULL)
        return;
    GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
    GtkWidget *dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                _ ("Could Not Evaluate"), error->message);
    adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _ ("_Close"));
    gtk_window_present (GTK_WINDOW (dialog));
}

static void on_table_selection (DnRunTable *table, DnResultsPage *self)
{
    g_autofree char *best = selected_best_model (self);
    gtk_widget_set_sensitive (GTK_WIDGET (self->confusion_button), best != NULL);
    if (self->loading != NULL)
        g_cancellable_cancel (self->loading);
    g_clear_object (&self->loading);
    LoadJob *j = g_new0 (LoadJob, 1);
    j->dirs = dn_run_table_get_selected (table);
    GSettings *settings = dn_settings ();
    g_autofree char *pinned =
        settings != NULL ? g_settings_get_string (settings, "baseline-run") : NULL;
    if (pinned != NULL && *pinned != '\0' && isfinite (self->baseline_test)) {
        j->baseline = g_strdup (pinned);
        gboolean listed = FALSE;
        for (guint i = 0; i < j->dirs->len; i++)
            listed |= g_str_equal (j->dirs->pdata[i], pinned);
        if (!listed)
            g_ptr_array_add (j->dirs, g_strdup (pinned));
    }
    if (j->dirs->len == 0) {
        load_job_free (j);
        show_overlays (self, NULL);
        return;
    }
    self->loading = g_cancellable_new ();
    GTask *task = g_task_new (NULL, self->loading, load_done, self);
    g_task_set_task_data (task, j, load_job_free);
    g_task_run_in_thread (task, load_thread);
    g_object_unref (task);
}

gboolean dn_results_page_export_comparison (DnResultsPage *self, const char *path, GError **error)
{
    guint n = self->overlays != NULL ? self->overlays->len : 0;
    if (n == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "no runs to compare: select runs in the table first");
        return FALSE;
    }
    g_autofree DnChartOverlay *ov = g_new0 (DnChartOverlay, n);
    for (guint i = 0; i < n; i++) {
        DnChartWidgetOverlay *o = self->overlays->pdata[i];
        ov[i] = (DnChartOverlay){dn_run_snapshot_get_tracker (o->snapshot), o->name, o->baseline};
    }
    g_autoptr (DnTracker) none = dn_tracker_new_recorder ();
    return dn_chart_save_overlay (none, DN_CHART_ALL, ov, (int) n, path, 1800, 900, error);
}

static void on_export_compare_response (GtkNativeDialog *dialog, int response,
                                        DnResultsPage *self)
{
    g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT
                                 ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog))
                                 : NULL;
    g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
    g_object_unref (dialog);
    if (path == NULL)
        return;
    g_autoptr (GError) error = NULL;
    g_autofree char *text =
        dn_results_page_export_comparison (self, path, &error)
            ? g_strdup_printf (_ ("The comparison was saved to %s"), path)
            : g_strdup_printf (_ ("The comparison could not be saved: %s"), error->message);
    gtk_label_set_text (self->compare_status, text);
}

static void on_export_compare (GtkButton *button, DnResultsPage *self)
{
    GtkWidget *root = GTK_WIDGET (gtk_widget_get_root (GTK_WIDGET (self)));
    GtkFileChooserNative *dialog = gtk_file_chooser_native_new (
        _ ("Export Comparison"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
        GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Export"), _ ("_Cancel"));
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "comparison.png");
    g_autofree char *folder = dn_paths_output_folder (dn_settings ());
    g_autoptr (GFile) dir = g_file_new_for_path (folder);
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), dir, NULL);
    g_signal_connect (dialog, "response", G_CALLBACK (on_export_compare_response), self);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void follow_style (AdwStyleManager *sm, GParamSpec *pspec, DnResultsPage *self)
{
    for (int k = 0; k < DN_CHART_N_KINDS; k++)
        dn_chart_widget_set_dark (DN_CHART_WIDGET (self->compare_charts[k]),
                                  adw_style_manager_get_dark (sm));
}

DnRunTable *dn_results_page_get_run_table (DnResultsPage *self)
{
    return self->run_table;
}

GtkWidget *dn_results_page_get_compare_chart (DnResultsPage *self, int kind)
{
    g_return_val_if_fail (kind >= 0 && kind < DN_CHART_N_KINDS, NULL);
    return self->compare_charts[kind];
}

/* ---- public ---- */

void dn_results_page_set_document (DnResultsPage *self, DnDocument *doc)
{
    g_set_object (&self->document, doc);
    g_clear_pointer (&self->shown, dn_run_snapshot_unref);
    load_baseline (self);
    scan (self);
    scan_table (self);
}

void dn_results_page_add_run (DnResultsPage *self, DnRunSnapshot *snap)
{
    if (snap != NULL && (dn_run_snapshot_get_tracker (snap) != NULL || snap->tasks > 0)) {
        g_clear_pointer (&self->shown, dn_run_snapshot_unref);
        self->shown = dn_run_snapshot_ref (snap);
    }
    show_architectures (self);
    scan (self);
    scan_table (self);
}

char *dn_results_page_get_summary (DnResultsPage *self)
{
    if (self->shown != NULL && self->shown->tasks > 0 && isfinite (self->shown->average_accuracy))
        return g_strdup_printf (_ ("%.1f %% over %d tasks"), self->shown->average_accuracy,
                                self->shown->tasks);
    const DnTracker *t = dn_run_snapshot_get_tracker (self->shown);
    int n = 0;
    g_autofree DnTrackerArchScore *rows = t != NULL ? dn_tracker_best_scores (t, &n) : NULL;
    if (n > 0)
        return g_strdup_printf (ngettext ("%d architecture", "%d architectures", n), n);
    if (self->n_recent > 0)
        return g_strdup_printf (ngettext ("%u recent run", "%u recent runs", self->n_recent),
                                self->n_recent);
    return g_strdup (_ ("no runs yet"));
}

static void dn_results_page_dispose (GObject *object)
{
    DnResultsPage *self = DN_RESULTS_PAGE (object);
    if (self->scanning != NULL)
        g_cancellable_cancel (self->scanning);
    g_clear_object (&self->scanning);
    if (self->table_scanning != NULL)
        g_cancellable_cancel (self->table_scanning);
    g_clear_object (&self->table_scanning);
    if (self->loading != NULL)
        g_cancellable_cancel (self->loading);
    g_clear_object (&self->loading);
    g_clear_pointer (&self->overlays, g_ptr_array_unref);
    g_clear_object (&self->document);
    g_clear_pointer (&self->shown, dn_run_snapshot_unref);
    gtk_widget_dispose_template (GTK_WIDGET (self), DN_TYPE_RESULTS_PAGE);
    G_OBJECT_CLASS (dn_results_page_parent_class)->dispose (object);
}

static void dn_results_page_finalize (GObject *object)
{
    g_free (DN_RESULTS_PAGE (object)->baseline_name);
    G_OBJECT_CLASS (dn_results_page_parent_class)->finalize (object);
}

static void dn_results_page_class_init (DnResultsPageClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    G_OBJECT_CLASS (klass)->dispose = dn_results_page_dispose;
    G_OBJECT_CLASS (klass)->finalize = dn_results_page_finalize;
    gtk_widget_class_set_template_from_resource (widget_class,
                                                 "/org/dendrite/Studio/dn-results-page.ui");
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, arch_group);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, export_button);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, arch_list);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, baseline_row);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, unpin_button);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, refresh_button);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, recent_list);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, run_table);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, compare_grid);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, export_compare_button);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, confusion_button);
    gtk_widget_class_bind_template_child (widget_class, DnResultsPage, compare_status);
}

static void dn_results_page_init (DnResultsPage *self)
{
    g_type_ensure (DN_TYPE_RUN_TABLE);
    gtk_widget_init_template (GTK_WIDGET (self));
    for (int k = 0; k < DN_CHART_N_KINDS; k++) {
        self->compare_charts[k] = dn_chart_widget_new (k);
        gtk_widget_set_size_request (self->compare_charts[k], 240, 200);
        gtk_grid_attach (self->compare_grid, self->compare_charts[k], k % 2, k / 2, 1, 1);
    }
    g_signal_connect (self->run_table, "selection-changed", G_CALLBACK (on_table_selection), self);
    AdwStyleManager *sm = adw_style_manager_get_default ();
    g_signal_connect_object (sm, "notify::dark", G_CALLBACK (follow_style), self, 0);
    follow_style (sm, NULL, self);
    g_signal_connect (self->confusion_button, "clicked", G_CALLBACK (on_confusion), self);
    g_signal_connect (self->export_compare_button, "clicked", G_CALLBACK (on_export_compare),
                      self);
    show_overlays (self, NULL);
    self->baseline_test = NAN;
    g_signal_connect (self->unpin_button, "clicked", G_CALLBACK (on_unpin), self);
    g_signal_connect_swapped (self->refresh_button, "clicked", G_CALLBACK (scan), self);
    g_signal_connect_swapped (self->refresh_button, "clicked", G_CALLBACK (scan_table), self);
    /* the export menu: the same entries as the main menu's */
    g_autoptr (GMenu) menu = g_menu_new ();
    static const struct {
        const char *label, *target;
    } items[] = {
        {N_ ("Everything"), NULL},
        {N_ ("CSV Set (Perforated AI Files)"), "csv"},
        {N_ ("Tidy CSV (One Row per Epoch)"), "tidy"},
        {N_ ("All Four Charts as PNG"), "picture-png"},
        {N_ ("All Four Charts as SVG"), "picture-svg"},
        {N_ ("All Four Charts as PDF"), "picture-pdf"},
        {N_ ("Best Model"), "best-model"},
        {N_ ("Clean Final Model"), "clean-model"},
        {N_ ("Experiment File"), "experiment"},
        {N_ ("Export as ONNX…"), "onnx"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (items); i++) {
        g_autoptr (GMenuItem) item = g_menu_item_new (_ (items[i].label), NULL);
        if (items[i].target == NULL)
            g_menu_item_set_detailed_action (item, "win.export-all");
        else if (g_str_equal (items[i].target, "onnx"))
            g_menu_item_set_detailed_action (item, "win.export-onnx");
        else
            g_menu_item_set_action_and_target_value (item, "win.export",
                                                     g_variant_new_string (items[i].target));
        g_menu_append_item (menu, item);
    }
    gtk_menu_button_set_menu_model (self->export_button, G_MENU_MODEL (menu));
    show_architectures (self);
    show_baseline (self);
}
