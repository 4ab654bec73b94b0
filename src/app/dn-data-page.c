/* dn-data-page.c: data source, permuted tasks, splits, normalisation and a preview. */
#include "dn-data-page.h"

#include "dn-data.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

typedef enum { SRC_SAMPLE, SRC_FASHION, SRC_IDX, SRC_CSV } SourceKind;

#define N_PREVIEW 24
#define N_TABLE_ROWS 12

struct _DnDataPage {
    AdwBin parent_instance;
    AdwComboRow *source_row;
    AdwActionRow *location_row;
    GtkButton *choose_button;
    AdwComboRow *label_row;
    AdwExpanderRow *continual_row;
    GtkSpinButton *tasks_spin;
    AdwComboRow *context_row;
    GtkSpinButton *task_epochs_spin;
    GtkSpinButton *val_spin;
    AdwActionRow *test_row;
    GtkSpinButton *test_spin;
    AdwComboRow *normalize_row;
    GtkLabel *summary_label;
    GtkFlowBox *preview_flow;
    GtkScrolledWindow *table_scroll;
    GtkGrid *table_grid;

    DnDocument *document;
    SourceKind sources[4];
    guint n_sources;
    gboolean updating;
    GCancellable *loading;
    GtkFileChooserNative *chooser;
    char **columns; /* CSV header, for the label column */
    guint n_preview;
};

G_DEFINE_FINAL_TYPE (DnDataPage, dn_data_page, ADW_TYPE_BIN)

static DnExperiment *experiment (DnDataPage *self)
{
    return self->document != NULL ? dn_document_get_experiment (self->document) : NULL;
}

static SourceKind current_source (DnExperiment *exp)
{
    if (g_strcmp0 (exp->data_format, "csv") == 0)
        return SRC_CSV;
    if (exp->data_path == NULL)
        return SRC_SAMPLE;
    if (g_str_equal (exp->data_path, DN_FASHION_MNIST_DIR))
        return SRC_FASHION;
    return SRC_IDX;
}

static char *data_path (DnExperiment *exp)
{
    if (exp->data_path == NULL)
        return dn_default_data_dir ();
    return dn_experiment_resolve_path (exp, exp->data_path);
}

/* ---- preview ---- */

typedef struct {
    char *path;
    gboolean csv;
    char *label;
    DnDataset *ds;
    char **header;
} LoadJob;

static void load_job_free (gpointer p)
{
    LoadJob *j = p;
    g_free (j->path);
    g_free (j->label);
    dn_dataset_free (j->ds);
    g_strfreev (j->header);
    g_free (j);
}

static char **read_header (const char *path)
{
    g_autoptr (GFile) f = g_file_new_for_path (path);
    g_autoptr (GFileInputStream) in = g_file_read (f, NULL, NULL);
    if (in == NULL)
        return NULL;
    g_autoptr (GDataInputStream) data = g_data_input_stream_new (G_INPUT_STREAM (in));
    g_autofree char *line = g_data_input_stream_read_line_utf8 (data, NULL, NULL, NULL);
    if (line == NULL)
        return NULL;
    g_strchomp (line);
    const char *text = g_str_has_prefix (line, "\xef\xbb\xbf") ? line + 3 : line;
    char delim = strchr (text, ';') != NULL ? ';' : strchr (text, '\t') != NULL ? '\t' : ',';
    char **cols = g_strsplit (text, (char[]){delim, 0}, -1);
    for (int i = 0; cols[i] != NULL; i++)
        g_strstrip (g_strdelimit (cols[i], "\"", ' '));
    /* a header has a field that is not a number */
    gboolean header = FALSE;
    for (int i = 0; cols[i] != NULL && !header; i++) {
        char *end;
        g_ascii_strtod (cols[i], &end);
        header = *cols[i] == '\0' || *end != '\0';
    }
    if (!header) {
        g_strfreev (cols);
        return NULL;
    }
    return cols;
}

