/* dn-selection-editor.c: "perforate_types" checks and the "groups" editor. */
#include "dn-selection-editor.h"

#include "dn-layer-catalog.h"

#include <glib/gi18n.h>
#include <string.h>

#define MAX_KINDS 8
#define MAX_MODULE 8 /* layers in one module: conv + norm + ... is two or three */

struct _DnSelectionEditor {
    AdwPreferencesGroup parent_instance;
    DnDocument *document;
    gboolean updating;

    int n_kinds;
    const char *kind_types[MAX_KINDS];
    GtkWidget *kind_checks[MAX_KINDS];

    GPtrArray *group_rows; /* AdwActionRow of each module, in "groups" order */
    GPtrArray *remove_buttons;
    GtkWidget *add_row; /* a reference: moved to the end whenever the modules change */
    GtkDropDown *first;
    GtkSpinButton *size;
    GtkWidget *add;
    char **first_names; /* the names the dropdown offers, in its order */
};

G_DEFINE_FINAL_TYPE (DnSelectionEditor, dn_selection_editor, ADW_TYPE_PREFERENCES_GROUP)

static DnExperiment *experiment (DnSelectionEditor *self)
{
    return self->document != NULL ? dn_document_get_experiment (self->document) : NULL;
}

static const DnLayerInfo *layer_named (const DnNetworkInfo *info, const char *name, int *index)
{
    for (guint i = 0; i < info->layers->len; i++) {
        const DnLayerInfo *l = g_ptr_array_index (info->layers, i);
        if (g_strcmp0 (l->name, name) == 0) {
            if (index != NULL)
                *index = (int) i;
            return l;
        }
    }
    return NULL;
}

static gboolean in_any_group (const DnDendriteSelection *sel, const char *name)
{
    for (int g = 0; sel->groups != NULL && sel->groups[g] != NULL; g++)
        if (g_strv_contains ((const char *const *) sel->groups[g], name))
            return TRUE;
    return FALSE;
}

static void set_message (DnSelectionEditor *self, const char *message)
{
    adw_action_row_set_subtitle (
        ADW_ACTION_ROW (self->add_row),
        message != NULL ? message
                        : _ ("A linear or convolution layer with the layers right after it, "
                             "such as its batch norm"));
    if (message != NULL)
        gtk_widget_add_css_class (self->add_row, "error");
    else
        gtk_widget_remove_css_class (self->add_row, "error");
}

/* ---- perforate_types ---- */

static void on_kind_toggled (GtkCheckButton *check, DnSelectionEditor *self)
{
    DnExperiment *exp = experiment (self);
    if (exp == NULL || self->updating)
        return;
    const char *type = g_object_get_data (G_OBJECT (check), "dn-type");
    gboolean on = gtk_check_button_get_active (check);
    char **old = exp->selection.perforate_types;
    if (on == (old != NULL && g_strv_contains ((const char *const *) old, type)))
        return;
    GStrvBuilder *b = g_strv_builder_new ();
    for (int i = 0; old != NULL && old[i] != NULL; i++)
        if (!g_str_equal (old[i], type))
            g_strv_builder_add (b, old[i]);
    if (on)
        g_strv_builder_add (b, type);
    g_strfreev (old);
    exp->selection.perforate_types = g_strv_builder_end (b);
    g_strv_builder_unref (b);
    dn_document_changed (self->document, DN_CHANGE_DENDRITES);
}

/* ---- groups ---- */

static void on_remove (GtkButton *button, DnSelectionEditor *self)
{
    DnExperiment *exp = experiment (self);
    if (exp == NULL)
        return;
    int g = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "dn-group"));
    char ***groups = exp->selection.groups;
    int n = 0;
    while (groups != NULL && groups[n] != NULL)
        n++;
    if (g < 0 || g >= n)
        return;
    g_strfreev (groups[g]);
    memmove (&groups[g], &groups[g + 1], (size_t) (n - g) * sizeof *groups); /* with the NULL */
    set_message (self, NULL);
    dn_document_changed (self->document, DN_CHANGE_DENDRITES);
}

/* The selection with one more group, checked as the engine checks it when a run
 * starts. FALSE + a message when the engine would refuse it. */
