/* dn-onnx-import-ops.c: each ONNX operator import maps, onto which layer.
 *
 * Every attribute an operator has is either read and mapped or refused by name;
 * a value that our layer computes differently (asymmetric padding, ceil_mode,
 * a softmax over several axes) is an error saying what would be needed.
 * docs/onnx.md has the table.
 */
#include "dn-onnx-private.h"
#include "dn-error.h"

#include <math.h>
#include <string.h>

typedef struct {
    DnOnnxImport *im;
    const Onnx__NodeProto *n;
    int index;
    const char *label;
} Node;

static gboolean unsupported (const Node *nd, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean unsupported (const Node *nd, GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    g_autofree char *msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);
    g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED, "%s: %s", nd->label, msg);
    return FALSE;
}

/* The activation input i; an error when it is a constant or absent. */
static DnOnnxValue *act_input (const Node *nd, int i, GError **error)
{
    DnOnnxConst *c;
    DnOnnxValue *v = _dn_onnx_input (nd->im, nd->n, i, &c);
    if (v == NULL)
        unsupported (nd, error,
                     "input %d is %s; import maps operators on the network's activations (fold "
                     "constant parts of the graph first, e.g. with onnxsim)",
                     i + 1, c != NULL ? "a constant" : "missing");
    return v;
}

/* The constant input i (NULL without error when absent and optional). */
static gboolean const_input (const Node *nd, int i, gboolean optional, DnOnnxConst **out,
                             GError **error)
{
    DnOnnxValue *v = _dn_onnx_input (nd->im, nd->n, i, out);
    if (v != NULL)
        return unsupported (nd, error,
                            "input %d ('%s') is computed by the graph; import needs it as an "
                            "initializer (a weight)",
                            i + 1, nd->n->input[i]);
    if (*out == NULL && !optional)
        return unsupported (nd, error, "input %d is missing", i + 1);
    return TRUE;
}

static DnOnnxConst *const_copy (const DnOnnxConst *c)
{
    DnOnnxConst *d = g_new0 (DnOnnxConst, 1);
    *d = *c;
    d->f = g_memdup2 (c->f, (gsize) MAX (c->numel, 1) * sizeof (float));
    d->i = NULL;
    return d;
}

static DnOnnxConst *const_vector (int64_t n)
{
    DnOnnxConst *d = g_new0 (DnOnnxConst, 1);
    d->ndim = 1;
    d->dims[0] = d->numel = n;
    d->f = g_new0 (float, MAX (n, 1));
    return d;
}

/* A bias of n values from c broadcast as (n), (1, n), (1) or a scalar, times beta. */
static DnOnnxConst *bias_from (const DnOnnxConst *c, int64_t n, float beta)
{
    if (!(c->numel == n || c->numel == 1) || (c->ndim == 2 && c->dims[0] != 1) || c->ndim > 2)
        return NULL;
    DnOnnxConst *d = const_vector (n);
    for (int64_t k = 0; k < n; k++)
        d->f[k] = beta * c->f[c->numel == 1 ? 0 : k];
    return d;
}

static JsonArray *int_array (int n, const int64_t *v)
{
    JsonArray *a = json_array_new ();
    for (int i = 0; i < n; i++)
        json_array_add_int_element (a, v[i]);
    return a;
}

static const char *add (const Node *nd, const char *type, JsonObject *cfg, int n_in,
                        DnOnnxValue **in, GError **error)
{
    return _dn_onnx_add_layer (nd->im, nd->n, nd->index, type, cfg, n_in, in, error);
}

/* ---- convolution and pooling geometry ---- */

typedef struct {
    int sp; /* spatial dims */
    int64_t kernel[2], stride[2], pad[2], dilation[2];
} Geom;

/* Reads kernel_shape, strides, pads, dilations and auto_pad for `sp` spatial dims of
 * an input with spatial size `in`; `kernel` holds the kernel when known (Conv's weight). */
