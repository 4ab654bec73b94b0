/* dn-window.c: the main window: header bar, sidebar, pages, the run's progress
 * and closing; its actions are in dn-window-actions.c. */
#include "dn-window-private.h"

#include "dn-error.h"
#include "dn-templates.h"

#include <glib/gi18n.h>
#include <math.h>

static const char *const page_names[] = {"network", "dendrites", "data", "training", "results"};
G_STATIC_ASSERT (G_N_ELEMENTS (page_names) == DN_WINDOW_N_PAGES);

G_DEFINE_FINAL_TYPE (DnWindow, dn_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- toasts ---- */

void dn_window_toast (DnWindow *self, const char *text)
{
    AdwToast *toast = adw_toast_new (text);
    adw_toast_set_timeout (toast, 4);
    adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void dn_window_toast_folder (DnWindow *self, const char *text, const char *folder)
{
    AdwToast *toast = adw_toast_new (text);
    adw_toast_set_button_label (toast, _ ("Open Folder"));
    adw_toast_set_action_name (toast, "win.open-folder");
    adw_toast_set_action_target_value (toast, g_variant_new_string (folder));
    adw_toast_set_timeout (toast, 8);
    adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void _dn_window_show_error (DnWindow *self, const char *heading, const char *body)
{
    GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);
    adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _ ("_Close"));
    gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- summaries: the sidebar and the subtitle ---- */

static char *network_summary (DnWindow *self)
{
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    DnExperiment *exp = dn_document_get_experiment (self->document);
    if (!info->ok && info->error_layer >= 0) {
        DnLayerInfo *l = g_ptr_array_index (info->layers, info->error_layer);
        return g_strdup_printf (_ ("error at %s"), l->name);
    }
    if (!info->ok)
        return g_strdup (_ ("does not build"));
    /* short: the sidebar is narrow */
    g_autofree char *params =
        info->total_params >= 1000000 ? g_strdup_printf ("%.1f M", info->total_params / 1e6)
        : info->total_params >= 10000 ? g_strdup_printf ("%.0f k", info->total_params / 1e3)
                                      : dn_format_count (info->total_params);
    if (!exp->dendrites)
        return g_strdup_printf (_ ("%u layers · %s parameters"), info->layers->len, params);
    return g_strdup_printf (ngettext ("%d dendritic layer · %s parameters",
                                      "%d dendritic layers · %s parameters", info->n_dendritic),
                            info->n_dendritic, params);
}

static char *dendrites_summary (DnWindow *self)
{
    DnExperiment *exp = dn_document_get_experiment (self->document);
    if (!exp->dendrites)
        return g_strdup (_ ("off: a run without dendrites"));
    if (exp->tracker.testing_dendrite_capacity)
        return g_strdup (_ ("capacity test"));
    int patience = (int) dn_tracker_list_at (&exp->tracker.n_epochs_to_switch, 0);
    int max = (int) dn_tracker_list_at (&exp->tracker.max_dendrites, 0);
    return g_strdup_printf (_ ("patience %d · up to %d sets"), patience, max);
}

static char *data_summary (DnWindow *self)
{
    DnExperiment *exp = dn_document_get_experiment (self->document);
    g_autofree char *what = NULL;
    if (exp->data_path == NULL)
        what = g_strdup (_ ("MNIST sample"));
    else if (g_str_has_suffix (exp->data_path, "fashion-mnist"))
        what = g_strdup (_ ("Fashion-MNIST"));
    else {
        g_autofree char *base = g_path_get_basename (exp->data_path);
        what = dn_quote_inner (base);
    }
    if (exp->continual)
        return g_strdup_printf (
            ngettext ("%s · %d permuted task", "%s · %d permuted tasks", exp->cl.tasks), what,
            exp->cl.tasks);
    return g_strdup_printf (_ ("%s · %.0f %% validation"), what, exp->val_fraction * 100);
}

/* The run shown with the experiment: the live one, or one reopened from its
 * folder; NULL before any (the trainer's last run may belong to another). */
static DnRunSnapshot *shown_run (DnWindow *self)
{
    DnRunSnapshot *s = dn_training_page_get_snapshot (self->training_page);
    return s != NULL && s->state != DN_RUN_IDLE ? s : NULL;
}

static char *training_summary (DnWindow *self)
{
    DnRunSnapshot *s = shown_run (self);
    if (s == NULL)
        return g_strdup (_ ("not started"));
    switch (s->state) {
    case DN_RUN_IDLE:
        return g_strdup (_ ("not started"));
    case DN_RUN_PREPARING:
        return g_strdup (_ ("starting…"));
    case DN_RUN_FAILED:
        return g_strdup (_ ("failed"));
    default:
        break;
    }
    if (s->tasks > 0) {
        if (s->state == DN_RUN_FINISHED && isfinite (s->average_accuracy))
            return g_strdup_printf (_ ("finished · %.1f %% over %d tasks"), s->average_accuracy,
                                    s->tasks);
        if (s->state == DN_RUN_FINISHED || s->state == DN_RUN_STOPPED)
            return g_strdup_printf (_ ("stopped after %d of %d tasks"), s->tasks_done, s->tasks);
        int task = s->tasks_done > s->task ? s->tasks_done : s->task;
        return g_strdup_printf (_ ("task %d of %d"), MIN (task, s->tasks - 1) + 1, s->tasks);
    }
    const char *state = s->state == DN_RUN_FINISHED  ? _ ("finished")
                        : s->state == DN_RUN_STOPPED ? _ ("stopped")
                                                     : _ ("epoch");
    if (s->dendritic)
        return g_strdup_printf (
            ngettext ("%s %d · %d set", "%s %d · %d sets", s->dendrites), state,
            s->state == DN_RUN_TRAINING || s->state == DN_RUN_STOPPING ? s->epoch + 1 : s->epoch,
            s->dendrites);
    return g_strdup_printf ("%s %d", state, s->state == DN_RUN_TRAINING ? s->epoch + 1 : s->epoch);
}

static void update_summaries (DnWindow *self)
{
    if (self->document == NULL)
        return;
    char *texts[DN_WINDOW_N_PAGES] = {
        network_summary (self),
        dendrites_summary (self),
        data_summary (self),
        training_summary (self),
        dn_results_page_get_summary (self->results_page),
    };
    for (int i = 0; i < DN_WINDOW_N_PAGES; i++) {
        gtk_label_set_label (self->nav_subtitles[i], texts[i]);
        g_free (texts[i]);
    }
}

/* A run that has ended says how, not what its tracker was last doing. */
static char *ended_subtitle (DnRunSnapshot *s, gboolean resumable)
{
    switch (s->state) {
    case DN_RUN_FINISHED:
        if (s->tasks > 0 && isfinite (s->average_accuracy))
            return g_strdup_printf (_ ("Finished · %.2f %% average over %d tasks"),
                                    s->average_accuracy, s->tasks);
        if (isfinite (s->best_val) && s->dendritic)
            return g_strdup_printf (ngettext ("Finished · best %.2f %% with %d dendrite set",
                                              "Finished · best %.2f %% with %d dendrite sets",
                                              s->dendrites),
                                    s->best_val, s->dendrites);
        if (isfinite (s->best_val))
            return g_strdup_printf (_ ("Finished · best %.2f %%"), s->best_val);
        return g_strdup (_ ("Finished"));
    case DN_RUN_STOPPED:
        if (!resumable)
            return g_strdup (_ ("Stopped"));
        if (s->tasks > 0)
            return g_strdup_printf (_ ("Stopped after %d of %d tasks · Resume continues it"),
                                    s->tasks_done, s->tasks);
        return g_strdup_printf (ngettext ("Stopped after %d epoch · Resume continues it",
                                          "Stopped after %d epochs · Resume continues it",
                                          s->epoch),
                                s->epoch);
    case DN_RUN_FAILED:
        return g_strdup (_ ("Training failed · see the Training page"));
    default:
        return NULL;
    }
}

static void update_title (DnWindow *self)
{
    if (self->document == NULL) {
        adw_window_title_set_title (self->window_title, _ ("Dendrite Studio"));
        adw_window_title_set_subtitle (self->window_title, "");
        gtk_window_set_title (GTK_WINDOW (self), _ ("Dendrite Studio"));
        return;
    }
    DnExperiment *exp = dn_document_get_experiment (self->document);
    g_autofree char *title =
        g_strdup_printf ("%s%s", dn_document_get_modified (self->document) ? "• " : "", exp->name);
    adw_window_title_set_title (self->window_title, title);
    g_autofree char *win_title = g_strdup_printf (_ ("%s — Dendrite Studio"), exp->name);
    gtk_window_set_title (GTK_WINDOW (self), win_title);
    DnRunSnapshot *s = shown_run (self);
    g_autofree char *ended = s != NULL ? ended_subtitle (s, self->resume_dir != NULL) : NULL;
    if (ended != NULL || (s != NULL && s->status != NULL)) {
        adw_window_title_set_subtitle (self->window_title, ended != NULL ? ended : s->status);
        return;
    }
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    g_autofree char *params = dn_format_count (info->total_params);
    g_autofree char *sub = NULL;
    if (!info->ok)
        sub = g_strdup (_ ("The network does not build: see the Network page"));
    else if (exp->continual)
        sub = g_strdup_printf (ngettext ("Continual learning on %d permuted task · %s parameters",
                                         "Continual learning on %d permuted tasks · %s parameters",
                                         exp->cl.tasks),
                               exp->cl.tasks, params);
    else if (exp->dendrites)
        sub = g_strdup_printf (ngettext ("%d layer gets dendrites · %s parameters",
                                         "%d layers get dendrites · %s parameters",
                                         info->n_dendritic),
                               info->n_dendritic, params);
    else
        sub = g_strdup_printf (_ ("No dendrites · %s parameters"), params);
    adw_window_title_set_subtitle (self->window_title, sub);
}

void _dn_window_update_actions (DnWindow *self)
{
    gboolean have = self->document != NULL;
    gboolean running = dn_trainer_is_running (self->trainer);
    DnRunSnapshot *s = dn_trainer_get_snapshot (self->trainer);
    gboolean builds = have && dn_document_get_network_info (self->document)->ok;
    GtkWidget *w = GTK_WIDGET (self);
    gtk_widget_action_set_enabled (w, "win.start", builds && !running);
    gtk_widget_action_set_enabled (w, "win.stop", running && s->state != DN_RUN_STOPPING);
    gtk_widget_action_set_enabled (w, "win.resume", !running && self->resume_dir != NULL);
    gtk_widget_action_set_enabled (w, "win.save", have);
    gtk_widget_action_set_enabled (w, "win.save-as", have);
    gtk_widget_action_set_enabled (w, "win.export", have);
    gtk_widget_action_set_enabled (w, "win.export-all", have);
    gtk_widget_action_set_enabled (w, "win.export-onnx", have);
    gtk_widget_set_visible (GTK_WIDGET (self->start_button), !running);
    gtk_widget_set_visible (GTK_WIDGET (self->stop_button), running);
    gtk_widget_set_visible (GTK_WIDGET (self->resume_button), !running && self->resume_dir != NULL);
    gtk_widget_set_visible (GTK_WIDGET (self->spinner), running);
    dn_busy_indicator_set_spinning (self->spinner, running);
}

void _dn_window_refresh (DnWindow *self)
{
    update_title (self);
    update_summaries (self);
    _dn_window_update_actions (self);
}

static void on_document_changed (DnDocument *doc, guint what, DnWindow *self)
{
    if (what & ~(guint) DN_CHANGE_FILE) {
        /* a run that was stopped belongs to the experiment as it was */
        if (self->resume_dir != NULL && (what & (DN_CHANGE_NETWORK | DN_CHANGE_DATA |
                                                 DN_CHANGE_DENDRITES | DN_CHANGE_TRAINING)))
            g_clear_pointer (&self->resume_dir, g_free);
    }
    update_title (self);
    update_summaries (self);
    _dn_window_update_actions (self);
}

static void on_leaflet_changed (AdwLeaflet *leaflet, GParamSpec *pspec, DnWindow *self);

void dn_window_set_document (DnWindow *self, DnDocument *doc)
{
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_clear_object (&self->document);
    g_clear_pointer (&self->resume_dir, g_free);
    self->document = doc;
    if (doc != NULL)
        g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
    dn_network_page_set_document (self->network_page, doc);
    dn_dendrites_page_set_document (self->dendrites_page, doc);
    dn_data_page_set_document (self->data_page, doc);
    dn_training_page_set_document (self->training_page, doc);
    dn_results_page_set_document (self->results_page, doc);
    gtk_stack_set_visible_child_name (self->main_stack, doc != NULL ? "experiment" : "empty");
    on_leaflet_changed (self->leaflet, NULL, self);
    update_title (self);
    update_summaries (self);
    _dn_window_update_actions (self);
}

DnDocument *dn_window_get_document (DnWindow *self)
{
    return self->document;
}

DnTrainer *dn_window_get_trainer (DnWindow *self)
{
    return self->trainer;
}

void _dn_window_show_page_at (DnWindow *self, int i)
{
    if (i >= 0 && i < DN_WINDOW_N_PAGES)
        gtk_list_box_select_row (self->nav_list, gtk_list_box_get_row_at_index (self->nav_list, i));
}

void dn_window_show_page (DnWindow *self, const char *name)
{
    for (int i = 0; i < DN_WINDOW_N_PAGES; i++)
        if (g_str_equal (page_names[i], name))
            _dn_window_show_page_at (self, i);
}

static void on_progress (DnTrainer *trainer, DnRunSnapshot *snap, DnWindow *self)
{
    dn_training_page_set_snapshot (self->training_page, snap);
    update_title (self);
    update_summaries (self);
    _dn_window_update_actions (self);
}

static void on_finished (DnTrainer *trainer, DnRunSnapshot *snap, DnWindow *self)
{
    dn_results_page_add_run (self->results_page, snap);
    g_clear_pointer (&self->resume_dir, g_free);
    g_autofree char *latest =
        snap->run_dir != NULL ? g_build_filename (snap->run_dir, "latest.safetensors", NULL) : NULL;
    if (snap->state == DN_RUN_STOPPED && latest != NULL && g_file_test (latest, G_FILE_TEST_EXISTS))
        self->resume_dir = g_strdup (snap->run_dir);
    switch (snap->state) {
    case DN_RUN_FINISHED:
        dn_window_toast_folder (self, _ ("Training finished"), snap->run_dir);
        break;
    case DN_RUN_STOPPED:
        dn_window_toast (self, self->resume_dir != NULL
                                   ? _ ("Training stopped; Resume continues it")
                                   : _ ("Training stopped before the first epoch finished"));
        break;
    case DN_RUN_FAILED:
        _dn_window_show_error (self, _ ("Training Failed"), snap->error);
        break;
    default:
        break;
    }
    update_title (self);
    update_summaries (self);
    _dn_window_update_actions (self);
}

/* ---- drag and drop ---- */

static gboolean on_drop (GtkDropTarget *target, const GValue *value, double x, double y,
                         DnWindow *self)
{
    if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
        return FALSE;
    GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));
    if (files == NULL)
        return FALSE;
    dn_window_open_file (self, files->data);
    g_slist_free (files);
    return TRUE;
}

