/* dn-document.c: the experiment being edited, its file and its network analysis. */
#include "dn-document.h"

#include "dn-error.h"
#include "dn-json.h"
#include "dn-layer-catalog.h"
#include "dn-model.h"

#include <glib/gi18n.h>
#include <string.h>

struct _DnDocument {
    GObject parent_instance;
    DnExperiment *exp;
    GFile *file;
    gboolean modified;
    DnNetworkInfo *info;
    char *model_path; /* opened from a model: its weights start the runs */
};

G_DEFINE_FINAL_TYPE (DnDocument, dn_document, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void dn_document_finalize (GObject *object)
{
    DnDocument *self = DN_DOCUMENT (object);
    dn_experiment_free (self->exp);
    g_clear_object (&self->file);
    dn_network_info_free (self->info);
    g_free (self->model_path);
    G_OBJECT_CLASS (dn_document_parent_class)->finalize (object);
}

static void dn_document_class_init (DnDocumentClass *klass)
{
    G_OBJECT_CLASS (klass)->finalize = dn_document_finalize;
    /* changed (DnChange what) */
    signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                            0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void dn_document_init (DnDocument *self)
{
}

static void update_info (DnDocument *self)
{
    dn_network_info_free (self->info);
    self->info = dn_network_info_new (self->exp->network,
                                      self->exp->dendrites ? &self->exp->selection : NULL);
}

/* Layers without a name get the one the engine would give them, so every
 * row of the editor has a stable name the dendrite lists can refer to. */
static void name_layers (DnExperiment *exp)
{
    if (exp->network == NULL || !JSON_NODE_HOLDS_OBJECT (exp->network))
        return;
    JsonObject *o = json_node_get_object (exp->network);
    if (!json_object_has_member (o, "layers") ||
        !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "layers")))
        return;
    JsonArray *layers = json_object_get_array_member (o, "layers");
    g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
    for (guint i = 0; i < json_array_get_length (layers); i++) {
        JsonNode *e = json_array_get_element (layers, i);
        if (JSON_NODE_HOLDS_OBJECT (e) && json_object_has_member (json_node_get_object (e), "name"))
            g_hash_table_add (
                used, (gpointer) json_object_get_string_member (json_node_get_object (e), "name"));
    }
    for (guint i = 0; i < json_array_get_length (layers); i++) {
        JsonNode *e = json_array_get_element (layers, i);
        if (!JSON_NODE_HOLDS_OBJECT (e))
            continue;
        JsonObject *lo = json_node_get_object (e);
        if (json_object_has_member (lo, "name") || !json_object_has_member (lo, "type"))
            continue;
        const char *type = json_object_get_string_member (lo, "type");
        if (type == NULL)
            continue;
        int count = GPOINTER_TO_INT (g_hash_table_lookup (counts, type)) + 1;
        g_hash_table_replace (counts, g_ascii_strdown (type, -1), GINT_TO_POINTER (count));
        char *name = g_strdup_printf ("%s%d", type, count);
        while (g_hash_table_contains (used, name)) {
            g_free (name);
            name = g_strdup_printf ("%s%d_%u", type, count, i + 1);
        }
        json_object_set_string_member (lo, "name", name);
        g_hash_table_add (used, (gpointer) json_object_get_string_member (lo, "name"));
        g_free (name);
    }
}

DnDocument *dn_document_new (DnExperiment *exp, GFile *file)
{
    g_return_val_if_fail (exp != NULL, NULL);
    DnDocument *self = g_object_new (DN_TYPE_DOCUMENT, NULL);
    self->exp = exp;
    self->file = file != NULL ? g_object_ref (file) : NULL;
    name_layers (exp);
    update_info (self);
    return self;
}

static gboolean is_model_file (const char *path)
{
    /* safetensors: an 8-byte little-endian length, then '{'; JSON starts with '{' */
    g_autoptr (GFile) f = g_file_new_for_path (path);
    g_autoptr (GFileInputStream) in = g_file_read (f, NULL, NULL);
    guint8 head[9] = {0};
    gsize got = 0;
    if (in == NULL ||
        !g_input_stream_read_all (G_INPUT_STREAM (in), head, sizeof head, &got, NULL, NULL))
        return g_str_has_suffix (path, ".safetensors");
    return got == sizeof head && head[8] == '{' && head[0] != '{';
}

