/* dn-model-window.c: a trained model brought back (dn-model-window.h). */
#include "dn-model-window.h"

#include "dn-dendrite.h"
#include "dn-model.h"
#include "dn-model-eval.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>

struct _DnModelWindow {
    AdwWindow parent_instance;
    GtkWindow *main_window; /* weak: the window whose document this is */
    DnDocument *doc;
    char *model_path;
    GHashTable *facts; /* row title -> its text */
    AdwPreferencesGroup *about;
    GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (DnModelWindow, dn_model_window, ADW_TYPE_WINDOW)

static void add_fact (DnModelWindow *self, const char *title, const char *text)
{
    GtkWidget *row = adw_action_row_new ();
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
    GtkWidget *value = gtk_label_new (text);
    gtk_label_set_selectable (GTK_LABEL (value), TRUE);
    gtk_label_set_wrap (GTK_LABEL (value), TRUE);
    gtk_label_set_xalign (GTK_LABEL (value), 1.0f);
    gtk_widget_add_css_class (value, "dim-label");
    adw_action_row_add_suffix (ADW_ACTION_ROW (row), value);
    adw_preferences_group_add (self->about, row);
    g_hash_table_insert (self->facts, g_strdup (title), g_strdup (text));
}

static char *normalisation_text (const DnNormalize *n, gboolean present)
{
    if (!present)
        return g_strdup (_ ("none recorded"));
    GString *s = g_string_new (NULL);
    for (int c = 0; c < n->n_channels && c < 4; c++)
        g_string_append_printf (s, "%smean %.4g, std %.4g", c > 0 ? "; " : "", n->mean[c],
                                n->std[c]);
    if (n->n_channels > 4)
        g_string_append_printf (s, _ ("; %d channels"), n->n_channels);
    return g_string_free (s, FALSE);
}

/* How the run that wrote it went: "dendrite_training" (dn-run.c). */
static char *training_text (GHashTable *meta, DnLossKind loss)
{
    const char *t = g_hash_table_lookup (meta, "dendrite_training");
    g_autoptr (JsonNode) root = t != NULL ? json_from_string (t, NULL) : NULL;
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return g_strdup_printf (_ ("%s loss; no record of its run"), dn_loss_kind_name (loss));
    JsonObject *o = json_node_get_object (root);
    gint64 epoch = json_object_get_int_member_with_default (o, "epoch", 0);
    double val = NAN, test = NAN;
    if (json_object_has_member (o, "val") && !json_object_get_null_member (o, "val"))
        val = json_object_get_double_member (o, "val");
    if (json_object_has_member (o, "test") && !json_object_get_null_member (o, "test"))
        test = json_object_get_double_member (o, "test");
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, _ ("%s loss, best at epoch %" G_GINT64_FORMAT),
                            dn_loss_kind_name (loss), epoch);
    if (isfinite (val))
        g_string_append_printf (s, _ (": validation %.2f %%"), val);
    if (isfinite (test))
        g_string_append_printf (s, _ (", test %.2f %%"), test);
    return g_string_free (s, FALSE);
}

static gboolean describe (DnModelWindow *self, GError **error)
{
    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (self->model_path, dn_backend_cpu (), &meta, error);
    if (net == NULL)
        return FALSE;
    DnNormalize norm;
    gboolean has_norm = FALSE;
    if (!dn_model_normalize (meta, net, self->model_path, &norm, &has_norm, error))
        return FALSE;
    add_fact (self, _ ("File"), self->model_path);
    g_autofree char *params =
        g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) dn_network_n_params (net));
    add_fact (self, _ ("Parameters"), params);
    g_autofree char *in = dn_shape_to_string (&net->input_shape);
    add_fact (self, _ ("Input"), in);
    DnShape out_shape = dn_network_output_shape (net);
    g_autofree char *out = dn_shape_to_string (&out_shape);
    add_fact (self, _ ("Outputs"), out);
    int sets = dn_network_dendrite_count (net), nodes = dn_network_n_dendritic (net);
    g_autofree char *dendrites = nodes == 0
                                     ? g_strdup (_ ("none"))
                                     : g_strdup_printf (_ ("%d sets on %d layers"), sets, nodes);
    add_fact (self, _ ("Dendrites"), dendrites);
    g_autofree char *n = normalisation_text (&norm, has_norm);
    add_fact (self, _ ("Normalisation"), n);
    g_autofree char *trained = training_text (meta, dn_model_loss_kind (meta));
    add_fact (self, _ ("Training"), trained);
    return TRUE;
}

