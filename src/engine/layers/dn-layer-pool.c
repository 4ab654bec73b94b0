/* dn-layer-pool.c: maxpool2d, avgpool2d and adaptive_avgpool2d (output 1×1).
 *
 * Inputs are (C, H, W) per sample. Settings and output sizes follow PyTorch
 * with ceil_mode false (ceil_mode true is refused). Max pooling keeps the
 * argmax of its last forward in a buffer it owns, allocated on the backend's
 * device and grown when the batch grows; backward scatters through it.
 *
 * dn_layer_new() calls configure only when the file gives settings, so the
 * defaults are applied on first use through a `ready` flag.
 */
#include "dn-error.h"
#include "dn-layer-private.h"

typedef struct {
    DnLayer parent;
    gboolean ready;
    int kernel[2]; /* (h, w); 0 until set: kernel_size is required */
    int stride[2]; /* 0: same as the kernel */
    int padding[2];
    int dilation[2];
    gboolean count_include_pad;
    DnConvGeom geom;
    /* maxpool2d: the argmax of the last forward, (B, C, OH, OW) on argmax_be's device */
    DnBackend *argmax_be;
    int32_t *argmax;
    size_t argmax_cap;
} DnPool;

static gboolean is_max (const DnLayer *l)
{
    return l->klass == &dn_maxpool2d_class;
}

static void pool_defaults (DnPool *self)
{
    if (self->ready)
        return;
    self->ready = TRUE;
    self->dilation[0] = self->dilation[1] = 1;
    self->count_include_pad = TRUE;
}

static gboolean pool_error (DnLayer *l, GError **error, const char *msg)
{
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "layer '%s' (%s): %s", l->name, l->klass->type,
                 msg);
    return FALSE;
}

static gboolean pool_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnPool *self = (DnPool *) l;
    static const char *const max_keys[] = {"kernel_size", "stride",    "padding",
                                           "dilation",    "ceil_mode", NULL};
    static const char *const avg_keys[] = {"kernel_size",       "stride", "padding", "ceil_mode",
                                           "count_include_pad", NULL};
    gboolean ceil_mode = FALSE;
    pool_defaults (self);
    if (!dn_fields_check_keys (&r, is_max (l) ? max_keys : avg_keys) ||
        !dn_layer_int_pair (&r, "kernel_size", 1, 1 << 16, self->kernel) ||
        !dn_layer_int_pair (&r, "padding", 0, 1 << 16, self->padding) ||
        !dn_layer_int_pair (&r, "dilation", 1, 1 << 16, self->dilation) ||
        !dn_fields_bool (&r, "ceil_mode", &ceil_mode) ||
        !dn_fields_bool (&r, "count_include_pad", &self->count_include_pad))
        return FALSE;
    /* "stride": null is PyTorch's way of saying "the kernel size". */
    JsonNode *stride = json_object_get_member (cfg, "stride");
    if (stride != NULL && !JSON_NODE_HOLDS_NULL (stride) &&
        !dn_layer_int_pair (&r, "stride", 1, 1 << 16, self->stride))
        return FALSE;
    if (self->kernel[0] == 0)
        return pool_error (l, error, "\"kernel_size\" is required, e.g. \"kernel_size\": 2");
    if (ceil_mode)
        return pool_error (l, error,
                           "\"ceil_mode\": true is not supported; remove it or set it to false "
                           "(pad the input instead)");
    return TRUE;
}

