/* dn-layer-act.c: the activation layers (relu, leaky_relu, sigmoid, tanh, gelu)
 * and softmax / log_softmax.
 *
 * Activations work on any shape, elementwise. Softmax normalises over one
 * dimension; the backend op wants that dimension contiguous, so only the
 * last one is supported (for a flat (F) input that is PyTorch's default dim 1).
 *
 * dn_layer_new() calls configure only when the file gives settings, so each
 * layer applies its defaults on first use through a `ready` flag.
 */
#include "dn-error.h"
#include "dn-layer-private.h"

#include <string.h>

typedef struct {
    DnLayer parent;
    gboolean ready; /* defaults applied */
    double slope;   /* leaky_relu's negative_slope */
} DnActLayer;

typedef struct {
    DnLayer parent;
    gboolean ready;
    int dim;  /* as written: PyTorch's dim, which counts the batch dimension */
    int cols; /* the size of the normalised (last) dimension */
} DnSoftmax;

/* ---- elementwise activations ---- */

static DnAct act_kind (const DnLayer *l)
{
    if (l->klass == &dn_relu_class)
        return DN_ACT_RELU;
    if (l->klass == &dn_leaky_relu_class)
        return DN_ACT_LEAKY_RELU;
    if (l->klass == &dn_sigmoid_class)
        return DN_ACT_SIGMOID;
    if (l->klass == &dn_tanh_class)
        return DN_ACT_TANH;
    if (l->klass == &dn_gelu_class)
        return DN_ACT_GELU;
    return DN_ACT_IDENTITY;
}

static void act_defaults (DnActLayer *self)
{
    if (self->ready)
        return;
    self->ready = TRUE;
    self->slope = 0.01;
}

static gboolean leaky_relu_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnActLayer *self = (DnActLayer *) l;
    static const char *const known[] = {"negative_slope", NULL};
    act_defaults (self);
    return dn_fields_check_keys (&r, known) &&
           dn_fields_number (&r, "negative_slope", -1e6, 1e6, &self->slope);
}

static gboolean gelu_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    static const char *const known[] = {"approximate", NULL};
    g_autofree char *approximate = NULL;
    if (!dn_fields_check_keys (&r, known) || !dn_fields_string (&r, "approximate", &approximate))
        return FALSE;
    if (approximate != NULL && !g_str_equal (approximate, "none")) {
        g_autofree char *q = dn_quote (approximate);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (gelu): \"approximate\" is %s; only \"none\" (the exact erf "
                     "form) is supported",
                     l->name, q);
        return FALSE;
    }
    return TRUE;
}

static gboolean act_infer (DnLayer *l, GError **error)
{
    act_defaults ((DnActLayer *) l);
    l->out_shape = l->in_shape[0];
    return TRUE;
}

// x and y are (B, ...), any shape
static void act_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                         DnTensor *out)
{
    DnActLayer *self = (DnActLayer *) l;
    DnBackend *be = ctx->backend;
    size_t n = (size_t) batch * dn_shape_numel (&l->out_shape);
    be->act_forward (be, act_kind (l), (float) self->slope, n, in[0]->data, out->data);
}

// dx += f'(x) dy
static void act_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                          const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnActLayer *self = (DnActLayer *) l;
    DnBackend *be = ctx->backend;
    if (din[0] == NULL)
        return;
    size_t n = (size_t) batch * dn_shape_numel (&l->out_shape);
    be->act_backward (be, act_kind (l), (float) self->slope, n, in[0]->data, out->data, dout->data,
                      din[0]->data);
}

static void leaky_relu_to_json (DnLayer *l, JsonBuilder *b)
{
    DnActLayer *self = (DnActLayer *) l;
    act_defaults (self);
    if (self->slope != 0.01) {
        json_builder_set_member_name (b, "negative_slope");
        json_builder_add_double_value (b, self->slope);
    }
}

static char *leaky_relu_describe (DnLayer *l)
{
    DnActLayer *self = (DnActLayer *) l;
    act_defaults (self);
    return g_strdup_printf ("slope %g", self->slope);
}

#define DN_ACT_CLASS(NAME, CONFIGURE, TO_JSON, DESCRIBE)                                           \
    const DnLayerClass dn_##NAME##_class = {                                                       \
        .type = #NAME,                                                                             \
        .instance_size = sizeof (DnActLayer),                                                      \
        .min_inputs = 1,                                                                           \
        .max_inputs = 1,                                                                           \
        .configure = CONFIGURE,                                                                    \
        .infer = act_infer,                                                                        \
        .forward = act_forward,                                                                    \
        .backward = act_backward,                                                                  \
        .to_json = TO_JSON,                                                                        \
        .describe = DESCRIBE,                                                                      \
    }