static void load_thread (GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    LoadJob *j = data;
    GError *error = NULL;
    if (j->csv) {
        DnCsvOptions opts;
        dn_csv_options_init (&opts);
        opts.label_name = j->label;
        j->ds = dn_dataset_load_csv (j->path, &opts, &error);
        j->header = read_header (j->path);
    } else {
        j->ds = dn_dataset_load_idx_dir (j->path, "train", &error);
    }
    if (j->ds == NULL)
        g_task_return_error (task, error);
    else
        g_task_return_boolean (task, TRUE);
}

static void clear_preview (DnDataPage *self)
{
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->preview_flow))) != NULL)
        gtk_flow_box_remove (self->preview_flow, child);
    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->table_grid))) != NULL)
        gtk_grid_remove (self->table_grid, child);
    self->n_preview = 0;
}

static const char *class_name (const DnDataset *ds, int label, char *buf, gsize len)
{
    if (ds->class_names != NULL && label >= 0 && (guint) label < g_strv_length (ds->class_names))
        return ds->class_names[label];
    g_snprintf (buf, len, "%d", label);
    return buf;
}

static void show_images (DnDataPage *self, const DnDataset *ds)
{
    int c = ds->shape.ndim == 3 ? (int) ds->shape.d[0] : 1;
    int h = ds->shape.ndim >= 2 ? (int) ds->shape.d[ds->shape.ndim - 2] : 1;
    int w = (int) ds->shape.d[ds->shape.ndim - 1];
    size_t per = (size_t) c * h * w;
    for (int i = 0; i < MIN (ds->n, N_PREVIEW); i++) {
        const guint8 *px = ds->u8 + per * i;
        /* RGB bytes: grey images repeat their one channel */
        guint8 *rgb = g_malloc ((size_t) h * w * 3);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < 3; k++)
                    rgb[(y * w + x) * 3 + k] = px[(c == 3 ? k * h * w : 0) + y * w + x];
        g_autoptr (GBytes) bytes = g_bytes_new_take (rgb, (size_t) h * w * 3);
        g_autoptr (GdkTexture) tex =
            gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8, bytes, (gsize) w * 3);
        GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
        GtkWidget *pic = gtk_picture_new_for_paintable (GDK_PAINTABLE (tex));
        gtk_picture_set_can_shrink (GTK_PICTURE (pic), TRUE);
        gtk_widget_set_size_request (pic, 56, 56);
        char buf[32];
        const char *name = class_name (ds, ds->labels[i], buf, sizeof buf);
        g_autofree char *alt = g_strdup_printf (_ ("Sample %d, label %s"), i + 1, name);
        gtk_accessible_update_property (GTK_ACCESSIBLE (pic), GTK_ACCESSIBLE_PROPERTY_LABEL, alt,
                                        -1);
        GtkWidget *label = gtk_label_new (name);
        gtk_widget_add_css_class (label, "caption");
        gtk_box_append (GTK_BOX (box), pic);
        gtk_box_append (GTK_BOX (box), label);
        gtk_flow_box_append (self->preview_flow, box);
        self->n_preview++;
    }
}

static GtkWidget *cell (const char *text, gboolean head)
{
    GtkWidget *l = gtk_label_new (text);
    gtk_label_set_xalign (GTK_LABEL (l), 1);
    if (head)
        gtk_widget_add_css_class (l, "heading");
    else
        gtk_widget_add_css_class (l, "numeric");
    return l;
}

