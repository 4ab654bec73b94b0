/* dn-network-page.c: layer rows, settings editors, palette and templates. */
#include "dn-network-page.h"

#include "dn-layer-catalog.h"
#include "dn-templates.h"
#include "dn-window.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>

typedef struct {
    GtkWidget *row; /* AdwExpanderRow */
    GtkLabel *output;
    GtkLabel *params;
    GtkDropDown *dendrites;
    GtkLabel *no_dendrites;
    GtkImage *error_icon;
    char *name;
    char *type;
} LayerRow;

struct _DnNetworkPage {
    AdwBin parent_instance;
    GtkMenuButton *template_button;
    AdwEntryRow *input_row;
    GtkListBox *layer_list;
    GtkLabel *footer_label;
    GtkLabel *error_label;
    GtkLabel *warning_label;
    GtkBox *palette_box;
    GtkPopover *palette_popover;

    DnDocument *document;
    GPtrArray *rows; /* LayerRow* */
    gboolean updating;
};

G_DEFINE_FINAL_TYPE (DnNetworkPage, dn_network_page, ADW_TYPE_BIN)

static void layer_row_free (gpointer p)
{
    LayerRow *r = p;
    g_free (r->name);
    g_free (r->type);
    g_free (r);
}

static int row_index (DnNetworkPage *self, GtkWidget *widget)
{
    GtkWidget *row = gtk_widget_get_ancestor (widget, ADW_TYPE_EXPANDER_ROW);
    for (guint i = 0; i < self->rows->len; i++)
        if (((LayerRow *) self->rows->pdata[i])->row == row)
            return (int) i;
    return -1;
}

static int selected_index (DnNetworkPage *self)
{
    GtkListBoxRow *sel = gtk_list_box_get_selected_row (self->layer_list);
    return sel != NULL ? row_index (self, GTK_WIDGET (sel)) : -1;
}

static void select_index (DnNetworkPage *self, int i)
{
    if (i >= 0 && (guint) i < self->rows->len) {
        GtkWidget *row = ((LayerRow *) self->rows->pdata[i])->row;
        gtk_list_box_select_row (self->layer_list, GTK_LIST_BOX_ROW (row));
        gtk_widget_grab_focus (row);
    }
}

/* ---- labels of a row, from the analysis ---- */

static const char *kind_title (const char *type)
{
    const DnLayerKind *k = dn_layer_catalog_lookup (type);
    return k != NULL ? k->title : type;
}

static void update_row (DnNetworkPage *self, guint i)
{
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    DnExperiment *exp = dn_document_get_experiment (self->document);
    LayerRow *r = self->rows->pdata[i];
    DnLayerInfo *l = i < info->layers->len ? g_ptr_array_index (info->layers, i) : NULL;
    if (l == NULL)
        return;
    g_autofree char *subtitle = NULL;
    if (l->error != NULL)
        subtitle = g_strdup_printf ("%s · %s", kind_title (l->type), l->error);
    else if (l->settings != NULL && *l->settings != '\0')
        subtitle = g_strdup_printf ("%s · %s", kind_title (l->type), l->settings);
    else
        subtitle = g_strdup (kind_title (l->type));
    adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (r->row), subtitle);
    gtk_label_set_label (r->output, l->output != NULL ? l->output : "—");
    g_autofree char *params = l->output != NULL ? dn_format_count (l->params) : g_strdup ("—");
    gtk_label_set_label (r->params, params);
    gtk_widget_set_visible (GTK_WIDGET (r->error_icon), l->error != NULL);
    if (l->error != NULL)
        gtk_widget_add_css_class (r->row, "layer-error");
    else
        gtk_widget_remove_css_class (r->row, "layer-error");
    gboolean choosable = exp->dendrites && l->neuron_module;
    gtk_widget_set_visible (GTK_WIDGET (r->dendrites), choosable);
    gtk_widget_set_visible (GTK_WIDGET (r->no_dendrites), !choosable);
    if (choosable) {
        self->updating = TRUE;
        guint pos = l->dendrites == DN_LAYER_DENDRITES_PERFORATE ? 0
                    : l->dendrites == DN_LAYER_DENDRITES_TRACK   ? 1
                                                                 : 2;
        gtk_drop_down_set_selected (r->dendrites, pos);
        self->updating = FALSE;
    }
}

