/* dn-training-page.c: status card, run settings, four live charts (or a continual
 * run's task charts), decisions. */
#include "dn-training-page.h"

#include "dn-chart-widget.h"

#include <glib/gi18n.h>
#include <math.h>

struct _DnTrainingPage {
    AdwBin parent_instance;

    GtkLabel *progress_title;
    GtkProgressBar *progress_bar;
    GtkLabel *progress_detail;
    GtkLabel *status_label;
    AdwExpanderRow *settings_row;
    AdwActionRow *epochs_row;
    GtkSpinButton *epochs_spin;
    GtkSpinButton *batch_spin;
    AdwComboRow *optimizer_row;
    GtkSpinButton *lr_spin;
    AdwActionRow *scheduler_row;
    GtkSpinButton *seed_spin;
    GtkLabel *zoom_label;
    GtkDropDown *zoom_dropdown;
    GtkButton *reset_zoom_button;
    GtkDropDown *smooth_dropdown;
    GtkGrid *chart_grid;
    GtkBox *continual_box;
    GtkLabel *log_title;
    GtkLabel *log_label;
    GMenuModel *chart_menu_model;

    GtkWidget *charts[DN_CHART_WIDGET_N_KINDS];
    GtkWidget *activity_card;
    DnDocument *document;
    DnRunSnapshot *snapshot;
    gboolean updating;
    guint log_shown;
};

G_DEFINE_FINAL_TYPE (DnTrainingPage, dn_training_page, ADW_TYPE_BIN)

static const int zoom_epochs[] = {0, 10, 25, 50};
static const char *const chart_ids[DN_CHART_WIDGET_N_KINDS] = {"scores",      "times", "lr",
                                                               "correlation", "tasks", "activity"};

/* A continual run is shown (or, before any run, the experiment is one): the task
 * charts replace the tracker's four. */
static gboolean shows_continual (DnTrainingPage *self)
{
    DnRunSnapshot *s = self->snapshot;
    if (s != NULL && s->state != DN_RUN_IDLE)
        return s->tasks > 0;
    return self->document != NULL && dn_document_get_experiment (self->document)->continual;
}

/* ---- status card ---- */

static char *format_duration (double s)
{
    if (!isfinite (s) || s < 0)
        return g_strdup ("—");
    if (s < 90)
        return g_strdup_printf (_ ("%.0f s"), s);
    if (s < 5400)
        return g_strdup_printf (_ ("%.0f min"), s / 60);
    return g_strdup_printf (_ ("%.1f h"), s / 3600);
}

/* The mean of the last measured row of the accuracy matrix, and its row (-1: none). */
static double last_mean (const DnRunSnapshot *s, int *row)
{
    const double *m = dn_run_snapshot_get_accuracy (s);
    *row = -1;
    for (int t = 0; m != NULL && t < s->tasks; t++)
        if (isfinite (m[(size_t) t * s->tasks]))
            *row = t;
    if (*row < 0)
        return NAN;
    double sum = 0.0;
    for (int j = 0; j <= *row; j++)
        sum += m[(size_t) *row * s->tasks + j];
    return sum / (*row + 1);
}