static gboolean check_group (DnExperiment *exp, char **names, char **message)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    dn_dendrite_selection_to_json (&exp->selection, b);
    json_builder_end_object (b);
    g_autoptr (JsonNode) node = json_builder_get_root (b);
    JsonObject *obj = json_node_get_object (node);
    JsonArray *groups = json_object_get_array_member (obj, "groups");
    JsonArray *group = json_array_new ();
    for (int j = 0; names[j] != NULL; j++)
        json_array_add_string_element (group, names[j]);
    json_array_add_array_element (groups, group);
    DnDendriteSelection trial;
    dn_dendrite_selection_init (&trial);
    GError *error = NULL;
    gboolean ok = dn_dendrite_selection_from_json (obj, &trial, &error);
    if (ok) {
        JsonNode *wrapped = dn_dendrite_wrap_network (exp->network, &trial, NULL, &error);
        ok = wrapped != NULL;
        if (wrapped != NULL)
            json_node_unref (wrapped);
    }
    dn_dendrite_selection_clear (&trial);
    if (!ok)
        *message = g_strdup (error->message);
    g_clear_error (&error);
    return ok;
}

static void on_add (GtkButton *button, DnSelectionEditor *self)
{
    DnExperiment *exp = experiment (self);
    guint pick = gtk_drop_down_get_selected (self->first);
    if (exp == NULL || self->first_names == NULL || pick >= g_strv_length (self->first_names))
        return;
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    int first = -1;
    if (layer_named (info, self->first_names[pick], &first) == NULL)
        return;
    int size = gtk_spin_button_get_value_as_int (self->size);
    if (first + size > (int) info->layers->len) {
        set_message (self, _ ("There are not that many layers after the first one"));
        return;
    }
    GStrvBuilder *b = g_strv_builder_new ();
    for (int j = 0; j < size; j++) {
        const DnLayerInfo *l = g_ptr_array_index (info->layers, first + j);
        if (in_any_group (&exp->selection, l->name)) {
            g_autofree char *msg = g_strdup_printf (
                _ ("%s is already in a module; remove that module first"), l->name);
            set_message (self, msg);
            g_strv_builder_unref (b);
            return;
        }
        g_strv_builder_add (b, l->name);
    }
    g_auto (GStrv) names = g_strv_builder_end (b);
    g_strv_builder_unref (b);
    /* a network that does not build cannot be checked: the Network page says why */
    g_autofree char *message = NULL;
    if (info->ok && !check_group (exp, names, &message)) {
        g_autofree char *text = g_strdup_printf (_ ("Not added: %s"), message);
        set_message (self, text);
        return;
    }
    int n = 0;
    while (exp->selection.groups != NULL && exp->selection.groups[n] != NULL)
        n++;
    exp->selection.groups = g_renew (char **, exp->selection.groups, n + 2);
    exp->selection.groups[n] = g_steal_pointer (&names);
    exp->selection.groups[n + 1] = NULL;
    set_message (self, NULL);
    dn_document_changed (self->document, DN_CHANGE_DENDRITES);
}

static void update_size_range (DnSelectionEditor *self)
{
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    guint pick = gtk_drop_down_get_selected (self->first);
    int first = -1, most = 2;
    if (self->first_names != NULL && pick < g_strv_length (self->first_names) &&
        layer_named (info, self->first_names[pick], &first) != NULL)
        most = CLAMP ((int) info->layers->len - first, 2, MAX_MODULE);
    gtk_spin_button_set_range (self->size, 2, most);
}

static void on_first_selected (GtkDropDown *dd, GParamSpec *pspec, DnSelectionEditor *self)
{
    if (self->document != NULL)
        update_size_range (self);
}

static char *group_types (const DnNetworkInfo *info, char **names)
{
    GString *s = g_string_new (NULL);
    for (int j = 0; names[j] != NULL; j++) {
        const DnLayerInfo *l = layer_named (info, names[j], NULL);
        if (l == NULL) {
            g_string_free (s, TRUE);
            return g_strdup_printf (_ ("%s is not a layer of this network"), names[j]);
        }
        const DnLayerKind *k = dn_layer_catalog_lookup (l->type);
        g_string_append_printf (s, "%s%s", j > 0 ? " → " : "", k != NULL ? k->title : l->type);
    }
    return g_string_free (s, FALSE);
}

