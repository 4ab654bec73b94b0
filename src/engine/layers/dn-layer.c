#include "dn-layer.h"
#include "dn-error.h"
#include "dn-json.h"
#include "dn-layer-private.h"

#include <math.h>
#include <string.h>

static const DnLayerClass *const layer_classes[] = {
    &dn_linear_class,      &dn_conv1d_class,
    &dn_conv2d_class,      &dn_maxpool2d_class,
    &dn_avgpool2d_class,   &dn_adaptive_avgpool2d_class,
    &dn_batchnorm1d_class, &dn_batchnorm2d_class,
    &dn_layernorm_class,   &dn_relu_class,
    &dn_leaky_relu_class,  &dn_sigmoid_class,
    &dn_tanh_class,        &dn_gelu_class,
    &dn_softmax_class,     &dn_log_softmax_class,
    &dn_dropout_class,     &dn_flatten_class,
    &dn_add_class,         &dn_concat_class,
    &dn_dendritic_class,   &dn_sparse_linear_class, &dn_active_dendrite_class, &dn_kwta_class,
    NULL,
};

const DnLayerClass *const *dn_layer_classes (void)
{
    return layer_classes;
}

const DnLayerClass *dn_layer_class_lookup (const char *type)
{
    for (int i = 0; layer_classes[i] != NULL; i++)
        if (g_ascii_strcasecmp (layer_classes[i]->type, type) == 0)
            return layer_classes[i];
    return NULL;
}

static char *known_types (void)
{
    GString *s = g_string_new (NULL);
    for (int i = 0; layer_classes[i] != NULL; i++)
        g_string_append_printf (s, "%s%s", i ? ", " : "", layer_classes[i]->type);
    return g_string_free (s, FALSE);
}

DnLayer *dn_layer_new (const char *type, const char *name, JsonObject *cfg, GError **error)
{
    const DnLayerClass *klass = dn_layer_class_lookup (type);
    if (klass == NULL) {
        g_autofree char *known = known_types ();
        /* a name made from a long type is as long: cut it, keeping the 'name' style */
        g_autofree char *qname = dn_quote (name);
        qname[strlen (qname) - 1] = '\0';
        g_autofree char *qtype = dn_quote (type);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s': unknown type %s; known types are %s", qname + 1, qtype, known);
        return NULL;
    }
    DnLayer *l = g_malloc0 (klass->instance_size);
    l->klass = klass;
    l->name = g_strdup (name);
    /* configure always runs, with an empty object when there are no settings, so
     * defaults are set in one place. */
    g_autoptr (JsonObject) empty = json_object_new ();
    if (cfg == NULL)
        cfg = empty;
    gboolean ok = klass->configure != NULL
                      ? klass->configure (l, cfg, error)
                      : dn_cfg_check_keys (l, cfg, (const char *const[]){NULL}, error);
    if (!ok) {
        dn_layer_free (l);
        return NULL;
    }
    return l;
}

gboolean dn_layer_infer (DnLayer *l, int n_inputs, const DnShape *in_shapes, GError **error)
{
    const DnLayerClass *k = l->klass;
    if (n_inputs < k->min_inputs || n_inputs > k->max_inputs) {
        dn_layer_shape_error (l, error, "takes %d to %d inputs, got %d", k->min_inputs,
                              k->max_inputs, n_inputs);
        return FALSE;
    }
    l->n_inputs = n_inputs;
    for (int i = 0; i < n_inputs; i++)
        l->in_shape[i] = in_shapes[i];
    /* infer may run again (re-import, restructure): start from no params. */
    for (int i = 0; i < l->n_params; i++) {
        g_free (l->params[i].name);
        g_free (l->params[i].rows);
    }
    memset (l->params, 0, sizeof l->params);
    l->n_params = 0;
    l->workspace_per_sample = 0;
    return k->infer (l, error);
}

void dn_layer_free (DnLayer *l)
{
    if (l == NULL)
        return;
    if (l->klass->finalize != NULL)
        l->klass->finalize (l);
    for (int i = 0; i < l->n_params; i++) {
        g_free (l->params[i].name);
        g_free (l->params[i].rows);
    }
    g_free (l->name);
    g_free (l);
}

int dn_layer_add_param (DnLayer *l, const char *name, DnShape shape, gboolean trainable)
{
    g_assert (l->n_params < DN_LAYER_MAX_PARAMS);
    DnParam *p = &l->params[l->n_params];
    p->name = g_strdup (name);
    p->shape = shape;
    p->trainable = trainable;
    p->value = NULL;
    p->grad = NULL;
    p->row_len = 0;
    p->rows = NULL;
    return l->n_params++;
}

void dn_layer_track_rows (DnLayer *l, int index, size_t row_len)
{
    g_return_if_fail (index >= 0 && index < l->n_params && row_len > 0);
    l->params[index].row_len = row_len;
}

DnParam *dn_layer_find_param (DnLayer *l, const char *name)
{
    for (int i = 0; i < l->n_params; i++)
        if (strcmp (l->params[i].name, name) == 0)
            return &l->params[i];
    return NULL;
}