DN_ACT_CLASS (relu, NULL, NULL, NULL);
DN_ACT_CLASS (leaky_relu, leaky_relu_configure, leaky_relu_to_json, leaky_relu_describe);
DN_ACT_CLASS (sigmoid, NULL, NULL, NULL);
DN_ACT_CLASS (tanh, NULL, NULL, NULL);
DN_ACT_CLASS (gelu, gelu_configure, NULL, NULL);

/* ---- softmax, log_softmax ---- */

static gboolean is_log (const DnLayer *l)
{
    return l->klass == &dn_log_softmax_class;
}

static void softmax_defaults (DnSoftmax *self)
{
    if (self->ready)
        return;
    self->ready = TRUE;
    self->dim = 1;
}

static gboolean softmax_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnSoftmax *self = (DnSoftmax *) l;
    static const char *const known[] = {"dim", NULL};
    softmax_defaults (self);
    return dn_fields_check_keys (&r, known) &&
           dn_fields_int (&r, "dim", -DN_MAX_DIMS - 1, DN_MAX_DIMS, &self->dim);
}

static gboolean softmax_infer (DnLayer *l, GError **error)
{
    DnSoftmax *self = (DnSoftmax *) l;
    const DnShape *in = &l->in_shape[0];
    softmax_defaults (self);
    g_autofree char *s = dn_shape_to_string (in);
    /* PyTorch counts the batch dimension: with a per-sample shape of nd dims, dim is in
     * [-(nd + 1), nd], and 0 is the batch. */
    int nd = in->ndim;
    int d = self->dim < 0 ? self->dim + nd + 1 : self->dim;
    if (nd == 0 || d < 1 || d > nd) {
        dn_layer_shape_error (l, error,
                              "\"dim\" %d does not name a dimension of an input %s per sample; "
                              "use 1 to %d, or -1 for the last (dim 0 is the batch)",
                              self->dim, s, nd);
        return FALSE;
    }
    if (d != nd) {
        dn_layer_shape_error (l, error,
                              "normalising over dim %d of an input %s per sample is not "
                              "supported, only over the last dimension; use \"dim\": -1, or "
                              "add a flatten layer before it",
                              self->dim, s);
        return FALSE;
    }
    self->cols = (int) in->d[nd - 1];
    l->out_shape = *in;
    return TRUE;
}

// x and y are (B, ..., cols): rows = B * (numel / cols)
static void softmax_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                             DnTensor *out)
{
    DnSoftmax *self = (DnSoftmax *) l;
    DnBackend *be = ctx->backend;
    int rows = (int) ((int64_t) batch * dn_shape_numel (&l->out_shape) / self->cols);
    be->softmax_forward (be, is_log (l), rows, self->cols, in[0]->data, out->data);
}

// dx from y and dy, per row
static void softmax_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                              const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnSoftmax *self = (DnSoftmax *) l;
    DnBackend *be = ctx->backend;
    if (din[0] == NULL)
        return;
    int rows = (int) ((int64_t) batch * dn_shape_numel (&l->out_shape) / self->cols);
    be->softmax_backward (be, is_log (l), rows, self->cols, out->data, dout->data, din[0]->data);
}

static void softmax_to_json (DnLayer *l, JsonBuilder *b)
{
    DnSoftmax *self = (DnSoftmax *) l;
    softmax_defaults (self);
    json_builder_set_member_name (b, "dim");
    json_builder_add_int_value (b, self->dim);
}

static char *softmax_describe (DnLayer *l)
{
    DnSoftmax *self = (DnSoftmax *) l;
    softmax_defaults (self);
    return g_strdup_printf ("dim %d", self->dim);
}

const DnLayerClass dn_softmax_class = {
    .type = "softmax",
    .instance_size = sizeof (DnSoftmax),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = softmax_configure,
    .infer = softmax_infer,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .to_json = softmax_to_json,
    .describe = softmax_describe,
};

const DnLayerClass dn_log_softmax_class = {
    .type = "log_softmax",
    .instance_size = sizeof (DnSoftmax),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = softmax_configure,
    .infer = softmax_infer,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .to_json = softmax_to_json,
    .describe = softmax_describe,
};