/* ---- closing ---- */

static void on_close_response (AdwMessageDialog *dialog, const char *response, DnWindow *self)
{
    if (g_str_equal (response, "close")) {
        dn_trainer_stop (self->trainer);
        g_object_set_data (G_OBJECT (self), "dn-closing", GINT_TO_POINTER (1));
        gtk_window_close (GTK_WINDOW (self));
    }
}

static gboolean dn_window_close_request (GtkWindow *window)
{
    DnWindow *self = DN_WINDOW (window);
    if (g_object_get_data (G_OBJECT (self), "dn-closing") != NULL) {
        if (dn_trainer_is_running (self->trainer))
            return TRUE; /* closes when the run has stopped (on_finished_close) */
        return GTK_WINDOW_CLASS (dn_window_parent_class)->close_request (window);
    }
    gboolean running = dn_trainer_is_running (self->trainer);
    gboolean modified = self->document != NULL && dn_document_get_modified (self->document) &&
                        dn_document_get_file (self->document) != NULL;
    if (!running && !modified)
        return GTK_WINDOW_CLASS (dn_window_parent_class)->close_request (window);
    GtkWidget *dialog = adw_message_dialog_new (
        window, running ? _ ("Stop Training and Close?") : _ ("Close Without Saving?"),
        running ? _ ("The run stops after the current batch; its folder keeps everything written "
                     "so far and it can be resumed later.")
                : _ ("The changes to the experiment will be lost."));
    adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _ ("_Cancel"), "close",
                                      running ? _ ("_Stop and Close") : _ ("_Discard Changes"),
                                      NULL);
    adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "close",
                                                ADW_RESPONSE_DESTRUCTIVE);
    g_signal_connect (dialog, "response", G_CALLBACK (on_close_response), self);
    gtk_window_present (GTK_WINDOW (dialog));
    return TRUE;
}