static gboolean read_geom (const Node *nd, int sp, const int64_t *in, gboolean have_kernel,
                           Geom *g, GError **error)
{
    int64_t v[8];
    int n;
    g->sp = sp;
    char autopad[16];
    if (!_dn_onnx_attr_string (nd->n, "auto_pad", "NOTSET", autopad, sizeof autopad, nd->label,
                               error))
        return FALSE;
    if (!_dn_onnx_attr_ints (nd->n, "kernel_shape", 2, v, &n, nd->label, error))
        return FALSE;
    if (n != 0 && n != sp)
        return unsupported (nd, error, "\"kernel_shape\" has %d values for %d spatial axes", n, sp);
    if (n == 0 && !have_kernel)
        return unsupported (nd, error, "\"kernel_shape\" is required");
    for (int i = 0; i < n; i++) {
        if (have_kernel && v[i] != g->kernel[i])
            return unsupported (nd, error, "\"kernel_shape\" does not match the weight's shape");
        g->kernel[i] = v[i];
    }
    struct {
        const char *name;
        int64_t *dst;
        int64_t def, min;
    } lists[] = {{"strides", g->stride, 1, 1}, {"dilations", g->dilation, 1, 1}};
    for (int l = 0; l < 2; l++) {
        if (!_dn_onnx_attr_ints (nd->n, lists[l].name, 2, v, &n, nd->label, error))
            return FALSE;
        if (n != 0 && n != sp)
            return unsupported (nd, error, "\"%s\" has %d values for %d spatial axes",
                                lists[l].name, n, sp);
        for (int i = 0; i < sp; i++) {
            lists[l].dst[i] = n ? v[i] : lists[l].def;
            if (lists[l].dst[i] < 1 || lists[l].dst[i] > 1 << 16)
                return unsupported (nd, error, "\"%s\" must be positive", lists[l].name);
        }
    }
    for (int i = 0; i < sp; i++)
        if (g->kernel[i] < 1 || g->kernel[i] > 1 << 16)
            return unsupported (nd, error, "the kernel size must be positive");
    if (!_dn_onnx_attr_ints (nd->n, "pads", 4, v, &n, nd->label, error))
        return FALSE;
    if (n != 0 && n != 2 * sp)
        return unsupported (nd, error, "\"pads\" has %d values for %d spatial axes", n, sp);
    for (int i = 0; i < sp; i++) {
        int64_t b = n ? v[i] : 0, e = n ? v[i + sp] : 0;
        if (b != e || b < 0)
            return unsupported (nd, error,
                                "pads [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                                "] on axis %d are not the same at both ends; a Pad layer would "
                                "be needed",
                                b, e, i);
        g->pad[i] = b;
    }
    if (g_str_equal (autopad, "NOTSET"))
        return TRUE;
    if (n != 0 && g_str_equal (autopad, "VALID") == FALSE)
        return unsupported (nd, error, "has both \"pads\" and \"auto_pad\"");
    if (g_str_equal (autopad, "VALID")) {
        g->pad[0] = g->pad[1] = 0;
        return TRUE;
    }
    if (!g_str_equal (autopad, "SAME_UPPER") && !g_str_equal (autopad, "SAME_LOWER"))
        return unsupported (nd, error, "\"auto_pad\" is \"%s\"; NOTSET, VALID, SAME_UPPER or "
                                       "SAME_LOWER",
                            autopad);
    for (int i = 0; i < sp; i++) {
        int64_t out = (in[i] + g->stride[i] - 1) / g->stride[i];
        int64_t total = MAX (0, (out - 1) * g->stride[i] + (g->kernel[i] - 1) * g->dilation[i] +
                                    1 - in[i]);
        if (total % 2 != 0)
            return unsupported (nd, error,
                                "\"auto_pad\" %s pads axis %d by %" G_GINT64_FORMAT
                                " in all, more at one end; a Pad layer would be needed",
                                autopad, i, total);
        g->pad[i] = total / 2;
    }
    return TRUE;
}

/* A number for one spatial axis (conv1d), a pair for two. */
static void set_pair (JsonObject *cfg, const char *key, int sp, const int64_t *v)
{
    if (sp == 1)
        json_object_set_int_member (cfg, key, v[0]);
    else
        json_object_set_array_member (cfg, key, int_array (sp, v));
}

static void geom_cfg (JsonObject *cfg, const Geom *g, gboolean with_kernel,
                      gboolean with_dilation)
{
    if (with_kernel)
        set_pair (cfg, "kernel_size", g->sp, g->kernel);
    set_pair (cfg, "stride", g->sp, g->stride);
    set_pair (cfg, "padding", g->sp, g->pad);
    if (with_dilation)
        set_pair (cfg, "dilation", g->sp, g->dilation);
}

static gboolean map_conv (const Node *nd, GError **error)
{
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape",
                                        "pads",     "strides",   NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    DnOnnxConst *w, *b;
    if (x == NULL || !const_input (nd, 1, FALSE, &w, error) ||
        !const_input (nd, 2, TRUE, &b, error) ||
        !_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_single_output (nd->im, nd->n, nd->label, error))
        return FALSE;
    int sp = x->shape.ndim - 1;
    if (sp < 1 || sp > 2 || w->ndim != sp + 2)
        return unsupported (nd, error, "a %d-D convolution; conv1d and conv2d are supported",
                            MAX (sp, w->ndim - 2));
    int64_t group;
    if (!_dn_onnx_attr_int (nd->n, "group", 1, &group, nd->label, error))
        return FALSE;
    if (group < 1 || group > x->shape.d[0] || w->dims[0] % group != 0)
        return unsupported (nd, error, "\"group\" %" G_GINT64_FORMAT " does not divide the "
                                       "channels",
                            group);
    Geom g;
    for (int i = 0; i < sp; i++)
        g.kernel[i] = w->dims[2 + i];
    if (!read_geom (nd, sp, x->shape.d + 1, TRUE, &g, error))
        return FALSE;
    JsonObject *cfg = json_object_new ();
    json_object_set_int_member (cfg, "in_channels", x->shape.d[0]);
    json_object_set_int_member (cfg, "out_channels", w->dims[0]);
    geom_cfg (cfg, &g, TRUE, TRUE);
    json_object_set_int_member (cfg, "groups", group);
    json_object_set_boolean_member (cfg, "bias", b != NULL);
    const char *name = add (nd, sp == 1 ? "conv1d" : "conv2d", cfg, 1, &x, error);
    if (name == NULL)
        return FALSE;
    _dn_onnx_weight (nd->im, name, "weight", const_copy (w), nd->label);
    if (b != NULL)
        _dn_onnx_weight (nd->im, name, "bias", const_copy (b), nd->label);
    return TRUE;
}

