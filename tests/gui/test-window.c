/* test-window.c: the whole window, driven through its actions in a real display.
 *
 * At 800×600 every page fits (no minimum width above the window's), the sidebar
 * folds away behind a header button, and the layer table keeps its names
 * readable. A run's state follows the experiment shown: Stop, another
 * experiment, reopening the run and Resume each leave the title, the sidebar's
 * Training line, the Start/Resume buttons and the Decisions log telling the
 * same story. Opening something else never drops unsaved edits without asking.
 * The charts follow a run through its rollbacks and stay readable: the legend
 * never disappears, a click on it hides a series, a drag zooms and Reset undoes
 * it. Screenshots of what was checked go to DN_SCREENSHOT_DIR when it is set.
 */
#include "dn-application.h"
#include "dn-chart-widget.h"
#include "dn-gui-test.h"
#include "dn-network-info.h"
#include "dn-run-snapshot.h"
#include "dn-test-util.h"
#include "dn-window-private.h"

#include <adwaita.h>
#include <math.h>
#include <string.h>

#define RUN_WAIT 600.0

typedef DnGuiWindow Fixture;

/* Every visible widget under root with this CSS class. */
static void collect (GtkWidget *root, const char *css_class, GPtrArray *out)
{
    for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
         c = gtk_widget_get_next_sibling (c)) {
        if (!gtk_widget_get_visible (c))
            continue;
        if (gtk_widget_has_css_class (c, css_class))
            g_ptr_array_add (out, c);
        collect (c, css_class, out);
    }
}

/* ---- 800×600 ---- */