/* A dendritic node of a saved model back into the layers it wraps: the first
 * keeps the node's name; the selection asks for dendrites on it again. */
static void unwrap_dendritic (DnExperiment *exp, JsonArray *in, JsonArray *out)
{
    for (guint i = 0; i < json_array_get_length (in); i++) {
        JsonObject *lo = json_array_get_object_element (in, i);
        const char *type = json_object_get_string_member_with_default (lo, "type", "");
        if (!g_str_equal (type, "dendritic") || !json_object_has_member (lo, "layers")) {
            json_array_add_object_element (out, json_object_ref (lo));
            continue;
        }
        const char *name = json_object_get_string_member (lo, "name");
        JsonArray *inner = json_object_get_array_member (lo, "layers");
        guint n = json_array_get_length (inner);
        char **group = g_new0 (char *, n + 1);
        for (guint k = 0; k < n; k++) {
            JsonObject *src = json_array_get_object_element (inner, k);
            JsonObject *c = json_object_new ();
            g_autofree char *lname =
                k == 0 ? g_strdup (name)
                       : g_strdup_printf (
                             "%s_%s", name,
                             json_object_get_string_member_with_default (src, "type", "layer"));
            json_object_set_string_member (c, "name", lname);
            if (k == 0 && json_object_has_member (lo, "inputs"))
                json_object_set_member (c, "inputs",
                                        json_node_copy (json_object_get_member (lo, "inputs")));
            GList *members = json_object_get_members (src);
            for (GList *m = members; m != NULL; m = m->next)
                if (!g_str_equal (m->data, "name"))
                    json_object_set_member (c, m->data,
                                            json_node_copy (json_object_get_member (src, m->data)));
            g_list_free (members);
            json_array_add_object_element (out, c);
            group[k] = g_strdup (lname);
        }
        dn_layer_dendrites_set (&exp->selection, name,
                                json_object_get_string_member_with_default (
                                    json_array_get_object_element (inner, 0), "type", ""),
                                DN_LAYER_DENDRITES_PERFORATE);
        if (n > 1) {
            int g = 0;
            while (exp->selection.groups[g] != NULL)
                g++;
            exp->selection.groups = g_renew (char **, exp->selection.groups, g + 2);
            exp->selection.groups[g] = group;
            exp->selection.groups[g + 1] = NULL;
        } else {
            g_strfreev (group);
        }
        if (json_object_has_member (lo, "forward_function"))
            dn_dendrite_act_from_name (json_object_get_string_member (lo, "forward_function"),
                                       &exp->selection.forward_function);
        if (json_object_has_member (lo, "init_multiplier"))
            exp->selection.init_multiplier = json_object_get_double_member (lo, "init_multiplier");
        exp->dendrites = TRUE;
    }
}

/* The experiment is named after the file, and its runs go to a folder of that
 * name: the name is checked as a run folder's name before the file is read. */
static char *name_from_path (const char *path, GError **error)
{
    g_autofree char *base = g_path_get_basename (path);
    char *dot = strrchr (base, '.');
    if (dot != NULL)
        *dot = '\0';
    /* untranslated, as the engine's message it starts is */
    if (!dn_check_name (base, TRUE, "The imported experiment's name (the model file's name)",
                        error))
        return NULL;
    return g_steal_pointer (&base);
}