DnEvaluationWindow *dn_model_window_evaluate (DnModelWindow *self, const char *data_path)
{
    DnExperiment *exp = data_path == NULL ? dn_document_copy_experiment (self->doc) : NULL;
    DnEvaluationWindow *win =
        dn_evaluation_window_new (GTK_WINDOW (self), self->model_path, data_path, exp);
    gtk_window_present (GTK_WINDOW (win));
    return win;
}

void dn_model_window_train (DnModelWindow *self, gboolean add_dendrites)
{
    if (self->main_window == NULL)
        return;
    DnExperiment *exp = dn_document_get_experiment (self->doc);
    if (add_dendrites && !exp->dendrites) {
        exp->dendrites = TRUE;
        dn_document_changed (self->doc, DN_CHANGE_DENDRITES);
    }
    gtk_widget_activate_action (GTK_WIDGET (self->main_window), "win.start", NULL);
    gtk_window_present (self->main_window);
}

static void on_data_chosen (GtkNativeDialog *dialog, int response, DnModelWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
        g_autofree char *path = g_file_get_path (file);
        if (path != NULL)
            dn_model_window_evaluate (self, path);
    }
    g_clear_object (&self->chooser);
}

static void choose_data (DnModelWindow *self, GtkFileChooserAction action)
{
    if (self->chooser != NULL)
        return;
    self->chooser = gtk_file_chooser_native_new (
        action == GTK_FILE_CHOOSER_ACTION_OPEN ? _ ("Evaluate on a CSV File")
                                               : _ ("Evaluate on an IDX Folder"),
        GTK_WINDOW (self), action, _ ("_Evaluate"), _ ("_Cancel"));
    g_signal_connect (self->chooser, "response", G_CALLBACK (on_data_chosen), self);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void on_eval_experiment (DnModelWindow *self)
{
    dn_model_window_evaluate (self, NULL);
}

static void on_eval_file (DnModelWindow *self)
{
    choose_data (self, GTK_FILE_CHOOSER_ACTION_OPEN);
}

static void on_eval_folder (DnModelWindow *self)
{
    choose_data (self, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
}

static void on_continue (DnModelWindow *self)
{
    dn_model_window_train (self, FALSE);
}

static void on_add_dendrites (DnModelWindow *self)
{
    dn_model_window_train (self, TRUE);
}

static GtkWidget *button (const char *label, GCallback cb, DnModelWindow *self, gboolean suggested)
{
    GtkWidget *b = gtk_button_new_with_mnemonic (label);
    gtk_widget_set_valign (b, GTK_ALIGN_CENTER);
    if (suggested)
        gtk_widget_add_css_class (b, "suggested-action");
    g_signal_connect_swapped (b, "clicked", cb, self);
    return b;
}

static GtkWidget *action_row (const char *title, const char *subtitle)
{
    GtkWidget *row = adw_action_row_new ();
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
    return row;
}

static GtkWidget *actions_group (DnModelWindow *self)
{
    GtkWidget *group = adw_preferences_group_new ();
    adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _ ("Use the Model"));
    GtkWidget *eval =
        action_row (_ ("Evaluate"), _ ("Accuracy, loss and the confusion matrix on a dataset"));
    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
    gtk_box_append (GTK_BOX (box),
                    button (_ ("Experiment’s _Data"), G_CALLBACK (on_eval_experiment), self, TRUE));
    gtk_box_append (GTK_BOX (box),
                    button (_ ("CSV _File…"), G_CALLBACK (on_eval_file), self, FALSE));
    gtk_box_append (GTK_BOX (box),
                    button (_ ("IDX F_older…"), G_CALLBACK (on_eval_folder), self, FALSE));
    gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
    adw_action_row_add_suffix (ADW_ACTION_ROW (eval), box);
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), eval);
    GtkWidget *cont = action_row (_ ("Continue Training"),
                                  _ ("A run of this network that starts from the model’s weights"));
    adw_action_row_add_suffix (
        ADW_ACTION_ROW (cont),
        button (_ ("_Continue Training"), G_CALLBACK (on_continue), self, FALSE));
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), cont);
    GtkWidget *add = action_row (_ ("Add Dendrites"),
                                 _ ("A dendritic run whose neurons start from the trained model"));
    adw_action_row_add_suffix (
        ADW_ACTION_ROW (add),
        button (_ ("_Add Dendrites"), G_CALLBACK (on_add_dendrites), self, FALSE));
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), add);
    return group;
}