/* "Task 3 · epoch 2 · batch 12/31"; the status line below says "of 10" and "of 3". */
static void update_continual_status (DnTrainingPage *self)
{
    DnRunSnapshot *s = self->snapshot;
    /* between two tasks (the last one evaluated, the next not begun): the next one */
    gboolean between = s->tasks_done > s->task && s->tasks_done < s->tasks;
    int task = between ? s->tasks_done : MIN (s->task, s->tasks - 1);
    int epoch = between ? 1 : MIN (s->epoch + 1, MAX (s->epochs, 1));
    g_autofree char *title = NULL;
    switch (s->state) {
    case DN_RUN_PREPARING:
        title = g_strdup (_ ("Preparing"));
        break;
    case DN_RUN_FINISHED:
        title = g_strdup_printf (
            ngettext ("Finished all %d task", "Finished all %d tasks", s->tasks), s->tasks);
        break;
    case DN_RUN_STOPPED:
        title = g_strdup_printf (
            ngettext ("Stopped after %d task of %d", "Stopped after %d tasks of %d", s->tasks_done),
            s->tasks_done, s->tasks);
        break;
    case DN_RUN_FAILED:
        title = g_strdup (_ ("Failed"));
        break;
    default:
        if (!between && s->epochs > 0 && s->epoch >= s->epochs)
            title = g_strdup_printf (_ ("Task %d · measuring every task so far"), task + 1);
        else if (!between && s->n_batches > 0 && s->batch > 0)
            title = g_strdup_printf (_ ("Task %d · epoch %d · batch %d/%d"), task + 1, epoch,
                                     s->batch, s->n_batches);
        else
            title = g_strdup_printf (_ ("Task %d · epoch %d"), task + 1, epoch);
        break;
    }
    gtk_label_set_label (self->progress_title, title);
    double frac = s->n_batches > 0 && !between ? (double) s->batch / s->n_batches : 0;
    if (s->state == DN_RUN_FINISHED)
        frac = 1;
    gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (frac, 0, 1));

    GString *d = g_string_new (NULL);
    if (s->state == DN_RUN_TRAINING && s->samples_per_s > 0 && s->batch > 0) {
        g_autofree char *eta = format_duration (s->eta_epoch);
        g_string_append_printf (d, _ ("%.0f samples/s · ETA %s this epoch"), s->samples_per_s, eta);
    }
    int row;
    double mean = last_mean (s, &row);
    if (s->state == DN_RUN_FINISHED && isfinite (s->average_accuracy)) {
        if (d->len > 0)
            g_string_append (d, " · ");
        g_string_append_printf (d, _ ("average accuracy over all %d tasks %.2f %%"), s->tasks,
                                s->average_accuracy);
    } else if (row >= 0) {
        if (d->len > 0)
            g_string_append (d, " · ");
        g_string_append_printf (d,
                                ngettext ("mean accuracy %.2f %% over %d task so far",
                                          "mean accuracy %.2f %% over %d tasks so far", row + 1),
                                mean, row + 1);
    }
    if (s->params > 0) {
        g_autofree char *p = dn_format_count (s->params);
        if (d->len > 0)
            g_string_append (d, " · ");
        g_string_append_printf (d, _ ("%s parameters"), p);
    }
    if (s->device != NULL)
        g_string_append_printf (d, " · %s", s->device);
    if (s->state == DN_RUN_FAILED && s->error != NULL)
        g_string_assign (d, s->error);
    if ((s->state == DN_RUN_FINISHED || s->state == DN_RUN_STOPPED) && s->run_dir != NULL)
        g_string_append_printf (d, _ ("\nRun folder: %s"), s->run_dir);
    gtk_label_set_label (self->progress_detail, d->str);
    g_string_free (d, TRUE);
    gtk_label_set_label (self->status_label, s->status != NULL ? s->status : "");
    gtk_widget_set_visible (GTK_WIDGET (self->status_label), s->status != NULL);
}