static void test_narrow (void)
{
    Fixture f;
    dn_gui_test_window_open (&f, 800, 600);
    dn_window_set_document (f.win, dn_gui_test_load_template ("mnist-cnn"));
    dn_test_pump (0.5);
    GtkWidget *w = GTK_WIDGET (f.win);
    const char *pages[] = {"network", "dendrites", "data", "training", "results"};
    for (guint i = 0; i < G_N_ELEMENTS (pages); i++) {
        dn_window_show_page (f.win, pages[i]);
        dn_test_pump (0.3);
        int min, nat;
        gtk_widget_measure (w, GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
        g_test_message ("%s page: window minimum width %d", pages[i], min);
        g_assert_cmpint (min, <=, 800);
        g_assert_cmpint (gtk_widget_get_width (w), <=, 800);
        /* the page is on screen, not the sidebar, and the header offers the sidebar */
        g_assert_true (adw_leaflet_get_folded (f.win->leaflet));
        g_assert_true (adw_leaflet_get_visible_child (f.win->leaflet) ==
                       GTK_WIDGET (f.win->page_stack));
        g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f.win->sidebar_button)));
        g_autofree char *shot = g_strdup_printf ("window-800x600-%s.png", pages[i]);
        dn_gui_test_save_shot (w, shot);
    }
    /* the sidebar button shows the pages; choosing one goes back to it */
    gtk_toggle_button_set_active (f.win->sidebar_button, TRUE);
    dn_test_pump (0.5);
    g_assert_true (adw_leaflet_get_visible_child (f.win->leaflet) == f.win->sidebar);
    dn_gui_test_save_shot (w, "window-800x600-sidebar.png");
    gtk_list_box_select_row (f.win->nav_list, gtk_list_box_get_row_at_index (f.win->nav_list, 0));
    dn_test_pump (0.5);
    g_assert_true (adw_leaflet_get_visible_child (f.win->leaflet) ==
                   GTK_WIDGET (f.win->page_stack));
    g_assert_false (gtk_toggle_button_get_active (f.win->sidebar_button));

    /* the layer table: names keep a readable width, the palette is a popover */
    g_autoptr (GPtrArray) titles = g_ptr_array_new ();
    g_autoptr (GPtrArray) rows = g_ptr_array_new ();
    collect (GTK_WIDGET (f.win->network_page), "layer-row", rows);
    g_assert_cmpuint (rows->len, >, 5);
    for (guint i = 0; i < rows->len; i++)
        collect (rows->pdata[i], "title", titles);
    g_assert_cmpuint (titles->len, >=, rows->len);
    guint checked = 0;
    for (guint i = 0; i < titles->len; i++)
        if (GTK_IS_LABEL (titles->pdata[i]) && gtk_widget_get_mapped (titles->pdata[i])) {
            g_assert_cmpint (gtk_widget_get_width (titles->pdata[i]), >=, 100);
            checked++;
        }
    g_assert_cmpuint (checked, >=, rows->len);
    g_autoptr (GPtrArray) headers = g_ptr_array_new ();
    collect (GTK_WIDGET (f.win->network_page), "column-header", headers);
    g_assert_cmpuint (headers->len, ==, 1);
    /* a selected row shows it */
    GtkWidget *third = rows->pdata[2];
    gtk_list_box_select_row (GTK_LIST_BOX (gtk_widget_get_parent (third)),
                             GTK_LIST_BOX_ROW (third));
    g_assert_true (gtk_widget_has_css_class (third, "layer-row"));
    g_assert_true (gtk_widget_get_state_flags (third) & GTK_STATE_FLAG_SELECTED);

    /* the palette is not on the page: the Add Layer button's popover holds it, and a
     * kind chosen there goes after the selected row */
    g_autoptr (GPtrArray) palettes = g_ptr_array_new ();
    collect (GTK_WIDGET (f.win->network_page), "palette", palettes);
    g_assert_cmpuint (palettes->len, ==, 0);
    g_autoptr (GPtrArray) menus = g_ptr_array_new ();
    collect (GTK_WIDGET (f.win->network_page), "suggested-action", menus);
    g_assert_cmpuint (menus->len, ==, 1);
    g_assert_true (GTK_IS_MENU_BUTTON (menus->pdata[0]));
    gtk_menu_button_popup (menus->pdata[0]);
    dn_test_pump (0.5);
    collect (GTK_WIDGET (menus->pdata[0]), "palette", palettes);
    g_assert_cmpuint (palettes->len, ==, 1);
    dn_gui_test_save_shot (w, "window-800x600-add-layer.png");
    GtkWidget *first_kind = NULL;
    for (GtkWidget *c = gtk_widget_get_first_child (palettes->pdata[0]); c != NULL;
         c = gtk_widget_get_next_sibling (c))
        if (GTK_IS_BUTTON (c) && first_kind == NULL)
            first_kind = c;
    g_assert_nonnull (first_kind);
    DnDocument *doc = dn_window_get_document (f.win);
    guint before = dn_document_n_layers (doc);
    g_signal_emit_by_name (first_kind, "clicked");
    dn_test_pump (0.3);
    g_assert_cmpuint (dn_document_n_layers (doc), ==, before + 1);
    g_assert_false (
        gtk_widget_get_visible (GTK_WIDGET (gtk_menu_button_get_popover (menus->pdata[0]))));
    /* at 1280 the sidebar is back beside the page */
    gtk_window_set_default_size (GTK_WINDOW (f.win), 1280, 800);
    gtk_window_unmaximize (GTK_WINDOW (f.win));
    gtk_widget_set_size_request (w, 1280, 800);
    dn_test_pump (0.5);
    g_assert_false (adw_leaflet_get_folded (f.win->leaflet));
    g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f.win->sidebar_button)));
    dn_gui_test_window_close (&f);
}

/* ---- a run's state follows the experiment shown ---- */

static const char *subtitle (Fixture *f)
{
    return adw_window_title_get_subtitle (f->win->window_title);
}

static const char *training_line (Fixture *f)
{
    return gtk_label_get_label (f->win->nav_subtitles[3]);
}

static gboolean run_ended (gpointer data)
{
    Fixture *f = data;
    return !dn_trainer_is_running (f->win->trainer);
}

static gboolean trained_past (gpointer data)
{
    Fixture *f = data;
    DnRunSnapshot *s = dn_training_page_get_snapshot (f->win->training_page);
    int past = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (f->win), "past"));
    return !dn_trainer_is_running (f->win->trainer) || (s != NULL && s->epoch > past);
}

static void train_past (Fixture *f, int epoch)
{
    g_object_set_data (G_OBJECT (f->win), "past", GINT_TO_POINTER (epoch));
    dn_test_spin_until (trained_past, f, RUN_WAIT);
    g_assert_true (dn_trainer_is_running (f->win->trainer));
}

