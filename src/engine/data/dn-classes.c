/* dn-classes.c: class lists: how a CSV file's labels become class numbers
 * (its own numbering, or through the training data's list), and the list as
 * text, the model metadata `dendrite_classes` (docs/model-format.md), so that
 * evaluating a model reads another file's labels through the classes it was
 * trained on. */
#include "dn-csv-private.h"
#include "dn-error.h"
#include "dn-json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* A short list of the classes for messages: "a, b, c" or "0 to 9". */
static char *classes_desc (const DnClassList *c)
{
    if (c->names == NULL)
        return g_strdup_printf ("0 to %d", c->n_classes - 1);
    GString *s = g_string_new (NULL);
    for (int k = 0; k < c->n_classes && c->names[k] != NULL; k++) {
        if (k == 8 && c->n_classes > 9) {
            g_string_append_printf (s, ", … (%d in all)", c->n_classes);
            break;
        }
        g_string_append_printf (s, "%s'%s'", k ? ", " : "", c->names[k]);
    }
    return g_string_free (s, FALSE);
}

/* Class number of each distinct label text through the training data's classes;
 * a text they do not hold is an error naming the line where it first appears. */
static gboolean map_through (CsvLoad *L, const DnClassList *cls, char delim, int32_t *cls_of,
                             GError **error)
{
    g_autofree double *values = NULL;
    g_autoptr (GHashTable) by_name = NULL;
    int n_values = 0;
    if (cls->kind == DN_LABELS_VALUE && cls->names != NULL) {
        values = g_new (double, MAX (cls->n_classes, 1));
        for (int k = 0; k < cls->n_classes && cls->names[k] != NULL; k++) {
            g_autofree char *t = g_strdup (cls->names[k]);
            if (_dn_csv_parse_number (t, '.', &values[n_values]))
                n_values++;
        }
    } else if (cls->kind == DN_LABELS_NAME && cls->names != NULL) {
        by_name = g_hash_table_new (g_str_hash, g_str_equal);
        for (int k = 0; k < cls->n_classes && cls->names[k] != NULL; k++)
            g_hash_table_insert (by_name, cls->names[k], GINT_TO_POINTER (k + 1));
    }
    for (guint i = 0; i < L->texts->len; i++) {
        char *text = g_ptr_array_index (L->texts, i);
        int k = -1;
        double v;
        if (cls->kind == DN_LABELS_INDEX) {
            g_autofree char *t = g_strdup (text);
            if (_dn_csv_parse_number (t, delim, &v) && v == floor (v) && v >= 0 &&
                v < cls->n_classes)
                k = (int) v;
        } else if (cls->kind == DN_LABELS_VALUE) {
            g_autofree char *t = g_strdup (text);
            for (int j = 0; j < n_values && _dn_csv_parse_number (t, delim, &v); j++)
                if (values[j] == v)
                    k = j;
        } else if (by_name != NULL) {
            k = GPOINTER_TO_INT (g_hash_table_lookup (by_name, text)) - 1;
        }
        if (k < 0) {
            g_autofree char *col = _dn_csv_column_desc (L, L->label_col);
            g_autofree char *list = classes_desc (cls);
            g_autofree char *shown = g_utf8_make_valid (text, MIN (strlen (text), 40));
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "'%s' line %d, %s: the label '%s' is not one of the %d classes of the "
                         "training data (%s); correct the label, or train on data that has this "
                         "class",
                         L->name, g_array_index (L->first_line, int, i), col, shown, cls->n_classes,
                         list);
            return FALSE;
        }
        cls_of[i] = k;
    }
    return TRUE;
}

/* Numbers this file's own classes: integers 0..K-1 as they are, other numbers in
 * sorted order, names in order of first appearance. */
static void number_classes (CsvLoad *L, char delim, DnDataset *d, int32_t *cls_of)
{
    guint n = L->texts->len;
    g_autofree double *val = g_new (double, MAX (n, 1));
    gboolean numeric = TRUE;
    for (guint i = 0; i < n && numeric; i++) {
        g_autofree char *t = g_strdup (g_ptr_array_index (L->texts, i));
        numeric = _dn_csv_parse_number (t, delim, &val[i]);
    }
    if (!numeric) {
        d->label_kind = DN_LABELS_NAME;
        d->n_classes = (int) n;
        d->class_names = g_new0 (char *, n + 1);
        for (guint i = 0; i < n; i++) {
            d->class_names[i] = g_strdup (g_ptr_array_index (L->texts, i));
            cls_of[i] = (int32_t) i;
        }
        return;
    }
    double lo = INFINITY, hi = -INFINITY;
    gboolean integers = TRUE;
    for (guint i = 0; i < n; i++) {
        lo = MIN (lo, val[i]);
        hi = MAX (hi, val[i]);
        integers = integers && val[i] == floor (val[i]);
    }
    guint n_sk = L->sk_classes ? g_strv_length (L->sk_classes) : 0;
    if (n > 0 && integers && lo >= 0 && n_sk > 0 && hi < n_sk) {
        for (guint i = 0; i < n; i++)
            cls_of[i] = (int32_t) val[i];
        d->label_kind = DN_LABELS_INDEX;
        d->n_classes = (int) n_sk;
        d->class_names = g_strdupv (L->sk_classes);
        return;
    }
    if (n > 0 && integers && lo == 0 && hi < CSV_MAX_CLASSES) {
        for (guint i = 0; i < n; i++)
            cls_of[i] = (int32_t) val[i];
        d->label_kind = DN_LABELS_INDEX;
        d->n_classes = (int) hi + 1;
        return;
    }
    g_autofree double *sorted = g_memdup2 (val, sizeof (double) * MAX (n, 1));
    qsort (sorted, n, sizeof (double), cmp_double);
    guint k = 0;
    for (guint i = 0; i < n; i++)
        if (k == 0 || sorted[i] != sorted[k - 1])
            sorted[k++] = sorted[i];
    for (guint i = 0; i < n; i++) {
        const double *hit = bsearch (&val[i], sorted, k, sizeof (double), cmp_double);
        cls_of[i] = (int32_t) (hit - sorted);
    }
    d->label_kind = DN_LABELS_VALUE;
    d->n_classes = (int) k;
    d->class_names = g_new0 (char *, k + 1);
    /* the shortest text that reads back as the same number, so other files map exactly */
    for (guint j = 0; j < k; j++) {
        char text[G_ASCII_DTOSTR_BUF_SIZE];
        d->class_names[j] = g_strdup (g_ascii_dtostr (text, sizeof text, sorted[j]));
    }
}

/* Turns the rows' label texts into class indices; sets the dataset's classes. */
gboolean _dn_csv_map_labels (CsvLoad *L, char delim, const DnClassList *cls, DnDataset *d,
                             GError **error)
{
    g_autofree int32_t *cls_of = g_new (int32_t, MAX (L->texts->len, 1));
    if (cls != NULL) {
        if (!map_through (L, cls, delim, cls_of, error))
            return FALSE;
        d->label_kind = cls->kind;
        d->n_classes = cls->n_classes;
        d->class_names = g_strdupv (cls->names);
    } else {
        number_classes (L, delim, d, cls_of);
    }
    for (gsize i = 0; i < L->n_rows; i++)
        L->row_label[i] = cls_of[L->row_label[i]];
    return TRUE;
}

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
