/* test-models.c: trained models brought back into the window (Xvfb).
 *
 * A model trained by the real `dendrite` binary ($DENDRITE_CLI), opened in the app
 * and evaluated on the same file, gives exactly the accuracy `dendrite eval` prints,
 * and a confusion matrix whose counts add up to the samples; the Results page's
 * confusion matrix of the run's best model scores its test split as the run did;
 * data that does not fit the model is the engine's error in a dialog. Continue
 * Training and Add Dendrites start runs from the model's weights: their models are
 * bit-identical to `dendrite train --init MODEL` of the same experiment. Screenshots
 * of the model window and the confusion matrix at 1280x800 and 800x600, light and
 * dark, go to $DN_SCREENSHOT_DIR.
 */
#include "dn-application.h"
#include "dn-cli-test.h"
#include "dn-confusion-widget.h"
#include "dn-gui-test.h"
#include "dn-results-page.h"
#include "dn-test-util.h"
#include "dn-window.h"

#include <adwaita.h>
#include <math.h>
#include <string.h>

#define WAIT 240.0

static void spin_until (gboolean (*done) (gpointer), gpointer data)
{
    gint64 end = g_get_monotonic_time () + (gint64) (WAIT * G_USEC_PER_SEC);
    while (!done (data) && g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, FALSE);
    g_assert_true (done (data));
}

static gboolean evaluated (gpointer data)
{
    return !dn_evaluation_window_is_busy (data);
}

static gboolean run_over (gpointer data)
{
    DnTrainer *t = data;
    DnRunState s = dn_trainer_get_snapshot (t)->state;
    return !dn_trainer_is_running (t) && (s == DN_RUN_FINISHED || s == DN_RUN_FAILED);
}

static gboolean window_sized (gpointer data)
{
    return gtk_widget_get_width (data) > 0;
}

static void shot (GtkWidget *win, int w, int h, const char *name)
{
    const char *dir = g_getenv ("DN_SCREENSHOT_DIR");
    gtk_window_set_default_size (GTK_WINDOW (win), w, h);
    for (int i = 0; i < 100; i++)
        g_main_context_iteration (NULL, FALSE);
    if (dir == NULL)
        return;
    GdkPaintable *p = gtk_widget_paintable_new (win);
    GtkSnapshot *s = gtk_snapshot_new ();
    gdk_paintable_snapshot (p, s, gtk_widget_get_width (win), gtk_widget_get_height (win));
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

/* Four screenshots: 1280x800 and 800x600, light and dark. */
static void shots (GtkWidget *win, const char *what)
{
    AdwStyleManager *sm = adw_style_manager_get_default ();
    const struct {
        int w, h;
    } sizes[] = {{1280, 800}, {800, 600}};
    for (int dark = 0; dark < 2; dark++) {
        adw_style_manager_set_color_scheme (sm, dark ? ADW_COLOR_SCHEME_FORCE_DARK
                                                     : ADW_COLOR_SCHEME_FORCE_LIGHT);
        for (int i = 0; i < 2; i++) {
            g_autofree char *name = g_strdup_printf ("%s-%dx%d-%s.png", what, sizes[i].w,
                                                     sizes[i].h, dark ? "dark" : "light");
            shot (win, sizes[i].w, sizes[i].h, name);
        }
    }
    adw_style_manager_set_color_scheme (sm, ADW_COLOR_SCHEME_DEFAULT);
}

static double json_accuracy (const char *text)
{
    g_autoptr (JsonNode) root = json_from_string (text, NULL);
    g_assert_nonnull (root);
    return json_object_get_double_member (json_node_get_object (root), "accuracy");
}

static DnModelWindow *find_model_window (void)
{
    GListModel *list = gtk_window_get_toplevels (); /* owned by GTK */
    for (guint i = 0; i < g_list_model_get_n_items (list); i++) {
        g_autoptr (GObject) w = g_list_model_get_item (list, i);
        if (DN_IS_MODEL_WINDOW (w))
            return DN_MODEL_WINDOW (w);
    }
    return NULL;
}

static void check_counts (const DnModelEvaluation *e)
{
    const DnConfusion *c = e->confusion;
    int64_t sum = 0, right = 0;
    for (int t = 0; t < c->n_classes; t++)
        for (int p = 0; p < c->n_classes; p++)
            sum += dn_confusion_at (c, t, p);
    for (int k = 0; k < c->n_classes; k++)
        right += dn_confusion_at (c, k, k);
    g_assert_cmpint (sum, ==, e->samples);
    g_assert_cmpint (c->total, ==, e->samples);
    g_assert_cmpfloat (100.0 * (double) right / (double) sum, ==, e->accuracy);
}

/* The app's run from the opened model against `dendrite train --init` of the same
 * experiment: the same best model, tensor for tensor. */
static void train_like_cli (DnWindow *win, DnModelWindow *mw, const char *tmp, const char *model,
                            gboolean dendrites, const char *tag)
{
    GSettings *settings = dn_settings ();
    g_autofree char *app_out = g_strdup_printf ("%s/app-%s", tmp, tag);
    g_settings_set_string (settings, "output-folder", app_out);
    dn_model_window_train (mw, dendrites);
    DnTrainer *trainer = dn_window_get_trainer (win);
    spin_until (run_over, trainer);
    DnRunSnapshot *snap = dn_trainer_get_snapshot (trainer);
    g_assert_cmpstr (snap->error, ==, NULL);
    g_assert_cmpint (snap->state, ==, DN_RUN_FINISHED);
    g_assert_true (dn_document_get_experiment (dn_window_get_document (win))->dendrites ==
                   dendrites);
    /* the run said where its weights came from */
    gboolean said = FALSE;
    for (guint i = 0; snap->log != NULL && i < snap->log->len; i++)
        said |= strstr (snap->log->pdata[i], "weights from") != NULL;
    g_assert_true (said);

    g_autofree char *exp_path = g_strdup_printf ("%s/%s.json", tmp, tag);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_save (dn_document_get_experiment (dn_window_get_document (win)),
                                       exp_path, &error));
    g_assert_no_error (error);
    g_autofree char *cli_out = g_strdup_printf ("%s/cli-%s", tmp, tag);
    g_auto (CliRun) r = {0};
    cli_run (&r, "train", exp_path, "--init", model, "--threads", "1", "--out", cli_out, NULL);
    assert_exit (&r, 0);
    g_autofree char *base = g_path_get_basename (snap->run_dir);
    g_autofree char *app_best = g_build_filename (snap->run_dir, "best_model.safetensors", NULL);
    g_autofree char *cli_best = g_build_filename (cli_out, base, "best_model.safetensors", NULL);
    dn_test_assert_same_tensors (app_best, cli_best);
}