static void show_table (DnDataPage *self, const DnDataset *ds, char **header, const char *label)
{
    int f = (int) dn_shape_numel (&ds->shape);
    int shown = MIN (f, 12);
    /* header: feature names without the label column */
    int col = 0;
    for (int k = 0; header != NULL && header[k] != NULL && col < shown; k++) {
        gboolean is_label = label != NULL ? g_str_equal (header[k], label) : header[k + 1] == NULL;
        if (!is_label)
            gtk_grid_attach (self->table_grid, cell (header[k], TRUE), col++, 0, 1, 1);
    }
    if (header == NULL)
        for (col = 0; col < shown; col++) {
            g_autofree char *t = g_strdup_printf (_ ("feature %d"), col + 1);
            gtk_grid_attach (self->table_grid, cell (t, TRUE), col, 0, 1, 1);
        }
    gtk_grid_attach (self->table_grid, cell (_ ("label"), TRUE), shown, 0, 1, 1);
    for (int i = 0; i < MIN (ds->n, N_TABLE_ROWS); i++) {
        for (int k = 0; k < shown; k++) {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            gtk_grid_attach (
                self->table_grid,
                cell (g_ascii_formatd (buf, sizeof buf, "%.4g", ds->f32[(size_t) i * f + k]),
                      FALSE),
                k, i + 1, 1, 1);
        }
        char buf[32];
        gtk_grid_attach (self->table_grid,
                         cell (class_name (ds, ds->labels[i], buf, sizeof buf), FALSE), shown,
                         i + 1, 1, 1);
        self->n_preview++;
    }
}

static void set_columns (DnDataPage *self, char **header)
{
    g_strfreev (self->columns);
    self->columns = g_strdupv (header);
    DnExperiment *exp = experiment (self);
    GtkStringList *model = gtk_string_list_new (NULL);
    gtk_string_list_append (model, _ ("Last column"));
    guint sel = 0;
    for (int i = 0; header != NULL && header[i] != NULL; i++) {
        gtk_string_list_append (model, header[i]);
        if (exp != NULL && g_strcmp0 (exp->label_column, header[i]) == 0)
            sel = (guint) i + 1;
    }
    self->updating = TRUE;
    adw_combo_row_set_model (self->label_row, G_LIST_MODEL (model));
    adw_combo_row_set_selected (self->label_row, sel);
    self->updating = FALSE;
    g_object_unref (model);
}

static void load_done (GObject *src, GAsyncResult *res, gpointer data)
{
    GCancellable *c = g_task_get_cancellable (G_TASK (res));
    if (g_cancellable_is_cancelled (c))
        return; /* the page moved on (another source, or gone) */
    DnDataPage *self = DN_DATA_PAGE (data);
    LoadJob *j = g_task_get_task_data (G_TASK (res));
    GError *error = NULL;
    clear_preview (self);
    if (!g_task_propagate_boolean (G_TASK (res), &error)) {
        gtk_label_set_label (self->summary_label, error->message);
        gtk_widget_add_css_class (GTK_WIDGET (self->summary_label), "error");
        g_error_free (error);
        return;
    }
    gtk_widget_remove_css_class (GTK_WIDGET (self->summary_label), "error");
    DnDataset *ds = j->ds;
    g_autofree char *shape = dn_shape_to_string (&ds->shape);
    g_autofree char *n = dn_format_count (ds->n);
    g_autofree char *summary =
        g_strdup_printf (j->csv ? _ ("%s rows of %s features, %d classes. The first rows:")
                                : _ ("%s training images of %s, %d classes. The first ones, with "
                                     "their labels:"),
                         n, shape, ds->n_classes);
    gtk_label_set_label (self->summary_label, summary);
    gtk_widget_set_visible (GTK_WIDGET (self->preview_flow), !j->csv);
    gtk_widget_set_visible (GTK_WIDGET (self->table_scroll), j->csv);
    if (j->csv) {
        set_columns (self, j->header);
        show_table (self, ds, j->header, j->label);
    } else if (ds->u8 != NULL) {
        show_images (self, ds);
    }
}

