/* dn-layer-conv.c: Conv1d and Conv2d (PyTorch's nn.Conv1d / nn.Conv2d).
 *
 * One code path: a Conv1d is a Conv2d over (C, 1, L). The backend's conv2d
 * ops do the work (on the CPU: im2col + GEMM per sample, across the cores).
 * Backward recomputes the column buffer rather than keeping it, so one shared
 * workspace serves every conv layer of the network.
 *
 * A convolution takes over a ReLU and then a max pooling that follow it
 * (DnLayerClass.fuse): the backend applies them to each sample's output while it
 * is in cache, and builds the gradient at the convolution's output from the
 * pooled output and its gradient, so the tensors in between are never written.
 */
#include "dn-error.h"
#include "dn-layer-private.h"

#include <math.h>

typedef struct {
    DnLayer parent;
    gboolean is_1d;
    int in_channels; /* 0 until inferred */
    int out_channels;
    int kernel[2], stride[2], padding[2], dilation[2];
    int groups;
    gboolean bias;
    DnConvGeom g;
    /* the layers it computes too (conv_fuse); fusion.pool is fused_pool's geometry */
    DnLayer *fused_pool;
    DnConvFusion fusion;
    int n_fused;
} DnConv;

static gboolean conv_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnConv *self = (DnConv *) l;
    static const char *const known[] = {"in_channels", "out_channels", "kernel_size",
                                        "stride",      "padding",      "dilation",
                                        "groups",      "bias",         NULL};
    self->is_1d = l->klass == &dn_conv1d_class;
    self->stride[0] = self->stride[1] = 1;
    self->dilation[0] = self->dilation[1] = 1;
    self->groups = 1;
    self->bias = TRUE;
    if (!dn_fields_check_keys (&r, known))
        return FALSE;
    if (self->is_1d) {
        int k = 0, s = 1, p = 0, d = 1;
        if (!dn_fields_int (&r, "kernel_size", 1, 4096, &k) ||
            !dn_fields_int (&r, "stride", 1, 4096, &s) ||
            !dn_fields_int (&r, "padding", 0, 4096, &p) ||
            !dn_fields_int (&r, "dilation", 1, 4096, &d))
            return FALSE;
        self->kernel[0] = 1, self->kernel[1] = k;
        self->stride[0] = 1, self->stride[1] = s;
        self->padding[0] = 0, self->padding[1] = p;
        self->dilation[0] = 1, self->dilation[1] = d;
    } else if (!dn_layer_int_pair (&r, "kernel_size", 1, 4096, self->kernel) ||
               !dn_layer_int_pair (&r, "stride", 1, 4096, self->stride) ||
               !dn_layer_int_pair (&r, "padding", 0, 4096, self->padding) ||
               !dn_layer_int_pair (&r, "dilation", 1, 4096, self->dilation)) {
        return FALSE;
    }
    if (!dn_fields_int (&r, "in_channels", 1, 1 << 20, &self->in_channels) ||
        !dn_fields_int (&r, "out_channels", 1, 1 << 20, &self->out_channels) ||
        !dn_fields_int (&r, "groups", 1, 1 << 20, &self->groups) ||
        !dn_fields_bool (&r, "bias", &self->bias))
        return FALSE;
    if (self->out_channels == 0 || self->kernel[1] == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (%s): \"out_channels\" and \"kernel_size\" are required", l->name,
                     l->klass->type);
        return FALSE;
    }
    if (self->out_channels % self->groups != 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (%s): out_channels (%d) must be divisible by groups (%d)", l->name,
                     l->klass->type, self->out_channels, self->groups);
        return FALSE;
    }
    return TRUE;
}