static void on_finished_close (DnTrainer *trainer, DnRunSnapshot *snap, DnWindow *self)
{
    if (g_object_get_data (G_OBJECT (self), "dn-closing") != NULL)
        gtk_window_close (GTK_WINDOW (self));
}

/* ---- construction ---- */

static void on_nav_selected (GtkListBox *box, GtkListBoxRow *row, DnWindow *self)
{
    if (row == NULL)
        return;
    int i = gtk_list_box_row_get_index (row);
    if (i >= 0 && i < DN_WINDOW_N_PAGES)
        gtk_stack_set_visible_child_name (self->page_stack, page_names[i]);
    /* a narrow window shows one of the two: choosing a page shows it */
    adw_leaflet_set_visible_child (self->leaflet, GTK_WIDGET (self->page_stack));
}

static void on_nav_activated (GtkListBox *box, GtkListBoxRow *row, DnWindow *self)
{
    adw_leaflet_set_visible_child (self->leaflet, GTK_WIDGET (self->page_stack));
}

/* Narrow (folded): the sidebar and the page take turns, and the header's
 * sidebar button switches between them. */
static gboolean update_sidebar_button (gpointer data)
{
    DnWindow *self = data;
    self->sidebar_idle = 0;
    gboolean folded = adw_leaflet_get_folded (self->leaflet);
    gtk_widget_set_visible (GTK_WIDGET (self->sidebar_button), folded && self->document != NULL);
    gtk_toggle_button_set_active (self->sidebar_button,
                                  folded && adw_leaflet_get_visible_child (self->leaflet) ==
                                                self->sidebar);
    return G_SOURCE_REMOVE;
}