static void load_groups (DnSelectionEditor *self, DnExperiment *exp)
{
    AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (self);
    for (guint i = 0; i < self->group_rows->len; i++)
        adw_preferences_group_remove (group, self->group_rows->pdata[i]);
    g_ptr_array_set_size (self->group_rows, 0);
    g_ptr_array_set_size (self->remove_buttons, 0);
    adw_preferences_group_remove (group, self->add_row);

    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    for (int g = 0; exp->selection.groups != NULL && exp->selection.groups[g] != NULL; g++) {
        char **names = exp->selection.groups[g];
        g_autofree char *title = g_strjoinv (" + ", names);
        g_autofree char *types = group_types (info, names);
        GtkWidget *row = adw_action_row_new ();
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), types);
        GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
        g_autofree char *label = g_strdup_printf (_ ("Remove module %s"), title);
        gtk_widget_set_tooltip_text (remove, _ ("Remove this module"));
        gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                        label, -1);
        gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
        gtk_widget_add_css_class (remove, "flat");
        g_object_set_data (G_OBJECT (remove), "dn-group", GINT_TO_POINTER (g));
        g_signal_connect (remove, "clicked", G_CALLBACK (on_remove), self);
        adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
        adw_preferences_group_add (group, row);
        g_ptr_array_add (self->group_rows, row);
        g_ptr_array_add (self->remove_buttons, remove);
    }
    adw_preferences_group_add (group, self->add_row);

    /* the dropdown: layers that can head a module, are followed by one, and are
     * in no module yet */
    GStrvBuilder *b = g_strv_builder_new ();
    for (guint i = 0; i + 1 < info->layers->len; i++) {
        const DnLayerInfo *l = g_ptr_array_index (info->layers, i);
        if (l->neuron_module && !in_any_group (&exp->selection, l->name))
            g_strv_builder_add (b, l->name);
    }
    g_auto (GStrv) names = g_strv_builder_end (b);
    g_strv_builder_unref (b);
    if (self->first_names == NULL ||
        !g_strv_equal ((const char *const *) names, (const char *const *) self->first_names)) {
        guint pick = gtk_drop_down_get_selected (self->first);
        g_autofree char *was = self->first_names != NULL && pick < g_strv_length (self->first_names)
                                   ? g_strdup (self->first_names[pick])
                                   : NULL;
        g_strfreev (self->first_names);
        self->first_names = g_steal_pointer (&names);
        GtkStringList *model = gtk_string_list_new ((const char *const *) self->first_names);
        gtk_drop_down_set_model (self->first, G_LIST_MODEL (model));
        g_object_unref (model);
        guint keep = 0;
        for (guint i = 0; was != NULL && self->first_names[i] != NULL; i++)
            if (g_str_equal (self->first_names[i], was))
                keep = i;
        gtk_drop_down_set_selected (self->first, keep);
    }
    gboolean any = self->first_names[0] != NULL;
    gtk_widget_set_sensitive (GTK_WIDGET (self->first), any);
    gtk_widget_set_sensitive (GTK_WIDGET (self->size), any);
    gtk_widget_set_sensitive (self->add, any);
    update_size_range (self);
}

static void load (DnSelectionEditor *self)
{
    DnExperiment *exp = experiment (self);
    if (exp == NULL)
        return;
    self->updating = TRUE;
    for (int k = 0; k < self->n_kinds; k++)
        gtk_check_button_set_active (
            GTK_CHECK_BUTTON (self->kind_checks[k]),
            exp->selection.perforate_types != NULL &&
                g_strv_contains ((const char *const *) exp->selection.perforate_types,
                                 self->kind_types[k]));
    load_groups (self, exp);
    self->updating = FALSE;
}

static void on_document_changed (DnDocument *doc, guint what, DnSelectionEditor *self)
{
    if (what & (DN_CHANGE_NETWORK | DN_CHANGE_DENDRITES))
        load (self);
}

void dn_selection_editor_set_document (DnSelectionEditor *self, DnDocument *doc)
{
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_set_object (&self->document, doc);
    set_message (self, NULL);
    if (doc != NULL) {
        g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
        load (self);
    }
}

GtkWidget *dn_selection_editor_get_editor (DnSelectionEditor *self, const char *key)
{
    if (g_str_has_prefix (key, "perforate_types:")) {
        const char *type = key + strlen ("perforate_types:");
        for (int k = 0; k < self->n_kinds; k++)
            if (g_str_equal (self->kind_types[k], type))
                return self->kind_checks[k];
        return NULL;
    }
    if (g_str_equal (key, "groups:first"))
        return GTK_WIDGET (self->first);
    if (g_str_equal (key, "groups:size"))
        return GTK_WIDGET (self->size);
    if (g_str_equal (key, "groups:add"))
        return self->add;
    if (g_str_equal (key, "groups:message"))
        return self->add_row;
    if (g_str_has_prefix (key, "groups:remove:")) {
        guint64 g = g_ascii_strtoull (key + strlen ("groups:remove:"), NULL, 10);
        return g < self->remove_buttons->len ? self->remove_buttons->pdata[g] : NULL;
    }
    return NULL;
}

