/* dn-onnx-export.c: a network as an ONNX model of standard opset-17 operators.
 *
 * Each layer becomes one or a few nodes; the weights become initializers named
 * after the parameters ("fc1.weight"). A dendritic node with neuron module M,
 * dendrites D_1..D_k (copies of M), forward function sigma, cascade weights
 * W (D2D) and output weights T becomes
 *
 *   y = M(x);  a_i = D_i(x) + sum_{j<i} W[i][j] * s_j;  s_i = sigma(a_i);
 *   out = y + sum_i T[i] * s_i
 *
 * with each (C) weight row stored as (C, 1, ...) so it broadcasts over positions.
 * Every message is built in `mem` and freed with it; the model is packed once.
 */
#include "dn-onnx-private.h"
#include "dn-config.h"
#include "dn-error.h"
#include "dn-json.h"
#include "dn-layer-dendritic.h"

#include <math.h>
#include <string.h>

typedef struct {
    DnNetwork *net;
    GPtrArray *mem;   /* every block below, freed with g_free */
    GPtrArray *nodes; /* Onnx__NodeProto* */
    GPtrArray *inits; /* Onnx__TensorProto* */
    GHashTable *used; /* value names */
} Ex;

static gpointer ex_alloc (Ex *x, gsize size)
{
    gpointer p = g_malloc0 (size);
    g_ptr_array_add (x->mem, p);
    return p;
}

static char *ex_str (Ex *x, const char *s)
{
    char *d = g_strdup (s);
    g_ptr_array_add (x->mem, d);
    return d;
}

/* A value name not used before, from `base`. */
static char *fresh (Ex *x, const char *base)
{
    char *name = g_strdup (base);
    for (int k = 2; g_hash_table_contains (x->used, name); k++) {
        g_free (name);
        name = g_strdup_printf ("%s_%d", base, k);
    }
    g_hash_table_add (x->used, name);
    return name; /* owned by `used` */
}

static Onnx__AttributeProto *attr_new (Ex *x, const char *name, Onnx__AttributeProto__AttributeType t)
{
    Onnx__AttributeProto *a = ex_alloc (x, sizeof *a);
    onnx__attribute_proto__init (a);
    a->name = ex_str (x, name);
    a->has_type = TRUE;
    a->type = t;
    return a;
}