static void update_footer (DnNetworkPage *self)
{
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    DnExperiment *exp = dn_document_get_experiment (self->document);
    GString *s = g_string_new (NULL);
    if (info->input != NULL)
        g_string_append_printf (s, _ ("Input %s"), info->input);
    if (info->ok) {
        g_autofree char *total = dn_format_count (info->total_params);
        g_autofree char *outputs = dn_format_count (info->output_numel);
        g_string_append_printf (s, _ (" · %s outputs · %s parameters"), outputs, total);
        if (exp->dendrites)
            g_string_append_printf (s,
                                    ngettext (" · %d layer gets dendrites",
                                              " · %d layers get dendrites", info->n_dendritic),
                                    info->n_dendritic);
        else
            g_string_append (s, _ (" · dendrites are off (Dendrites page)"));
    }
    g_string_append (s, _ (". Shapes and counts are checked as you edit: a layer that does not fit "
                           "is marked with the reason."));
    gtk_label_set_label (self->footer_label, s->str);
    g_string_free (s, TRUE);
    gtk_widget_set_visible (GTK_WIDGET (self->error_label), !info->ok && info->error != NULL);
    if (info->error != NULL)
        gtk_label_set_label (self->error_label, info->error);
    if (info->warnings->len > 0) {
        g_autofree char *w = g_strjoinv ("\n", (char **) info->warnings->pdata);
        gtk_label_set_label (self->warning_label, w);
    }
    gtk_widget_set_visible (GTK_WIDGET (self->warning_label), info->warnings->len > 0);
}

/* ---- settings editors ---- */

static void on_name_apply (AdwEntryRow *entry, DnNetworkPage *self)
{
    int i = row_index (self, GTK_WIDGET (entry));
    if (i < 0)
        return;
    GError *error = NULL;
    const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
    if (!dn_document_rename_layer (self->document, (guint) i, text, &error)) {
        GtkWidget *win = gtk_widget_get_ancestor (GTK_WIDGET (self), DN_TYPE_WINDOW);
        if (win != NULL)
            dn_window_toast (DN_WINDOW (win), error->message);
        g_error_free (error);
        gtk_editable_set_text (GTK_EDITABLE (entry), ((LayerRow *) self->rows->pdata[i])->name);
    }
}

static const DnSettingSpec *spec_of (GtkWidget *w)
{
    return g_object_get_data (G_OBJECT (w), "dn-spec");
}

static void on_spin_changed (GtkSpinButton *spin, DnNetworkPage *self)
{
    if (self->updating)
        return;
    int i = row_index (self, GTK_WIDGET (spin));
    const DnSettingSpec *spec = spec_of (GTK_WIDGET (spin));
    if (i < 0 || spec == NULL)
        return;
    double v = gtk_spin_button_get_value (spin);
    JsonNode *node = NULL;
    if (!(spec->optional && v < spec->min)) {
        node = json_node_new (JSON_NODE_VALUE);
        if (spec->type == DN_SETTING_DOUBLE)
            json_node_set_double (node, v);
        else
            json_node_set_int (node, (gint64) llround (v));
    }
    dn_document_set_layer_setting (self->document, (guint) i, spec->key, node);
}

static void on_switch_changed (GtkSwitch *sw, GParamSpec *pspec, DnNetworkPage *self)
{
    if (self->updating)
        return;
    int i = row_index (self, GTK_WIDGET (sw));
    const DnSettingSpec *spec = spec_of (GTK_WIDGET (sw));
    if (i < 0 || spec == NULL)
        return;
    JsonNode *node = json_node_new (JSON_NODE_VALUE);
    json_node_set_boolean (node, gtk_switch_get_active (sw));
    dn_document_set_layer_setting (self->document, (guint) i, spec->key, node);
}

static void on_choice_selected (AdwComboRow *row, GParamSpec *pspec, DnNetworkPage *self)
{
    if (self->updating)
        return;
    int i = row_index (self, GTK_WIDGET (row));
    const DnSettingSpec *spec = spec_of (GTK_WIDGET (row));
    guint pos = adw_combo_row_get_selected (row);
    if (i < 0 || spec == NULL || pos >= g_strv_length ((char **) spec->choices))
        return;
    JsonNode *node = json_node_new (JSON_NODE_VALUE);
    json_node_set_string (node, spec->choices[pos]);
    dn_document_set_layer_setting (self->document, (guint) i, spec->key, node);
}