static void stop_run (Fixture *f)
{
    gtk_widget_activate_action (GTK_WIDGET (f->win), "win.stop", NULL);
    dn_test_spin_until (run_ended, f, RUN_WAIT);
    g_assert_false (dn_trainer_is_running (f->win->trainer));
    dn_test_pump (0.2);
}

static char *log_text (Fixture *f)
{
    DnRunSnapshot *s = dn_training_page_get_snapshot (f->win->training_page);
    g_assert_nonnull (s);
    GString *t = g_string_new (NULL);
    for (guint i = 0; i < s->log->len; i++)
        g_string_append_printf (t, "%s\n", (char *) s->log->pdata[i]);
    return g_string_free (t, FALSE);
}

static void test_run_state (void)
{
    Fixture f;
    dn_gui_test_window_open (&f, 1280, 800);
    DnDocument *doc = dn_gui_test_load_template ("mlp");
    dn_document_get_experiment (doc)->epochs = 200;
    dn_window_set_document (f.win, doc);
    dn_test_pump (0.2);
    g_assert_cmpstr (training_line (&f), ==, "not started");
    g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f.win->resume_button)));

    gtk_widget_activate_action (GTK_WIDGET (f.win), "win.start", NULL);
    train_past (&f, 1);
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f.win->stop_button)));
    g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f.win->start_button)));
    dn_test_pump (0.3);
    dn_gui_test_save_shot (GTK_WIDGET (f.win), "window-1280x800-training.png");
    stop_run (&f);
    DnRunSnapshot *s = dn_training_page_get_snapshot (f.win->training_page);
    g_assert_cmpint (s->state, ==, DN_RUN_STOPPED);
    int stopped_at = s->epoch;
    g_autofree char *run_dir = g_strdup (s->run_dir);
    g_autofree char *want = g_strdup_printf ("Stopped after %d epoch", stopped_at);
    g_assert_true (g_str_has_prefix (subtitle (&f), want));
    g_assert_true (g_str_has_prefix (training_line (&f), "stopped"));
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f.win->resume_button)));

    /* another experiment: nothing of the stopped run is offered or said */
    dn_window_set_document (f.win, dn_gui_test_load_template ("mnist-cnn"));
    dn_test_pump (0.2);
    g_assert_cmpstr (training_line (&f), ==, "not started");
    g_assert_null (strstr (subtitle (&f), "Stopped"));
    g_assert_false (gtk_widget_get_visible (GTK_WIDGET (f.win->resume_button)));
    g_assert_null (dn_training_page_get_snapshot (f.win->training_page));

    /* the run reopened from its folder: stopped, resumable, its log read back */
    gtk_widget_activate_action (GTK_WIDGET (f.win), "win.open-run", "s", run_dir);
    dn_test_pump (0.2);
    g_assert_true (g_str_has_prefix (subtitle (&f), want));
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f.win->resume_button)));
    g_autofree char *said = g_strdup_printf ("Stopped after epoch %d", stopped_at);
    g_autofree char *reopened = log_text (&f);
    g_assert_nonnull (strstr (reopened, said));

    /* Resume: the log goes on from what the folder says */
    gtk_widget_activate_action (GTK_WIDGET (f.win), "win.resume", NULL);
    train_past (&f, stopped_at);
    g_autofree char *resumed = log_text (&f);
    g_assert_nonnull (strstr (resumed, said));
    stop_run (&f);
    s = dn_training_page_get_snapshot (f.win->training_page);
    g_assert_cmpint (s->epoch, >, stopped_at);
    g_autofree char *after = log_text (&f);
    g_assert_nonnull (strstr (after, said));
    dn_gui_test_window_close (&f);
}

/* run.log read back in the live log's words: decisions carry their epoch, starts
 * and ends are left out, a stop says where. */