static void start_preview (DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    if (self->loading != NULL) {
        g_cancellable_cancel (self->loading);
        g_clear_object (&self->loading);
    }
    if (exp == NULL)
        return;
    clear_preview (self);
    gtk_widget_remove_css_class (GTK_WIDGET (self->summary_label), "error");
    gtk_label_set_label (self->summary_label, _ ("Loading…"));
    LoadJob *j = g_new0 (LoadJob, 1);
    j->path = data_path (exp);
    j->csv = current_source (exp) == SRC_CSV;
    j->label = g_strdup (exp->label_column);
    if (j->path == NULL || (j->csv && exp->data_path == NULL)) {
        gtk_label_set_label (self->summary_label, _ ("Choose a CSV file."));
        load_job_free (j);
        return;
    }
    self->loading = g_cancellable_new ();
    GTask *task = g_task_new (NULL, self->loading, load_done, self);
    g_task_set_task_data (task, j, load_job_free);
    g_task_run_in_thread (task, load_thread);
    g_object_unref (task);
}

/* ---- the controls ---- */

static const char *source_title (SourceKind k)
{
    switch (k) {
    case SRC_SAMPLE:
        return _ ("MNIST sample (bundled)");
    case SRC_FASHION:
        return _ ("Fashion-MNIST (installed)");
    case SRC_IDX:
        return _ ("A folder of IDX files");
    case SRC_CSV:
        return _ ("A CSV file");
    }
    return "";
}

/* ---- permuted tasks (the "continual" section) ---- */

/* Values of the network's input (784 for 1x28x28): the length of a prototype context. */
static int input_numel (DnExperiment *exp)
{
    JsonObject *net = exp->network != NULL && JSON_NODE_HOLDS_OBJECT (exp->network)
                          ? json_node_get_object (exp->network)
                          : NULL;
    JsonNode *in = net != NULL ? json_object_get_member (net, "input") : NULL;
    if (in == NULL || !JSON_NODE_HOLDS_ARRAY (in))
        return 0;
    JsonArray *a = json_node_get_array (in);
    int64_t n = 1;
    for (guint i = 0; i < json_array_get_length (a); i++)
        n *= json_array_get_int_element (a, i);
    return n > 0 && n <= G_MAXINT ? (int) n : 0;
}

/* Active dendrite layers with segments read the context. */
static gboolean has_segments (JsonObject *layer)
{
    const char *type = json_object_get_string_member_with_default (layer, "type", "");
    return g_ascii_strcasecmp (type, "active_dendrite") == 0 &&
           json_object_get_int_member_with_default (layer, "segments", 0) > 0;
}

/* The context's length follows the choice: the image for a prototype, T for a task
 * id; the active dendrite layers are told (a network edit the Network page shows). */
static void sync_context_dim (DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    int want = exp->cl.context == DN_CONTEXT_PROTOTYPE ? input_numel (exp)
               : exp->cl.context == DN_CONTEXT_TASK_ID ? exp->cl.tasks
                                                       : 0;
    if (want <= 0)
        return;
    for (guint i = 0; i < dn_document_n_layers (self->document); i++) {
        JsonObject *l = dn_document_get_layer (self->document, i);
        if (l == NULL || !has_segments (l) ||
            json_object_get_int_member_with_default (l, "context_dim", 0) == want)
            continue;
        JsonNode *v = json_node_new (JSON_NODE_VALUE);
        json_node_set_int (v, want);
        dn_document_set_layer_setting (self->document, i, "context_dim", v);
    }
}

