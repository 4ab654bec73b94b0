/* dn-evaluation-window.c: a model scored on a dataset (dn-evaluation-window.h). */
#include "dn-evaluation-window.h"

#include "dn-confusion-files.h"
#include "dn-confusion-widget.h"

#include <glib/gi18n.h>
#include <math.h>

struct _DnEvaluationWindow {
    AdwWindow parent_instance;
    AdwToastOverlay *toasts;
    AdwWindowTitle *title;
    GtkStack *stack;
    GtkLabel *busy_label;
    GtkProgressBar *progress;
    guint pulse;
    AdwStatusPage *failed;
    GtkLabel *scores;
    DnConfusionWidget *heat_map;
    GtkGrid *classes;
    GtkButton *export_button;
    GtkFileChooserNative *chooser;
    GCancellable *cancel;
    char *model_path;
    DnModelEvaluation *result;
    char *error;
    gboolean busy;
};

G_DEFINE_FINAL_TYPE (DnEvaluationWindow, dn_evaluation_window, ADW_TYPE_WINDOW)

enum { SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct {
    char *model_path, *data_path;
    DnExperiment *exp;
} Job;

static void job_free (gpointer p)
{
    Job *j = p;
    g_free (j->model_path);
    g_free (j->data_path);
    dn_experiment_free (j->exp);
    g_free (j);
}

static void evaluate_thread (GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    Job *j = data;
    GError *error = NULL;
    DnModelEvaluation *e = j->data_path != NULL
                               ? dn_model_evaluate_file (j->model_path, j->data_path, 256, &error)
                               : dn_model_evaluate_experiment (j->model_path, j->exp, 256, &error);
    if (e == NULL)
        g_task_return_error (task, error);
    else
        g_task_return_pointer (task, e, (GDestroyNotify) dn_model_evaluation_free);
}

static char *percent (double fraction)
{
    return isfinite (fraction) ? g_strdup_printf ("%.1f %%", 100.0 * fraction) : g_strdup ("—");
}

static void add_cell (GtkGrid *grid, const char *text, int col, int row, gboolean heading)
{
    GtkWidget *l = gtk_label_new (text);
    gtk_label_set_xalign (GTK_LABEL (l), col == 0 ? 0.0f : 1.0f);
    gtk_label_set_ellipsize (GTK_LABEL (l), col == 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
    gtk_label_set_max_width_chars (GTK_LABEL (l), 16);
    if (heading)
        gtk_widget_add_css_class (l, "heading");
    else if (col > 0)
        gtk_widget_add_css_class (l, "numeric");
    gtk_grid_attach (grid, l, col, row, 1, 1);
}

static void show_result (DnEvaluationWindow *self)
{
    const DnModelEvaluation *e = self->result;
    const DnConfusion *c = e->confusion;
    g_autofree char *base = g_path_get_basename (e->data_source ? e->data_source : "");
    g_autofree char *scores = g_strdup_printf (
        _ ("Accuracy %.2f %% · loss %.4f · %d samples of %s%s"), e->accuracy, e->loss, e->samples,
        base, e->normalized ? "" : _ (" · the model records no normalisation: none applied"));
    gtk_label_set_text (self->scores, scores);
    dn_confusion_widget_set_matrix (self->heat_map, c, (const char *const *) e->class_names);
    add_cell (self->classes, _ ("Class"), 0, 0, TRUE);
    add_cell (self->classes, _ ("Precision"), 1, 0, TRUE);
    add_cell (self->classes, _ ("Recall"), 2, 0, TRUE);
    add_cell (self->classes, _ ("Samples"), 3, 0, TRUE);
    gboolean named = e->class_names != NULL;
    for (int k = 0; k < c->n_classes; k++) {
        named = named && e->class_names[k] != NULL;
        g_autofree char *name = named ? g_strdup (e->class_names[k]) : g_strdup_printf ("%d", k);
        g_autofree char *p = percent (dn_confusion_precision (c, k));
        g_autofree char *r = percent (dn_confusion_recall (c, k));
        int64_t support = 0;
        for (int q = 0; q < c->n_classes; q++)
            support += dn_confusion_at (c, k, q);
        g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) support);
        add_cell (self->classes, name, 0, k + 1, FALSE);
        add_cell (self->classes, p, 1, k + 1, FALSE);
        add_cell (self->classes, r, 2, k + 1, FALSE);
        add_cell (self->classes, s, 3, k + 1, FALSE);
    }
    gtk_widget_set_sensitive (GTK_WIDGET (self->export_button), TRUE);
    gtk_stack_set_visible_child_name (self->stack, "result");
}