static Onnx__AttributeProto *attr_i (Ex *x, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr_new (x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = TRUE;
    a->i = v;
    return a;
}

static Onnx__AttributeProto *attr_f (Ex *x, const char *name, float v)
{
    Onnx__AttributeProto *a = attr_new (x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = TRUE;
    a->f = v;
    return a;
}

static Onnx__AttributeProto *attr_is (Ex *x, const char *name, int n, const int64_t *v)
{
    Onnx__AttributeProto *a = attr_new (x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = n;
    a->ints = ex_alloc (x, sizeof (int64_t) * MAX (n, 1));
    memcpy (a->ints, v, sizeof (int64_t) * n);
    return a;
}

/* Adds node `op` reading in[0..n_in) with attributes (NULL-terminated); returns its
 * output, named from `out`. */
static const char *node (Ex *x, const char *op, const char *out, int n_in, const char *const *in,
                         Onnx__AttributeProto **attrs)
{
    Onnx__NodeProto *n = ex_alloc (x, sizeof *n);
    onnx__node_proto__init (n);
    n->op_type = ex_str (x, op);
    n->n_input = n_in;
    n->input = ex_alloc (x, sizeof (char *) * MAX (n_in, 1));
    for (int i = 0; i < n_in; i++)
        n->input[i] = ex_str (x, in[i]);
    n->n_output = 1;
    n->output = ex_alloc (x, sizeof (char *));
    n->output[0] = ex_str (x, fresh (x, out));
    n->name = n->output[0]; /* unique, as value names are */
    for (int i = 0; attrs != NULL && attrs[i] != NULL; i++)
        n->n_attribute++;
    n->attribute = ex_alloc (x, sizeof (Onnx__AttributeProto *) * MAX (n->n_attribute, 1));
    for (size_t i = 0; i < n->n_attribute; i++)
        n->attribute[i] = attrs[i];
    g_ptr_array_add (x->nodes, n);
    return n->output[0];
}

static const char *node1 (Ex *x, const char *op, const char *out, const char *a)
{
    return node (x, op, out, 1, (const char *const[]){a}, NULL);
}

static const char *node2 (Ex *x, const char *op, const char *out, const char *a, const char *b)
{
    return node (x, op, out, 2, (const char *const[]){a, b}, NULL);
}

/* An initializer of the given shape holding `data` (copied). */
static const char *init (Ex *x, const char *name, int ndim, const int64_t *dims, const float *data)
{
    Onnx__TensorProto *t = ex_alloc (x, sizeof *t);
    onnx__tensor_proto__init (t);
    t->name = ex_str (x, fresh (x, name));
    t->n_dims = ndim;
    t->dims = ex_alloc (x, sizeof (int64_t) * MAX (ndim, 1));
    if (ndim > 0)
        memcpy (t->dims, dims, sizeof (int64_t) * ndim);
    t->has_data_type = TRUE;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    t->has_raw_data = TRUE;
    t->raw_data.len = (size_t) n * sizeof (float);
    t->raw_data.data = ex_alloc (x, MAX (t->raw_data.len, 1));
    memcpy (t->raw_data.data, data, t->raw_data.len);
    g_ptr_array_add (x->inits, t);
    return t->name;
}

static const char *scalar (Ex *x, const char *name, float v)
{
    return init (x, name, 0, NULL, &v);
}

/* Where a (sub-)layer's parameters are: the owner's, named prefix.param. */
typedef struct {
    DnLayer *owner;
    const char *prefix; /* NULL: the owner's own */
    const char *name;   /* for value names */
} Params;

/* The host copy of a parameter, or NULL when the layer has none of that name. */
static const DnParam *param (Ex *x, const Params *p, const char *pname, float **host)
{
    g_autofree char *full = p->prefix != NULL ? g_strdup_printf ("%s.%s", p->prefix, pname)
                                              : g_strdup (pname);
    DnParam *dp = dn_layer_find_param (p->owner, full);
    if (dp == NULL)
        return NULL;
    size_t n = (size_t) dn_shape_numel (&dp->shape);
    *host = ex_alloc (x, sizeof (float) * MAX (n, 1));
    x->net->backend->download (x->net->backend, *host, dp->value, n * sizeof (float));
    return dp;
}

static const char *param_init (Ex *x, const Params *p, const char *pname, const DnParam *dp,
                               const float *host)
{
    g_autofree char *name = g_strdup_printf ("%s.%s", p->name, pname);
    return init (x, name, dp->shape.ndim, dp->shape.d, host);
}

/* A pair setting (a number, [h, w] or absent) of a layer's JSON. */
static void cfg_pair (JsonObject *cfg, const char *key, int64_t def, int sp, int64_t *out)
{
    JsonNode *n = json_object_get_member (cfg, key);
    for (int i = 0; i < sp; i++)
        out[i] = def;
    if (n != NULL && JSON_NODE_HOLDS_ARRAY (n)) {
        JsonArray *a = json_node_get_array (n);
        for (int i = 0; i < sp && i < (int) json_array_get_length (a); i++)
            out[i] = json_array_get_int_element (a, i);
    } else if (n != NULL && JSON_NODE_HOLDS_VALUE (n)) {
        for (int i = 0; i < sp; i++)
            out[i] = json_node_get_int (n);
    }
}

static gboolean refuse (const char *name, const char *type, const char *why, GError **error)
{
    g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                 "layer '%s' (%s): %s; the network cannot be exported to ONNX", name, type, why);
    return FALSE;
}

/* erf form: x * 0.5 * (1 + erf(x / sqrt 2)), as opset 17 has no Gelu */
static const char *gelu (Ex *x, const char *name, const char *in)
{
    const char *d = node2 (x, "Div", name, in, scalar (x, "sqrt2", (float) G_SQRT2));
    const char *e = node1 (x, "Erf", name, d);
    const char *a = node2 (x, "Add", name, e, scalar (x, "one", 1.0f));
    const char *m = node2 (x, "Mul", name, in, a);
    return node2 (x, "Mul", name, m, scalar (x, "half", 0.5f));
}

static const char *emit_conv (Ex *x, const Params *p, JsonObject *cfg, const char *in, int sp)
{
    float *w, *b = NULL;
    const DnParam *wp = param (x, p, "weight", &w);
    const DnParam *bp = param (x, p, "bias", &b);
    int64_t k[2], s[2], pad[4], d[2];
    for (int i = 0; i < sp; i++)
        k[i] = wp->shape.d[2 + i];
    cfg_pair (cfg, "stride", 1, sp, s);
    cfg_pair (cfg, "padding", 0, sp, pad);
    cfg_pair (cfg, "dilation", 1, sp, d);
    for (int i = 0; i < sp; i++)
        pad[sp + i] = pad[i];
    int64_t groups = json_object_get_int_member_with_default (cfg, "groups", 1);
    const char *ins[3] = {in, param_init (x, p, "weight", wp, w),
                          bp ? param_init (x, p, "bias", bp, b) : NULL};
    Onnx__AttributeProto *attrs[] = {attr_is (x, "kernel_shape", sp, k),
                                     attr_is (x, "strides", sp, s),
                                     attr_is (x, "pads", 2 * sp, pad),
                                     attr_is (x, "dilations", sp, d),
                                     attr_i (x, "group", groups), NULL};
    return node (x, "Conv", p->name, bp ? 3 : 2, ins, attrs);
}

static const char *emit_linear (Ex *x, const Params *p, const char *in)
{
    float *w, *b = NULL, *mask = NULL;
    const DnParam *wp = param (x, p, "weight", &w);
    const DnParam *bp = param (x, p, "bias", &b);
    const DnParam *mp = param (x, p, "weight_mask", &mask);
    if (mp != NULL)
        for (int64_t i = 0; i < dn_shape_numel (&wp->shape); i++)
            w[i] *= mask[i];
    const char *ins[3] = {in, param_init (x, p, "weight", wp, w),
                          bp ? param_init (x, p, "bias", bp, b) : NULL};
    Onnx__AttributeProto *attrs[] = {attr_i (x, "transB", 1), NULL};
    return node (x, "Gemm", p->name, bp ? 3 : 2, ins, attrs);
}

static const char *emit_batchnorm (Ex *x, const Params *p, JsonObject *cfg, const char *in,
                                   GError **error)
{
    if (!json_object_get_boolean_member_with_default (cfg, "track_running_stats", TRUE)) {
        refuse (p->name, "batchnorm", "it normalises with batch statistics in evaluation",
                error);
        return NULL;
    }
    float *v[4];
    const DnParam *dp[4];
    static const char *const names[] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++)
        dp[i] = param (x, p, names[i], &v[i]);
    int64_t c = dp[2]->shape.d[0];
    const char *ins[5] = {in};
    for (int i = 0; i < 4; i++) {
        if (dp[i] != NULL) {
            ins[i + 1] = param_init (x, p, names[i], dp[i], v[i]);
        } else { /* affine false: scale 1, shift 0 */
            float *fill = ex_alloc (x, sizeof (float) * c);
            for (int64_t j = 0; j < c; j++)
                fill[j] = i == 0 ? 1.0f : 0.0f;
            g_autofree char *nm = g_strdup_printf ("%s.%s", p->name, names[i]);
            ins[i + 1] = init (x, nm, 1, &c, fill);
        }
    }
    double eps = json_object_get_double_member_with_default (cfg, "eps", 1e-5);
    Onnx__AttributeProto *attrs[] = {attr_f (x, "epsilon", (float) eps), NULL};
    return node (x, "BatchNormalization", p->name, 5, ins, attrs);
}

static const char *emit_layernorm (Ex *x, const Params *p, JsonObject *cfg, const char *in)
{
    JsonNode *ns = json_object_get_member (cfg, "normalized_shape");
    int64_t axis = 1; /* default: every dimension of a sample */
    if (ns != NULL && JSON_NODE_HOLDS_ARRAY (ns))
        axis = -(int64_t) json_array_get_length (json_node_get_array (ns));
    else if (ns != NULL && JSON_NODE_HOLDS_VALUE (ns))
        axis = -1;
    float *w = NULL, *b = NULL;
    const DnParam *wp = param (x, p, "weight", &w);
    const DnParam *bp = param (x, p, "bias", &b);
    const char *ins[3] = {in, NULL, NULL};
    if (wp != NULL) {
        ins[1] = param_init (x, p, "weight", wp, w);
    } else {
        /* without elementwise_affine: a scale of ones of the normalised shape */
        DnShape s = p->owner->out_shape;
        int64_t n0 = axis < 0 ? -axis : s.ndim;
        DnShape norm = dn_shape_make ((int) n0, s.d + s.ndim - n0);
        float *ones = ex_alloc (x, sizeof (float) * dn_shape_numel (&norm));
        for (int64_t i = 0; i < dn_shape_numel (&norm); i++)
            ones[i] = 1.0f;
        g_autofree char *nm = g_strdup_printf ("%s.weight", p->name);
        ins[1] = init (x, nm, norm.ndim, norm.d, ones);
    }
    if (bp != NULL)
        ins[2] = param_init (x, p, "bias", bp, b);
    double eps = json_object_get_double_member_with_default (cfg, "eps", 1e-5);
    Onnx__AttributeProto *attrs[] = {attr_i (x, "axis", axis),
                                     attr_f (x, "epsilon", (float) eps), NULL};
    return node (x, "LayerNormalization", p->name, bp ? 3 : 2, ins, attrs);
}

static const char *emit_pool (Ex *x, const Params *p, JsonObject *cfg, const char *type,
                              const char *in)
{
    gboolean is_max = g_str_equal (type, "maxpool2d");
    int64_t k[2], s[2], pad[4], d[2];
    cfg_pair (cfg, "kernel_size", 1, 2, k);
    if (json_object_get_member (cfg, "stride") != NULL &&
        !JSON_NODE_HOLDS_NULL (json_object_get_member (cfg, "stride")))
        cfg_pair (cfg, "stride", 1, 2, s);
    else
        memcpy (s, k, sizeof s);
    cfg_pair (cfg, "padding", 0, 2, pad);
    pad[2] = pad[0];
    pad[3] = pad[1];
    cfg_pair (cfg, "dilation", 1, 2, d);
    Onnx__AttributeProto *attrs[6] = {attr_is (x, "kernel_shape", 2, k),
                                      attr_is (x, "strides", 2, s), attr_is (x, "pads", 4, pad)};
    if (is_max)
        attrs[3] = attr_is (x, "dilations", 2, d);
    else
        attrs[3] = attr_i (x, "count_include_pad",
                           json_object_get_boolean_member_with_default (cfg, "count_include_pad",
                                                                        TRUE));
    return node (x, is_max ? "MaxPool" : "AveragePool", p->name, 1, &in, attrs);
}

/* One layer of type `type` with settings cfg reading in[0..n_in); NULL with an error
 * when it has no ONNX form. */
static const char *emit_layer (Ex *x, const Params *p, const char *type, JsonObject *cfg,
                               int n_in, const char *const *in, GError **error)
{
    if (g_str_equal (type, "linear") || g_str_equal (type, "sparse_linear"))
        return emit_linear (x, p, in[0]);
    if (g_str_equal (type, "conv1d") || g_str_equal (type, "conv2d"))
        return emit_conv (x, p, cfg, in[0], g_str_equal (type, "conv1d") ? 1 : 2);
    if (g_str_equal (type, "batchnorm1d") || g_str_equal (type, "batchnorm2d"))
        return emit_batchnorm (x, p, cfg, in[0], error);
    if (g_str_equal (type, "layernorm"))
        return emit_layernorm (x, p, cfg, in[0]);
    if (g_str_equal (type, "maxpool2d") || g_str_equal (type, "avgpool2d"))
        return emit_pool (x, p, cfg, type, in[0]);
    if (g_str_equal (type, "adaptive_avgpool2d"))
        return node1 (x, "GlobalAveragePool", p->name, in[0]);
    if (g_str_equal (type, "relu"))
        return node1 (x, "Relu", p->name, in[0]);
    if (g_str_equal (type, "sigmoid"))
        return node1 (x, "Sigmoid", p->name, in[0]);
    if (g_str_equal (type, "tanh"))
        return node1 (x, "Tanh", p->name, in[0]);
    if (g_str_equal (type, "leaky_relu")) {
        double a = json_object_get_double_member_with_default (cfg, "negative_slope", 0.01);
        Onnx__AttributeProto *attrs[] = {attr_f (x, "alpha", (float) a), NULL};
        return node (x, "LeakyRelu", p->name, 1, in, attrs);
    }
    if (g_str_equal (type, "gelu"))
        return gelu (x, p->name, in[0]);
    if (g_str_equal (type, "softmax") || g_str_equal (type, "log_softmax")) {
        Onnx__AttributeProto *attrs[] = {attr_i (x, "axis", -1), NULL};
        return node (x, g_str_equal (type, "softmax") ? "Softmax" : "LogSoftmax", p->name, 1, in,
                     attrs);
    }
    if (g_str_equal (type, "dropout"))
        return in[0]; /* the identity in inference */
    if (g_str_equal (type, "flatten")) {
        Onnx__AttributeProto *attrs[] = {attr_i (x, "axis", 1), NULL};
        return node (x, "Flatten", p->name, 1, in, attrs);
    }
    if (g_str_equal (type, "add")) {
        const char *sum = in[0];
        for (int i = 1; i < n_in; i++)
            sum = node2 (x, "Add", p->name, sum, in[i]);
        return sum;
    }
    if (g_str_equal (type, "concat")) {
        Onnx__AttributeProto *attrs[] = {attr_i (x, "axis", 1), NULL};
        return node (x, "Concat", p->name, n_in, in, attrs);
    }
    refuse (p->name, type,
            g_str_equal (type, "active_dendrite") || g_str_equal (type, "kwta")
                ? "it reads a context or picks winners, which ONNX export does not write"
                : "no ONNX form is known for it",
            error);
    return NULL;
}

/* A chain of layers (a neuron module or one of its copies); params named prefix[.j]. */
static const char *emit_chain (Ex *x, DnLayer *owner, const char *prefix, JsonArray *layers,
                               const char *in, GError **error)
{
    int n = (int) json_array_get_length (layers);
    const char *v = in;
    for (int j = 0; j < n && v != NULL; j++) {
        JsonObject *cfg = json_array_get_object_element (layers, j);
        g_autofree char *pre = n > 1 ? g_strdup_printf ("%s.%d", prefix, j) : g_strdup (prefix);
        g_autofree char *name = g_strdup_printf ("%s.%s", owner->name, pre);
        Params p = {.owner = owner, .prefix = pre, .name = name};
        v = emit_layer (x, &p, json_object_get_string_member (cfg, "type"), cfg, 1, &v, error);
    }
    return v;
}

/* Row r of a (rows, C) parameter as a (C, 1, ...) initializer for outputs of `out`. */
static const char *channel_row (Ex *x, const char *name, const float *w, int r, DnShape out)
{
    int64_t dims[DN_MAX_DIMS] = {out.d[0]};
    for (int i = 1; i < out.ndim; i++)
        dims[i] = 1;
    return init (x, name, out.ndim, dims, w + (size_t) r * out.d[0]);
}

static const char *emit_dendritic (Ex *x, DnLayer *l, JsonObject *cfg, const char *in,
                                   GError **error)
{
    JsonArray *layers = json_object_get_array_member (cfg, "layers");
    int k = dn_dendritic_count (l);
    const char *act = json_object_get_string_member_with_default (cfg, "forward_function",
                                                                  "sigmoid");
    const char *op = g_str_equal (act, "tanh") ? "Tanh" : g_str_equal (act, "relu") ? "Relu"
                                                                                     : "Sigmoid";
    const char *y = emit_chain (x, l, "main_module", layers, in, error);
    if (y == NULL || k == 0)
        return y;
    const char **s = ex_alloc (x, sizeof (char *) * k);
    DnShape out = l->out_shape;
    for (int i = 0; i < k; i++) {
        g_autofree char *prefix = g_strdup_printf ("dendrite_module.layers.%d", i);
        const char *a = emit_chain (x, l, prefix, layers, in, error);
        if (a == NULL)
            return NULL;
        if (i > 0) {
            g_autofree char *pname = g_strdup_printf ("dendrite_module.dendrites_to_dendrites.%d", i);
            Params p = {.owner = l, .name = l->name};
            float *w;
            param (x, &p, pname, &w);
            for (int j = 0; j < i; j++) {
                g_autofree char *nm = g_strdup_printf ("%s.%s.%d", l->name, pname, j);
                a = node2 (x, "Add", l->name, a,
                           node2 (x, "Mul", l->name, s[j], channel_row (x, nm, w, j, out)));
            }
        }
        s[i] = node1 (x, op, l->name, a);
    }
    g_autofree char *tname = g_strdup_printf ("dendrites_to_top.%d", k - 1);
    Params p = {.owner = l, .name = l->name};
    float *t;
    param (x, &p, tname, &t);
    const char *sum = y;
    for (int i = 0; i < k; i++) {
        g_autofree char *nm = g_strdup_printf ("%s.%s.%d", l->name, tname, i);
        sum = node2 (x, "Add", l->name, sum,
                     node2 (x, "Mul", l->name, s[i], channel_row (x, nm, t, i, out)));
    }
    return sum;
}

static Onnx__ValueInfoProto *value_info (Ex *x, const char *name, DnShape s)
{
    Onnx__ValueInfoProto *vi = ex_alloc (x, sizeof *vi);
    onnx__value_info_proto__init (vi);
    vi->name = ex_str (x, name);
    Onnx__TypeProto *tp = ex_alloc (x, sizeof *tp);
    onnx__type_proto__init (tp);
    Onnx__TypeProto__Tensor *tt = ex_alloc (x, sizeof *tt);
    onnx__type_proto__tensor__init (tt);
    tt->has_elem_type = TRUE;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    Onnx__TensorShapeProto *sh = ex_alloc (x, sizeof *sh);
    onnx__tensor_shape_proto__init (sh);
    sh->n_dim = s.ndim + 1;
    sh->dim = ex_alloc (x, sizeof (void *) * sh->n_dim);
    for (int i = 0; i <= s.ndim; i++) {
        Onnx__TensorShapeProto__Dimension *d = ex_alloc (x, sizeof *d);
        onnx__tensor_shape_proto__dimension__init (d);
        if (i == 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = ex_str (x, "N");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = s.d[i - 1];
        }
        sh->dim[i] = d;
    }
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

/* The normalisation in front: (x - mean[c]) / std[c]. */
static const char *emit_normalize (Ex *x, const DnNormalize *norm, const char *in)
{
    DnShape s = x->net->input_shape;
    int64_t dims[DN_MAX_DIMS] = {norm->n_channels};
    int nd = 1;
    if (norm->n_channels > 1) /* per channel: (C, 1, 1) against (C, H, W) */
        for (nd = 1; nd < s.ndim; nd++)
            dims[nd] = 1;
    const char *sub = node2 (x, "Sub", "normalize", in, init (x, "normalize.mean", nd, dims, norm->mean));
    return node2 (x, "Div", "normalize", sub, init (x, "normalize.std", nd, dims, norm->std));
}

static Onnx__StringStringEntryProto *prop (Ex *x, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = ex_alloc (x, sizeof *e);
    onnx__string_string_entry_proto__init (e);
    e->key = ex_str (x, key);
    e->value = ex_str (x, value);
    return e;
}

static gboolean emit_graph (Ex *x, JsonArray *layers, const DnNormalize *norm, GError **error)
{
    DnNetwork *net = x->net;
    int n = dn_network_n_nodes (net);
    const char **out = ex_alloc (x, sizeof (char *) * MAX (n, 1));
    g_hash_table_add (x->used, g_strdup ("input"));
    const char *input = norm != NULL ? emit_normalize (x, norm, "input") : "input";
    for (int i = 0; i < n; i++) {
        DnNode *nd = dn_network_node (net, i);
        JsonObject *cfg = json_array_get_object_element (layers, i);
        const char *type = nd->layer->klass->type;
        const char *in[DN_LAYER_MAX_INPUTS];
        for (int j = 0; j < nd->n_inputs; j++)
            in[j] = nd->inputs[j] < 0 ? input : out[nd->inputs[j]];
        Params p = {.owner = nd->layer, .name = nd->name};
        out[i] = g_str_equal (type, "dendritic")
                     ? emit_dendritic (x, nd->layer, cfg, in[0], error)
                     : emit_layer (x, &p, type, cfg, nd->n_inputs, in, error);
        if (out[i] == NULL)
            return FALSE;
    }
    /* the last value is the graph's "output" */
    const char *last = n > 0 ? out[n - 1] : input;
    node1 (x, "Identity", "output", last);
    return TRUE;
}

/* Mean 0 and std 1 on every channel (an experiment's "normalize": "none"). */
static gboolean is_identity (const DnNormalize *norm)
{
    for (int c = 0; c < norm->n_channels; c++)
        if (norm->mean[c] != 0.0f || norm->std[c] != 1.0f)
            return FALSE;
    return TRUE;
}

GBytes *dn_onnx_export_bytes (DnNetwork *net, const DnNormalize *norm, const char *name,
                              GError **error)
{
    if (norm != NULL && is_identity (norm))
        norm = NULL; /* no Sub and Div that change nothing */
    Ex x = {
        .net = net,
        .mem = g_ptr_array_new_with_free_func (g_free),
        .nodes = g_ptr_array_new (),
        .inits = g_ptr_array_new (),
        .used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    };
    g_autoptr (JsonNode) desc = dn_network_to_json (net);
    JsonArray *layers = json_object_get_array_member (json_node_get_object (desc), "layers");
    GBytes *bytes = NULL;
    if (emit_graph (&x, layers, norm, error)) {
        Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
        g.name = (char *) (name != NULL ? name : "dendrite");
        g.n_node = x.nodes->len;
        g.node = (Onnx__NodeProto **) x.nodes->pdata;
        g.n_initializer = x.inits->len;
        g.initializer = (Onnx__TensorProto **) x.inits->pdata;
        Onnx__ValueInfoProto *in = value_info (&x, "input", net->input_shape);
        Onnx__ValueInfoProto *out = value_info (&x, "output", dn_network_output_shape (net));
        g.n_input = g.n_output = 1;
        g.input = &in;
        g.output = &out;

        Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
        opset.domain = (char *) "";
        opset.has_version = TRUE;
        opset.version = DN_ONNX_EXPORT_OPSET;
        Onnx__OperatorSetIdProto *opsets[] = {&opset};

        g_autofree char *shape = g_strdup ("[");
        for (int i = 0; i < net->input_shape.ndim; i++) {
            char *s = g_strdup_printf ("%s%s%" G_GINT64_FORMAT, shape, i ? ", " : "",
                                       net->input_shape.d[i]);
            g_free (shape);
            shape = s;
        }
        char *closed = g_strconcat (shape, "]", NULL);
        g_free (shape);
        shape = closed;
        g_autofree char *norm_text = NULL;
        if (norm != NULL) {
            GString *s = g_string_new ("{\"mean\": [");
            for (int i = 0; i < norm->n_channels; i++)
                g_string_append_printf (s, "%s%.9g", i ? ", " : "", norm->mean[i]);
            g_string_append (s, "], \"std\": [");
            for (int i = 0; i < norm->n_channels; i++)
                g_string_append_printf (s, "%s%.9g", i ? ", " : "", norm->std[i]);
            g_string_append (s, "]}");
            norm_text = g_string_free (s, FALSE);
        }
        Onnx__StringStringEntryProto *props[] = {
            prop (&x, "dendrite_input_shape", shape),
            prop (&x, "dendrite_normalize", norm_text != NULL ? norm_text : "none"),
            prop (&x, "dendrite_normalize_in_graph", norm != NULL ? "Sub, Div" : "none"),
        };
        Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
        m.has_ir_version = TRUE;
        m.ir_version = 8; /* what opset 17 goes with */
        m.n_opset_import = 1;
        m.opset_import = opsets;
        m.producer_name = (char *) DN_ONNX_PRODUCER;
        m.producer_version = (char *) PACKAGE_VERSION;
        m.graph = &g;
        m.n_metadata_props = G_N_ELEMENTS (props);
        m.metadata_props = props;
        gsize size = protobuf_c_message_get_packed_size (&m.base);
        guint8 *buf = g_try_malloc (MAX (size, 1));
        if (buf == NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_NOMEM, "no memory for the %" G_GSIZE_FORMAT
                                                          " bytes of the ONNX model",
                         size);
        } else {
            protobuf_c_message_pack (&m.base, buf);
            bytes = g_bytes_new_take (buf, size);
        }
    }
    g_ptr_array_unref (x.nodes);
    g_ptr_array_unref (x.inits);
    g_ptr_array_unref (x.mem);
    g_hash_table_unref (x.used);
    return bytes;
}