static void update_status (DnTrainingPage *self)
{
    DnRunSnapshot *s = self->snapshot;
    if (s == NULL || s->state == DN_RUN_IDLE) {
        gtk_label_set_label (self->progress_title, _ ("Not started"));
        gtk_progress_bar_set_fraction (self->progress_bar, 0);
        gtk_label_set_label (self->progress_detail,
                             _ ("Press Start to train the experiment. Everything the run writes "
                                "goes to its own folder."));
        gtk_widget_set_visible (GTK_WIDGET (self->status_label), FALSE);
        return;
    }
    if (s->tasks > 0) {
        update_continual_status (self);
        return;
    }
    g_autofree char *title = NULL;
    int shown_epoch =
        s->state == DN_RUN_TRAINING || s->state == DN_RUN_STOPPING ? s->epoch + 1 : s->epoch;
    switch (s->state) {
    case DN_RUN_PREPARING:
        title = g_strdup (_ ("Preparing"));
        break;
    case DN_RUN_FINISHED:
        title = g_strdup_printf (
            ngettext ("Finished after %d epoch", "Finished after %d epochs", s->epoch), s->epoch);
        break;
    case DN_RUN_STOPPED:
        title = g_strdup_printf (
            ngettext ("Stopped after %d epoch", "Stopped after %d epochs", s->epoch), s->epoch);
        break;
    case DN_RUN_FAILED:
        title = g_strdup (_ ("Failed"));
        break;
    default:
        if (s->n_batches > 0 && s->batch > 0)
            title =
                g_strdup_printf (_ ("Epoch %d · batch %d/%d"), shown_epoch, s->batch, s->n_batches);
        else
            title = g_strdup_printf (_ ("Epoch %d"), shown_epoch);
        break;
    }
    gtk_label_set_label (self->progress_title, title);
    double frac = s->n_batches > 0 ? (double) s->batch / s->n_batches : 0;
    if (s->state == DN_RUN_FINISHED)
        frac = 1;
    gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (frac, 0, 1));

    GString *d = g_string_new (NULL);
    g_autofree char *summary = s->state == DN_RUN_FINISHED ? dn_run_snapshot_summary (s) : NULL;
    if (summary != NULL)
        g_string_append (d, summary);
    else if (s->state == DN_RUN_TRAINING && s->samples_per_s > 0) {
        g_autofree char *eta = format_duration (s->eta_epoch);
        g_string_append_printf (d, _ ("%.0f samples/s · ETA %s this epoch"), s->samples_per_s, eta);
    }
    if (summary == NULL && isfinite (s->best_val) && s->best_epoch > 0) {
        if (d->len > 0)
            g_string_append (d, " · ");
        if (s->dendritic)
            g_string_append_printf (d,
                                    ngettext ("best %.2f %% (epoch %d, %d set)",
                                              "best %.2f %% (epoch %d, %d sets)", s->dendrites),
                                    s->best_val, dn_run_snapshot_best_epoch (s), s->dendrites);
        else
            g_string_append_printf (d, _ ("best %.2f %% (epoch %d)"), s->best_val,
                                    dn_run_snapshot_best_epoch (s));
        if (isfinite (s->test_at_best))
            g_string_append_printf (d, _ (" · test at best %.2f %%"), s->test_at_best);
    }
    if (summary == NULL && s->params > 0) {
        g_autofree char *p = dn_format_count (s->params);
        if (d->len > 0)
            g_string_append (d, " · ");
        g_string_append_printf (d, _ ("%s parameters"), p);
    }
    if (s->device != NULL)
        g_string_append_printf (d, " · %s", s->device);
    if (s->state == DN_RUN_FAILED && s->error != NULL)
        g_string_assign (d, s->error);
    if ((s->state == DN_RUN_FINISHED || s->state == DN_RUN_STOPPED) && s->run_dir != NULL)
        g_string_append_printf (d, _ ("\nRun folder: %s"), s->run_dir);
    gtk_label_set_label (self->progress_detail, d->str);
    g_string_free (d, TRUE);
    gtk_label_set_label (self->status_label, s->status != NULL ? s->status : "");
    gtk_widget_set_visible (GTK_WIDGET (self->status_label), s->status != NULL);
}

static void update_log (DnTrainingPage *self)
{
    DnRunSnapshot *s = self->snapshot;
    if (s == NULL || s->log->len == 0) {
        gtk_label_set_label (
            self->log_label,
            shows_continual (self)
                ? _ ("Every finished task appears here, with the mean accuracy over the tasks "
                     "so far.")
                : _ ("Every decision of the tracker appears here in plain words: when it "
                     "adds a dendrite set, why it rejects one, and why it stops."));
        gtk_widget_add_css_class (GTK_WIDGET (self->log_label), "dim-label");
        self->log_shown = 0;
        return;
    }
    if (s->log->len == self->log_shown)
        return;
    /* the first message of a run replaces the placeholder: the title follows the run */
    gtk_label_set_label (self->log_title, s->tasks > 0 ? _ ("Log") : _ ("Decisions"));
    /* newest first */
    GString *text = g_string_new (NULL);
    for (guint i = s->log->len; i > 0; i--)
        g_string_append_printf (text, "%s%s", i < s->log->len ? "\n" : "",
                                (char *) s->log->pdata[i - 1]);
    gtk_label_set_label (self->log_label, text->str);
    gtk_widget_remove_css_class (GTK_WIDGET (self->log_label), "dim-label");
    g_string_free (text, TRUE);
    self->log_shown = s->log->len;
}