static void evaluate_done (GObject *src, GAsyncResult *res, gpointer data)
{
    GTask *task = G_TASK (res);
    if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
        return;
    DnEvaluationWindow *self = DN_EVALUATION_WINDOW (data);
    GError *error = NULL;
    self->busy = FALSE;
    g_clear_handle_id (&self->pulse, g_source_remove);
    self->result = g_task_propagate_pointer (task, &error);
    if (self->result == NULL) {
        self->error = g_strdup (error->message);
        adw_status_page_set_description (self->failed, error->message);
        gtk_stack_set_visible_child_name (self->stack, "failed");
        GtkWidget *dialog =
            adw_message_dialog_new (GTK_WINDOW (self), _ ("Could Not Evaluate"), error->message);
        adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _ ("_Close"));
        gtk_window_present (GTK_WINDOW (dialog));
        g_error_free (error);
    } else {
        show_result (self);
    }
    g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

static gboolean pulse (gpointer data)
{
    gtk_progress_bar_pulse (DN_EVALUATION_WINDOW (data)->progress);
    return G_SOURCE_CONTINUE;
}

gboolean dn_evaluation_window_export (DnEvaluationWindow *self, const char *path, GError **error)
{
    if (self->result == NULL) {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                     _ ("Nothing to export: the evaluation has not finished"));
        return FALSE;
    }
    if (!dn_confusion_write_csv (self->result->confusion,
                                 (const char *const *) self->result->class_names, path, error))
        return FALSE;
    g_autofree char *text = g_strdup_printf (_ ("Confusion matrix saved to %s"), path);
    AdwToast *toast = adw_toast_new (text);
    adw_toast_set_timeout (toast, 8);
    adw_toast_overlay_add_toast (self->toasts, toast);
    return TRUE;
}

static void on_export_response (GtkNativeDialog *dialog, int response, DnEvaluationWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
        g_autofree char *path = g_file_get_path (file);
        g_autoptr (GError) error = NULL;
        if (path != NULL && !dn_evaluation_window_export (self, path, &error)) {
            GtkWidget *d =
                adw_message_dialog_new (GTK_WINDOW (self), _ ("Could Not Export"), error->message);
            adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (d), "close", _ ("_Close"));
            gtk_window_present (GTK_WINDOW (d));
        }
    }
    g_clear_object (&self->chooser);
}

static void on_export (DnEvaluationWindow *self)
{
    if (self->chooser != NULL)
        return;
    self->chooser =
        gtk_file_chooser_native_new (_ ("Export Confusion Matrix"), GTK_WINDOW (self),
                                     GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Export"), _ ("_Cancel"));
    g_autofree char *dir = g_path_get_dirname (self->model_path);
    g_autoptr (GFile) folder = g_file_new_for_path (dir);
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), folder, NULL);
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), "confusion.csv");
    g_signal_connect (self->chooser, "response", G_CALLBACK (on_export_response), self);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static GtkWidget *busy_page (DnEvaluationWindow *self)
{
    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
    gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
    gtk_widget_set_halign (box, GTK_ALIGN_CENTER);
    GtkWidget *spinner = gtk_spinner_new ();
    gtk_spinner_start (GTK_SPINNER (spinner));
    gtk_widget_set_size_request (spinner, 32, 32);
    self->busy_label = GTK_LABEL (gtk_label_new (NULL));
    gtk_label_set_wrap (self->busy_label, TRUE);
    gtk_label_set_justify (self->busy_label, GTK_JUSTIFY_CENTER);
    self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->progress), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _ ("Evaluating"), -1);
    gtk_box_append (GTK_BOX (box), spinner);
    gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->busy_label));
    gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress));
    return box;
}

static GtkWidget *result_page (DnEvaluationWindow *self)
{
    GtkWidget *outer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
    gtk_widget_set_margin_start (outer, 18);
    gtk_widget_set_margin_end (outer, 18);
    gtk_widget_set_margin_top (outer, 12);
    gtk_widget_set_margin_bottom (outer, 18);
    self->scores = GTK_LABEL (gtk_label_new (NULL));
    gtk_label_set_wrap (self->scores, TRUE);
    gtk_label_set_xalign (self->scores, 0.0f);
    gtk_label_set_selectable (self->scores, TRUE);
    gtk_widget_add_css_class (GTK_WIDGET (self->scores), "title-4");
    gtk_box_append (GTK_BOX (outer), GTK_WIDGET (self->scores));
    GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
    gtk_widget_set_vexpand (row, TRUE);
    self->heat_map = DN_CONFUSION_WIDGET (dn_confusion_widget_new ());
    gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->heat_map));
    self->classes = GTK_GRID (gtk_grid_new ());
    gtk_grid_set_column_spacing (self->classes, 12);
    gtk_grid_set_row_spacing (self->classes, 4);
    gtk_widget_set_margin_end (GTK_WIDGET (self->classes), 6);
    GtkWidget *scroll = gtk_scrolled_window_new ();
    gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER,
                                    GTK_POLICY_AUTOMATIC);
    gtk_scrolled_window_set_propagate_natural_width (GTK_SCROLLED_WINDOW (scroll), TRUE);
    gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), GTK_WIDGET (self->classes));
    gtk_accessible_update_property (GTK_ACCESSIBLE (scroll), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _ ("Precision and recall of each class"), -1);
    gtk_box_append (GTK_BOX (row), scroll);
    gtk_box_append (GTK_BOX (outer), row);
    return outer;
}

