/* dn-export.c: CSVs, pictures, models and the experiment file, on request. */
#include "dn-export.h"
#include "dn-run-dir.h"

#include "dn-chart-widget.h"
#include "dn-chart.h"
#include "dn-continual-files.h"
#include "dn-error.h"
#include "dn-onnx.h"
#include "dn-run-files.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

static const DnRunFile csv_set[] = {
    DN_RUN_FILE_SCORES,        DN_RUN_FILE_TIMES,        DN_RUN_FILE_LEARNING_RATE,
    DN_RUN_FILE_SWITCH_EPOCHS, DN_RUN_FILE_PARAM_COUNTS, DN_RUN_FILE_BEST_TEST_SCORES,
};

static const char *const chart_ids[DN_CHART_WIDGET_N_KINDS] = {"scores",      "times", "lr",
                                                               "correlation", "tasks", "activity"};

static gboolean parse_chart (const char *what, int *kind, const char **fmt)
{
    if (!g_str_has_prefix (what, "chart-"))
        return FALSE;
    const char *rest = what + 6;
    for (int k = 0; k < DN_CHART_WIDGET_N_KINDS; k++) {
        gsize n = strlen (chart_ids[k]);
        if (strncmp (rest, chart_ids[k], n) == 0 && rest[n] == '-') {
            *kind = k;
            *fmt = rest + n + 1;
            return g_str_equal (*fmt, "png") || g_str_equal (*fmt, "svg") ||
                   g_str_equal (*fmt, "pdf");
        }
    }
    return FALSE;
}

static const char *model_file (const char *what)
{
    if (g_str_equal (what, "best-model"))
        return "best_model.safetensors";
    if (g_str_equal (what, "clean-model"))
        return "final_clean_pai.safetensors";
    return NULL;
}

/* Continual runs: the task charts and the accuracy matrix once a task has been
 * evaluated, the activity map at the end; nothing of the tracker's. */
static gboolean continual_available (const DnRunSnapshot *snap, const char *what, char **why)
{
    int kind;
    const char *fmt;
    gboolean activity = parse_chart (what, &kind, &fmt) && kind == DN_CHART_WIDGET_ACTIVITY;
    gboolean tasks = g_str_equal (what, "accuracy-matrix") || g_str_has_prefix (what, "picture-") ||
                     (parse_chart (what, &kind, &fmt) && kind == DN_CHART_WIDGET_TASKS);
    if (activity && dn_run_snapshot_get_activity (snap) != NULL)
        return TRUE;
    if (tasks && dn_run_snapshot_tasks_evaluated (snap) > 0)
        return TRUE;
    if (why != NULL)
        *why = g_strdup (activity ? _ ("The hidden activity is measured when the last task is done")
                         : tasks  ? _ ("Nothing to export yet: train at least one task")
                                  : _ ("A continual-learning run has no such file: export its "
                                        "task charts or accuracy matrix"));
    return FALSE;
}

gboolean dn_export_available (const DnRunSnapshot *snap, const char *what, char **why)
{
    const DnTracker *t = dn_run_snapshot_get_tracker (snap);
    int n = 0;
    if (t != NULL)
        dn_tracker_epochs (t, &n);
    const char *model = model_file (what);
    if (g_str_equal (what, "experiment"))
        return TRUE;
    if (snap != NULL && snap->tasks > 0 && g_str_equal (what, "final-model"))
        model = "final_model.safetensors";
    else if (snap != NULL && snap->tasks > 0)
        return continual_available (snap, what, why);
    if (model != NULL) {
        g_autofree char *path = snap != NULL && snap->run_dir != NULL
                                    ? g_build_filename (snap->run_dir, model, NULL)
                                    : NULL;
        if (path != NULL && g_file_test (path, G_FILE_TEST_EXISTS))
            return TRUE;
        if (why != NULL)
            *why = g_strdup (g_str_equal (what, "clean-model")
                                 ? _ ("The clean final model is written when a run with dendrites "
                                      "finishes")
                                 : _ ("No model has been saved yet: train at least one epoch"));
        return FALSE;
    }
    if (n == 0) {
        if (why != NULL)
            *why = g_strdup (_ ("Nothing to export yet: train at least one epoch"));
        return FALSE;
    }
    return TRUE;
}