/* The tracker's four charts, or a continual run's task accuracy (and, once there
 * is one, its activity map). */
static void update_chart_kind (DnTrainingPage *self)
{
    gboolean continual = shows_continual (self);
    gtk_widget_set_visible (GTK_WIDGET (self->chart_grid), !continual);
    gtk_widget_set_visible (GTK_WIDGET (self->zoom_label), !continual);
    gtk_widget_set_visible (GTK_WIDGET (self->zoom_dropdown), !continual);
    gtk_widget_set_visible (GTK_WIDGET (self->reset_zoom_button), !continual);
    gtk_widget_set_visible (GTK_WIDGET (self->smooth_dropdown), !continual);
    gtk_widget_set_visible (GTK_WIDGET (self->continual_box), continual);
    gtk_widget_set_visible (self->activity_card,
                            continual && dn_run_snapshot_get_activity (self->snapshot) != NULL);
    if (self->snapshot == NULL || self->snapshot->log->len == 0)
        gtk_label_set_label (self->log_title, continual ? _ ("Log") : _ ("Decisions"));
}

void dn_training_page_set_snapshot (DnTrainingPage *self, DnRunSnapshot *snap)
{
    if (snap != NULL)
        dn_run_snapshot_ref (snap);
    /* a run that starts makes room for the charts: its settings fold away */
    gboolean was_live = self->snapshot != NULL && (self->snapshot->state == DN_RUN_PREPARING ||
                                                   self->snapshot->state == DN_RUN_TRAINING);
    if (snap != NULL && !was_live &&
        (snap->state == DN_RUN_PREPARING || snap->state == DN_RUN_TRAINING))
        adw_expander_row_set_expanded (self->settings_row, FALSE);
    g_clear_pointer (&self->snapshot, dn_run_snapshot_unref);
    self->snapshot = snap;
    if (snap == NULL || snap->serial <= 1)
        self->log_shown = G_MAXUINT; /* force a rewrite for a new run */
    for (int k = 0; k < DN_CHART_WIDGET_N_KINDS; k++)
        dn_chart_widget_set_snapshot (DN_CHART_WIDGET (self->charts[k]), snap);
    update_chart_kind (self);
    update_status (self);
    update_log (self);
    gboolean editable =
        snap == NULL || (snap->state != DN_RUN_TRAINING && snap->state != DN_RUN_PREPARING &&
                         snap->state != DN_RUN_STOPPING);
    gtk_widget_set_sensitive (GTK_WIDGET (self->settings_row), editable);
}

DnRunSnapshot *dn_training_page_get_snapshot (DnTrainingPage *self)
{
    return self->snapshot;
}

void dn_training_page_set_dark (DnTrainingPage *self, gboolean dark)
{
    for (int k = 0; k < DN_CHART_WIDGET_N_KINDS; k++)
        dn_chart_widget_set_dark (DN_CHART_WIDGET (self->charts[k]), dark);
}

GtkWidget *dn_training_page_get_chart (DnTrainingPage *self, int kind)
{
    g_return_val_if_fail (kind >= 0 && kind < DN_CHART_WIDGET_N_KINDS, NULL);
    return self->charts[kind];
}

char *dn_training_page_get_status_text (DnTrainingPage *self)
{
    return g_strdup_printf ("%s\n%s\n%s", gtk_label_get_label (self->progress_title),
                            gtk_label_get_label (self->progress_detail),
                            gtk_label_get_label (self->status_label));
}

/* ---- run settings ---- */