/* "3" or "3, 5" (a pair); anything else leaves the setting as it is. */
static void on_pair_apply (AdwEntryRow *entry, DnNetworkPage *self)
{
    int i = row_index (self, GTK_WIDGET (entry));
    const DnSettingSpec *spec = spec_of (GTK_WIDGET (entry));
    if (i < 0 || spec == NULL)
        return;
    const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
    g_auto (GStrv) parts = g_strsplit_set (text, ",×x ", -1);
    gint64 v[2];
    int n = 0;
    gboolean ok = TRUE;
    for (int k = 0; parts[k] != NULL && ok; k++) {
        if (*parts[k] == '\0')
            continue;
        char *end;
        gint64 x = g_ascii_strtoll (parts[k], &end, 10);
        ok = *end == '\0' && n < 2 && x >= spec->min && x <= spec->max;
        if (ok)
            v[n++] = x;
    }
    if (n == 0 && spec->optional && ok) {
        dn_document_set_layer_setting (self->document, (guint) i, spec->key, NULL);
        return;
    }
    if (!ok || n == 0) {
        gtk_widget_add_css_class (GTK_WIDGET (entry), "error");
        return;
    }
    gtk_widget_remove_css_class (GTK_WIDGET (entry), "error");
    JsonNode *node;
    if (n == 1 || v[0] == v[1]) {
        node = json_node_new (JSON_NODE_VALUE);
        json_node_set_int (node, v[0]);
    } else {
        JsonArray *a = json_array_new ();
        json_array_add_int_element (a, v[0]);
        json_array_add_int_element (a, v[1]);
        node = json_node_new (JSON_NODE_ARRAY);
        json_node_take_array (node, a);
    }
    dn_document_set_layer_setting (self->document, (guint) i, spec->key, node);
}

static GtkWidget *setting_row (DnNetworkPage *self, JsonObject *lo, const DnSettingSpec *spec)
{
    JsonNode *v = json_object_get_member (lo, spec->key);
    GtkWidget *row;
    GtkWidget *editor;
    if (spec->type == DN_SETTING_INT_PAIR) {
        row = adw_entry_row_new ();
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _ (spec->title));
        adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (row), TRUE);
        g_autofree char *text = NULL;
        if (v != NULL && JSON_NODE_HOLDS_ARRAY (v) &&
            json_array_get_length (json_node_get_array (v)) == 2)
            text = g_strdup_printf ("%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT,
                                    json_array_get_int_element (json_node_get_array (v), 0),
                                    json_array_get_int_element (json_node_get_array (v), 1));
        else if (v != NULL && JSON_NODE_HOLDS_VALUE (v))
            text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (v));
        else if (!spec->optional)
            text = g_strdup_printf ("%.0f", spec->def);
        else
            text = g_strdup ("");
        gtk_editable_set_text (GTK_EDITABLE (row), text);
        g_object_set_data (G_OBJECT (row), "dn-spec", (gpointer) spec);
        g_signal_connect (row, "apply", G_CALLBACK (on_pair_apply), self);
        return row;
    }
    if (spec->type == DN_SETTING_CHOICE) {
        row = adw_combo_row_new ();
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _ (spec->title));
        GtkStringList *titles = gtk_string_list_new (NULL);
        const char *now =
            v != NULL && JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING
                ? json_node_get_string (v)
                : NULL;
        guint selected = 0;
        for (guint k = 0; spec->choices[k] != NULL; k++) {
            gtk_string_list_append (titles, _ (spec->choice_titles[k]));
            if (g_strcmp0 (now, spec->choices[k]) == 0)
                selected = k;
        }
        adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (titles));
        g_object_unref (titles);
        adw_combo_row_set_selected (ADW_COMBO_ROW (row), selected);
        g_object_set_data (G_OBJECT (row), "dn-spec", (gpointer) spec);
        g_signal_connect (row, "notify::selected", G_CALLBACK (on_choice_selected), self);
        return row;
    }
    row = adw_action_row_new ();
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _ (spec->title));
    if (spec->type == DN_SETTING_BOOL) {
        editor = gtk_switch_new ();
        gtk_switch_set_active (GTK_SWITCH (editor), v != NULL && JSON_NODE_HOLDS_VALUE (v)
                                                        ? json_node_get_boolean (v)
                                                        : spec->def != 0);
        g_signal_connect (editor, "notify::active", G_CALLBACK (on_switch_changed), self);
    } else {
        double lower = spec->optional ? spec->min - 1 : spec->min;
        double step = spec->type == DN_SETTING_DOUBLE ? pow (10, -spec->digits) : 1;
        editor = gtk_spin_button_new_with_range (lower, spec->max, step);
        gtk_spin_button_set_digits (GTK_SPIN_BUTTON (editor),
                                    spec->type == DN_SETTING_DOUBLE ? (guint) spec->digits : 0);
        double value = v != NULL && JSON_NODE_HOLDS_VALUE (v) ? json_node_get_double (v)
                       : spec->optional                       ? lower
                                                              : spec->def;
        gtk_spin_button_set_value (GTK_SPIN_BUTTON (editor), value);
        if (spec->optional)
            adw_action_row_set_subtitle (
                ADW_ACTION_ROW (row),
                _ ("Leave at the lowest value to take it from the layer before"));
        g_signal_connect (editor, "value-changed", G_CALLBACK (on_spin_changed), self);
    }
    gtk_widget_set_valign (editor, GTK_ALIGN_CENTER);
    g_object_set_data (G_OBJECT (editor), "dn-spec", (gpointer) spec);
    adw_action_row_add_suffix (ADW_ACTION_ROW (row), editor);
    adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), editor);
    return row;
}