DnExperiment *dn_experiment_from_model (const char *path, GError **error)
{
    g_autofree char *name = name_from_path (path, error);
    if (name == NULL)
        return NULL;
    /* The engine's own loader, as `dendrite eval` uses it: the network description,
     * every metadata member, each tensor's shape and finiteness are checked, one
     * tensor converted at a time. The weights stay in the file: a run starts from them
     * (dn_document_get_model). */
    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (path, dn_backend_cpu (), &meta, error);
    if (net == NULL)
        return NULL;
    DnNormalize norm;
    gboolean has_norm = FALSE;
    if (!dn_model_normalize (meta, net, path, &norm, &has_norm, error))
        return NULL;

    g_autoptr (DnExperiment) exp = dn_experiment_new_default ();
    /* The network as the engine built it: every layer named, every setting given. */
    g_autoptr (JsonNode) built = dn_network_to_json (net);
    JsonObject *src = json_node_get_object (built);
    JsonObject *desc = json_object_new ();
    json_object_set_member (desc, "input", json_node_copy (json_object_get_member (src, "input")));
    JsonArray *layers = json_array_new ();
    unwrap_dendritic (exp, json_object_get_array_member (src, "layers"), layers);
    json_object_set_array_member (desc, "layers", layers);
    exp->network = json_node_new (JSON_NODE_OBJECT);
    json_node_take_object (exp->network, desc);

    if (has_norm) {
        exp->normalize_from_data = FALSE;
        exp->normalize = norm;
    }
    g_free (exp->name);
    exp->name = g_strdup (name);
    g_free (exp->description);
    exp->description = g_strdup_printf (_ ("The network of the model %s"), name);
    return g_steal_pointer (&exp);
}

DnDocument *dn_document_new_from_file (GFile *file, GError **error)
{
    g_autofree char *path = g_file_get_path (file);
    if (path == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, _ ("Only local files can be opened"));
        return NULL;
    }
    if (is_model_file (path)) {
        DnExperiment *exp = dn_experiment_from_model (path, error);
        if (exp == NULL)
            return NULL;
        DnDocument *doc = dn_document_new (exp, NULL);
        doc->modified = TRUE;
        doc->model_path = g_steal_pointer (&path);
        return doc;
    }
    DnExperiment *exp = dn_experiment_load (path, error);
    if (exp == NULL)
        return NULL;
    return dn_document_new (exp, file);
}

const char *dn_document_get_model (DnDocument *doc)
{
    return doc->model_path;
}

DnExperiment *dn_document_get_experiment (DnDocument *doc)
{
    return doc->exp;
}

DnExperiment *dn_document_copy_experiment (DnDocument *doc)
{
    g_autoptr (JsonNode) root = dn_experiment_to_json (doc->exp);
    DnExperiment *copy = dn_experiment_from_json (root, doc->exp->base_dir, doc->exp->name, NULL);
    g_assert (copy != NULL); /* it was valid when it was made */
    return copy;
}

GFile *dn_document_get_file (DnDocument *doc)
{
    return doc->file;
}

gboolean dn_document_get_modified (DnDocument *doc)
{
    return doc->modified;
}

const DnNetworkInfo *dn_document_get_network_info (DnDocument *doc)
{
    return doc->info;
}

void dn_document_changed (DnDocument *doc, DnChange what)
{
    if (what & (DN_CHANGE_NETWORK | DN_CHANGE_DENDRITES))
        update_info (doc);
    if (what != DN_CHANGE_FILE)
        doc->modified = TRUE;
    g_signal_emit (doc, signals[SIGNAL_CHANGED], 0, (guint) what);
}

gboolean dn_document_save (DnDocument *doc, GFile *file, GError **error)
{
    g_autofree char *path = g_file_get_path (file);
    if (path == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, _ ("Only local files can be saved"));
        return FALSE;
    }
    if (!dn_experiment_save (doc->exp, path, error))
        return FALSE;
    if (doc->file == NULL || !g_file_equal (doc->file, file)) {
        g_set_object (&doc->file, file);
        g_free (doc->exp->base_dir);
        doc->exp->base_dir = g_path_get_dirname (path);
    }
    doc->modified = FALSE;
    g_signal_emit (doc, signals[SIGNAL_CHANGED], 0, (guint) DN_CHANGE_FILE);
    return TRUE;
}

/* ---- network edits ---- */