static void test_read_log (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    const char *text = "2026-01-01 10:00:00  start: 100 parameters, 10 training samples\n"
                       "2026-01-01 10:00:01  epoch 1: loss 1.0, validation 50.00, test 50.00\n"
                       "2026-01-01 10:00:02  epoch 2: loss 0.9, validation 60.00, test 60.00\n"
                       "2026-01-01 10:00:02  added dendrite set 1\n"
                       "2026-01-01 10:00:03  stopped: after epoch 2\n"
                       "2026-01-01 10:00:04  epoch 3: loss 0.8, validation 70.00, test 70.00\n"
                       "2026-01-01 10:00:05  done: best 70.00\n";
    g_autofree char *path = dn_test_write_file (dir, "run.log", text, strlen (text));
    g_autoptr (GPtrArray) log = dn_run_snapshot_read_log (dir, 0);
    g_assert_cmpuint (log->len, ==, 2);
    g_assert_cmpstr (log->pdata[0], ==, "Epoch 2 · added dendrite set 1");
    g_assert_cmpstr (log->pdata[1], ==, "Stopped after epoch 2");
    const char *cl = "2026-01-01 10:00:00  task 0, epoch 1: loss 0.5, train 90.00, test 88.00\n"
                     "2026-01-01 10:00:01  after task 0: mean accuracy over tasks 0..0 88.00 %\n";
    g_free (dn_test_write_file (dir, "run.log", cl, strlen (cl)));
    g_autoptr (GPtrArray) tasks = dn_run_snapshot_read_log (dir, 3);
    g_assert_cmpuint (tasks->len, ==, 1);
    g_assert_cmpstr (tasks->pdata[0], ==,
                     "Task 1 of 3 done: 88.00 % mean accuracy over the tasks so far");
    g_autoptr (GPtrArray) none = dn_run_snapshot_read_log (path, 0); /* not a folder */
    g_assert_cmpuint (none->len, ==, 0);
    dn_test_tmpdir_remove (dir);
}

/* ---- nothing lost without asking ---- */

static void test_discard_asks (void)
{
    Fixture f;
    dn_gui_test_window_open (&f, 1280, 800);
    dn_window_set_document (f.win, dn_gui_test_load_template ("mlp"));
    DnDocument *edited = dn_window_get_document (f.win);
    /* unedited: a template replaces it at once */
    g_autofree char *tpl = dn_test_data_path ("examples/mnist-cnn.json");
    gtk_widget_activate_action (GTK_WIDGET (f.win), "win.new-from-template", "s", tpl);
    dn_test_pump (0.2);
    g_assert_null (dn_gui_test_find_dialog (GTK_WINDOW (f.win)));
    g_assert_true (dn_window_get_document (f.win) != edited);

    edited = dn_window_get_document (f.win);
    dn_document_remove_layer (edited, 0);
    g_assert_true (dn_document_get_modified (edited));
    /* a template, a file, a run: each asks, and Cancel keeps the edits */
    g_autofree char *other = dn_test_data_path ("examples/mlp.json");
    g_autoptr (GFile) file = g_file_new_for_path (other);
    for (int what = 0; what < 3; what++) {
        if (what == 0)
            gtk_widget_activate_action (GTK_WIDGET (f.win), "win.new-from-template", "s", tpl);
        else if (what == 1)
            dn_window_open_file (f.win, file);
        else
            gtk_widget_activate_action (GTK_WIDGET (f.win), "win.open-run", "s", f.dir);
        dn_test_pump (0.2);
        AdwMessageDialog *d = dn_gui_test_find_dialog (GTK_WINDOW (f.win));
        g_assert_nonnull (d);
        g_assert_cmpstr (adw_message_dialog_get_heading (d), ==, "Discard Unsaved Changes?");
        if (what == 0)
            dn_gui_test_save_shot (GTK_WIDGET (d), "window-discard-dialog.png");
        adw_message_dialog_response (d, "cancel");
        gtk_window_destroy (GTK_WINDOW (d));
        dn_test_pump (0.1);
        g_assert_true (dn_window_get_document (f.win) == edited);
    }
    /* Discard Changes: replaced */
    dn_window_open_file (f.win, file);
    dn_test_pump (0.2);
    AdwMessageDialog *d = dn_gui_test_find_dialog (GTK_WINDOW (f.win));
    g_assert_nonnull (d);
    adw_message_dialog_response (d, "discard");
    gtk_window_destroy (GTK_WINDOW (d));
    dn_test_pump (0.2);
    g_assert_true (dn_window_get_document (f.win) != edited);
    g_assert_false (dn_document_get_modified (dn_window_get_document (f.win)));
    dn_gui_test_window_close (&f);
}