/* A linear layer with weight (n, k) from w, stored (k, n) when `transposed`. */
static const char *linear (const Node *nd, DnOnnxValue *x, const DnOnnxConst *w,
                           gboolean transposed, float alpha, DnOnnxConst *bias, GError **error)
{
    int64_t k = transposed ? w->dims[0] : w->dims[1], n = transposed ? w->dims[1] : w->dims[0];
    if (x->shape.ndim != 1) {
        g_autofree char *s = dn_shape_to_string (&x->shape);
        unsupported (nd, error,
                     "multiplies an input %s per sample; a linear layer reads one vector per "
                     "sample (a Flatten before it, or a per-position linear layer, would be "
                     "needed)",
                     s);
        _dn_onnx_const_free (bias);
        return NULL;
    }
    JsonObject *cfg = json_object_new ();
    json_object_set_int_member (cfg, "in_features", k);
    json_object_set_int_member (cfg, "out_features", n);
    json_object_set_boolean_member (cfg, "bias", bias != NULL);
    const char *name = add (nd, "linear", cfg, 1, &x, error);
    if (name == NULL) {
        _dn_onnx_const_free (bias);
        return NULL;
    }
    DnOnnxConst *wt = const_copy (w);
    wt->dims[0] = n;
    wt->dims[1] = k;
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < k; c++)
            wt->f[r * k + c] = alpha * (transposed ? w->f[c * n + r] : w->f[r * k + c]);
    _dn_onnx_weight (nd->im, name, "weight", wt, nd->label);
    if (bias != NULL)
        _dn_onnx_weight (nd->im, name, "bias", bias, nd->label);
    return name;
}

