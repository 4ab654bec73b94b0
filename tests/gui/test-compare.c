/* test-compare.c: comparing runs in the window (Xvfb): the Results page's run table
 * lists every run of the output folder, broken ones with what is wrong, sorts, and
 * the runs selected in it (and the pinned baseline, dashed) are drawn over the
 * comparison charts and exported as one picture. Screenshots of the page at
 * 1280x800 and 800x600, light and dark, go to $DN_SCREENSHOT_DIR. */
#include "dn-application.h"
#include "dn-chart-widget.h"
#include "dn-results-page.h"
#include "dn-run-writer.h"
#include "dn-run.h"
#include "dn-test-util.h"
#include "dn-window.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define WAIT 120.0

static void spin_until (gboolean (*done) (gpointer), gpointer data)
{
    gint64 start = g_get_monotonic_time ();
    gint64 end = g_get_monotonic_time () + (gint64) (WAIT * G_USEC_PER_SEC);
    while (!done (data) && g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, FALSE);
    g_test_message ("waited %.1f s", (g_get_monotonic_time () - start) / 1e6);
}

static void observe (const DnEvent *ev, gpointer data)
{
    dn_run_writer_event (data, ev);
}

/* A run of `epochs` epochs on a small separable CSV file, in out/name. */
static void small_run (const char *tmp, const char *out, const char *name, int width, int epochs)
{
    g_autofree char *text = dn_test_small_experiment (tmp, name, out, width, epochs);
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = json_from_string (text, &error);
    g_assert_no_error (error);
    g_autoptr (DnExperiment) exp = dn_experiment_from_json (root, tmp, "test", &error);
    g_assert_no_error (error);
    DnRunOptions opts = {.threads = 1};
    DnRunWriter *w = dn_run_writer_new ();
    DnObserver obs = {.event = observe, .user_data = w};
    DnRunResult result = {0};
    g_assert_true (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_no_error (error);
    g_autoptr (GError) write_error = dn_run_writer_free (w);
    g_assert_no_error (write_error);
    dn_run_result_clear (&result);
}

static GtkWidget *find_type (GtkWidget *w, GType type)
{
    if (G_TYPE_CHECK_INSTANCE_TYPE (w, type))
        return w;
    for (GtkWidget *c = gtk_widget_get_first_child (w); c != NULL;
         c = gtk_widget_get_next_sibling (c)) {
        GtkWidget *found = find_type (c, type);
        if (found != NULL)
            return found;
    }
    return NULL;
}

static gboolean table_has_three (gpointer data)
{
    return dn_run_table_get_n_runs (data) == 3;
}

typedef struct {
    DnResultsPage *page;
    const char *needle;
} DescWait;

static gboolean charts_say (gpointer data)
{
    DescWait *w = data;
    for (int k = 0; k < DN_CHART_N_KINDS; k++) {
        DnChartWidget *c = DN_CHART_WIDGET (dn_results_page_get_compare_chart (w->page, k));
        const char *d = dn_chart_widget_get_description (c);
        if (d == NULL || strstr (d, w->needle) == NULL || !dn_chart_widget_is_settled (c))
            return FALSE;
    }
    return TRUE;
}

static void shot (GtkWidget *win, const char *name)
{
    const char *dir = g_getenv ("DN_SCREENSHOT_DIR");
    if (dir == NULL)
        return;
    for (int i = 0; i < 50; i++)
        g_main_context_iteration (NULL, FALSE);
    int w = gtk_widget_get_width (win), h = gtk_widget_get_height (win);
    GdkPaintable *p = gtk_widget_paintable_new (win);
    GtkSnapshot *s = gtk_snapshot_new ();
    gdk_paintable_snapshot (p, s, w, h);
    GskRenderNode *node = gtk_snapshot_free_to_node (s);
    if (node != NULL) {
        GdkTexture *tex =
            gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (win)), node, NULL);
        g_autofree char *path = g_build_filename (dir, name, NULL);
        gdk_texture_save_to_png (tex, path);
        g_object_unref (tex);
        gsk_render_node_unref (node);
    }
    g_object_unref (p);
}