static gboolean conv_infer (DnLayer *l, GError **error)
{
    DnConv *self = (DnConv *) l;
    const DnShape *in = &l->in_shape[0];
    int want = self->is_1d ? 2 : 3;
    if (in->ndim != want) {
        g_autofree char *s = dn_shape_to_string (in);
        dn_layer_shape_error (l, error, "expects an input of shape %s but gets %s",
                              self->is_1d ? "(channels, length)" : "(channels, height, width)", s);
        return FALSE;
    }
    int c = (int) in->d[0];
    int h = self->is_1d ? 1 : (int) in->d[1];
    int w = (int) in->d[want - 1];
    if (self->in_channels != 0 && self->in_channels != c) {
        dn_layer_shape_error (l, error,
                              "\"in_channels\" is %d but its input has %d channels; set "
                              "in_channels to %d or remove it",
                              self->in_channels, c, c);
        return FALSE;
    }
    if (c % self->groups != 0) {
        dn_layer_shape_error (l, error, "its %d input channels are not divisible by groups (%d)", c,
                              self->groups);
        return FALSE;
    }
    self->in_channels = c;
    DnConvGeom *g = &self->g;
    g->c_in = c, g->h = h, g->w = w;
    g->c_out = self->out_channels;
    g->kh = self->kernel[0], g->kw = self->kernel[1];
    g->sh = self->stride[0], g->sw = self->stride[1];
    g->ph = self->padding[0], g->pw = self->padding[1];
    g->dh = self->dilation[0], g->dw = self->dilation[1];
    g->groups = self->groups;
    g->oh = (h + 2 * g->ph - g->dh * (g->kh - 1) - 1) / g->sh + 1;
    g->ow = (w + 2 * g->pw - g->dw * (g->kw - 1) - 1) / g->sw + 1;
    if (h + 2 * g->ph - g->dh * (g->kh - 1) - 1 < 0 ||
        w + 2 * g->pw - g->dw * (g->kw - 1) - 1 < 0) {
        g_autofree char *s = dn_shape_to_string (in);
        dn_layer_shape_error (l, error,
                              "its %d×%d kernel (dilation %d) does not fit its input %s; use "
                              "padding or a smaller kernel",
                              g->kh, g->kw, g->dw, s);
        return FALSE;
    }
    int cg = c / self->groups;
    if (self->is_1d) {
        dn_layer_add_param (l, "weight", dn_shape_3d (g->c_out, cg, g->kw), TRUE);
        l->out_shape = dn_shape_2d (g->c_out, g->ow);
    } else {
        dn_layer_add_param (l, "weight", dn_shape_4d (g->c_out, cg, g->kh, g->kw), TRUE);
        l->out_shape = dn_shape_3d (g->c_out, g->oh, g->ow);
    }
    if (self->bias)
        dn_layer_add_param (l, "bias", dn_shape_1d (g->c_out), TRUE);
    /* The backend says what it needs (conv_workspace); this bound covers any
     * method: per sample a column buffer (K, P), a (c_out, P) output, and
     * per-thread gradient sums, each part rounded up to 16 floats. */
    size_t P = (size_t) g->oh * g->ow;
    l->workspace_per_sample = (size_t) c * g->kh * g->kw * P + (size_t) g->c_out * P +
                              (size_t) g->c_out * (cg * g->kh * g->kw + 1) + 48;
    return TRUE;
}

static void conv_init (DnLayer *l, DnRng *rng)
{
    DnConv *self = (DnConv *) l;
    int fan_in = self->in_channels / self->groups * self->g.kh * self->g.kw;
    float bound = 1.0f / sqrtf ((float) fan_in);
    for (int i = 0; i < l->n_params; i++)
        dn_init_uniform (rng, l->params[i].value, dn_shape_numel (&l->params[i].shape), bound);
}

/* Takes a relu, then a maxpool2d, from the start of the chain it is offered. */
static int conv_fuse (DnLayer *l, DnLayer *const *next, int n)
{
    DnConv *self = (DnConv *) l;
    int k = 0;
    self->fusion = (DnConvFusion){FALSE, NULL, NULL};
    self->fused_pool = NULL;
    if (k < n && next[k]->klass == &dn_relu_class) {
        self->fusion.relu = TRUE;
        k++;
    }
    if (k < n && next[k]->klass == &dn_maxpool2d_class) {
        self->fused_pool = next[k];
        self->fusion.pool = dn_maxpool_geom (next[k]);
        k++;
    }
    self->n_fused = k;
    return k;
}

/* The fusion for a batch, or NULL when there is none or the pooling's argmax buffer cannot
 * be had (then the fused layers cannot run at all: the output is zeroed). */
static const DnConvFusion *conv_fusion (DnConv *self, DnBackend *be, int batch, gboolean *failed)
{
    *failed = FALSE;
    if (self->n_fused == 0)
        return NULL;
    if (self->fused_pool != NULL) {
        self->fusion.argmax = dn_maxpool_argmax (self->fused_pool, be, batch);
        *failed = self->fusion.argmax == NULL;
    }
    return &self->fusion;
}