/* The leaflet folds while it is being allocated: the header changes after that. */
static void on_leaflet_changed (AdwLeaflet *leaflet, GParamSpec *pspec, DnWindow *self)
{
    if (self->sidebar_idle == 0)
        self->sidebar_idle = g_idle_add (update_sidebar_button, self);
}

static void on_sidebar_toggled (GtkToggleButton *button, DnWindow *self)
{
    if (!adw_leaflet_get_folded (self->leaflet))
        return;
    adw_leaflet_set_visible_child (self->leaflet, gtk_toggle_button_get_active (button)
                                                      ? self->sidebar
                                                      : GTK_WIDGET (self->page_stack));
}

static void build_nav (DnWindow *self)
{
    const char *titles[DN_WINDOW_N_PAGES] = {_ ("Network"), _ ("Dendrites"), _ ("Data"),
                                             _ ("Training"), _ ("Results")};
    for (int i = 0; i < DN_WINDOW_N_PAGES; i++) {
        GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
        gtk_widget_set_margin_top (box, 6);
        gtk_widget_set_margin_bottom (box, 6);
        gtk_widget_set_margin_start (box, 6);
        gtk_widget_set_margin_end (box, 6);
        GtkWidget *title = gtk_label_new (titles[i]);
        gtk_label_set_xalign (GTK_LABEL (title), 0);
        gtk_widget_add_css_class (title, "heading");
        GtkWidget *sub = gtk_label_new ("");
        gtk_label_set_xalign (GTK_LABEL (sub), 0);
        gtk_label_set_ellipsize (GTK_LABEL (sub), PANGO_ELLIPSIZE_END);
        gtk_widget_add_css_class (sub, "caption");
        gtk_widget_add_css_class (sub, "dim-label");
        gtk_box_append (GTK_BOX (box), title);
        gtk_box_append (GTK_BOX (box), sub);
        gtk_list_box_append (self->nav_list, box);
        self->nav_subtitles[i] = GTK_LABEL (sub);
        GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->nav_list, i);
        gtk_accessible_update_relation (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                        title, NULL, GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, sub,
                                        NULL, -1);
    }
    g_signal_connect (self->nav_list, "row-selected", G_CALLBACK (on_nav_selected), self);
    g_signal_connect (self->nav_list, "row-activated", G_CALLBACK (on_nav_activated), self);
    g_signal_connect (self->leaflet, "notify::folded", G_CALLBACK (on_leaflet_changed), self);
    g_signal_connect (self->leaflet, "notify::visible-child", G_CALLBACK (on_leaflet_changed),
                      self);
    g_signal_connect (self->sidebar_button, "toggled", G_CALLBACK (on_sidebar_toggled), self);
    gtk_list_box_select_row (self->nav_list, gtk_list_box_get_row_at_index (self->nav_list, 0));
}