/* ---- charts: rollbacks, legend, zoom ---- */

/* A dendritic history that restores the best model at its switches: rolled-back
 * epochs lie beyond the history it keeps. */
static DnTracker *tracker_with_rollbacks (int *last_rolled_back)
{
    DnTrackerConfig cfg;
    dn_tracker_config_defaults (&cfg);
    dn_tracker_list_set (&cfg.n_epochs_to_switch, 3);
    dn_tracker_list_set (&cfg.max_dendrites, 3);
    cfg.find_best_lr = FALSE;
    GError *error = NULL;
    DnTracker *t = dn_tracker_new (&cfg, NULL, 0.05, &error);
    g_assert_no_error (error);
    dn_tracker_set_score_unit (t, "%");
    for (int i = 0; i < 40 && !dn_tracker_is_complete (t); i++) {
        /* rises, then stalls at each count of dendrites */
        double v = 80.0 + 3.0 * dn_tracker_dendrites (t) + MIN (i % 7, 3);
        DnTrackerScores sc = {.val = v, .test = v - 1.0, .seconds = 0.5, .params = 500};
        DnTrackerAction action;
        g_assert_true (dn_tracker_add_score (t, &sc, &action, &error));
        g_assert_no_error (error);
    }
    *last_rolled_back = -1;
    for (int r = 0; r < dn_tracker_n_rollbacks (t); r++) {
        DnTrackerRollback rb;
        g_assert_true (dn_tracker_get_rollback (t, r, &rb));
        *last_rolled_back = MAX (*last_rolled_back, rb.from_epoch);
    }
    g_assert_cmpint (dn_tracker_n_rollbacks (t), >, 0);
    return t;
}

static gboolean chart_redrawn (gpointer data)
{
    DnChartWidget *chart = data;
    guint before = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (chart), "before"));
    return dn_chart_widget_get_n_draws (chart) > before && dn_chart_widget_is_settled (chart);
}

static void wait_redraw (DnChartWidget *chart, guint before)
{
    g_object_set_data (G_OBJECT (chart), "before", GUINT_TO_POINTER (before));
    dn_test_spin_until (chart_redrawn, chart, 60);
    g_assert_cmpuint (dn_chart_widget_get_n_draws (chart), >, before);
}

static const DnChartLegendBox *legend_entry (DnChartWidget *chart, const char *label)
{
    const DnChartPlotArea *a = dn_chart_widget_get_plot_area (chart);
    for (int i = 0; i < a->n_legend; i++)
        if (g_str_equal (a->legend[i].label, label))
            return &a->legend[i];
    return NULL;
}