// x is (B, C_in, H, W), w is (C_out, C_in/groups, kh, kw); y is (B, C_out, OH, OW), or the
// output of the last layer fused with it
static void conv_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                          DnTensor *out)
{
    DnConv *self = (DnConv *) l;
    DnBackend *be = ctx->backend;
    gboolean failed;
    const DnConvFusion *f = conv_fusion (self, be, batch, &failed);
    g_assert (be->conv2d_workspace (be, &self->g, batch) <= ctx->workspace_size);
    if (failed) {
        be->zero (be, out->data, (size_t) dn_tensor_numel (out));
        return;
    }
    be->conv2d_forward (be, &self->g, f, batch, in[0]->data, l->params[0].value,
                        self->bias ? l->params[1].value : NULL, out->data, ctx->workspace);
}

// dy is (B, C_out, OH, OW) or that of the fused output: dw += dy col^T, db += sum dy,
// dx += col2im(w^T dy)
static void conv_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                           const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnConv *self = (DnConv *) l;
    DnBackend *be = ctx->backend;
    gboolean failed;
    const DnConvFusion *f = conv_fusion (self, be, batch, &failed);
    if (failed)
        return;
    be->conv2d_backward (be, &self->g, f, batch, in[0]->data, l->params[0].value, out->data,
                         dout->data, din[0] != NULL ? din[0]->data : NULL,
                         l->frozen ? NULL : l->params[0].grad,
                         self->bias && !l->frozen ? l->params[1].grad : NULL, ctx->workspace);
}

static size_t conv_workspace (DnLayer *l, DnBackend *be, int batch)
{
    return be->conv2d_workspace (be, &((DnConv *) l)->g, batch);
}

static void add_pair (JsonBuilder *b, const char *key, const int v[2], gboolean is_1d, int def)
{
    if (v[0] == def && v[1] == def && g_strcmp0 (key, "kernel_size") != 0)
        return;
    json_builder_set_member_name (b, key);
    if (is_1d || v[0] == v[1]) {
        json_builder_add_int_value (b, v[1]);
    } else {
        json_builder_begin_array (b);
        json_builder_add_int_value (b, v[0]);
        json_builder_add_int_value (b, v[1]);
        json_builder_end_array (b);
    }
}

static void conv_to_json (DnLayer *l, JsonBuilder *b)
{
    DnConv *self = (DnConv *) l;
    if (self->in_channels > 0) {
        json_builder_set_member_name (b, "in_channels");
        json_builder_add_int_value (b, self->in_channels);
    }
    json_builder_set_member_name (b, "out_channels");
    json_builder_add_int_value (b, self->out_channels);
    add_pair (b, "kernel_size", self->kernel, self->is_1d, 0);
    add_pair (b, "stride", self->stride, self->is_1d, 1);
    add_pair (b, "padding", self->padding, self->is_1d, 0);
    add_pair (b, "dilation", self->dilation, self->is_1d, 1);
    if (self->groups != 1) {
        json_builder_set_member_name (b, "groups");
        json_builder_add_int_value (b, self->groups);
    }
    if (!self->bias) {
        json_builder_set_member_name (b, "bias");
        json_builder_add_boolean_value (b, FALSE);
    }
}

static char *conv_describe (DnLayer *l)
{
    DnConv *self = (DnConv *) l;
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "%d → %d, ", self->in_channels, self->out_channels);
    if (self->is_1d)
        g_string_append_printf (s, "k %d", self->kernel[1]);
    else
        g_string_append_printf (s, "%d×%d", self->kernel[0], self->kernel[1]);
    if (self->stride[0] != 1 || self->stride[1] != 1)
        g_string_append_printf (s, ", stride %d", self->stride[1]);
    if (self->padding[0] != 0 || self->padding[1] != 0)
        g_string_append_printf (s, ", pad %d", self->padding[1]);
    if (self->dilation[0] != 1 || self->dilation[1] != 1)
        g_string_append_printf (s, ", dilation %d", self->dilation[1]);
    if (self->groups != 1)
        g_string_append_printf (s, ", groups %d", self->groups);
    return g_string_free (s, FALSE);
}

const DnLayerClass dn_conv2d_class = {
    .type = "conv2d",
    .instance_size = sizeof (DnConv),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = conv_configure,
    .infer = conv_infer,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward,
    .to_json = conv_to_json,
    .describe = conv_describe,
    .workspace_size = conv_workspace,
    .fuse = conv_fuse,
};

const DnLayerClass dn_conv1d_class = {
    .type = "conv1d",
    .instance_size = sizeof (DnConv),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = conv_configure,
    .infer = conv_infer,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward,
    .to_json = conv_to_json,
    .describe = conv_describe,
    .workspace_size = conv_workspace,
    .fuse = conv_fuse,
};