static void load_continual (DnDataPage *self, DnExperiment *exp, SourceKind src)
{
    gboolean image = src != SRC_CSV;
    gboolean open = exp->continual || (image && !exp->dendrites);
    gtk_widget_set_sensitive (GTK_WIDGET (self->continual_row), open);
    adw_expander_row_set_enable_expansion (self->continual_row, exp->continual);
    adw_expander_row_set_subtitle (
        self->continual_row,
        exp->continual || open
            ? _ ("Train on a sequence of tasks made from the images; all tasks share one output")
        : exp->dendrites ? _ ("A run grows dendrites or trains on permuted tasks, not both: turn "
                              "dendrites off on the Dendrites page first")
                         : _ ("Needs image data (IDX files): the tasks shuffle pixels"));
    gtk_spin_button_set_value (self->tasks_spin, exp->cl.tasks);
    gtk_spin_button_set_value (self->task_epochs_spin, exp->cl.epochs_per_task);
    adw_combo_row_set_selected (self->context_row, (guint) exp->cl.context);
    /* active dendrite layers need a context; plain networks ignore it */
    gboolean segments = FALSE;
    for (guint i = 0; i < dn_document_n_layers (self->document) && !segments; i++) {
        JsonObject *l = dn_document_get_layer (self->document, i);
        segments = l != NULL && has_segments (l);
    }
    const char *about;
    if (exp->cl.context == DN_CONTEXT_NONE)
        about = segments ? _ ("The network’s active dendrite layers need a context: choose the "
                              "prototype or the task id")
                         : _ ("No context: for networks without active dendrite layers");
    else if (!segments)
        about = _ ("This network has no active dendrite layers: nothing reads the context");
    else if (exp->cl.context == DN_CONTEXT_PROTOTYPE)
        about = _ ("The task’s mean training image; at test time each image gets the nearest one, "
                   "so no task id is given");
    else
        about = _ ("A one-hot task number, given at test time too");
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->context_row), about);
}

static void on_continual_toggled (AdwExpanderRow *row, GParamSpec *pspec, DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    if (self->updating || exp == NULL)
        return;
    gboolean on = adw_expander_row_get_enable_expansion (row);
    if (on == exp->continual)
        return;
    /* off keeps the settings for this session; the saved file loses the section */
    exp->continual = on;
    if (on) {
        exp->val_fraction = 0.0; /* continual runs evaluate on the test split */
        sync_context_dim (self);
    }
    dn_document_changed (self->document, DN_CHANGE_DATA | DN_CHANGE_TRAINING);
}

/* The continual templates are named for their task count ("prototype_10"): the
 * name follows the count, so that the title, the sidebar and the run folder agree. */
static void follow_task_count (DnExperiment *exp, int before, int after)
{
    g_autofree char *suffix = g_strdup_printf ("_%d", before);
    if (before == after || exp->name == NULL || !g_str_has_suffix (exp->name, suffix))
        return;
    gsize stem = strlen (exp->name) - strlen (suffix);
    char *name = g_strdup_printf ("%.*s_%d", (int) stem, exp->name, after);
    g_free (exp->name);
    exp->name = name;
}

static void on_continual_changed (DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    if (self->updating || exp == NULL)
        return;
    int tasks = gtk_spin_button_get_value_as_int (self->tasks_spin);
    follow_task_count (exp, exp->cl.tasks, tasks);
    exp->cl.tasks = tasks;
    exp->cl.epochs_per_task = gtk_spin_button_get_value_as_int (self->task_epochs_spin);
    guint ctx = adw_combo_row_get_selected (self->context_row);
    if (ctx <= DN_CONTEXT_NONE)
        exp->cl.context = (DnContextKind) ctx;
    if (exp->continual)
        sync_context_dim (self);
    dn_document_changed (self->document, DN_CHANGE_DATA | DN_CHANGE_TRAINING);
}