static void dn_model_window_dispose (GObject *object)
{
    DnModelWindow *self = DN_MODEL_WINDOW (object);
    g_clear_weak_pointer (&self->main_window);
    g_clear_object (&self->doc);
    g_clear_object (&self->chooser);
    g_clear_pointer (&self->model_path, g_free);
    g_clear_pointer (&self->facts, g_hash_table_unref);
    G_OBJECT_CLASS (dn_model_window_parent_class)->dispose (object);
}

static void dn_model_window_class_init (DnModelWindowClass *klass)
{
    G_OBJECT_CLASS (klass)->dispose = dn_model_window_dispose;
}

static void dn_model_window_init (DnModelWindow *self)
{
    self->facts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    gtk_window_set_default_size (GTK_WINDOW (self), 720, 560);
}

DnModelWindow *dn_model_window_new (GtkWindow *parent, DnDocument *doc, GError **error)
{
    g_return_val_if_fail (dn_document_get_model (doc) != NULL, NULL);
    DnModelWindow *self = g_object_new (DN_TYPE_MODEL_WINDOW, NULL);
    self->doc = g_object_ref (doc);
    self->model_path = g_strdup (dn_document_get_model (doc));
    g_set_weak_pointer (&self->main_window, parent);
    g_autofree char *base = g_path_get_basename (self->model_path);
    GtkWidget *header = adw_header_bar_new ();
    adw_header_bar_set_title_widget (ADW_HEADER_BAR (header),
                                     adw_window_title_new (_ ("Trained Model"), base));
    GtkWidget *page = adw_preferences_page_new ();
    self->about = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
    adw_preferences_group_set_title (self->about, base);
    adw_preferences_group_set_description (
        self->about, _ ("Its network, weights and settings are open in the main window."));
    if (!describe (self, error)) {
        gtk_window_destroy (GTK_WINDOW (self));
        return NULL;
    }
    adw_preferences_page_add (ADW_PREFERENCES_PAGE (page),
                              ADW_PREFERENCES_GROUP (actions_group (self)));
    adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), self->about);
    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
    gtk_box_append (GTK_BOX (box), header);
    gtk_widget_set_vexpand (page, TRUE);
    gtk_box_append (GTK_BOX (box), page);
    adw_window_set_content (ADW_WINDOW (self), box);
    if (parent != NULL) {
        gtk_window_set_transient_for (GTK_WINDOW (self), parent);
        gtk_window_set_destroy_with_parent (GTK_WINDOW (self), TRUE);
    }
    return self;
}

const char *dn_model_window_get_fact (DnModelWindow *self, const char *title)
{
    return g_hash_table_lookup (self->facts, title);
}