static gboolean map_gemm (const Node *nd, GError **error)
{
    static const char *const known[] = {"alpha", "beta", "transA", "transB", NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    DnOnnxConst *w, *c;
    float alpha, beta;
    int64_t ta, tb;
    if (x == NULL || !const_input (nd, 1, FALSE, &w, error) ||
        !const_input (nd, 2, TRUE, &c, error) ||
        !_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_float (nd->n, "alpha", 1.0f, &alpha, nd->label, error) ||
        !_dn_onnx_attr_float (nd->n, "beta", 1.0f, &beta, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "transA", 0, &ta, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "transB", 0, &tb, nd->label, error))
        return FALSE;
    if (ta != 0)
        return unsupported (nd, error, "\"transA\" is set; the batch must be the first axis of "
                                       "A (a Transpose layer would be needed)");
    if (w->ndim != 2)
        return unsupported (nd, error, "B has %d dimensions; a weight matrix has 2", w->ndim);
    int64_t n = tb ? w->dims[0] : w->dims[1];
    DnOnnxConst *bias = NULL;
    if (c != NULL && (bias = bias_from (c, n, beta)) == NULL)
        return unsupported (nd, error, "C is not a vector of %" G_GINT64_FORMAT " values (one "
                                       "bias per sample would be needed)",
                            n);
    return linear (nd, x, w, tb == 0, alpha, bias, error) != NULL;
}

static gboolean map_matmul (const Node *nd, GError **error)
{
    DnOnnxValue *x = act_input (nd, 0, error);
    DnOnnxConst *w;
    if (x == NULL || !const_input (nd, 1, FALSE, &w, error) ||
        !_dn_onnx_check_attrs (nd->n, NULL, nd->label, error))
        return FALSE;
    if (w->ndim != 2)
        return unsupported (nd, error, "B has %d dimensions; a weight matrix has 2", w->ndim);
    const char *name = linear (nd, x, w, TRUE, 1.0f, NULL, error);
    if (name == NULL)
        return FALSE;
    /* an Add of a vector after it, and nothing else reading it, is its bias */
    if (_dn_onnx_readers (nd->im, nd->n->output[0]) == 1) {
        DnOnnxValue *v = g_hash_table_lookup (nd->im->values, nd->n->output[0]);
        g_hash_table_replace (nd->im->foldable, g_strdup (nd->n->output[0]),
                              GINT_TO_POINTER (v->index));
    }
    return TRUE;
}

static gboolean map_add (const Node *nd, GError **error)
{
    if (!_dn_onnx_check_attrs (nd->n, NULL, nd->label, error))
        return FALSE;
    DnOnnxConst *ca, *cb;
    DnOnnxValue *a = _dn_onnx_input (nd->im, nd->n, 0, &ca);
    DnOnnxValue *b = _dn_onnx_input (nd->im, nd->n, 1, &cb);
    if (a != NULL && b != NULL) {
        DnOnnxValue *in[2] = {a, b};
        if (!dn_shape_equal (&a->shape, &b->shape)) {
            g_autofree char *sa = dn_shape_to_string (&a->shape);
            g_autofree char *sb = dn_shape_to_string (&b->shape);
            return unsupported (nd, error, "adds %s and %s; broadcasting would be needed", sa,
                                sb);
        }
        return add (nd, "add", json_object_new (), 2, in, error) != NULL;
    }
    DnOnnxValue *x = a != NULL ? a : b;
    DnOnnxConst *c = a != NULL ? cb : ca;
    const char *xname = a != NULL ? nd->n->input[0] : nd->n->input[1];
    if (x == NULL || c == NULL)
        return unsupported (nd, error, "adds two constants; fold them first (e.g. with onnxsim)");
    gpointer li;
    if (!g_hash_table_lookup_extended (nd->im->foldable, xname, NULL, &li))
        return unsupported (nd, error,
                            "adds a constant to '%s'; only the bias after a MatMul is "
                            "supported (a bias layer would be needed)",
                            xname);
    JsonObject *cfg = json_array_get_object_element (nd->im->layers, GPOINTER_TO_INT (li));
    int64_t n = json_object_get_int_member (cfg, "out_features");
    DnOnnxConst *bias = bias_from (c, n, 1.0f);
    if (bias == NULL)
        return unsupported (nd, error, "the constant is not a vector of %" G_GINT64_FORMAT
                                       " values; a bias layer would be needed",
                            n);
    json_object_set_boolean_member (cfg, "bias", TRUE);
    _dn_onnx_weight (nd->im, json_object_get_string_member (cfg, "name"), "bias", bias,
                     nd->label);
    _dn_onnx_alias (nd->im, nd->n, x);
    g_hash_table_remove (nd->im->foldable, xname);
    return TRUE;
}

static gboolean map_batchnorm (const Node *nd, GError **error)
{
    static const char *const known[] = {"epsilon", "momentum", "training_mode", NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    DnOnnxConst *c[4];
    float eps, momentum;
    int64_t training;
    if (x == NULL || !_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_float (nd->n, "epsilon", 1e-5f, &eps, nd->label, error) ||
        !_dn_onnx_attr_float (nd->n, "momentum", 0.9f, &momentum, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "training_mode", 0, &training, nd->label, error) ||
        !_dn_onnx_single_output (nd->im, nd->n, nd->label, error))
        return FALSE;
    for (int i = 0; i < 4; i++)
        if (!const_input (nd, i + 1, FALSE, &c[i], error))
            return FALSE;
    if (training != 0)
        return unsupported (nd, error, "\"training_mode\" is set; import reads inference graphs "
                                       "(export the model in eval mode)");
    if (x->shape.ndim < 1 || x->shape.ndim > 3)
        return unsupported (nd, error, "normalises an input of %d dimensions per sample",
                            x->shape.ndim);
    int64_t ch = x->shape.d[0];
    for (int i = 0; i < 4; i++)
        if (c[i]->numel != ch)
            return unsupported (nd, error, "input %d has %" G_GINT64_FORMAT " values for %"
                                           G_GINT64_FORMAT " channels",
                                i + 2, c[i]->numel, ch);
    if (!(eps > 0.0f && eps <= 1.0f) || !(momentum >= 0.0f && momentum <= 1.0f))
        return unsupported (nd, error, "\"epsilon\" or \"momentum\" is out of range");
    JsonObject *cfg = json_object_new ();
    json_object_set_int_member (cfg, "num_features", ch);
    json_object_set_double_member (cfg, "eps", eps);
    /* ONNX keeps momentum of the running value, PyTorch of the new one */
    json_object_set_double_member (cfg, "momentum", 1.0 - (double) momentum);
    const char *name = add (nd, x->shape.ndim == 3 ? "batchnorm2d" : "batchnorm1d", cfg, 1, &x,
                            error);
    if (name == NULL)
        return FALSE;
    static const char *const params[] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++)
        _dn_onnx_weight (nd->im, name, params[i], const_copy (c[i]), nd->label);
    return TRUE;
}

static gboolean map_layernorm (const Node *nd, GError **error)
{
    static const char *const known[] = {"axis", "epsilon", "stash_type", NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    DnOnnxConst *scale, *bias;
    int64_t axis, stash;
    float eps;
    if (x == NULL || !const_input (nd, 1, FALSE, &scale, error) ||
        !const_input (nd, 2, TRUE, &bias, error) ||
        !_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "axis", -1, &axis, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "stash_type", 1, &stash, nd->label, error) ||
        !_dn_onnx_attr_float (nd->n, "epsilon", 1e-5f, &eps, nd->label, error) ||
        !_dn_onnx_single_output (nd->im, nd->n, nd->label, error))
        return FALSE;
    int rank = x->shape.ndim + 1;
    if (axis < 0)
        axis += rank;
    if (axis < 1 || axis >= rank)
        return unsupported (nd, error, "\"axis\" %" G_GINT64_FORMAT " includes the batch axis "
                                       "or is out of range",
                            axis);
    if (stash != 1)
        return unsupported (nd, error, "\"stash_type\" is not float32");
    if (!(eps > 0.0f && eps <= 1.0f))
        return unsupported (nd, error, "\"epsilon\" is out of range");
    int n = rank - (int) axis;
    DnShape norm = dn_shape_make (n, x->shape.d + axis - 1);
    if (scale->numel != dn_shape_numel (&norm) ||
        (bias != NULL && bias->numel != dn_shape_numel (&norm)))
        return unsupported (nd, error, "Scale or B does not have the normalised shape "
                                       "(broadcasting would be needed)");
    JsonObject *cfg = json_object_new ();
    json_object_set_array_member (cfg, "normalized_shape", int_array (n, norm.d));
    json_object_set_double_member (cfg, "eps", eps);
    json_object_set_boolean_member (cfg, "bias", bias != NULL);
    const char *name = add (nd, "layernorm", cfg, 1, &x, error);
    if (name == NULL)
        return FALSE;
    _dn_onnx_weight (nd->im, name, "weight", const_copy (scale), nd->label);
    if (bias != NULL)
        _dn_onnx_weight (nd->im, name, "bias", const_copy (bias), nd->label);
    return TRUE;
}

static gboolean map_pool (const Node *nd, GError **error)
{
    gboolean is_max = g_str_equal (nd->n->op_type, "MaxPool");
    static const char *const max_known[] = {"auto_pad",     "ceil_mode", "dilations", "kernel_shape",
                                            "pads",         "strides",   "storage_order", NULL};
    static const char *const avg_known[] = {"auto_pad",     "ceil_mode", "count_include_pad",
                                            "dilations",    "kernel_shape", "pads", "strides",
                                            NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    int64_t ceil_mode, order, include;
    if (x == NULL ||
        !_dn_onnx_check_attrs (nd->n, is_max ? max_known : avg_known, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "ceil_mode", 0, &ceil_mode, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "storage_order", 0, &order, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "count_include_pad", 0, &include, nd->label, error) ||
        !_dn_onnx_single_output (nd->im, nd->n, nd->label, error))
        return FALSE;
    if (x->shape.ndim != 3)
        return unsupported (nd, error, "pools an input of %d dimensions per sample; 2-D "
                                       "pooling of (C, H, W) is supported",
                            x->shape.ndim);
    if (ceil_mode != 0)
        return unsupported (nd, error, "\"ceil_mode\" is set; only floor mode is supported");
    Geom g;
    if (!read_geom (nd, 2, x->shape.d + 1, FALSE, &g, error))
        return FALSE;
    if (!is_max && (g.dilation[0] != 1 || g.dilation[1] != 1))
        return unsupported (nd, error, "average pooling with dilations is not supported");
    JsonObject *cfg = json_object_new ();
    geom_cfg (cfg, &g, TRUE, is_max);
    if (!is_max)
        json_object_set_boolean_member (cfg, "count_include_pad", include != 0);
    return add (nd, is_max ? "maxpool2d" : "avgpool2d", cfg, 1, &x, error) != NULL;
}

static gboolean map_global_pool (const Node *nd, GError **error)
{
    DnOnnxValue *x = act_input (nd, 0, error);
    if (x == NULL || !_dn_onnx_check_attrs (nd->n, NULL, nd->label, error))
        return FALSE;
    if (x->shape.ndim != 3)
        return unsupported (nd, error, "pools an input of %d dimensions per sample; (C, H, W) "
                                       "is supported",
                            x->shape.ndim);
    JsonObject *cfg = json_object_new ();
    json_object_set_int_member (cfg, "output_size", 1);
    return add (nd, "adaptive_avgpool2d", cfg, 1, &x, error) != NULL;
}

static gboolean to_flat (const Node *nd, DnOnnxValue *x, GError **error)
{
    if (x->shape.ndim == 1) {
        _dn_onnx_alias (nd->im, nd->n, x);
        return TRUE;
    }
    return add (nd, "flatten", json_object_new (), 1, &x, error) != NULL;
}

static gboolean map_flatten (const Node *nd, GError **error)
{
    static const char *const known[] = {"axis", NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    int64_t axis;
    if (x == NULL || !_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "axis", 1, &axis, nd->label, error))
        return FALSE;
    if (axis < 0)
        axis += x->shape.ndim + 1;
    if (axis != 1)
        return unsupported (nd, error, "flattens from axis %" G_GINT64_FORMAT "; only from "
                                       "axis 1 (keeping the batch) is supported",
                            axis);
    return to_flat (nd, x, error);
}

static gboolean map_reshape (const Node *nd, GError **error)
{
    static const char *const known[] = {"allowzero", NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    DnOnnxConst *s;
    int64_t allowzero;
    if (x == NULL || !const_input (nd, 1, FALSE, &s, error) ||
        !_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "allowzero", 0, &allowzero, nd->label, error))
        return FALSE;
    if (s->i == NULL || s->ndim != 1 || s->numel < 2 || s->numel > DN_MAX_DIMS + 1)
        return unsupported (nd, error, "the shape is not a list of 2 to %d integers",
                            DN_MAX_DIMS + 1);
    int64_t numel = dn_shape_numel (&x->shape);
    /* the shape per sample: 0 copies the input's dimension, -1 takes what is left */
    DnShape t = {.ndim = (int) s->numel - 1};
    int64_t known_prod = 1;
    int minus = -1;
    for (int i = 1; i < s->numel; i++) {
        int64_t v = s->i[i];
        if (v == 0 && allowzero == 0 && i - 1 < x->shape.ndim)
            v = x->shape.d[i - 1];
        if (v == -1 && minus < 0)
            minus = i - 1;
        else if (v < 1 || v > DN_ONNX_MAX_DIM)
            return unsupported (nd, error, "the shape holds %" G_GINT64_FORMAT, s->i[i]);
        else
            known_prod *= v;
        t.d[i - 1] = v;
    }
    if (minus >= 0 && numel % known_prod == 0)
        t.d[minus] = numel / known_prod;
    gboolean batch_ok = s->i[0] == 0 || s->i[0] == -1 || s->i[0] >= 1;
    if (!batch_ok || dn_shape_numel (&t) != numel || (minus >= 0 && s->i[0] == -1))
        return unsupported (nd, error, "reshapes across the batch axis; only (batch, ...) "
                                       "shapes keeping the batch are supported");
    if (dn_shape_equal (&t, &x->shape)) {
        _dn_onnx_alias (nd->im, nd->n, x);
        return TRUE;
    }
    if (t.ndim == 1)
        return to_flat (nd, x, error);
    g_autofree char *from = dn_shape_to_string (&x->shape);
    g_autofree char *to = dn_shape_to_string (&t);
    return unsupported (nd, error, "reshapes %s to %s per sample; only flattening to (batch, "
                                   "features) is supported (a reshape layer would be needed)",
                        from, to);
}

static gboolean map_dropout (const Node *nd, GError **error)
{
    static const char *const known[] = {"ratio", "seed", "is_test", NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    DnOnnxConst *r = NULL, *tm = NULL;
    float ratio;
    if (x == NULL || !_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_float (nd->n, "ratio", 0.5f, &ratio, nd->label, error) ||
        !const_input (nd, 1, TRUE, &r, error) || !const_input (nd, 2, TRUE, &tm, error) ||
        !_dn_onnx_single_output (nd->im, nd->n, nd->label, error))
        return FALSE;
    if (r != NULL) {
        if (r->numel != 1)
            return unsupported (nd, error, "the ratio is not one number");
        ratio = r->f[0];
    }
    if (tm != NULL && (tm->numel != 1 || tm->f[0] != 0.0f))
        return unsupported (nd, error, "\"training_mode\" is set; import reads inference graphs");
    if (!(ratio >= 0.0f && ratio < 1.0f))
        return unsupported (nd, error, "the ratio %g is not in [0, 1)", ratio);
    if (ratio == 0.0f) {
        _dn_onnx_alias (nd->im, nd->n, x);
        return TRUE;
    }
    JsonObject *cfg = json_object_new ();
    json_object_set_double_member (cfg, "p", ratio);
    return add (nd, "dropout", cfg, 1, &x, error) != NULL;
}

static gboolean map_concat (const Node *nd, GError **error)
{
    static const char *const known[] = {"axis", NULL};
    int64_t axis;
    DnOnnxValue *in[DN_LAYER_MAX_INPUTS];
    int n = (int) nd->n->n_input;
    if (!_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "axis", 1, &axis, nd->label, error))
        return FALSE;
    if (n < 2 || n > DN_LAYER_MAX_INPUTS)
        return unsupported (nd, error, "concatenates %d inputs; 2 to %d are supported", n,
                            DN_LAYER_MAX_INPUTS);
    for (int i = 0; i < n; i++)
        if ((in[i] = act_input (nd, i, error)) == NULL)
            return FALSE;
    if (axis < 0)
        axis += in[0]->shape.ndim + 1;
    if (axis != 1)
        return unsupported (nd, error, "concatenates along axis %" G_GINT64_FORMAT "; only "
                                       "axis 1 (the channels) is supported",
                            axis);
    return add (nd, "concat", json_object_new (), n, in, error) != NULL;
}

static gboolean map_softmax (const Node *nd, GError **error)
{
    static const char *const known[] = {"axis", NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    int64_t axis;
    if (x == NULL || !_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_int (nd->n, "axis", nd->im->opset >= 13 ? -1 : 1, &axis, nd->label,
                            error))
        return FALSE;
    int rank = x->shape.ndim + 1;
    if (axis < 0)
        axis += rank;
    /* before opset 13 the axes from `axis` on are flattened into one */
    if (axis != rank - 1)
        return unsupported (nd, error, "normalises over axis %" G_GINT64_FORMAT " of %d%s; "
                                       "only the last axis is supported",
                            axis, rank, nd->im->opset < 13 && axis < rank - 1
                                           ? " (and the axes after it, opset < 13)"
                                           : "");
    JsonObject *cfg = json_object_new ();
    json_object_set_int_member (cfg, "dim", -1);
    return add (nd, g_str_equal (nd->n->op_type, "Softmax") ? "softmax" : "log_softmax", cfg, 1,
                &x, error) != NULL;
}

static gboolean map_activation (const Node *nd, GError **error)
{
    const char *op = nd->n->op_type;
    static const char *const alpha_known[] = {"alpha", NULL};
    static const char *const gelu_known[] = {"approximate", NULL};
    DnOnnxValue *x = act_input (nd, 0, error);
    if (x == NULL)
        return FALSE;
    JsonObject *cfg = json_object_new ();
    const char *type = NULL;
    const char *const *known = NULL;
    float alpha = 0.01f;
    char approx[16] = "none";
    if (g_str_equal (op, "LeakyRelu")) {
        known = alpha_known;
        type = "leaky_relu";
    } else if (g_str_equal (op, "Gelu")) {
        known = gelu_known;
        type = "gelu";
    } else {
        type = g_str_equal (op, "Relu") ? "relu" : g_str_equal (op, "Sigmoid") ? "sigmoid" : "tanh";
    }
    if (!_dn_onnx_check_attrs (nd->n, known, nd->label, error) ||
        !_dn_onnx_attr_float (nd->n, "alpha", 0.01f, &alpha, nd->label, error) ||
        !_dn_onnx_attr_string (nd->n, "approximate", "none", approx, sizeof approx, nd->label,
                               error)) {
        json_object_unref (cfg);
        return FALSE;
    }
    if (!g_str_equal (approx, "none")) {
        json_object_unref (cfg);
        return unsupported (nd, error, "\"approximate\" is \"%s\"; only the exact (erf) GELU is "
                                       "supported",
                            approx);
    }
    if (g_str_equal (type, "leaky_relu"))
        json_object_set_double_member (cfg, "negative_slope", alpha);
    return add (nd, type, cfg, 1, &x, error) != NULL;
}

/* ---- GELU written out: x * 0.5 * (1 + erf(x / sqrt 2)) ---- */

static int producer (DnOnnxImport *im, const char *value)
{
    for (size_t i = 0; i < im->graph->n_node; i++)
        if (im->graph->node[i]->n_output > 0 && im->graph->node[i]->output[0] != NULL &&
            g_str_equal (im->graph->node[i]->output[0], value))
            return (int) i;
    return -1;
}

/* The only node reading `value`, or -1. */
static int sole_reader (DnOnnxImport *im, const char *value)
{
    if (_dn_onnx_readers (im, value) != 1)
        return -1;
    for (size_t i = 0; i < im->graph->n_node; i++)
        for (size_t k = 0; k < im->graph->node[i]->n_input; k++)
            if (g_strcmp0 (im->graph->node[i]->input[k], value) == 0)
                return (int) i;
    return -1;
}

static gboolean is_op (DnOnnxImport *im, int i, const char *op)
{
    const Onnx__NodeProto *n = i >= 0 ? im->graph->node[i] : NULL;
    return n != NULL && g_strcmp0 (n->op_type, op) == 0 && n->n_input == 2 && n->n_output == 1 &&
           n->n_attribute == 0;
}

/* The initializer or Constant named `value` when it is one number near `want`. */
static gboolean scalar_is (DnOnnxImport *im, const char *value, double want)
{
    const Onnx__TensorProto *t = NULL;
    for (size_t i = 0; i < im->graph->n_initializer && t == NULL; i++)
        if (g_strcmp0 (im->graph->initializer[i]->name, value) == 0)
            t = im->graph->initializer[i];
    int p = t == NULL ? producer (im, value) : -1;
    if (p >= 0 && g_strcmp0 (im->graph->node[p]->op_type, "Constant") == 0) {
        const Onnx__AttributeProto *a = _dn_onnx_attr (im->graph->node[p], "value");
        t = a != NULL ? a->t : NULL;
    }
    if (t == NULL)
        return FALSE;
    DnOnnxConst *c = _dn_onnx_tensor_read (t, NULL, "", NULL);
    gboolean ok = c != NULL && c->numel == 1 && fabs (c->f[0] - want) <= 1e-6 * fabs (want);
    _dn_onnx_const_free (c);
    return ok;
}

/* The other input of binary node i than `value` (-1 when neither is `value`). */
static const char *other_input (DnOnnxImport *im, int i, const char *value)
{
    const Onnx__NodeProto *n = im->graph->node[i];
    if (g_strcmp0 (n->input[0], value) == 0)
        return n->input[1];
    if (g_strcmp0 (n->input[1], value) == 0)
        return n->input[0];
    return NULL;
}

void _dn_onnx_find_patterns (DnOnnxImport *im)
{
    for (size_t e = 0; e < im->graph->n_node; e++) {
        const Onnx__NodeProto *erf = im->graph->node[e];
        if (g_strcmp0 (erf->op_type, "Erf") != 0 || erf->n_input != 1 || erf->n_output != 1)
            continue;
        int d = producer (im, erf->input[0]);
        if (d < 0 || sole_reader (im, erf->input[0]) != (int) e)
            continue;
        const Onnx__NodeProto *dn = im->graph->node[d];
        const char *x = dn->input[0];
        if (!((is_op (im, d, "Div") && scalar_is (im, dn->input[1], G_SQRT2)) ||
              (is_op (im, d, "Mul") && scalar_is (im, dn->input[1], 1.0 / G_SQRT2))))
            continue;
        int a = sole_reader (im, erf->output[0]);
        if (!is_op (im, a, "Add") || !scalar_is (im, other_input (im, a, erf->output[0]), 1.0))
            continue;
        /* then x * a * 0.5, in either order */
        int m1 = sole_reader (im, im->graph->node[a]->output[0]);
        if (!is_op (im, m1, "Mul"))
            continue;
        const char *o1 = other_input (im, m1, im->graph->node[a]->output[0]);
        int m2 = sole_reader (im, im->graph->node[m1]->output[0]);
        if (!is_op (im, m2, "Mul"))
            continue;
        const char *o2 = other_input (im, m2, im->graph->node[m1]->output[0]);
        gboolean ok = (g_strcmp0 (o1, x) == 0 && scalar_is (im, o2, 0.5)) ||
                      (g_strcmp0 (o2, x) == 0 && scalar_is (im, o1, 0.5));
        if (!ok)
            continue;
        im->role[d] = im->role[e] = im->role[a] = im->role[m1] = 1;
        im->role[m2] = 2;
        g_free (im->pattern_input[m2]);
        im->pattern_input[m2] = g_strdup (x);
    }
}

typedef gboolean (*MapFunc) (const Node *nd, GError **error);

static const struct {
    const char *op;
    MapFunc map;
} ops[] = {
    {"Conv", map_conv},
    {"Gemm", map_gemm},
    {"MatMul", map_matmul},
    {"Add", map_add},
    {"BatchNormalization", map_batchnorm},
    {"LayerNormalization", map_layernorm},
    {"Relu", map_activation},
    {"LeakyRelu", map_activation},
    {"Sigmoid", map_activation},
    {"Tanh", map_activation},
    {"Gelu", map_activation},
    {"MaxPool", map_pool},
    {"AveragePool", map_pool},
    {"GlobalAveragePool", map_global_pool},
    {"Flatten", map_flatten},
    {"Reshape", map_reshape},
    {"Dropout", map_dropout},
    {"Concat", map_concat},
    {"Softmax", map_softmax},
    {"LogSoftmax", map_softmax},
};

gboolean _dn_onnx_map_node (DnOnnxImport *im, int index, GError **error)
{
    const Onnx__NodeProto *n = im->graph->node[index];
    g_autofree char *label = _dn_onnx_node_label (n, index);
    Node nd = {.im = im, .n = n, .index = index, .label = label};
    if (im->role[index] == 1)
        return TRUE;
    if (im->role[index] == 2) {
        DnOnnxValue *x = g_hash_table_lookup (im->values, im->pattern_input[index]);
        if (x == NULL)
            return unsupported (&nd, error, "ends a GELU whose input is a constant");
        JsonObject *cfg = json_object_new ();
        return add (&nd, "gelu", cfg, 1, &x, error) != NULL;
    }
    if (g_str_equal (n->op_type, "Identity")) {
        DnOnnxValue *x = act_input (&nd, 0, error);
        if (x == NULL)
            return FALSE;
        _dn_onnx_alias (im, n, x);
        return TRUE;
    }
    for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
        if (g_str_equal (n->op_type, ops[i].op))
            return ops[i].map (&nd, error);
    g_autoptr (GString) list = g_string_new (NULL);
    for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
        g_string_append_printf (list, "%s%s", i ? ", " : "", ops[i].op);
    return unsupported (&nd, error,
                        "no layer computes the operator %s; import maps Identity, %s and the "
                        "erf form of GELU",
                        n->op_type, list->str);
}