/* ---- moving, removing, adding ---- */

static void move_by (DnNetworkPage *self, int i, int delta)
{
    int to = i + delta;
    if (i < 0 || to < 0 || (guint) to >= self->rows->len)
        return;
    dn_document_move_layer (self->document, (guint) i, (guint) to);
    select_index (self, to);
}

static void on_up (GtkButton *b, DnNetworkPage *self)
{
    move_by (self, row_index (self, GTK_WIDGET (b)), -1);
}

static void on_down (GtkButton *b, DnNetworkPage *self)
{
    move_by (self, row_index (self, GTK_WIDGET (b)), +1);
}

static void on_remove (GtkButton *b, DnNetworkPage *self)
{
    int i = row_index (self, GTK_WIDGET (b));
    if (i >= 0)
        dn_document_remove_layer (self->document, (guint) i);
    select_index (self, MIN (i, (int) self->rows->len - 1));
}

static void on_dendrites_selected (GtkDropDown *dd, GParamSpec *pspec, DnNetworkPage *self)
{
    if (self->updating)
        return;
    int i = row_index (self, GTK_WIDGET (dd));
    if (i < 0)
        return;
    static const DnLayerDendrites choices[] = {DN_LAYER_DENDRITES_PERFORATE,
                                               DN_LAYER_DENDRITES_TRACK, DN_LAYER_DENDRITES_NONE};
    guint pos = gtk_drop_down_get_selected (dd);
    if (pos < G_N_ELEMENTS (choices))
        dn_document_set_layer_dendrites (self->document, (guint) i, choices[pos]);
}

static void on_palette (GtkButton *b, DnNetworkPage *self)
{
    if (self->document == NULL)
        return;
    const char *type = g_object_get_data (G_OBJECT (b), "dn-type");
    gtk_popover_popdown (self->palette_popover);
    int sel = selected_index (self);
    guint pos = dn_document_insert_layer (self->document, sel >= 0 ? sel + 1 : -1, type);
    select_index (self, (int) pos);
}