static void dn_evaluation_window_dispose (GObject *object)
{
    DnEvaluationWindow *self = DN_EVALUATION_WINDOW (object);
    if (self->cancel != NULL)
        g_cancellable_cancel (self->cancel);
    g_clear_object (&self->cancel);
    g_clear_handle_id (&self->pulse, g_source_remove);
    g_clear_object (&self->chooser);
    g_clear_pointer (&self->result, dn_model_evaluation_free);
    g_clear_pointer (&self->error, g_free);
    g_clear_pointer (&self->model_path, g_free);
    G_OBJECT_CLASS (dn_evaluation_window_parent_class)->dispose (object);
}

static void dn_evaluation_window_class_init (DnEvaluationWindowClass *klass)
{
    G_OBJECT_CLASS (klass)->dispose = dn_evaluation_window_dispose;
    signals[SIGNAL_FINISHED] =
        g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 0);
}

static void dn_evaluation_window_init (DnEvaluationWindow *self)
{
    gtk_window_set_default_size (GTK_WINDOW (self), 900, 600);
    GtkWidget *header = adw_header_bar_new ();
    self->title = ADW_WINDOW_TITLE (adw_window_title_new (_ ("Evaluation"), NULL));
    adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), GTK_WIDGET (self->title));
    self->export_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_ ("_Export as CSV…")));
    gtk_widget_set_sensitive (GTK_WIDGET (self->export_button), FALSE);
    g_signal_connect_swapped (self->export_button, "clicked", G_CALLBACK (on_export), self);
    adw_header_bar_pack_end (ADW_HEADER_BAR (header), GTK_WIDGET (self->export_button));

    self->stack = GTK_STACK (gtk_stack_new ());
    gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);
    gtk_stack_add_named (self->stack, busy_page (self), "busy");
    self->failed = ADW_STATUS_PAGE (adw_status_page_new ());
    adw_status_page_set_icon_name (self->failed, "dialog-error-symbolic");
    adw_status_page_set_title (self->failed, _ ("Could Not Evaluate"));
    gtk_stack_add_named (self->stack, GTK_WIDGET (self->failed), "failed");
    gtk_stack_add_named (self->stack, result_page (self), "result");

    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
    gtk_box_append (GTK_BOX (box), header);
    gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->stack));
    self->toasts = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
    adw_toast_overlay_set_child (self->toasts, box);
    adw_window_set_content (ADW_WINDOW (self), GTK_WIDGET (self->toasts));
}

DnEvaluationWindow *dn_evaluation_window_new (GtkWindow *parent, const char *model_path,
                                              const char *data_path, DnExperiment *exp)
{
    g_return_val_if_fail (data_path != NULL || exp != NULL, NULL);
    DnEvaluationWindow *self = g_object_new (DN_TYPE_EVALUATION_WINDOW, NULL);
    if (parent != NULL) {
        gtk_window_set_transient_for (GTK_WINDOW (self), parent);
        gtk_window_set_destroy_with_parent (GTK_WINDOW (self), TRUE);
    }
    self->model_path = g_strdup (model_path);
    g_autofree char *model = g_path_get_basename (model_path);
    g_autofree char *data = data_path != NULL
                                ? g_path_get_basename (data_path)
                                : g_strdup_printf (_ ("the test split of %s"), exp->name);
    g_autofree char *subtitle = g_strdup_printf (_ ("%s on %s"), model, data);
    adw_window_title_set_subtitle (self->title, subtitle);
    g_autofree char *busy = g_strdup_printf (_ ("Evaluating %s on %s…"), model, data);
    gtk_label_set_text (self->busy_label, busy);
    self->pulse = g_timeout_add (120, pulse, self);
    self->busy = TRUE;

    Job *j = g_new0 (Job, 1);
    j->model_path = g_strdup (model_path);
    j->data_path = g_strdup (data_path);
    j->exp = exp;
    self->cancel = g_cancellable_new ();
    GTask *task = g_task_new (NULL, self->cancel, evaluate_done, self);
    g_task_set_task_data (task, j, job_free);
    g_task_run_in_thread (task, evaluate_thread);
    g_object_unref (task);
    return self;
}

gboolean dn_evaluation_window_is_busy (DnEvaluationWindow *self)
{
    return self->busy;
}

const DnModelEvaluation *dn_evaluation_window_get_result (DnEvaluationWindow *self)
{
    return self->result;
}

const char *dn_evaluation_window_get_error (DnEvaluationWindow *self)
{
    return self->error;
}

GtkWidget *dn_evaluation_window_get_heat_map (DnEvaluationWindow *self)
{
    return GTK_WIDGET (self->heat_map);
}