static gboolean pool_infer (DnLayer *l, GError **error)
{
    DnPool *self = (DnPool *) l;
    const DnShape *in = &l->in_shape[0];
    pool_defaults (self);
    g_autofree char *s = dn_shape_to_string (in);
    if (self->kernel[0] == 0)
        return pool_error (l, error, "\"kernel_size\" is required, e.g. \"kernel_size\": 2");
    if (in->ndim != 3) {
        dn_layer_shape_error (l, error,
                              "expects an input (channels, height, width) but gets %s; a flat "
                              "input needs no pooling, or reshape it with a conv layer first",
                              s);
        return FALSE;
    }
    int size[2] = {(int) in->d[1], (int) in->d[2]}, out[2];
    for (int i = 0; i < 2; i++) {
        int k = self->kernel[i], p = self->padding[i], d = self->dilation[i];
        int st = self->stride[i] > 0 ? self->stride[i] : k;
        if (p > k / 2) {
            dn_layer_shape_error (l, error,
                                  "padding %d is more than half the kernel size %d; use a "
                                  "padding of at most %d",
                                  p, k, k / 2);
            return FALSE;
        }
        int span = d * (k - 1) + 1;
        if (size[i] + 2 * p < span) {
            dn_layer_shape_error (l, error,
                                  "a %d×%d window does not fit in an input %s; use a smaller "
                                  "kernel_size or more padding",
                                  self->kernel[0], self->kernel[1], s);
            return FALSE;
        }
        out[i] = (size[i] + 2 * p - span) / st + 1;
    }
    self->geom = (DnConvGeom){
        .c_in = (int) in->d[0],
        .h = size[0],
        .w = size[1],
        .c_out = (int) in->d[0],
        .oh = out[0],
        .ow = out[1],
        .kh = self->kernel[0],
        .kw = self->kernel[1],
        .sh = self->stride[0] > 0 ? self->stride[0] : self->kernel[0],
        .sw = self->stride[1] > 0 ? self->stride[1] : self->kernel[1],
        .ph = self->padding[0],
        .pw = self->padding[1],
        .dh = self->dilation[0],
        .dw = self->dilation[1],
        .groups = 1,
    };
    l->out_shape = dn_shape_3d (in->d[0], out[0], out[1]);
    return TRUE;
}

const DnConvGeom *dn_maxpool_geom (DnLayer *pool)
{
    return &((DnPool *) pool)->geom;
}

int32_t *dn_maxpool_argmax (DnLayer *pool, DnBackend *be, int batch)
{
    DnPool *self = (DnPool *) pool;
    size_t need = (size_t) batch * dn_shape_numel (&pool->out_shape);
    if (self->argmax != NULL && (self->argmax_be != be || self->argmax_cap < need)) {
        self->argmax_be->free (self->argmax_be, self->argmax);
        self->argmax = NULL;
        self->argmax_cap = 0;
    }
    if (self->argmax == NULL) {
        self->argmax = be->alloc (be, need * sizeof (int32_t));
        self->argmax_be = be;
        self->argmax_cap = self->argmax != NULL ? need : 0;
    }
    return self->argmax;
}

// x is (B, C, H, W), y and argmax are (B, C, OH, OW)
static void maxpool_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                             DnTensor *out)
{
    DnPool *self = (DnPool *) l;
    DnBackend *be = ctx->backend;
    if (dn_maxpool_argmax (l, be, batch) == NULL) {
        /* Out of memory for a few bytes per output: nothing sensible is left to compute;
         * a zero output keeps the run defined and backward passes nothing. */
        be->zero (be, out->data, (size_t) batch * dn_shape_numel (&l->out_shape));
        return;
    }
    be->maxpool2d_forward (be, &self->geom, batch, in[0]->data, out->data, self->argmax);
}

// dx[argmax] += dy
static void maxpool_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                              const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnPool *self = (DnPool *) l;
    DnBackend *be = ctx->backend;
    if (din[0] == NULL || self->argmax == NULL)
        return;
    be->maxpool2d_backward (be, &self->geom, batch, dout->data, self->argmax, din[0]->data);
}

// x is (B, C, H, W), y is (B, C, OH, OW)
static void avgpool_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                             DnTensor *out)
{
    DnPool *self = (DnPool *) l;
    DnBackend *be = ctx->backend;
    be->avgpool2d_forward (be, &self->geom, batch, self->count_include_pad, in[0]->data, out->data);
}

// dx += dy / window size, spread over each window
static void avgpool_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                              const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnPool *self = (DnPool *) l;
    DnBackend *be = ctx->backend;
    if (din[0] == NULL)
        return;
    be->avgpool2d_backward (be, &self->geom, batch, self->count_include_pad, dout->data,
                            din[0]->data);
}

static void add_pair (JsonBuilder *b, const char *key, const int v[2])
{
    json_builder_set_member_name (b, key);
    if (v[0] == v[1]) {
        json_builder_add_int_value (b, v[0]);
        return;
    }
    json_builder_begin_array (b);
    json_builder_add_int_value (b, v[0]);
    json_builder_add_int_value (b, v[1]);
    json_builder_end_array (b);
}