static char *scheduler_text (const DnSchedConfig *s)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    dn_sched_config_to_json (s, b);
    g_autoptr (JsonNode) n = json_builder_get_root (b);
    JsonObject *o = json_node_get_object (n);
    GString *str = g_string_new (json_object_get_string_member_with_default (o, "type", "none"));
    GList *members = json_object_get_members (o);
    gboolean first = TRUE;
    for (GList *m = members; m != NULL; m = m->next) {
        if (g_str_equal (m->data, "type"))
            continue;
        JsonNode *v = json_object_get_member (o, m->data);
        if (!JSON_NODE_HOLDS_VALUE (v))
            continue;
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        const char *text = json_node_get_value_type (v) == G_TYPE_STRING
                               ? json_node_get_string (v)
                               : g_ascii_formatd (buf, sizeof buf, "%g", json_node_get_double (v));
        g_string_append_printf (str, "%s%s %s", first ? ": " : ", ", (char *) m->data, text);
        first = FALSE;
    }
    g_list_free (members);
    return g_string_free (str, FALSE);
}

static void load_settings (DnTrainingPage *self)
{
    if (self->document == NULL)
        return;
    DnExperiment *exp = dn_document_get_experiment (self->document);
    self->updating = TRUE;
    /* continual runs train each task for epochs_per_task; "epochs" is not used */
    if (exp->continual) {
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->epochs_row),
                                       _ ("Epochs per Task"));
        adw_action_row_set_subtitle (self->epochs_row,
                                     _ ("Each task trains this many epochs before the next one "
                                        "starts"));
    } else {
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->epochs_row), _ ("Epochs"));
        adw_action_row_set_subtitle (self->epochs_row,
                                     _ ("The most epochs to train; with dendrites the tracker "
                                        "usually finishes earlier"));
    }
    gtk_spin_button_set_value (self->epochs_spin,
                               exp->continual ? exp->cl.epochs_per_task : exp->epochs);
    gtk_spin_button_set_value (self->batch_spin, exp->batch_size);
    adw_combo_row_set_selected (self->optimizer_row, exp->optim.kind);
    gtk_spin_button_set_value (self->lr_spin, exp->optim.lr);
    gtk_spin_button_set_value (self->seed_spin, (double) MIN (exp->seed, (guint64) G_MAXINT32));
    g_autofree char *sched = scheduler_text (&exp->sched);
    adw_action_row_set_subtitle (self->scheduler_row, sched);
    g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, exp->seed);
    g_autofree char *summary =
        exp->continual
            ? g_strdup_printf (ngettext ("%d epoch per task · batch %d · %s, learning rate %g · "
                                         "seed %s",
                                         "%d epochs per task · batch %d · %s, learning rate %g · "
                                         "seed %s",
                                         exp->cl.epochs_per_task),
                               exp->cl.epochs_per_task, exp->batch_size,
                               dn_optim_kind_name (exp->optim.kind), exp->optim.lr, seed)
            : g_strdup_printf (ngettext ("%d epoch · batch %d · %s, learning rate %g · seed %s",
                                         "%d epochs · batch %d · %s, learning rate %g · seed %s",
                                         exp->epochs),
                               exp->epochs, exp->batch_size, dn_optim_kind_name (exp->optim.kind),
                               exp->optim.lr, seed);
    adw_expander_row_set_subtitle (self->settings_row, summary);
    self->updating = FALSE;
}

static void on_setting_changed (DnTrainingPage *self)
{
    if (self->updating || self->document == NULL)
        return;
    DnExperiment *exp = dn_document_get_experiment (self->document);
    guint what = DN_CHANGE_TRAINING;
    if (exp->continual) {
        exp->cl.epochs_per_task = gtk_spin_button_get_value_as_int (self->epochs_spin);
        what |= DN_CHANGE_DATA; /* the Data page shows it too */
    } else {
        exp->epochs = gtk_spin_button_get_value_as_int (self->epochs_spin);
    }
    exp->batch_size = gtk_spin_button_get_value_as_int (self->batch_spin);
    DnOptimKind kind = (DnOptimKind) adw_combo_row_get_selected (self->optimizer_row);
    if (kind != exp->optim.kind) {
        dn_optim_config_defaults (&exp->optim, kind);
        self->updating = TRUE;
        gtk_spin_button_set_value (self->lr_spin, exp->optim.lr);
        self->updating = FALSE;
    } else {
        exp->optim.lr = gtk_spin_button_get_value (self->lr_spin);
    }
    exp->seed = (guint64) gtk_spin_button_get_value_as_int (self->seed_spin);
    dn_document_changed (self->document, what);
}