static gboolean write_text (const char *dir, const char *name, const char *text, GError **error)
{
    g_autofree char *path = g_build_filename (dir, name, NULL);
    return dn_file_write_atomic (path, text, strlen (text), error);
}

static gboolean copy_file (const char *from, const char *dir, const char *name, GError **error)
{
    g_autoptr (GFile) src = g_file_new_for_path (from);
    g_autofree char *to = g_build_filename (dir, name, NULL);
    g_autoptr (GFile) dst = g_file_new_for_path (to);
    GError *local = NULL;
    if (!g_file_copy (src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &local)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, _ ("Could not copy %s to %s: %s"), from, to,
                     local->message);
        g_error_free (local);
        return FALSE;
    }
    return TRUE;
}

static const char *save_name (const DnExperiment *exp)
{
    return exp != NULL && exp->name != NULL ? exp->name : "PAI";
}

static void draw_tasks (cairo_t *cr, double w, double h, gpointer data)
{
    const DnRunSnapshot *s = data;
    dn_chart_draw_task_accuracy (cr, s->tasks, dn_run_snapshot_get_accuracy (s), w, h, NULL);
}

static void draw_activity (cairo_t *cr, double w, double h, gpointer data)
{
    const DnRunSnapshot *s = data;
    dn_chart_draw_activity (cr, s->tasks, s->activity_units, dn_run_snapshot_get_activity (s), 64,
                            s->activity_layer, w, h, NULL);
}

/* The task charts, the matrix and the final model of a continual run. */
static gboolean export_continual (const DnRunSnapshot *snap, const char *name, const char *what,
                                  const char *dir, int *n_files, GError **error)
{
    int kind;
    const char *fmt;
    if (g_str_equal (what, "accuracy-matrix")) {
        g_autofree char *csv =
            dn_continual_matrix_csv (snap->tasks, dn_run_snapshot_get_accuracy (snap));
        g_autofree char *file = g_strdup_printf ("%s-accuracy_matrix.csv", name);
        if (!write_text (dir, file, csv, error))
            return FALSE;
        (*n_files)++;
        return TRUE;
    }
    gboolean picture = g_str_has_prefix (what, "picture-");
    if (!picture && !parse_chart (what, &kind, &fmt))
        return FALSE;
    if (picture) {
        kind = DN_CHART_WIDGET_TASKS;
        fmt = what + 8;
    }
    g_autofree char *file = g_strdup_printf ("%s-%s.%s", name, chart_ids[kind], fmt);
    g_autofree char *path = g_build_filename (dir, file, NULL);
    gboolean tasks = kind == DN_CHART_WIDGET_TASKS;
    double height = tasks ? 560 : 120 + 28.0 * MIN (snap->tasks, 40);
    if (!dn_chart_save_drawing (path, 900, height, tasks ? draw_tasks : draw_activity,
                                (gpointer) snap, error))
        return FALSE;
    (*n_files)++;
    return TRUE;
}