static GtkWidget *small_button (const char *icon, const char *label, GCallback cb,
                                DnNetworkPage *self)
{
    GtkWidget *b = gtk_button_new_from_icon_name (icon);
    gtk_widget_set_tooltip_text (b, label);
    gtk_accessible_update_property (GTK_ACCESSIBLE (b), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
    gtk_widget_set_valign (b, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class (b, "flat");
    g_signal_connect (b, "clicked", cb, self);
    return b;
}

static GtkWidget *fixed_label (int chars, gboolean dim)
{
    GtkWidget *l = gtk_label_new ("");
    gtk_label_set_width_chars (GTK_LABEL (l), chars);
    gtk_label_set_xalign (GTK_LABEL (l), 1);
    gtk_widget_add_css_class (l, "numeric");
    if (dim)
        gtk_widget_add_css_class (l, "dim-label");
    return l;
}

static LayerRow *build_row (DnNetworkPage *self, guint i)
{
    JsonObject *lo = dn_document_get_layer (self->document, i);
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    DnLayerInfo *l = g_ptr_array_index (info->layers, i);
    LayerRow *r = g_new0 (LayerRow, 1);
    r->name = g_strdup (l->name);
    r->type = g_strdup (l->type);
    r->row = adw_expander_row_new ();
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (r->row), l->name);
    gtk_widget_add_css_class (r->row, "layer-row");

    r->error_icon = GTK_IMAGE (gtk_image_new_from_icon_name ("dialog-warning-symbolic"));
    gtk_widget_add_css_class (GTK_WIDGET (r->error_icon), "error");
    gtk_accessible_update_property (GTK_ACCESSIBLE (r->error_icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _ ("This layer does not fit"), -1);
    adw_expander_row_add_prefix (ADW_EXPANDER_ROW (r->row), GTK_WIDGET (r->error_icon));

    r->output = GTK_LABEL (fixed_label (11, FALSE));
    gtk_widget_set_tooltip_text (GTK_WIDGET (r->output), _ ("Output shape"));
    r->params = GTK_LABEL (fixed_label (10, TRUE));
    gtk_widget_set_tooltip_text (GTK_WIDGET (r->params), _ ("Trainable parameters"));
    const char *choices[] = {_ ("Dendrites"), _ ("Tracked only"), _ ("No dendrites"), NULL};
    r->dendrites = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (choices));
    gtk_widget_set_valign (GTK_WIDGET (r->dendrites), GTK_ALIGN_CENTER);
    g_autofree char *dd_label = g_strdup_printf (_ ("Dendrites for %s"), l->name);
    gtk_accessible_update_property (GTK_ACCESSIBLE (r->dendrites), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    dd_label, -1);
    gtk_widget_set_size_request (GTK_WIDGET (r->dendrites), 128, -1);
    g_signal_connect (r->dendrites, "notify::selected", G_CALLBACK (on_dendrites_selected), self);
    r->no_dendrites = GTK_LABEL (gtk_label_new ("—"));
    gtk_widget_set_size_request (GTK_WIDGET (r->no_dendrites), 128, -1);
    gtk_label_set_xalign (r->no_dendrites, 0);
    gtk_widget_set_margin_start (GTK_WIDGET (r->no_dendrites), 6);
    gtk_widget_add_css_class (GTK_WIDGET (r->no_dendrites), "dim-label");
    /* add_action puts each widget before the ones already there */
    adw_expander_row_add_action (ADW_EXPANDER_ROW (r->row), GTK_WIDGET (r->no_dendrites));
    adw_expander_row_add_action (ADW_EXPANDER_ROW (r->row), GTK_WIDGET (r->dendrites));
    adw_expander_row_add_action (ADW_EXPANDER_ROW (r->row), GTK_WIDGET (r->params));
    adw_expander_row_add_action (ADW_EXPANDER_ROW (r->row), GTK_WIDGET (r->output));

    /* inside: name, settings, position */
    GtkWidget *name = adw_entry_row_new ();
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (name), _ ("Name"));
    adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (name), TRUE);
    gtk_editable_set_text (GTK_EDITABLE (name), l->name);
    g_signal_connect (name, "apply", G_CALLBACK (on_name_apply), self);
    adw_expander_row_add_row (ADW_EXPANDER_ROW (r->row), name);
    const DnLayerKind *kind = dn_layer_catalog_lookup (l->type);
    if (kind != NULL && lo != NULL) {
        self->updating = TRUE;
        for (int k = 0; k < kind->n_settings; k++)
            adw_expander_row_add_row (ADW_EXPANDER_ROW (r->row),
                                      setting_row (self, lo, &kind->settings[k]));
        self->updating = FALSE;
        if (kind->min_inputs > 1) {
            GtkWidget *hint = adw_action_row_new ();
            adw_preferences_row_set_title (ADW_PREFERENCES_ROW (hint), _ ("Inputs"));
            g_autofree char *inputs = NULL;
            JsonNode *in = json_object_get_member (lo, "inputs");
            if (in != NULL && JSON_NODE_HOLDS_ARRAY (in)) {
                JsonArray *a = json_node_get_array (in);
                GString *s = g_string_new (NULL);
                for (guint k = 0; k < json_array_get_length (a); k++)
                    g_string_append_printf (s, "%s%s", k > 0 ? ", " : "",
                                            json_array_get_string_element (a, k));
                inputs = g_string_free (s, FALSE);
            }
            adw_action_row_set_subtitle (
                ADW_ACTION_ROW (hint),
                inputs != NULL ? inputs : _ ("Set “inputs” in the experiment file"));
            adw_expander_row_add_row (ADW_EXPANDER_ROW (r->row), hint);
        }
    } else if (kind == NULL) {
        GtkWidget *hint = adw_action_row_new ();
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (hint),
                                       _ ("The editor does not know this kind of layer; edit its "
                                          "settings in the experiment file"));
        adw_expander_row_add_row (ADW_EXPANDER_ROW (r->row), hint);
    }
    GtkWidget *pos = adw_action_row_new ();
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (pos), _ ("Position"));
    g_autofree char *up = g_strdup_printf (_ ("Move %s up"), l->name);
    g_autofree char *down = g_strdup_printf (_ ("Move %s down"), l->name);
    g_autofree char *rm = g_strdup_printf (_ ("Remove %s"), l->name);
    adw_action_row_add_suffix (ADW_ACTION_ROW (pos),
                               small_button ("go-up-symbolic", up, G_CALLBACK (on_up), self));
    adw_action_row_add_suffix (ADW_ACTION_ROW (pos),
                               small_button ("go-down-symbolic", down, G_CALLBACK (on_down), self));
    GtkWidget *remove = small_button ("user-trash-symbolic", rm, G_CALLBACK (on_remove), self);
    gtk_widget_add_css_class (remove, "error");
    adw_action_row_add_suffix (ADW_ACTION_ROW (pos), remove);
    adw_expander_row_add_row (ADW_EXPANDER_ROW (r->row), pos);
    return r;
}