static void on_document_changed (DnDocument *doc, guint what, DnTrainingPage *self)
{
    if (what & (DN_CHANGE_TRAINING | DN_CHANGE_DATA))
        load_settings (self);
    if (what & DN_CHANGE_DATA) {
        update_chart_kind (self);
        update_log (self);
    }
}

void dn_training_page_set_document (DnTrainingPage *self, DnDocument *doc)
{
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_set_object (&self->document, doc);
    if (doc != NULL)
        g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
    load_settings (self);
    dn_training_page_set_snapshot (self, NULL);
}

/* ---- charts ---- */

static void on_zoom (GtkDropDown *dd, GParamSpec *pspec, DnTrainingPage *self)
{
    guint i = gtk_drop_down_get_selected (dd);
    int n = i < G_N_ELEMENTS (zoom_epochs) ? zoom_epochs[i] : 0;
    for (int k = 0; k < DN_CHART_N_KINDS; k++)
        dn_chart_widget_set_last_epochs (DN_CHART_WIDGET (self->charts[k]), n);
}

static void on_chart_zoomed (DnTrainingPage *self)
{
    gboolean any = FALSE;
    for (int k = 0; k < DN_CHART_N_KINDS; k++)
        any |= dn_chart_widget_get_zoomed (DN_CHART_WIDGET (self->charts[k]));
    gtk_widget_set_sensitive (GTK_WIDGET (self->reset_zoom_button), any);
}

static void on_reset_zoom (DnTrainingPage *self)
{
    for (int k = 0; k < DN_CHART_N_KINDS; k++)
        dn_chart_widget_reset_zoom (DN_CHART_WIDGET (self->charts[k]));
}

static void on_smoothing (DnTrainingPage *self)
{
    static const double weights[] = {0.0, 0.6, 0.9};
    guint i = gtk_drop_down_get_selected (self->smooth_dropdown);
    dn_chart_widget_set_smoothing (DN_CHART_WIDGET (self->charts[DN_CHART_SCORES]),
                                   i < G_N_ELEMENTS (weights) ? weights[i] : 0.0);
}

static void chart_export (GSimpleAction *action, GVariant *param, gpointer data)
{
    GtkWidget *chart = data;
    int kind = dn_chart_widget_get_kind (DN_CHART_WIDGET (chart));
    g_autofree char *what =
        g_strdup_printf ("chart-%s-%s", chart_ids[kind], g_variant_get_string (param, NULL));
    gtk_widget_activate_action (chart, "win.export", "s", what);
}

static void chart_copy (GSimpleAction *action, GVariant *param, gpointer data)
{
    DnChartWidget *chart = data;
    gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (chart)),
                            dn_chart_widget_get_description (chart));
}

static GtkWidget *chart_card (DnTrainingPage *self, int kind)
{
    GtkWidget *chart = dn_chart_widget_new (kind);
    gtk_widget_set_hexpand (chart, TRUE);
    gtk_widget_set_vexpand (chart, TRUE);
    gtk_widget_set_size_request (chart, -1, 190);
    self->charts[kind] = chart;
    GtkWidget *overlay = gtk_overlay_new ();
    gtk_overlay_set_child (GTK_OVERLAY (overlay), chart);
    gtk_widget_add_css_class (overlay, "card");
    gtk_widget_add_css_class (overlay, "chart-card");

    GtkWidget *menu = gtk_menu_button_new ();
    gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu), "view-more-symbolic");
    gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (menu), self->chart_menu_model);
    gtk_widget_set_halign (menu, GTK_ALIGN_END);
    gtk_widget_set_valign (menu, GTK_ALIGN_START);
    gtk_widget_set_margin_top (menu, 6);
    gtk_widget_set_margin_end (menu, 6);
    gtk_widget_add_css_class (menu, "flat");
    g_autofree char *label =
        g_strdup_printf (_ ("%s chart: export"), dn_chart_widget_kind_title (kind));
    gtk_widget_set_tooltip_text (menu, _ ("Export this chart"));
    gtk_accessible_update_property (GTK_ACCESSIBLE (menu), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                    -1);
    gtk_overlay_add_overlay (GTK_OVERLAY (overlay), menu);

    GSimpleActionGroup *group = g_simple_action_group_new ();
    const GActionEntry entries[] = {
        {"export", chart_export, "s"},
        {"copy-description", chart_copy},
    };
    g_action_map_add_action_entries (G_ACTION_MAP (group), entries, G_N_ELEMENTS (entries), chart);
    gtk_widget_insert_action_group (overlay, "chart", G_ACTION_GROUP (group));
    g_object_unref (group);
    return overlay;
}