static void build (DnSelectionEditor *self)
{
    AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (self);
    adw_preferences_group_set_title (group, _ ("Layers That Get Dendrites"));
    adw_preferences_group_set_description (
        group, _ ("Every layer of a checked kind gets dendrites unless its row on the Network "
                  "page says otherwise. A neuron module joins a layer with the layers right "
                  "after it, so that every dendrite copies the whole module: a convolution "
                  "with its batch norm gets one batch norm per dendrite."));
    int n;
    const DnLayerKind *kinds = dn_layer_catalog (&n);
    for (int i = 0; i < n && self->n_kinds < MAX_KINDS; i++) {
        if (!kinds[i].neuron_module)
            continue;
        GtkWidget *row = adw_action_row_new ();
        g_autofree char *title = g_strdup_printf (_ ("%s Layers"), kinds[i].title);
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _ (kinds[i].summary));
        gtk_widget_set_tooltip_text (row, "perforate_types");
        GtkWidget *check = gtk_check_button_new ();
        gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
        g_object_set_data (G_OBJECT (check), "dn-type", (gpointer) kinds[i].type);
        g_signal_connect (check, "toggled", G_CALLBACK (on_kind_toggled), self);
        adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
        adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
        adw_preferences_group_add (group, row);
        self->kind_types[self->n_kinds] = kinds[i].type;
        self->kind_checks[self->n_kinds++] = check;
    }

    self->add_row = g_object_ref_sink (adw_action_row_new ());
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->add_row), _ ("New Neuron Module"));
    adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (self->add_row), 4);
    gtk_widget_set_tooltip_text (self->add_row, "groups");
    const char *none[] = {NULL};
    self->first = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (none));
    gtk_widget_set_valign (GTK_WIDGET (self->first), GTK_ALIGN_CENTER);
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->first), _ ("The module’s first layer"));
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->first), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _ ("First layer of the new module"), -1);
    g_signal_connect (self->first, "notify::selected", G_CALLBACK (on_first_selected), self);
    self->size = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (2, MAX_MODULE, 1));
    gtk_widget_set_valign (GTK_WIDGET (self->size), GTK_ALIGN_CENTER);
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->size), _ ("Layers in the module"));
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->size), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _ ("Layers in the new module"), -1);
    self->add = gtk_button_new_with_label (_ ("Add"));
    gtk_widget_set_valign (self->add, GTK_ALIGN_CENTER);
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->add), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _ ("Add the neuron module"), -1);
    g_signal_connect (self->add, "clicked", G_CALLBACK (on_add), self);
    adw_action_row_add_suffix (ADW_ACTION_ROW (self->add_row), GTK_WIDGET (self->first));
    adw_action_row_add_suffix (ADW_ACTION_ROW (self->add_row), GTK_WIDGET (self->size));
    adw_action_row_add_suffix (ADW_ACTION_ROW (self->add_row), self->add);
    adw_preferences_group_add (group, self->add_row);
    set_message (self, NULL);
}

static void dn_selection_editor_dispose (GObject *object)
{
    DnSelectionEditor *self = DN_SELECTION_EDITOR (object);
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_clear_object (&self->document);
    g_clear_object (&self->add_row);
    G_OBJECT_CLASS (dn_selection_editor_parent_class)->dispose (object);
}

static void dn_selection_editor_finalize (GObject *object)
{
    DnSelectionEditor *self = DN_SELECTION_EDITOR (object);
    g_ptr_array_unref (self->group_rows);
    g_ptr_array_unref (self->remove_buttons);
    g_strfreev (self->first_names);
    G_OBJECT_CLASS (dn_selection_editor_parent_class)->finalize (object);
}

static void dn_selection_editor_class_init (DnSelectionEditorClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS (klass);
    object_class->dispose = dn_selection_editor_dispose;
    object_class->finalize = dn_selection_editor_finalize;
}

static void dn_selection_editor_init (DnSelectionEditor *self)
{
    self->group_rows = g_ptr_array_new ();
    self->remove_buttons = g_ptr_array_new ();
    build (self);
}

GtkWidget *dn_selection_editor_new (void)
{
    return g_object_new (DN_TYPE_SELECTION_EDITOR, NULL);
}