static gboolean same_structure (DnNetworkPage *self)
{
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    if (info->layers->len != self->rows->len)
        return FALSE;
    for (guint i = 0; i < self->rows->len; i++) {
        LayerRow *r = self->rows->pdata[i];
        DnLayerInfo *l = g_ptr_array_index (info->layers, i);
        if (g_strcmp0 (r->name, l->name) != 0 || g_strcmp0 (r->type, l->type) != 0)
            return FALSE;
    }
    return TRUE;
}

static void rebuild (DnNetworkPage *self)
{
    int sel = selected_index (self);
    g_autofree char *sel_name =
        sel >= 0 ? g_strdup (((LayerRow *) self->rows->pdata[sel])->name) : NULL;
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_list))) != NULL)
        gtk_list_box_remove (self->layer_list, child);
    g_ptr_array_set_size (self->rows, 0);
    if (self->document == NULL)
        return;
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    for (guint i = 0; i < info->layers->len; i++) {
        LayerRow *r = build_row (self, i);
        g_ptr_array_add (self->rows, r);
        gtk_list_box_append (self->layer_list, r->row);
        update_row (self, i);
        if (sel_name != NULL && g_str_equal (sel_name, r->name))
            gtk_list_box_select_row (self->layer_list, GTK_LIST_BOX_ROW (r->row));
    }
}