JsonArray *dn_document_get_layers (DnDocument *doc)
{
    if (doc->exp->network == NULL || !JSON_NODE_HOLDS_OBJECT (doc->exp->network))
        return NULL;
    JsonObject *o = json_node_get_object (doc->exp->network);
    if (!json_object_has_member (o, "layers"))
        json_object_set_array_member (o, "layers", json_array_new ());
    JsonNode *n = json_object_get_member (o, "layers");
    return JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

guint dn_document_n_layers (DnDocument *doc)
{
    JsonArray *a = dn_document_get_layers (doc);
    return a != NULL ? json_array_get_length (a) : 0;
}

JsonObject *dn_document_get_layer (DnDocument *doc, guint i)
{
    JsonArray *a = dn_document_get_layers (doc);
    if (a == NULL || i >= json_array_get_length (a))
        return NULL;
    JsonNode *e = json_array_get_element (a, i);
    return JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
}

static gboolean name_taken (JsonArray *a, const char *name, int except)
{
    for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonNode *e = json_array_get_element (a, i);
        if ((int) i != except && JSON_NODE_HOLDS_OBJECT (e) &&
            g_strcmp0 (
                json_object_get_string_member_with_default (json_node_get_object (e), "name", NULL),
                name) == 0)
            return TRUE;
    }
    return FALSE;
}

/* Rebuilds the array with `node` at `pos` (json-glib has no insert). */
static void array_insert (JsonArray *a, guint pos, JsonNode *node)
{
    GList *items = json_array_get_elements (a);
    GPtrArray *keep = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
    for (GList *l = items; l != NULL; l = l->next)
        g_ptr_array_add (keep, json_node_ref (l->data));
    g_list_free (items);
    while (json_array_get_length (a) > 0)
        json_array_remove_element (a, json_array_get_length (a) - 1);
    for (guint i = 0; i <= keep->len; i++) {
        if (i == pos)
            json_array_add_element (a, node);
        if (i < keep->len)
            json_array_add_element (a, json_node_ref (keep->pdata[i]));
    }
    g_ptr_array_unref (keep);
}

guint dn_document_insert_layer (DnDocument *doc, int position, const char *type)
{
    if (doc->exp->network == NULL) {
        JsonObject *o = json_object_new ();
        JsonArray *input = json_array_new ();
        json_array_add_int_element (input, 1);
        json_array_add_int_element (input, 28);
        json_array_add_int_element (input, 28);
        json_object_set_array_member (o, "input", input);
        doc->exp->network = json_node_new (JSON_NODE_OBJECT);
        json_node_take_object (doc->exp->network, o);
    }
    JsonArray *a = dn_document_get_layers (doc);
    const DnLayerKind *kind = dn_layer_catalog_lookup (type);
    JsonObject *lo = NULL;
    if (kind != NULL) {
        g_autoptr (JsonParser) p = json_parser_new ();
        if (json_parser_load_from_data (p, kind->initial, -1, NULL))
            lo = json_object_ref (json_node_get_object (json_parser_get_root (p)));
    }
    if (lo == NULL)
        lo = json_object_new ();
    char *name = NULL;
    for (int k = 1; name == NULL || name_taken (a, name, -1); k++) {
        g_free (name);
        name = g_strdup_printf ("%s%d", type, k);
    }
    /* name and type first, as people write them */
    JsonObject *obj = json_object_new ();
    json_object_set_string_member (obj, "name", name);
    json_object_set_string_member (obj, "type", type);
    GList *members = json_object_get_members (lo);
    for (GList *m = members; m != NULL; m = m->next)
        json_object_set_member (obj, m->data,
                                json_node_copy (json_object_get_member (lo, m->data)));
    g_list_free (members);
    json_object_unref (lo);
    g_free (name);
    guint n = json_array_get_length (a);
    guint pos = position < 0 || (guint) position > n ? n : (guint) position;
    JsonNode *node = json_node_new (JSON_NODE_OBJECT);
    json_node_take_object (node, obj);
    array_insert (a, pos, node);
    dn_document_changed (doc, DN_CHANGE_NETWORK);
    return pos;
}