static void test_chart_follows_and_zooms (void)
{
    int rolled = -1;
    DnRunSnapshot *snap = dn_run_snapshot_new ();
    snap->shared = dn_shared_tracker_new (tracker_with_rollbacks (&rolled));
    snap->state = DN_RUN_TRAINING;
    int n = 0;
    dn_tracker_epochs (dn_run_snapshot_get_tracker (snap), &n);
    GtkWidget *win = gtk_window_new ();
    gtk_window_set_default_size (GTK_WINDOW (win), 900, 340);
    DnChartWidget *chart = DN_CHART_WIDGET (dn_chart_widget_new (DN_CHART_SCORES));
    gtk_window_set_child (GTK_WINDOW (win), GTK_WIDGET (chart));
    dn_chart_widget_set_snapshot (chart, snap);
    gtk_window_present (GTK_WINDOW (win));
    wait_redraw (chart, 0);

    /* the x axis reaches every epoch trained, the rolled-back ones too */
    const DnChartPlotArea *a = dn_chart_widget_get_plot_area (chart);
    g_assert_true (a->valid);
    g_test_message ("history %d rows, rolled back up to row %d, axis to %g", n, rolled,
                    a->last_row);
    g_assert_cmpfloat (a->last_row, >=, MAX (n - 1, rolled));
    dn_gui_test_save_shot (GTK_WIDGET (chart), "chart-rollbacks.png");

    /* a click on "Validation" hides it (its entry stays), another shows it again */
    const DnChartLegendBox *b = legend_entry (chart, "Validation");
    g_assert_nonnull (b);
    guint before = dn_chart_widget_get_n_draws (chart);
    dn_chart_widget_click_at (chart, b->x + b->width / 2, b->y + b->height / 2);
    g_assert_true (dn_chart_widget_series_hidden (chart, "Validation"));
    wait_redraw (chart, before);
    g_assert_nonnull (legend_entry (chart, "Validation"));
    dn_gui_test_save_shot (GTK_WIDGET (chart), "chart-validation-hidden.png");
    b = legend_entry (chart, "Validation");
    before = dn_chart_widget_get_n_draws (chart);
    dn_chart_widget_click_at (chart, b->x + b->width / 2, b->y + b->height / 2);
    g_assert_false (dn_chart_widget_series_hidden (chart, "Validation"));
    wait_redraw (chart, before);

    /* a drag over the middle of the plot shows those epochs; Reset shows all again */
    a = dn_chart_widget_get_plot_area (chart);
    double full_first = a->first_row, full_last = a->last_row;
    before = dn_chart_widget_get_n_draws (chart);
    dn_chart_widget_drag (chart, a->x + a->width * 0.3, a->x + a->width * 0.7);
    g_assert_true (dn_chart_widget_get_zoomed (chart));
    double from, to;
    dn_chart_widget_get_zoom (chart, &from, &to);
    g_assert_cmpfloat (from, >, full_first);
    g_assert_cmpfloat (to, <, full_last);
    wait_redraw (chart, before);
    a = dn_chart_widget_get_plot_area (chart);
    g_assert_cmpfloat_with_epsilon (a->first_row, from, 1e-9);
    g_assert_cmpfloat_with_epsilon (a->last_row, to, 1e-9);
    dn_gui_test_save_shot (GTK_WIDGET (chart), "chart-zoomed.png");
    /* a click (no travel) is not a zoom */
    dn_chart_widget_drag (chart, a->x + 10, a->x + 11);
    dn_chart_widget_get_zoom (chart, &from, &to);
    g_assert_cmpfloat_with_epsilon (a->first_row, from, 1e-9);
    before = dn_chart_widget_get_n_draws (chart);
    dn_chart_widget_reset_zoom (chart);
    g_assert_false (dn_chart_widget_get_zoomed (chart));
    wait_redraw (chart, before);
    a = dn_chart_widget_get_plot_area (chart);
    g_assert_cmpfloat_with_epsilon (a->last_row, full_last, 1e-9);

    /* a card of the Training page at 1280×800: every entry shown, none "and N more" */
    gtk_widget_set_size_request (GTK_WIDGET (chart), 490, 190);
    gtk_window_set_default_size (GTK_WINDOW (win), 490, 190);
    before = dn_chart_widget_get_n_draws (chart);
    wait_redraw (chart, before);
    a = dn_chart_widget_get_plot_area (chart);
    gboolean best_shown = FALSE;
    for (int i = 0; i < a->n_legend; i++)
        best_shown |= g_str_has_prefix (a->legend[i].label, "Global best");
    g_assert_true (best_shown);
    g_assert_nonnull (legend_entry (chart, "rolled back")); /* one entry for them all */
    dn_gui_test_save_shot (GTK_WIDGET (chart), "chart-card.png");

    /* small: the legend moves under the plot, it never disappears */
    gtk_window_set_default_size (GTK_WINDOW (win), 320, 300);
    gtk_widget_set_size_request (GTK_WIDGET (chart), 320, 300);
    gtk_widget_queue_resize (GTK_WIDGET (chart));
    before = dn_chart_widget_get_n_draws (chart);
    wait_redraw (chart, before);
    g_assert_nonnull (legend_entry (chart, "Validation"));
    g_assert_nonnull (legend_entry (chart, "Test"));
    /* smoothing redraws the scores */
    before = dn_chart_widget_get_n_draws (chart);
    dn_chart_widget_set_smoothing (chart, 0.9);
    wait_redraw (chart, before);
    dn_test_pump (0.3);
    dn_gui_test_save_shot (GTK_WIDGET (chart), "chart-small-smoothed.png");
    gtk_window_destroy (GTK_WINDOW (win));
    dn_run_snapshot_unref (snap);
}

