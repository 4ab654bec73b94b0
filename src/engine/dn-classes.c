/* dn-classes.c: a model's class list as text, the model metadata
 * `dendrite_classes` (docs/model-format.md), so that evaluating a model reads
 * another file's labels through the classes it was trained on. */
#include "dn-data.h"
#include "dn-error.h"
#include "dn-json.h"

#include <string.h>

static const char *const kind_names[] = {"index", "value", "name"};

char *dn_class_list_to_json (const DnClassList *c, const char *label_column)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "labels");
    json_builder_add_string_value (b, kind_names[CLAMP ((int) c->kind, 0, 2)]);
    json_builder_set_member_name (b, "count");
    json_builder_add_int_value (b, c->n_classes);
    json_builder_set_member_name (b, "names");
    if (c->names != NULL) {
        json_builder_begin_array (b);
        for (int k = 0; k < c->n_classes && c->names[k] != NULL; k++)
            json_builder_add_string_value (b, c->names[k]);
        json_builder_end_array (b);
    } else {
        json_builder_add_null_value (b);
    }
    if (label_column != NULL) {
        json_builder_set_member_name (b, "column");
        json_builder_add_string_value (b, label_column);
    }
    json_builder_end_object (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    return dn_json_to_string (root, FALSE);
}

void dn_class_list_clear (DnClassList *c)
{
    g_clear_pointer (&c->names, g_strfreev);
    c->n_classes = 0;
    c->kind = DN_LABELS_INDEX;
}

static gboolean bad (GError **error, const char *why)
{
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "the model's class list (metadata \"dendrite_classes\") %s; the file is "
                 "damaged: train the model again",
                 why);
    return FALSE;
}

gboolean dn_class_list_from_json (const char *text, DnClassList *out, char **label_column,
                                  GError **error)
{
    memset (out, 0, sizeof *out);
    if (label_column != NULL)
        *label_column = NULL;
    g_autoptr (GError) local = NULL;
    g_autoptr (JsonNode) root = dn_json_parse (text, -1, "the model's class list", &local);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return bad (error, "is not a JSON object");
    JsonObject *o = json_node_get_object (root);
    const char *kind = json_object_get_string_member_with_default (o, "labels", "");
    gint64 count = json_object_get_int_member_with_default (o, "count", -1);
    int k;
    for (k = 0; k < 3 && !g_str_equal (kind, kind_names[k]); k++)
        ;
    if (k == 3)
        return bad (error, "gives no \"labels\" kind (index, value or name)");
    if (count < 1 || count > G_MAXINT)
        return bad (error, "gives no class count");
    out->kind = (DnLabelKind) k;
    out->n_classes = (int) count;
    JsonNode *names = json_object_get_member (o, "names");
    if (names != NULL && JSON_NODE_HOLDS_ARRAY (names)) {
        JsonArray *a = json_node_get_array (names);
        if (json_array_get_length (a) != (guint) count)
            return bad (error, "names a different number of classes than its count");
        out->names = g_new0 (char *, count + 1);
        for (guint i = 0; i < (guint) count; i++) {
            JsonNode *e = json_array_get_element (a, i);
            if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING) {
                dn_class_list_clear (out);
                return bad (error, "holds a class name that is not a string");
            }
            out->names[i] = g_strdup (json_node_get_string (e));
        }
    } else if (out->kind != DN_LABELS_INDEX) {
        return bad (error, "has no class names");
    }
    const char *col = json_object_get_string_member_with_default (o, "column", NULL);
    if (label_column != NULL && col != NULL)
        *label_column = g_strdup (col);
    return TRUE;
}