static void load_input (DnNetworkPage *self)
{
    DnExperiment *exp = dn_document_get_experiment (self->document);
    GString *s = g_string_new (NULL);
    if (exp->network != NULL && JSON_NODE_HOLDS_OBJECT (exp->network)) {
        JsonObject *o = json_node_get_object (exp->network);
        JsonNode *in = json_object_get_member (o, "input");
        if (in != NULL && JSON_NODE_HOLDS_ARRAY (in)) {
            JsonArray *a = json_node_get_array (in);
            for (guint i = 0; i < json_array_get_length (a); i++)
                g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "",
                                        json_array_get_int_element (a, i));
        }
    }
    self->updating = TRUE;
    gtk_editable_set_text (GTK_EDITABLE (self->input_row), s->str);
    self->updating = FALSE;
    g_string_free (s, TRUE);
}

static void on_input_apply (AdwEntryRow *row, DnNetworkPage *self)
{
    if (self->document == NULL)
        return;
    g_auto (GStrv) parts = g_strsplit_set (gtk_editable_get_text (GTK_EDITABLE (row)), ",×x ", -1);
    JsonArray *a = json_array_new ();
    gboolean ok = TRUE;
    for (int i = 0; parts[i] != NULL && ok; i++) {
        if (*parts[i] == '\0')
            continue;
        char *end;
        gint64 v = g_ascii_strtoll (parts[i], &end, 10);
        ok = *end == '\0' && v >= 1 && v <= 16777216;
        json_array_add_int_element (a, v);
    }
    if (!ok || json_array_get_length (a) < 1 || json_array_get_length (a) > 4) {
        json_array_unref (a);
        gtk_widget_add_css_class (GTK_WIDGET (row), "error");
        return;
    }
    gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
    DnExperiment *exp = dn_document_get_experiment (self->document);
    json_object_set_array_member (json_node_get_object (exp->network), "input", a);
    dn_document_changed (self->document, DN_CHANGE_NETWORK);
}

static void on_document_changed (DnDocument *doc, guint what, DnNetworkPage *self)
{
    if (!(what & (DN_CHANGE_NETWORK | DN_CHANGE_DENDRITES)))
        return;
    if (same_structure (self)) {
        for (guint i = 0; i < self->rows->len; i++)
            update_row (self, i);
    } else {
        rebuild (self);
    }
    load_input (self);
    update_footer (self);
}

void dn_network_page_set_document (DnNetworkPage *self, DnDocument *doc)
{
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_set_object (&self->document, doc);
    g_ptr_array_set_size (self->rows, 0);
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_list))) != NULL)
        gtk_list_box_remove (self->layer_list, child);
    if (doc == NULL)
        return;
    g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
    rebuild (self);
    load_input (self);
    update_footer (self);
}

guint dn_network_page_n_rows (DnNetworkPage *self)
{
    return self->rows->len;
}

char *dn_network_page_describe_row (DnNetworkPage *self, guint i)
{
    g_return_val_if_fail (i < self->rows->len, NULL);
    LayerRow *r = self->rows->pdata[i];
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    DnLayerInfo *l = g_ptr_array_index (info->layers, i);
    const char *dd = gtk_widget_get_visible (GTK_WIDGET (r->dendrites))
                         ? gtk_string_object_get_string (
                               GTK_STRING_OBJECT (gtk_drop_down_get_selected_item (r->dendrites)))
                         : "—";
    return g_strdup_printf ("%s|%s|%s|%s|%s|%s|%s",
                            adw_preferences_row_get_title (ADW_PREFERENCES_ROW (r->row)),
                            kind_title (l->type), l->settings != NULL ? l->settings : "",
                            gtk_label_get_label (r->output), gtk_label_get_label (r->params), dd,
                            l->error != NULL ? l->error : "");
}

/* ---- keyboard: Alt+Up/Down moves, Delete removes ---- */

static gboolean on_key (GtkEventControllerKey *c, guint keyval, guint code, GdkModifierType state,
                        DnNetworkPage *self)
{
    int i = selected_index (self);
    if (i < 0 || self->document == NULL)
        return FALSE;
    /* not while typing in a settings field */
    GtkWidget *focus = gtk_root_get_focus (gtk_widget_get_root (GTK_WIDGET (self)));
    if (focus != NULL && GTK_IS_EDITABLE (focus))
        return FALSE;
    if ((state & GDK_ALT_MASK) && (keyval == GDK_KEY_Up || keyval == GDK_KEY_Down)) {
        move_by (self, i, keyval == GDK_KEY_Up ? -1 : 1);
        return TRUE;
    }
    if (keyval == GDK_KEY_Delete && !(state & GDK_ALT_MASK)) {
        dn_document_remove_layer (self->document, (guint) i);
        select_index (self, MIN (i, (int) self->rows->len - 1));
        return TRUE;
    }
    return FALSE;
}