/* A finished run's summary on the Training page: best score at the epoch the
 * charts show it, sets kept, parameters before → after, error removed, time. */
static void test_finished_summary (void)
{
    int rolled = -1;
    DnTracker *t = tracker_with_rollbacks (&rolled);
    DnTrackerMarkers m;
    dn_tracker_get_markers (t, &m);
    g_assert_true (m.has_global_best);
    int n_arch;
    g_autofree DnTrackerArchScore *arch = dn_tracker_best_scores (t, &n_arch);
    g_assert_cmpint (arch[0].dendrites, ==, 0);
    DnRunSnapshot *snap = dn_run_snapshot_new ();
    snap->shared = dn_shared_tracker_new (t);
    snap->state = DN_RUN_FINISHED;
    snap->dendritic = TRUE;
    snap->dendrites = 2;
    snap->best_val = 90.0;
    snap->best_epoch = 30; /* epochs trained, rolled-back ones too */
    snap->params = 1500;
    g_autofree char *want_epoch =
        g_strdup_printf ("Best 90.00 %% at epoch %d", m.global_best_epoch + 1);
    g_autofree char *removed =
        g_strdup_printf ("%.0f %% of the remaining error removed",
                         (90.0 - arch[0].best_val) / (100.0 - arch[0].best_val) * 100);
    g_autofree char *summary = dn_run_snapshot_summary (snap);
    g_test_message ("%s", summary);
    g_assert_true (g_str_has_prefix (summary, want_epoch));
    g_assert_nonnull (strstr (summary, "2 dendrite sets kept"));
    g_autofree char *after = dn_format_count (1500);
    g_autofree char *params = g_strdup_printf ("parameters 500 → %s", after);
    g_assert_nonnull (strstr (summary, params));
    g_assert_nonnull (strstr (summary, removed));
    g_assert_nonnull (strstr (summary, "of training"));

    /* the Training page shows it under its title */
    GtkWidget *page = g_object_new (DN_TYPE_TRAINING_PAGE, NULL);
    g_object_ref_sink (page);
    dn_training_page_set_snapshot (DN_TRAINING_PAGE (page), snap);
    g_autofree char *status = dn_training_page_get_status_text (DN_TRAINING_PAGE (page));
    g_assert_nonnull (strstr (status, summary));
    /* a stopped run has none: it is not over */
    DnRunSnapshot *stopped = dn_run_snapshot_new ();
    stopped->shared = dn_shared_tracker_ref (snap->shared);
    stopped->state = DN_RUN_STOPPED;
    stopped->dendritic = TRUE;
    stopped->best_val = 90.0;
    stopped->best_epoch = 30;
    dn_training_page_set_snapshot (DN_TRAINING_PAGE (page), stopped);
    g_autofree char *stopped_status = dn_training_page_get_status_text (DN_TRAINING_PAGE (page));
    g_assert_null (strstr (stopped_status, "kept"));
    /* its best epoch counted as the charts count it, not every epoch trained */
    g_autofree char *best = g_strdup_printf ("best 90.00 %% (epoch %d, ", m.global_best_epoch + 1);
    g_assert_nonnull (strstr (stopped_status, best));
    dn_run_snapshot_unref (stopped);
    g_object_unref (page);
    dn_run_snapshot_unref (snap);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/app/window/read-log", test_read_log);
    if (!gtk_init_check ()) {
        g_print ("1..0 # SKIP no display\n");
        return 77;
    }
    adw_init ();
    g_test_add_func ("/app/window/narrow", test_narrow);
    g_test_add_func ("/app/window/chart-follows-and-zooms", test_chart_follows_and_zooms);
    g_test_add_func ("/app/window/finished-summary", test_finished_summary);
    g_test_add_func ("/app/window/discard-asks", test_discard_asks);
    g_test_add_func ("/app/window/run-state", test_run_state);
    return g_test_run ();
}