void dn_document_remove_layer (DnDocument *doc, guint i)
{
    JsonArray *a = dn_document_get_layers (doc);
    if (a == NULL || i >= json_array_get_length (a))
        return;
    JsonObject *lo = dn_document_get_layer (doc, i);
    if (lo != NULL && json_object_has_member (lo, "name"))
        dn_dendrite_selection_forget (&doc->exp->selection,
                                      json_object_get_string_member (lo, "name"));
    json_array_remove_element (a, i);
    dn_document_changed (doc, DN_CHANGE_NETWORK);
}

void dn_document_move_layer (DnDocument *doc, guint from, guint to)
{
    JsonArray *a = dn_document_get_layers (doc);
    if (a == NULL || from >= json_array_get_length (a) || to >= json_array_get_length (a) ||
        from == to)
        return;
    JsonNode *node = json_node_ref (json_array_get_element (a, from));
    json_array_remove_element (a, from);
    array_insert (a, to, node);
    dn_document_changed (doc, DN_CHANGE_NETWORK);
}

gboolean dn_document_rename_layer (DnDocument *doc, guint i, const char *name, GError **error)
{
    JsonArray *a = dn_document_get_layers (doc);
    JsonObject *lo = dn_document_get_layer (doc, i);
    if (lo == NULL)
        return FALSE;
    if (name == NULL || *name == '\0' || strchr (name, '.') != NULL ||
        g_str_equal (name, "input")) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     _ ("A layer name must not be empty, contain a dot or be “input”"));
        return FALSE;
    }
    if (name_taken (a, name, (int) i)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, _ ("Another layer is already called “%s”"),
                     name);
        return FALSE;
    }
    g_autofree char *old = g_strdup (json_object_get_string_member_with_default (lo, "name", ""));
    if (g_str_equal (old, name))
        return TRUE;
    json_object_set_string_member (lo, "name", name);
    dn_dendrite_selection_rename (&doc->exp->selection, old, name);
    /* layers that read the old name read the new one */
    for (guint k = 0; k < json_array_get_length (a); k++) {
        JsonObject *o = dn_document_get_layer (doc, k);
        if (o == NULL || !json_object_has_member (o, "inputs"))
            continue;
        JsonNode *in = json_object_get_member (o, "inputs");
        if (JSON_NODE_HOLDS_VALUE (in) && g_strcmp0 (json_node_get_string (in), old) == 0) {
            json_object_set_string_member (o, "inputs", name);
        } else if (JSON_NODE_HOLDS_ARRAY (in)) {
            JsonArray *ia = json_node_get_array (in);
            JsonArray *na = json_array_new ();
            for (guint j = 0; j < json_array_get_length (ia); j++) {
                const char *s = json_array_get_string_element (ia, j);
                json_array_add_string_element (na, g_strcmp0 (s, old) == 0 ? name : s);
            }
            json_object_set_array_member (o, "inputs", na);
        }
    }
    dn_document_changed (doc, DN_CHANGE_NETWORK);
    return TRUE;
}

void dn_document_set_layer_setting (DnDocument *doc, guint i, const char *key, JsonNode *value)
{
    JsonObject *lo = dn_document_get_layer (doc, i);
    if (lo == NULL) {
        if (value != NULL)
            json_node_unref (value);
        return;
    }
    if (value == NULL)
        json_object_remove_member (lo, key);
    else
        json_object_set_member (lo, key, value);
    dn_document_changed (doc, DN_CHANGE_NETWORK);
}

void dn_document_set_layer_dendrites (DnDocument *doc, guint i, DnLayerDendrites choice)
{
    JsonObject *lo = dn_document_get_layer (doc, i);
    if (lo == NULL)
        return;
    dn_layer_dendrites_set (&doc->exp->selection,
                            json_object_get_string_member_with_default (lo, "name", ""),
                            json_object_get_string_member_with_default (lo, "type", ""), choice);
    dn_document_changed (doc, DN_CHANGE_DENDRITES);
}

void dn_document_set_network (DnDocument *doc, JsonNode *network)
{
    if (doc->exp->network != NULL)
        json_node_unref (doc->exp->network);
    doc->exp->network = network;
    name_layers (doc->exp);
    dn_document_changed (doc, DN_CHANGE_NETWORK);
}