int64_t dn_layer_n_params (const DnLayer *l)
{
    int64_t n = 0;
    for (int i = 0; i < l->n_params; i++)
        if (l->params[i].trainable)
            n += dn_shape_numel (&l->params[i].shape);
    return n;
}

void dn_layer_shape_error (DnLayer *l, GError **error, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    g_autofree char *msg = g_strdup_vprintf (format, args);
    va_end (args);
    g_set_error (error, DN_ERROR, DN_ERROR_SHAPE, "layer '%s' (%s): %s", l->name, l->klass->type,
                 msg);
}

static gboolean cfg_error (DnLayer *l, const char *key, GError **error, const char *what)
{
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "layer '%s' (%s): \"%s\" %s", l->name,
                 l->klass->type, key, what);
    return FALSE;
}

static gboolean node_is_int (JsonNode *n)
{
    if (!JSON_NODE_HOLDS_VALUE (n))
        return FALSE;
    GType t = json_node_get_value_type (n);
    return t == G_TYPE_INT64;
}

gboolean dn_cfg_int (DnLayer *l, JsonObject *cfg, const char *key, int min, int max, int *out,
                     GError **error)
{
    JsonNode *n = json_object_get_member (cfg, key);
    if (n == NULL)
        return TRUE;
    if (!node_is_int (n) || json_node_get_int (n) < min || json_node_get_int (n) > max) {
        g_autofree char *what = dn_json_int_complaint (n, min, max);
        return cfg_error (l, key, error, what);
    }
    gint64 v = json_node_get_int (n);
    *out = (int) v;
    return TRUE;
}

gboolean dn_cfg_int_pair (DnLayer *l, JsonObject *cfg, const char *key, int min, int max,
                          int out[2], GError **error)
{
    JsonNode *n = json_object_get_member (cfg, key);
    if (n == NULL)
        return TRUE;
    gint64 v[2];
    if (node_is_int (n)) {
        v[0] = v[1] = json_node_get_int (n);
    } else if (JSON_NODE_HOLDS_ARRAY (n) && json_array_get_length (json_node_get_array (n)) == 2) {
        JsonArray *a = json_node_get_array (n);
        for (int i = 0; i < 2; i++) {
            JsonNode *e = json_array_get_element (a, i);
            if (!node_is_int (e))
                return cfg_error (l, key, error, "must be a whole number or a pair [h, w]");
            v[i] = json_node_get_int (e);
        }
    } else {
        return cfg_error (l, key, error, "must be a whole number or a pair [h, w]");
    }
    for (int i = 0; i < 2; i++) {
        if (v[i] < min || v[i] > max) {
            g_autofree char *what = g_strdup_printf (
                "has %" G_GINT64_FORMAT "; values must be between %d and %d", v[i], min, max);
            return cfg_error (l, key, error, what);
        }
    }
    out[0] = (int) v[0];
    out[1] = (int) v[1];
    return TRUE;
}

gboolean dn_cfg_double (DnLayer *l, JsonObject *cfg, const char *key, double min, double max,
                        double *out, GError **error)
{
    JsonNode *n = json_object_get_member (cfg, key);
    if (n == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE (n) || (json_node_get_value_type (n) != G_TYPE_DOUBLE &&
                                       json_node_get_value_type (n) != G_TYPE_INT64))
        return cfg_error (l, key, error, "must be a number");
    double v = json_node_get_double (n);
    if (!(v >= min && v <= max)) {
        g_autofree char *what =
            g_strdup_printf ("is %g; it must be between %g and %g", v, min, max);
        return cfg_error (l, key, error, what);
    }
    *out = v;
    return TRUE;
}

gboolean dn_cfg_bool (DnLayer *l, JsonObject *cfg, const char *key, gboolean *out, GError **error)
{
    JsonNode *n = json_object_get_member (cfg, key);
    if (n == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
        return cfg_error (l, key, error, "must be true or false");
    *out = json_node_get_boolean (n);
    return TRUE;
}

gboolean dn_cfg_check_keys (DnLayer *l, JsonObject *cfg, const char *const *known, GError **error)
{
    g_autoptr (GList) members = json_object_get_members (cfg);
    for (GList *m = members; m != NULL; m = m->next) {
        const char *key = m->data;
        gboolean ok = g_str_equal (key, "type") || g_str_equal (key, "name") ||
                      g_str_equal (key, "inputs") || g_str_equal (key, "dendrites");
        for (int i = 0; !ok && known[i] != NULL; i++)
            ok = g_str_equal (key, known[i]);
        if (!ok) {
            GString *list = g_string_new (NULL);
            for (int i = 0; known[i] != NULL; i++)
                g_string_append_printf (list, "%s\"%s\"", i ? ", " : "", known[i]);
            g_autofree char *qkey = dn_quote (key);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "layer '%s' (%s): unknown setting %s%s%s", l->name, l->klass->type, qkey,
                         list->len ? "; known settings are " : " (this layer has no settings)",
                         list->str);
            g_string_free (list, TRUE);
            return FALSE;
        }
    }
    return TRUE;
}

void dn_init_uniform (DnRng *rng, float *x, size_t n, float bound)
{
    for (size_t i = 0; i < n; i++)
        x[i] = dn_rng_uniform_range (rng, -bound, bound);
}