static void build_palette (DnNetworkPage *self)
{
    int n;
    const DnLayerKind *kinds = dn_layer_catalog (&n);
    for (int i = 0; i < n; i++) {
        GtkWidget *b = gtk_button_new_with_label (kinds[i].title);
        gtk_widget_add_css_class (b, "flat");
        gtk_label_set_xalign (GTK_LABEL (gtk_button_get_child (GTK_BUTTON (b))), 0);
        g_object_set_data (G_OBJECT (b), "dn-type", (gpointer) kinds[i].type);
        gtk_widget_set_tooltip_text (b, _ (kinds[i].summary));
        g_autofree char *label = g_strdup_printf (_ ("Add %s layer"), kinds[i].title);
        gtk_accessible_update_property (GTK_ACCESSIBLE (b), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                        GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, _ (kinds[i].summary),
                                        -1);
        g_signal_connect (b, "clicked", G_CALLBACK (on_palette), self);
        gtk_box_append (self->palette_box, b);
    }
}

static void build_template_menu (DnNetworkPage *self)
{
    g_autoptr (GPtrArray) templates = dn_templates_list ();
    g_autoptr (GMenu) menu = g_menu_new ();
    for (guint i = 0; i < templates->len; i++) {
        DnTemplate *t = templates->pdata[i];
        g_autoptr (GMenuItem) item = g_menu_item_new (t->title, NULL);
        g_menu_item_set_action_and_target_value (item, "win.new-from-template",
                                                 g_variant_new_string (t->path));
        g_menu_append_item (menu, item);
    }
    gtk_menu_button_set_menu_model (self->template_button, G_MENU_MODEL (menu));
}

static void dn_network_page_dispose (GObject *object)
{
    DnNetworkPage *self = DN_NETWORK_PAGE (object);
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_clear_object (&self->document);
    gtk_widget_dispose_template (GTK_WIDGET (self), DN_TYPE_NETWORK_PAGE);
    G_OBJECT_CLASS (dn_network_page_parent_class)->dispose (object);
}

static void dn_network_page_finalize (GObject *object)
{
    DnNetworkPage *self = DN_NETWORK_PAGE (object);
    g_ptr_array_unref (self->rows);
    G_OBJECT_CLASS (dn_network_page_parent_class)->finalize (object);
}

static void dn_network_page_class_init (DnNetworkPageClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    G_OBJECT_CLASS (klass)->dispose = dn_network_page_dispose;
    G_OBJECT_CLASS (klass)->finalize = dn_network_page_finalize;
    gtk_widget_class_set_template_from_resource (widget_class,
                                                 "/org/dendrite/Studio/dn-network-page.ui");
    gtk_widget_class_bind_template_child (widget_class, DnNetworkPage, template_button);
    gtk_widget_class_bind_template_child (widget_class, DnNetworkPage, input_row);
    gtk_widget_class_bind_template_child (widget_class, DnNetworkPage, layer_list);
    gtk_widget_class_bind_template_child (widget_class, DnNetworkPage, footer_label);
    gtk_widget_class_bind_template_child (widget_class, DnNetworkPage, error_label);
    gtk_widget_class_bind_template_child (widget_class, DnNetworkPage, warning_label);
    gtk_widget_class_bind_template_child (widget_class, DnNetworkPage, palette_box);
    gtk_widget_class_bind_template_child (widget_class, DnNetworkPage, palette_popover);
}

static void dn_network_page_init (DnNetworkPage *self)
{
    gtk_widget_init_template (GTK_WIDGET (self));
    self->rows = g_ptr_array_new_with_free_func (layer_row_free);
    build_palette (self);
    build_template_menu (self);
    g_signal_connect (self->input_row, "apply", G_CALLBACK (on_input_apply), self);
    GtkEventController *keys = gtk_event_controller_key_new ();
    g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key), self);
    gtk_widget_add_controller (GTK_WIDGET (self->layer_list), keys);
}