static gboolean window_sized (gpointer data)
{
    return gtk_widget_get_width (data) > 0;
}

static void test_compare_runs (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *out = g_build_filename (tmp, "runs", NULL);
    small_run (tmp, out, "narrow", 2, 3);
    small_run (tmp, out, "wide", 16, 5);
    /* a run stopped before its first epoch: experiment.json only */
    g_autofree char *early = g_build_filename (out, "early", NULL);
    g_mkdir (early, 0755);
    g_autofree char *exp_src = g_build_filename (out, "wide", "experiment.json", NULL);
    g_autofree char *exp_text = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (exp_src, &exp_text, &len, NULL));
    g_free (dn_test_write_file (early, "experiment.json", exp_text, len));

    g_autoptr (DnApplication) app = dn_application_new ();
    g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
    g_autoptr (GError) error = NULL;
    g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
    GSettings *settings = dn_settings ();
    g_assert_nonnull (settings);
    g_settings_set_string (settings, "output-folder", out);
    g_settings_set_string (settings, "baseline-run", "");
    DnWindow *win = dn_window_new (app);
    gtk_window_set_default_size (GTK_WINDOW (win), 1280, 800);
    gtk_window_present (GTK_WINDOW (win));
    dn_window_show_page (win, "results");
    spin_until (window_sized, win);
    DnResultsPage *page = DN_RESULTS_PAGE (find_type (GTK_WIDGET (win), DN_TYPE_RESULTS_PAGE));
    g_assert_nonnull (page);
    DnRunTable *table = dn_results_page_get_run_table (page);
    g_autofree char *wide = g_build_filename (out, "wide", NULL);
    g_autofree char *narrow = g_build_filename (out, "narrow", NULL);
    /* the page scans the folder when the window gives it a document */
    g_autofree char *tpl = dn_test_data_path ("examples/mlp.json");
    DnExperiment *exp = dn_experiment_load (tpl, &error);
    g_assert_no_error (error);
    dn_window_set_document (win, dn_document_new (exp, NULL));
    dn_window_show_page (win, "results");
    spin_until (table_has_three, table);
    g_assert_cmpuint (dn_run_table_get_n_runs (table), ==, 3);

    /* sorted by epochs: narrow (3), wide (5), then early (none); descending, the reverse */
    dn_run_table_sort_by (table, 9, FALSE);
    g_assert_cmpstr (dn_run_table_get_path (table, 0), ==, narrow);
    g_assert_cmpstr (dn_run_table_get_path (table, 1), ==, wide);
    g_assert_true (g_str_has_suffix (dn_run_table_get_path (table, 2), "early"));
    dn_run_table_sort_by (table, 9, TRUE);
    g_assert_cmpstr (dn_run_table_get_path (table, 1), ==, wide);
    g_assert_cmpstr (dn_run_table_get_path (table, 2), ==, narrow);
    g_autofree char *epochs = dn_run_table_get_text (table, 1, 9);
    g_assert_cmpstr (epochs, ==, "5");
    g_autofree char *params = dn_run_table_get_text (table, 1, 5);
    g_assert_cmpstr (params, ==, "82"); /* 2*16+16 + 16*2+2 */
    g_autofree char *net = dn_run_table_get_text (table, 1, 2);
    g_assert_cmpstr (net, ==, "3 layers: 2 linear");
    g_autofree char *problem = dn_run_table_get_text (table, 0, 12);
    g_assert_nonnull (strstr (problem, "no latest.safetensors"));
    g_autofree char *ok_problem = dn_run_table_get_text (table, 1, 12);
    g_assert_cmpstr (ok_problem, ==, "");
    /* by name, A to Z */
    dn_run_table_sort_by (table, 0, FALSE);
    g_assert_true (g_str_has_suffix (dn_run_table_get_path (table, 0), "early"));
    g_assert_cmpstr (dn_run_table_get_path (table, 2), ==, wide);

    /* two runs selected: both drawn over every chart */
    const char *both[] = {wide, narrow, NULL};
    dn_run_table_select (table, both);
    g_autoptr (GPtrArray) sel = dn_run_table_get_selected (table);
    g_assert_cmpuint (sel->len, ==, 2);
    DescWait w = {page, "Compared with: narrow, wide."};
    spin_until (charts_say, &w);
    g_assert_true (charts_say (&w));
    shot (GTK_WIDGET (win), "compare-1280x800-light.png");

    /* the pinned baseline is always drawn, dashed, and the table says how much of
     * its remaining error each run removed */
    g_settings_set_string (settings, "baseline-run", narrow);
    dn_results_page_set_document (page, dn_window_get_document (win));
    spin_until (table_has_three, table);
    const char *one[] = {wide, NULL};
    dn_run_table_select (table, one);
    DescWait wb = {page, "Compared with: wide, narrow (baseline, dashed)."};
    spin_until (charts_say, &wb);
    g_assert_true (charts_say (&wb));
    for (guint i = 0; i < 3; i++) {
        g_autofree char *removed = dn_run_table_get_text (table, i, 8);
        if (g_strcmp0 (dn_run_table_get_path (table, i), narrow) == 0)
            g_assert_cmpstr (removed, ==, "+0.0 %");
    }

    /* exported as one picture */
    g_autofree char *png = g_build_filename (tmp, "comparison.png", NULL);
    g_assert_true (dn_results_page_export_comparison (page, png, &error));
    g_assert_no_error (error);
    g_autoptr (GdkTexture) tex = gdk_texture_new_from_filename (png, &error);
    g_assert_no_error (error);
    g_assert_cmpint (gdk_texture_get_width (tex), ==, 1800);
    g_assert_cmpint (gdk_texture_get_height (tex), ==, 900);

    /* nothing selected but the baseline: still drawn; none pinned and none selected: the
     * export says what to do */
    dn_run_table_select (table, NULL);
    DescWait wn = {page, "Compared with: narrow (baseline, dashed)."};
    spin_until (charts_say, &wn);
    g_assert_true (charts_say (&wn));

    AdwStyleManager *sm = adw_style_manager_get_default ();
    adw_style_manager_set_color_scheme (sm, ADW_COLOR_SCHEME_FORCE_DARK);
    dn_run_table_select (table, both);
    DescWait wd = {page, "Compared with: narrow (baseline, dashed), wide."};
    spin_until (charts_say, &wd);
    g_assert_true (charts_say (&wd));
    shot (GTK_WIDGET (win), "compare-1280x800-dark.png");
    gtk_window_set_default_size (GTK_WINDOW (win), 800, 600);
    for (int i = 0; i < 100; i++)
        g_main_context_iteration (NULL, FALSE);
    shot (GTK_WIDGET (win), "compare-800x600-dark.png");
    adw_style_manager_set_color_scheme (sm, ADW_COLOR_SCHEME_FORCE_LIGHT);
    shot (GTK_WIDGET (win), "compare-800x600-light.png");
    adw_style_manager_set_color_scheme (sm, ADW_COLOR_SCHEME_DEFAULT);

    g_settings_set_string (settings, "baseline-run", "");
    dn_results_page_set_document (page, dn_window_get_document (win));
    spin_until (table_has_three, table);
    dn_run_table_select (table, NULL);
    for (int i = 0; i < 100; i++)
        g_main_context_iteration (NULL, FALSE);
    g_autofree char *nothing = g_build_filename (tmp, "nothing.png", NULL);
    gboolean saved = dn_results_page_export_comparison (page, nothing, &error);
    if (saved)
        g_error ("exported a comparison with no run selected");
    g_assert_nonnull (strstr (error->message, "select runs"));
    gtk_window_destroy (GTK_WINDOW (win));
    dn_test_tmpdir_remove (tmp);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    if (!gtk_init_check ()) {
        g_print ("1..0 # SKIP no display\n");
        return 77;
    }
    adw_init ();
    /* pages switch at once, so each screenshot shows the page asked for */
    g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
    g_test_add_func ("/app/compare/run-table-and-overlay", test_compare_runs);
    return g_test_run ();
}