static void load (DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    if (exp == NULL)
        return;
    self->updating = TRUE;
    SourceKind src = current_source (exp);
    for (guint i = 0; i < self->n_sources; i++)
        if (self->sources[i] == src)
            adw_combo_row_set_selected (self->source_row, i);
    g_autofree char *path = data_path (exp);
    adw_action_row_set_subtitle (self->location_row,
                                 path != NULL ? path : _ ("No file chosen yet"));
    gtk_widget_set_visible (GTK_WIDGET (self->choose_button), src == SRC_IDX || src == SRC_CSV);
    gtk_widget_set_visible (GTK_WIDGET (self->label_row), src == SRC_CSV);
    gtk_widget_set_visible (GTK_WIDGET (self->test_row), src == SRC_CSV);
    gtk_spin_button_set_value (self->val_spin, exp->val_fraction);
    gtk_spin_button_set_value (self->test_spin, exp->test_fraction);
    load_continual (self, exp, src);
    /* normalisation: measured, none, or the fixed values this experiment has */
    GtkStringList *model = gtk_string_list_new (NULL);
    gtk_string_list_append (model, _ ("Measured on the data"));
    gtk_string_list_append (model, _ ("None (0 to 1)"));
    gtk_string_list_append (model, _ ("MNIST’s mean and std"));
    guint sel = exp->normalize_from_data ? 0 : 1;
    const DnNormalize *n = &exp->normalize;
    if (!exp->normalize_from_data && !(n->n_channels == 1 && n->mean[0] == 0 && n->std[0] == 1)) {
        if (n->n_channels == 1 && fabsf (n->mean[0] - 0.1307f) < 1e-6f &&
            fabsf (n->std[0] - 0.3081f) < 1e-6f) {
            sel = 2;
        } else {
            GString *s = g_string_new (_ ("Fixed: mean"));
            for (int i = 0; i < n->n_channels; i++)
                g_string_append_printf (s, " %.4g", n->mean[i]);
            g_string_append (s, _ (", std"));
            for (int i = 0; i < n->n_channels; i++)
                g_string_append_printf (s, " %.4g", n->std[i]);
            gtk_string_list_append (model, s->str);
            g_string_free (s, TRUE);
            sel = 3;
        }
    }
    adw_combo_row_set_model (self->normalize_row, G_LIST_MODEL (model));
    adw_combo_row_set_selected (self->normalize_row, sel);
    g_object_unref (model);
    self->updating = FALSE;
}

static void set_source (DnDataPage *self, SourceKind k, const char *path)
{
    DnExperiment *exp = experiment (self);
    g_free (exp->data_format);
    exp->data_format = g_strdup (k == SRC_CSV ? "csv" : "idx");
    g_free (exp->data_path);
    exp->data_path = k == SRC_SAMPLE    ? NULL
                     : k == SRC_FASHION ? g_strdup (DN_FASHION_MNIST_DIR)
                                        : g_strdup (path);
    if (k != SRC_CSV)
        g_clear_pointer (&exp->label_column, g_free);
    dn_document_changed (self->document, DN_CHANGE_DATA);
}

static void on_choose_response (GtkNativeDialog *dialog, int response, DnDataPage *self)
{
    gboolean csv =
        gtk_file_chooser_get_action (GTK_FILE_CHOOSER (dialog)) == GTK_FILE_CHOOSER_ACTION_OPEN;
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr (GFile) f = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
        g_autofree char *path = g_file_get_path (f);
        if (path != NULL)
            set_source (self, csv ? SRC_CSV : SRC_IDX, path);
    }
    g_clear_object (&self->chooser);
    load (self);
}

static void choose (DnDataPage *self, SourceKind k)
{
    GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
    g_clear_object (&self->chooser);
    self->chooser = gtk_file_chooser_native_new (
        k == SRC_CSV ? _ ("Choose a CSV File") : _ ("Choose a Folder of IDX Files"),
        GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
        k == SRC_CSV ? GTK_FILE_CHOOSER_ACTION_OPEN : GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
        _ ("_Choose"), _ ("_Cancel"));
    if (k == SRC_CSV) {
        GtkFileFilter *f = gtk_file_filter_new ();
        gtk_file_filter_set_name (f, _ ("CSV files"));
        gtk_file_filter_add_pattern (f, "*.csv");
        gtk_file_filter_add_pattern (f, "*.tsv");
        gtk_file_filter_add_pattern (f, "*.txt");
        gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), f);
        g_object_unref (f);
    }
    g_signal_connect (self->chooser, "response", G_CALLBACK (on_choose_response), self);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void on_source_selected (AdwComboRow *row, GParamSpec *pspec, DnDataPage *self)
{
    if (self->updating || experiment (self) == NULL)
        return;
    guint i = adw_combo_row_get_selected (row);
    if (i >= self->n_sources)
        return;
    SourceKind k = self->sources[i];
    if (k == SRC_IDX || k == SRC_CSV) {
        if (current_source (experiment (self)) != k)
            choose (self, k);
        return;
    }
    set_source (self, k, NULL);
}