static void build_templates (DnWindow *self)
{
    g_autoptr (GPtrArray) templates = dn_templates_list ();
    for (guint i = 0; i < templates->len; i++) {
        DnTemplate *t = templates->pdata[i];
        GtkWidget *row = adw_action_row_new ();
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), t->title);
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), t->description);
        adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
        GtkWidget *button = gtk_button_new_with_label (_ ("Create"));
        gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
        gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.new-from-template");
        gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button),
                                                g_variant_new_string (t->path));
        g_autofree char *label = g_strdup_printf (_ ("Create from template %s"), t->title);
        gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                        label, -1);
        adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
        adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), button);
        gtk_list_box_append (self->template_list, row);
    }
}

static void on_dark_changed (AdwStyleManager *sm, GParamSpec *pspec, DnWindow *self)
{
    dn_training_page_set_dark (self->training_page, adw_style_manager_get_dark (sm));
}

static void dn_window_dispose (GObject *object)
{
    DnWindow *self = DN_WINDOW (object);
    if (self->trainer != NULL) {
        dn_trainer_stop (self->trainer);
        g_signal_handlers_disconnect_by_data (self->trainer, self);
    }
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_signal_handlers_disconnect_by_data (adw_style_manager_get_default (), self);
    g_clear_handle_id (&self->sidebar_idle, g_source_remove);
    g_clear_object (&self->chooser);
    gtk_widget_dispose_template (GTK_WIDGET (self), DN_TYPE_WINDOW);
    G_OBJECT_CLASS (dn_window_parent_class)->dispose (object);
}