static gboolean export_one (const DnRunSnapshot *snap, const DnExperiment *exp, const char *what,
                            const char *dir, int *n_files, GError **error)
{
    const DnTracker *t = dn_run_snapshot_get_tracker (snap);
    const char *name = save_name (exp);
    int kind;
    const char *fmt;
    if (snap != NULL && snap->tasks > 0 && !g_str_equal (what, "experiment") &&
        !g_str_equal (what, "final-model"))
        return export_continual (snap, name, what, dir, n_files, error);
    if (g_str_equal (what, "csv") || g_str_equal (what, "tidy")) {
        gboolean tidy = g_str_equal (what, "tidy");
        int n = tidy ? 1 : (int) G_N_ELEMENTS (csv_set);
        for (int i = 0; i < n; i++) {
            DnRunFile f = tidy ? DN_RUN_FILE_HISTORY : csv_set[i];
            g_autofree char *text = dn_run_file_text (t, f, FALSE);
            g_autofree char *path = dn_run_file_path (dir, name, NULL, f);
            g_autofree char *base = g_path_get_basename (path);
            if (!write_text (dir, base, text, error))
                return FALSE;
            (*n_files)++;
        }
        return TRUE;
    }
    if (g_str_has_prefix (what, "picture-")) {
        fmt = what + 8;
        g_autofree char *file = g_strdup_printf ("%s.%s", name, fmt);
        g_autofree char *path = g_build_filename (dir, file, NULL);
        if (!dn_chart_save (t, DN_CHART_ALL, path, 1800, 900, error))
            return FALSE;
        (*n_files)++;
        return TRUE;
    }
    if (parse_chart (what, &kind, &fmt)) {
        g_autofree char *file = g_strdup_printf ("%s-%s.%s", name, chart_ids[kind], fmt);
        g_autofree char *path = g_build_filename (dir, file, NULL);
        if (!dn_chart_save (t, kind, path, 900, 450, error))
            return FALSE;
        (*n_files)++;
        return TRUE;
    }
    const char *model =
        g_str_equal (what, "final-model") ? "final_model.safetensors" : model_file (what);
    if (model != NULL) {
        g_autofree char *from = g_build_filename (snap->run_dir, model, NULL);
        g_autofree char *to = g_strdup_printf ("%s-%s", name, model);
        if (!copy_file (from, dir, to, error))
            return FALSE;
        (*n_files)++;
        return TRUE;
    }
    if (g_str_equal (what, "experiment")) {
        g_autofree char *file = g_strdup_printf ("%s.json", name);
        g_autofree char *path = g_build_filename (dir, file, NULL);
        if (!dn_experiment_save (exp, path, error))
            return FALSE;
        (*n_files)++;
        return TRUE;
    }
    g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED, "unknown export \"%s\"", what);
    return FALSE;
}

gboolean dn_export_run (const DnRunSnapshot *snap, const DnExperiment *exp, const char *what,
                        const char *dir, int *n_files, GError **error)
{
    *n_files = 0;
    if (g_mkdir_with_parents (dir, 0755) != 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, _ ("Could not create the folder %s"), dir);
        return FALSE;
    }
    if (!g_str_equal (what, "all")) {
        g_autofree char *why = NULL;
        if (!dn_export_available (snap, what, &why)) {
            g_set_error_literal (error, DN_ERROR, DN_ERROR_CONFIG, why);
            return FALSE;
        }
        return export_one (snap, exp, what, dir, n_files, error);
    }
    static const char *const all[] = {"csv",        "tidy",        "picture-png", "picture-svg",
                                      "best-model", "clean-model", "experiment"};
    static const char *const all_continual[] = {
        "accuracy-matrix",    "chart-tasks-png", "chart-tasks-svg", "chart-activity-png",
        "chart-activity-svg", "final-model",     "experiment"};
    gboolean continual = snap != NULL && snap->tasks > 0;
    const char *const *list = continual ? all_continual : all;
    guint n = continual ? G_N_ELEMENTS (all_continual) : G_N_ELEMENTS (all);
    for (guint i = 0; i < n; i++)
        if (dn_export_available (snap, list[i], NULL) &&
            !export_one (snap, exp, list[i], dir, n_files, error))
            return FALSE;
    if (*n_files == 0) {
        g_set_error_literal (error, DN_ERROR, DN_ERROR_CONFIG,
                             _ ("Nothing to export yet: train at least one epoch"));
        return FALSE;
    }
    return TRUE;
}

char *dn_export_onnx_source (const DnRunSnapshot *snap, char **why)
{
    gboolean continual = snap != NULL && snap->tasks > 0;
    if (!dn_export_available (snap, continual ? "final-model" : "best-model", why))
        return NULL;
    return g_build_filename (
        snap->run_dir, continual ? "final_model.safetensors" : "best_model.safetensors", NULL);
}

gboolean dn_export_onnx (const DnRunSnapshot *snap, const char *onnx_path, GError **error)
{
    g_autofree char *why = NULL;
    g_autofree char *model = dn_export_onnx_source (snap, &why);
    if (model == NULL) {
        g_set_error_literal (error, DN_ERROR, DN_ERROR_CONFIG, why);
        return FALSE;
    }
    return dn_onnx_export_model (model, onnx_path, error);
}