static void on_choose_clicked (GtkButton *b, DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    if (exp != NULL)
        choose (self, current_source (exp));
}

static void on_label_selected (AdwComboRow *row, GParamSpec *pspec, DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    if (self->updating || exp == NULL)
        return;
    guint i = adw_combo_row_get_selected (row);
    g_clear_pointer (&exp->label_column, g_free);
    if (i > 0 && self->columns != NULL && i <= g_strv_length (self->columns))
        exp->label_column = g_strdup (self->columns[i - 1]);
    dn_document_changed (self->document, DN_CHANGE_DATA);
}

static void on_split_changed (GtkSpinButton *spin, DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    if (self->updating || exp == NULL)
        return;
    exp->val_fraction = gtk_spin_button_get_value (self->val_spin);
    exp->test_fraction = gtk_spin_button_get_value (self->test_spin);
    dn_document_changed (self->document, DN_CHANGE_DATA);
}

static void on_normalize_selected (AdwComboRow *row, GParamSpec *pspec, DnDataPage *self)
{
    DnExperiment *exp = experiment (self);
    if (self->updating || exp == NULL)
        return;
    switch (adw_combo_row_get_selected (row)) {
    case 0:
        exp->normalize_from_data = TRUE;
        break;
    case 1:
        exp->normalize_from_data = FALSE;
        exp->normalize = (DnNormalize){.n_channels = 1, .mean = {0}, .std = {1}};
        break;
    case 2:
        exp->normalize_from_data = FALSE;
        exp->normalize = (DnNormalize){.n_channels = 1, .mean = {0.1307f}, .std = {0.3081f}};
        break;
    default:
        return; /* the experiment's own fixed values: unchanged */
    }
    dn_document_changed (self->document, DN_CHANGE_DATA);
}

static void on_document_changed (DnDocument *doc, guint what, DnDataPage *self)
{
    /* dendrites and the layers decide what the permuted-tasks rows offer and say */
    if (!(what & (DN_CHANGE_DATA | DN_CHANGE_DENDRITES | DN_CHANGE_NETWORK)))
        return;
    DnExperiment *exp = experiment (self);
    g_autofree char *before = g_object_steal_data (G_OBJECT (self), "dn-previewed");
    g_autofree char *now =
        g_strdup_printf ("%s|%s|%s", exp->data_format, exp->data_path ? exp->data_path : "",
                         exp->label_column ? exp->label_column : "");
    load (self);
    if (g_strcmp0 (before, now) != 0)
        start_preview (self);
    g_object_set_data_full (G_OBJECT (self), "dn-previewed", g_steal_pointer (&now), g_free);
}

void dn_data_page_set_document (DnDataPage *self, DnDocument *doc)
{
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_set_object (&self->document, doc);
    g_object_set_data (G_OBJECT (self), "dn-previewed", NULL);
    if (doc == NULL)
        return;
    g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
    on_document_changed (doc, DN_CHANGE_DATA, self);
}

const char *dn_data_page_get_summary (DnDataPage *self)
{
    return gtk_label_get_label (self->summary_label);
}

guint dn_data_page_get_n_preview (DnDataPage *self)
{
    return self->n_preview;
}

static void dn_data_page_dispose (GObject *object)
{
    DnDataPage *self = DN_DATA_PAGE (object);
    if (self->loading != NULL)
        g_cancellable_cancel (self->loading);
    g_clear_object (&self->loading);
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_clear_object (&self->document);
    g_clear_object (&self->chooser);
    gtk_widget_dispose_template (GTK_WIDGET (self), DN_TYPE_DATA_PAGE);
    G_OBJECT_CLASS (dn_data_page_parent_class)->dispose (object);
}

static void dn_data_page_finalize (GObject *object)
{
    g_strfreev (DN_DATA_PAGE (object)->columns);
    G_OBJECT_CLASS (dn_data_page_parent_class)->finalize (object);
}

