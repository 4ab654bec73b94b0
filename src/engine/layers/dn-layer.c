#include "dn-layer.h"
#include "dn-error.h"
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
    gboolean ok;
    if (klass->configure != NULL) {
        ok = klass->configure (l, cfg, error);
    } else {
        g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
        ok = dn_fields_check_keys (&r, (const char *const[]){NULL});
    }
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

DnFieldReader dn_layer_fields (DnLayer *l, JsonObject *cfg, GError **error)
{
    /* the network's members of a layer's object */
    static const char *const network_keys[] = {"type", "name", "inputs", "dendrites", NULL};
    DnFieldReader r = dn_fields_reader (cfg, NULL, NULL, 0, error);
    r.owned = g_strdup_printf ("layer '%s' (%s)", l->name, l->klass->type);
    r.what = r.owned;
    r.ignored = network_keys;
    return r;
}

gboolean dn_layer_int_pair (DnFieldReader *r, const char *key, int min, int max, int out[2])
{
    int v[2], n = 0;
    if (!dn_fields_int_list (r, key, min, max, 2, 2, TRUE, v, &n))
        return FALSE;
    if (n > 0) {
        out[0] = v[0];
        out[1] = n == 2 ? v[1] : v[0];
    }
    return TRUE;
}

void dn_init_uniform (DnRng *rng, float *x, size_t n, float bound)
{
    for (size_t i = 0; i < n; i++)
        x[i] = dn_rng_uniform_range (rng, -bound, bound);
}