static void test_models (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *runs = g_build_filename (tmp, "runs", NULL);
    g_autofree char *text = dn_test_small_experiment (tmp, "small", runs, 8, 3);
    g_autofree char *exp_path = dn_test_write_file (tmp, "small.json", text, strlen (text));
    g_autofree char *csv = g_build_filename (tmp, "sep.csv", NULL);
    g_auto (CliRun) r = {0};
    cli_run (&r, "train", exp_path, "--threads", "1", NULL);
    assert_exit (&r, 0);
    g_autofree char *run_dir = g_build_filename (runs, "small", NULL);
    g_autofree char *model = g_build_filename (run_dir, "best_model.safetensors", NULL);
    cli_run (&r, "eval", model, "--data", csv, "--json", NULL);
    assert_exit (&r, 0);
    double cli_accuracy = json_accuracy (r.out);

    g_autoptr (DnApplication) app = dn_application_new ();
    g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
    g_autoptr (GError) error = NULL;
    g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
    GSettings *settings = dn_settings ();
    g_settings_set_string (settings, "output-folder", runs);
    g_settings_set_string (settings, "baseline-run", "");
    g_settings_set_int (settings, "threads", 1);
    g_settings_set_string (settings, "device", "experiment");
    DnWindow *win = dn_window_new (app);
    gtk_window_set_default_size (GTK_WINDOW (win), 1280, 800);
    gtk_window_present (GTK_WINDOW (win));
    spin_until (window_sized, win);

    /* the Results page: the run's best model on its test split */
    g_autofree char *tpl = dn_test_data_path ("examples/mlp.json");
    DnExperiment *tpl_exp = dn_experiment_load (tpl, &error);
    g_assert_no_error (error);
    dn_window_set_document (win, dn_document_new (tpl_exp, NULL));
    dn_window_show_page (win, "results");
    DnResultsPage *page = NULL;
    for (GtkWidget *w = GTK_WIDGET (win); w != NULL && page == NULL;) {
        if (DN_IS_RESULTS_PAGE (w))
            page = DN_RESULTS_PAGE (w);
        GtkWidget *next = gtk_widget_get_first_child (w);
        while (next == NULL && w != NULL) {
            next = gtk_widget_get_next_sibling (w);
            w = gtk_widget_get_parent (w);
            if (w == GTK_WIDGET (win) && next == NULL)
                w = NULL;
        }
        w = next;
    }
    g_assert_nonnull (page);
    DnRunTable *table = dn_results_page_get_run_table (page);
    gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    while (dn_run_table_get_n_runs (table) < 1 && g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, FALSE);
    const char *one[] = {run_dir, NULL};
    dn_run_table_select (table, one);
    DnEvaluationWindow *ev = dn_results_page_show_confusion (page, &error);
    g_assert_no_error (error);
    spin_until (evaluated, ev);
    const DnModelEvaluation *res = dn_evaluation_window_get_result (ev);
    g_assert_nonnull (res);
    g_assert_cmpint (res->samples, ==, 60); /* test_split 0.2 of 300 rows */
    check_counts (res);
    g_autoptr (DnRunSnapshot) run = dn_run_snapshot_new_from_folder (run_dir, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (fabs (res->accuracy - run->test_at_best), <, 1e-9);
    g_autofree char *csv_out = g_build_filename (tmp, "confusion.csv", NULL);
    g_assert_true (dn_evaluation_window_export (ev, csv_out, &error));
    g_assert_no_error (error);
    g_autofree char *written = NULL;
    g_assert_true (g_file_get_contents (csv_out, &written, NULL, NULL));
    g_assert_true (g_str_has_prefix (written, "class,pred_0,pred_1,support,recall,precision\n"));
    shots (GTK_WIDGET (ev), "confusion");
    gtk_window_destroy (GTK_WINDOW (ev));

    /* the model opened: evaluated on the training file as `dendrite eval` does */
    g_autoptr (GFile) file = g_file_new_for_path (model);
    dn_window_open_file (win, file);
    DnModelWindow *mw = find_model_window ();
    g_assert_nonnull (mw);
    g_assert_cmpstr (dn_document_get_model (dn_window_get_document (win)), ==, model);
    g_assert_cmpstr (dn_model_window_get_fact (mw, "Parameters"), ==, "42"); /* 2*8+8 + 8*2+2 */
    g_assert_cmpstr (dn_model_window_get_fact (mw, "Dendrites"), ==, "none");
    shots (GTK_WIDGET (mw), "model");
    ev = dn_model_window_evaluate (mw, csv);
    spin_until (evaluated, ev);
    res = dn_evaluation_window_get_result (ev);
    g_assert_nonnull (res);
    g_assert_cmpint (res->samples, ==, 300);
    g_assert_cmpfloat (res->accuracy, ==, cli_accuracy);
    check_counts (res);
    const char *summary = dn_confusion_widget_get_summary (
        DN_CONFUSION_WIDGET (dn_evaluation_window_get_heat_map (ev)));
    g_assert_nonnull (strstr (summary, "300 samples"));
    gtk_window_destroy (GTK_WINDOW (ev));

    /* the experiment's data (the bundled MNIST sample) does not fit: a dialog says so */
    ev = dn_model_window_evaluate (mw, NULL);
    spin_until (evaluated, ev);
    g_assert_null (dn_evaluation_window_get_result (ev));
    g_assert_nonnull (strstr (dn_evaluation_window_get_error (ev), "but the model"));
    g_assert_nonnull (dn_gui_test_find_dialog (GTK_WINDOW (ev)));
    gtk_window_destroy (GTK_WINDOW (ev));

    /* Continue Training and Add Dendrites, on the model's own data */
    DnExperiment *exp = dn_document_get_experiment (dn_window_get_document (win));
    g_free (exp->data_format);
    exp->data_format = g_strdup ("csv");
    g_free (exp->data_path);
    exp->data_path = g_strdup (csv);
    exp->epochs = 2;
    dn_document_changed (dn_window_get_document (win), DN_CHANGE_DATA | DN_CHANGE_TRAINING);
    train_like_cli (win, mw, tmp, model, FALSE, "continue");
    train_like_cli (win, mw, tmp, model, TRUE, "dendrites");

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
    g_test_add_func ("/app/models/evaluate-continue-add-dendrites", test_models);
    return g_test_run ();
}