static void pool_to_json (DnLayer *l, JsonBuilder *b)
{
    DnPool *self = (DnPool *) l;
    pool_defaults (self);
    add_pair (b, "kernel_size", self->kernel);
    if (self->stride[0] > 0 &&
        (self->stride[0] != self->kernel[0] || self->stride[1] != self->kernel[1]))
        add_pair (b, "stride", self->stride);
    if (self->padding[0] != 0 || self->padding[1] != 0)
        add_pair (b, "padding", self->padding);
    if (is_max (l) && (self->dilation[0] != 1 || self->dilation[1] != 1))
        add_pair (b, "dilation", self->dilation);
    if (!is_max (l) && !self->count_include_pad) {
        json_builder_set_member_name (b, "count_include_pad");
        json_builder_add_boolean_value (b, FALSE);
    }
}

static char *pair_string (const int v[2])
{
    if (v[0] == v[1])
        return g_strdup_printf ("%d", v[0]);
    return g_strdup_printf ("%d×%d", v[0], v[1]);
}

static char *pool_describe (DnLayer *l)
{
    DnPool *self = (DnPool *) l;
    pool_defaults (self);
    int stride[2] = {self->stride[0] > 0 ? self->stride[0] : self->kernel[0],
                     self->stride[1] > 0 ? self->stride[1] : self->kernel[1]};
    g_autofree char *st = pair_string (stride);
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "%d×%d, stride %s", self->kernel[0], self->kernel[1], st);
    if (self->padding[0] != 0 || self->padding[1] != 0) {
        g_autofree char *p = pair_string (self->padding);
        g_string_append_printf (s, ", padding %s", p);
    }
    if (is_max (l) && (self->dilation[0] != 1 || self->dilation[1] != 1)) {
        g_autofree char *d = pair_string (self->dilation);
        g_string_append_printf (s, ", dilation %s", d);
    }
    return g_string_free (s, FALSE);
}

static void pool_finalize (DnLayer *l)
{
    DnPool *self = (DnPool *) l;
    if (self->argmax != NULL)
        self->argmax_be->free (self->argmax_be, self->argmax);
    self->argmax = NULL;
}

const DnLayerClass dn_maxpool2d_class = {
    .type = "maxpool2d",
    .instance_size = sizeof (DnPool),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = pool_configure,
    .infer = pool_infer,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .to_json = pool_to_json,
    .describe = pool_describe,
    .finalize = pool_finalize,
};

const DnLayerClass dn_avgpool2d_class = {
    .type = "avgpool2d",
    .instance_size = sizeof (DnPool),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = pool_configure,
    .infer = pool_infer,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .to_json = pool_to_json,
    .describe = pool_describe,
};

/* ---- adaptive_avgpool2d: only output_size 1, the global average ---- */

static gboolean adaptive_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    static const char *const known[] = {"output_size", NULL};
    int size[2] = {1, 1};
    if (!dn_fields_check_keys (&r, known) ||
        !dn_layer_int_pair (&r, "output_size", 1, 1 << 16, size))
        return FALSE;
    if (size[0] != 1 || size[1] != 1)
        return pool_error (l, error,
                           "\"output_size\" other than 1 is not supported; only 1 (the global "
                           "average, output (C, 1, 1)) is");
    return TRUE;
}

static gboolean adaptive_infer (DnLayer *l, GError **error)
{
    DnPool *self = (DnPool *) l;
    const DnShape *in = &l->in_shape[0];
    if (in->ndim != 3) {
        g_autofree char *s = dn_shape_to_string (in);
        dn_layer_shape_error (l, error, "expects an input (channels, height, width) but gets %s",
                              s);
        return FALSE;
    }
    int c = (int) in->d[0], h = (int) in->d[1], w = (int) in->d[2];
    self->count_include_pad = TRUE;
    self->geom = (DnConvGeom){
        .c_in = c,
        .h = h,
        .w = w,
        .c_out = c,
        .oh = 1,
        .ow = 1,
        .kh = h,
        .kw = w,
        .sh = h,
        .sw = w,
        .dh = 1,
        .dw = 1,
        .groups = 1,
    };
    l->out_shape = dn_shape_3d (c, 1, 1);
    return TRUE;
}

static void adaptive_to_json (DnLayer *l, JsonBuilder *b)
{
    json_builder_set_member_name (b, "output_size");
    json_builder_add_int_value (b, 1);
}

static char *adaptive_describe (DnLayer *l)
{
    return g_strdup ("→ 1×1");
}

const DnLayerClass dn_adaptive_avgpool2d_class = {
    .type = "adaptive_avgpool2d",
    .instance_size = sizeof (DnPool),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = adaptive_configure,
    .infer = adaptive_infer,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .to_json = adaptive_to_json,
    .describe = adaptive_describe,
};
