/* dn-layer-linear.c: the fully connected layer, y = x W^T + b (PyTorch's nn.Linear). */
#include "dn-error.h"
#include "dn-layer-private.h"

#include <math.h>

typedef struct {
    DnLayer parent;
    int in_features; /* 0 until inferred when the file leaves it out */
    int out_features;
    gboolean bias;
} DnLinear;

static gboolean linear_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnLinear *self = (DnLinear *) l;
    static const char *const known[] = {"in_features", "out_features", "bias", NULL};
    self->bias = TRUE;
    if (!dn_fields_check_keys (&r, known) ||
        !dn_fields_int (&r, "in_features", 1, 1 << 28, &self->in_features) ||
        !dn_fields_int (&r, "out_features", 1, 1 << 28, &self->out_features) ||
        !dn_fields_bool (&r, "bias", &self->bias))
        return FALSE;
    if (self->out_features == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (linear): \"out_features\" is required", l->name);
        return FALSE;
    }
    return TRUE;
}

static gboolean linear_infer (DnLayer *l, GError **error)
{
    DnLinear *self = (DnLinear *) l;
    const DnShape *in = &l->in_shape[0];
    if (in->ndim != 1) {
        g_autofree char *s = dn_shape_to_string (in);
        dn_layer_shape_error (l, error,
                              "expects a flat input (features) but gets %s; add a flatten layer "
                              "before it",
                              s);
        return FALSE;
    }
    if (self->in_features != 0 && self->in_features != in->d[0]) {
        dn_layer_shape_error (
            l, error,
            "\"in_features\" is %d but the layer before it gives %" G_GINT64_FORMAT
            " features; set in_features to %" G_GINT64_FORMAT " or remove it",
            self->in_features, in->d[0], in->d[0]);
        return FALSE;
    }
    self->in_features = (int) in->d[0];
    dn_layer_add_param (l, "weight", dn_shape_2d (self->out_features, self->in_features), TRUE);
    if (self->bias)
        dn_layer_add_param (l, "bias", dn_shape_1d (self->out_features), TRUE);
    l->out_shape = dn_shape_1d (self->out_features);
    return TRUE;
}

static void linear_init (DnLayer *l, DnRng *rng)
{
    DnLinear *self = (DnLinear *) l;
    float bound = 1.0f / sqrtf ((float) self->in_features);
    for (int i = 0; i < l->n_params; i++)
        dn_init_uniform (rng, l->params[i].value, dn_shape_numel (&l->params[i].shape), bound);
}

// x is (B, in), w is (out, in), b is (out); y is (B, out)
static void linear_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                            DnTensor *out)
{
    DnLinear *self = (DnLinear *) l;
    DnBackend *be = ctx->backend;
    int I = self->in_features, O = self->out_features;
    be->gemm (be, FALSE, TRUE, batch, O, I, 1.0f, in[0]->data, I, l->params[0].value, I, 0.0f,
              out->data, O);
    if (self->bias)
        be->bias_add (be, batch, O, 1, l->params[1].value, out->data);
}

// dy is (B, out); dw += dy^T x; db += sum_B dy; dx += dy w
static void linear_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                             const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnLinear *self = (DnLinear *) l;
    DnBackend *be = ctx->backend;
    int I = self->in_features, O = self->out_features;
    if (!l->frozen) {
        be->gemm (be, TRUE, FALSE, O, I, batch, 1.0f, dout->data, O, in[0]->data, I, 1.0f,
                  l->params[0].grad, I);
        if (self->bias)
            be->bias_backward (be, batch, O, 1, dout->data, l->params[1].grad);
    }
    if (din[0] != NULL)
        be->gemm (be, FALSE, FALSE, batch, I, O, 1.0f, dout->data, O, l->params[0].value, I, 1.0f,
                  din[0]->data, I);
}

static void linear_to_json (DnLayer *l, JsonBuilder *b)
{
    DnLinear *self = (DnLinear *) l;
    if (self->in_features > 0) {
        json_builder_set_member_name (b, "in_features");
        json_builder_add_int_value (b, self->in_features);
    }
    json_builder_set_member_name (b, "out_features");
    json_builder_add_int_value (b, self->out_features);
    if (!self->bias) {
        json_builder_set_member_name (b, "bias");
        json_builder_add_boolean_value (b, FALSE);
    }
}

static char *linear_describe (DnLayer *l)
{
    DnLinear *self = (DnLinear *) l;
    return g_strdup_printf ("%d → %d%s", self->in_features, self->out_features,
                            self->bias ? "" : ", no bias");
}

const DnLayerClass dn_linear_class = {
    .type = "linear",
    .instance_size = sizeof (DnLinear),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = linear_configure,
    .infer = linear_infer,
    .init = linear_init,
    .forward = linear_forward,
    .backward = linear_backward,
    .to_json = linear_to_json,
    .describe = linear_describe,
};
