/* dn-continual-files.c: the files of a continual-learning run (docs/continual.md). */
#include "dn-chart-private.h"
#include "dn-continual-files.h"
#include "dn-error.h"
#include "dn-run-dir.h"

#include <math.h>
#include <string.h>

static gboolean write_text (const char *dir, const char *name, const GString *s, GError **error)
{
    g_autofree char *path = g_build_filename (dir, name, NULL);
    return dn_file_write_atomic (path, s->str, s->len, error);
}

static void put (GString *s, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (isfinite (v))
        g_string_append (s, dn_chart_format_double (buf, sizeof buf, v));
}

char *dn_continual_matrix_csv (int tasks, const double *matrix)
{
    GString *s = g_string_new ("after_task");
    for (int j = 0; j < tasks; j++)
        g_string_append_printf (s, ",task_%d", j);
    g_string_append (s, ",mean\n");
    for (int t = 0; t < tasks; t++) {
        if (!isfinite (matrix[(size_t) t * tasks]))
            continue;
        g_string_append_printf (s, "%d", t);
        double sum = 0.0;
        for (int j = 0; j < tasks; j++) {
            g_string_append_c (s, ',');
            put (s, matrix[(size_t) t * tasks + j]);
            if (j <= t)
                sum += matrix[(size_t) t * tasks + j];
        }
        g_string_append_c (s, ',');
        put (s, sum / (t + 1));
        g_string_append_c (s, '\n');
    }
    return g_string_free (s, FALSE);
}

typedef struct {
    int tasks;
    const double *matrix;
} MatrixDraw;

static void draw_matrix (cairo_t *cr, double w, double h, gpointer data)
{
    MatrixDraw *m = data;
    dn_chart_draw_task_accuracy (cr, m->tasks, m->matrix, w, h, NULL);
}

gboolean dn_continual_files_matrix (const char *dir, int tasks, const double *matrix,
                                    GError **error)
{
    g_autofree char *csv = dn_continual_matrix_csv (tasks, matrix);
    GString s = {.str = csv, .len = strlen (csv)};
    if (!write_text (dir, "accuracy_matrix.csv", &s, error))
        return FALSE;
    g_autofree char *png = g_build_filename (dir, "accuracy_curves.png", NULL);
    MatrixDraw m = {tasks, matrix};
    return dn_chart_save_drawing (png, 900, 560, draw_matrix, &m, error);
}

typedef struct {
    int tasks, units;
    const float *activity;
    const char *layer;
} ActivityDraw;

static void draw_activity (cairo_t *cr, double w, double h, gpointer data)
{
    ActivityDraw *a = data;
    dn_chart_draw_activity (cr, a->tasks, a->units, a->activity, 64, a->layer, w, h, NULL);
}

gboolean dn_continual_files_activity (const char *dir, int tasks, int units, const float *activity,
                                      const char *layer, GError **error)
{
    GString *s = g_string_new ("task");
    for (int u = 0; u < units; u++)
        g_string_append_printf (s, ",unit_%d", u);
    g_string_append_c (s, '\n');
    for (int t = 0; t < tasks; t++) {
        g_string_append_printf (s, "%d", t);
        for (int u = 0; u < units; u++) {
            g_string_append_c (s, ',');
            put (s, activity[(size_t) t * units + u]);
        }
        g_string_append_c (s, '\n');
    }
    gboolean ok = write_text (dir, "hidden_activity.csv", s, error);
    g_string_free (s, TRUE);
    if (!ok)
        return FALSE;
    g_autofree char *png = g_build_filename (dir, "hidden_activity.png", NULL);
    ActivityDraw a = {tasks, units, activity, layer};
    return dn_chart_save_drawing (png, 1000, 120 + 28.0 * MIN (tasks, 40), draw_activity, &a,
                                  error);
}

gboolean dn_continual_files_summary (const char *dir, const DnEvent *ev, GError **error)
{
    GString *s = g_string_new ("{\n  \"tasks\": ");
    g_string_append_printf (s, "%d,\n  \"average_accuracy\": ", ev->tasks);
    if (isfinite (ev->average_accuracy))
        put (s, ev->average_accuracy);
    else
        g_string_append (s, "null");
    g_string_append_printf (s, ",\n  \"params\": %" G_GINT64_FORMAT ",\n  \"seconds\": ", ev->params);
    put (s, ev->seconds);
    g_string_append_printf (s, ",\n  \"completed\": %s,\n  \"accuracy_matrix\": [",
                            ev->cancelled ? "false" : "true");
    for (int t = 0; t < ev->tasks; t++) {
        g_string_append (s, t ? ",\n    [" : "\n    [");
        for (int j = 0; j < ev->tasks; j++) {
            double v = ev->accuracy_matrix[(size_t) t * ev->tasks + j];
            g_string_append (s, j ? ", " : "");
            if (isfinite (v))
                put (s, v);
            else
                g_string_append (s, "null");
        }
        g_string_append_c (s, ']');
    }
    g_string_append (s, "\n  ]\n}\n");
    gboolean ok = write_text (dir, "summary.json", s, error);
    g_string_free (s, TRUE);
    return ok;
}