static void dn_training_page_dispose (GObject *object)
{
    DnTrainingPage *self = DN_TRAINING_PAGE (object);
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_clear_object (&self->document);
    g_clear_pointer (&self->snapshot, dn_run_snapshot_unref);
    gtk_widget_dispose_template (GTK_WIDGET (self), DN_TYPE_TRAINING_PAGE);
    G_OBJECT_CLASS (dn_training_page_parent_class)->dispose (object);
}

static void dn_training_page_class_init (DnTrainingPageClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    G_OBJECT_CLASS (klass)->dispose = dn_training_page_dispose;
    gtk_widget_class_set_template_from_resource (widget_class,
                                                 "/org/dendrite/Studio/dn-training-page.ui");
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, progress_title);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, progress_bar);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, progress_detail);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, status_label);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, settings_row);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, epochs_row);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, epochs_spin);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, batch_spin);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, optimizer_row);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, lr_spin);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, scheduler_row);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, seed_spin);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, zoom_label);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, zoom_dropdown);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, reset_zoom_button);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, smooth_dropdown);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, chart_grid);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, continual_box);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, log_title);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, log_label);
    gtk_widget_class_bind_template_child (widget_class, DnTrainingPage, chart_menu_model);
    gtk_widget_class_bind_template_callback (widget_class, on_zoom);
}

static void dn_training_page_init (DnTrainingPage *self)
{
    gtk_widget_init_template (GTK_WIDGET (self));
    for (int k = 0; k < DN_CHART_N_KINDS; k++) {
        gtk_grid_attach (self->chart_grid, chart_card (self, k), k % 2, k / 2, 1, 1);
        g_signal_connect_swapped (self->charts[k], "notify::zoomed", G_CALLBACK (on_chart_zoomed),
                                  self);
    }
    dn_chart_widget_set_log_scale (DN_CHART_WIDGET (self->charts[DN_CHART_LR]), TRUE);
    g_signal_connect_swapped (self->reset_zoom_button, "clicked", G_CALLBACK (on_reset_zoom), self);
    g_signal_connect_swapped (self->smooth_dropdown, "notify::selected", G_CALLBACK (on_smoothing),
                              self);
    GtkWidget *tasks = chart_card (self, DN_CHART_WIDGET_TASKS);
    gtk_widget_set_size_request (self->charts[DN_CHART_WIDGET_TASKS], -1, 380);
    gtk_box_append (self->continual_box, tasks);
    self->activity_card = chart_card (self, DN_CHART_WIDGET_ACTIVITY);
    gtk_widget_set_visible (self->activity_card, FALSE);
    gtk_box_append (self->continual_box, self->activity_card);
    update_chart_kind (self);
    g_signal_connect (self->zoom_dropdown, "notify::selected", G_CALLBACK (on_zoom), self);
    g_signal_connect_swapped (self->epochs_spin, "value-changed", G_CALLBACK (on_setting_changed),
                              self);
    g_signal_connect_swapped (self->batch_spin, "value-changed", G_CALLBACK (on_setting_changed),
                              self);
    g_signal_connect_swapped (self->lr_spin, "value-changed", G_CALLBACK (on_setting_changed),
                              self);
    g_signal_connect_swapped (self->seed_spin, "value-changed", G_CALLBACK (on_setting_changed),
                              self);
    g_signal_connect_swapped (self->optimizer_row, "notify::selected",
                              G_CALLBACK (on_setting_changed), self);
}