static void dn_data_page_class_init (DnDataPageClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    G_OBJECT_CLASS (klass)->dispose = dn_data_page_dispose;
    G_OBJECT_CLASS (klass)->finalize = dn_data_page_finalize;
    gtk_widget_class_set_template_from_resource (widget_class,
                                                 "/org/dendrite/Studio/dn-data-page.ui");
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, source_row);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, location_row);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, choose_button);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, label_row);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, continual_row);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, tasks_spin);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, context_row);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, task_epochs_spin);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, val_spin);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, test_row);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, test_spin);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, normalize_row);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, summary_label);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, preview_flow);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, table_scroll);
    gtk_widget_class_bind_template_child (widget_class, DnDataPage, table_grid);
}

static GtkWidget *find_switch (GtkWidget *root)
{
    for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
         c = gtk_widget_get_next_sibling (c)) {
        GtkWidget *found = GTK_IS_SWITCH (c) ? c : find_switch (c);
        if (found != NULL)
            return found;
    }
    return NULL;
}

static void dn_data_page_init (DnDataPage *self)
{
    gtk_widget_init_template (GTK_WIDGET (self));
    GtkStringList *model = gtk_string_list_new (NULL);
    SourceKind all[] = {SRC_SAMPLE, SRC_FASHION, SRC_IDX, SRC_CSV};
    for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
        if (all[i] == SRC_FASHION && !g_file_test (DN_FASHION_MNIST_DIR, G_FILE_TEST_IS_DIR))
            continue;
        self->sources[self->n_sources++] = all[i];
        gtk_string_list_append (model, source_title (all[i]));
    }
    adw_combo_row_set_model (self->source_row, G_LIST_MODEL (model));
    g_object_unref (model);
    g_signal_connect (self->source_row, "notify::selected", G_CALLBACK (on_source_selected), self);
    g_signal_connect (self->label_row, "notify::selected", G_CALLBACK (on_label_selected), self);
    g_signal_connect (self->normalize_row, "notify::selected", G_CALLBACK (on_normalize_selected),
                      self);
    g_signal_connect (self->val_spin, "value-changed", G_CALLBACK (on_split_changed), self);
    g_signal_connect (self->test_spin, "value-changed", G_CALLBACK (on_split_changed), self);
    g_signal_connect (self->choose_button, "clicked", G_CALLBACK (on_choose_clicked), self);
    g_signal_connect (self->continual_row, "notify::enable-expansion",
                      G_CALLBACK (on_continual_toggled), self);
    /* the expander's own switch has no name of its own for screen readers */
    GtkWidget *sw = find_switch (GTK_WIDGET (self->continual_row));
    if (sw != NULL)
        gtk_accessible_update_property (GTK_ACCESSIBLE (sw), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                        _ ("Train on permuted tasks"), -1);
    g_signal_connect_swapped (self->tasks_spin, "value-changed", G_CALLBACK (on_continual_changed),
                              self);
    g_signal_connect_swapped (self->task_epochs_spin, "value-changed",
                              G_CALLBACK (on_continual_changed), self);
    g_signal_connect_swapped (self->context_row, "notify::selected",
                              G_CALLBACK (on_continual_changed), self);
}

GtkWidget *dn_data_page_get_editor (DnDataPage *self, const char *name)
{
    if (g_str_equal (name, "continual"))
        return GTK_WIDGET (self->continual_row);
    if (g_str_equal (name, "tasks"))
        return GTK_WIDGET (self->tasks_spin);
    if (g_str_equal (name, "context"))
        return GTK_WIDGET (self->context_row);
    if (g_str_equal (name, "epochs_per_task"))
        return GTK_WIDGET (self->task_epochs_spin);
    if (g_str_equal (name, "source"))
        return GTK_WIDGET (self->source_row);
    if (g_str_equal (name, "validation"))
        return GTK_WIDGET (self->val_spin);
    return NULL;
}