static void dn_window_finalize (GObject *object)
{
    DnWindow *self = DN_WINDOW (object);
    g_clear_object (&self->document);
    g_clear_object (&self->trainer);
    g_free (self->resume_dir);
    G_OBJECT_CLASS (dn_window_parent_class)->finalize (object);
}

static void dn_window_class_init (DnWindowClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS (klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    object_class->dispose = dn_window_dispose;
    object_class->finalize = dn_window_finalize;
    GTK_WINDOW_CLASS (klass)->close_request = dn_window_close_request;

    g_type_ensure (DN_TYPE_BUSY_INDICATOR);
    g_type_ensure (DN_TYPE_NETWORK_PAGE);
    g_type_ensure (DN_TYPE_DENDRITES_PAGE);
    g_type_ensure (DN_TYPE_DATA_PAGE);
    g_type_ensure (DN_TYPE_TRAINING_PAGE);
    g_type_ensure (DN_TYPE_RESULTS_PAGE);
    gtk_widget_class_set_template_from_resource (widget_class, "/org/dendrite/Studio/dn-window.ui");
    gtk_widget_class_bind_template_child (widget_class, DnWindow, window_title);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, start_button);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, stop_button);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, resume_button);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, spinner);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, main_stack);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, template_list);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, leaflet);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, sidebar);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, sidebar_button);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, nav_list);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, page_stack);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, network_page);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, dendrites_page);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, data_page);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, training_page);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, results_page);

    _dn_window_class_actions_init (widget_class);
}

static void dn_window_init (DnWindow *self)
{
    gtk_widget_init_template (GTK_WIDGET (self));
    self->toast_overlay =
        ADW_TOAST_OVERLAY (adw_application_window_get_content (ADW_APPLICATION_WINDOW (self)));
    self->trainer = dn_trainer_new ();
    g_signal_connect (self->trainer, "progress", G_CALLBACK (on_progress), self);
    g_signal_connect (self->trainer, "finished", G_CALLBACK (on_finished), self);
    g_signal_connect_after (self->trainer, "finished", G_CALLBACK (on_finished_close), self);
    build_nav (self);
    build_templates (self);

    GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
    g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
    gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

    AdwStyleManager *sm = adw_style_manager_get_default ();
    g_signal_connect (sm, "notify::dark", G_CALLBACK (on_dark_changed), self);
    dn_training_page_set_dark (self->training_page, adw_style_manager_get_dark (sm));
    update_title (self);
    _dn_window_update_actions (self);
}

DnWindow *dn_window_new (DnApplication *app)
{
    return g_object_new (DN_TYPE_WINDOW, "application", app, NULL);
}
