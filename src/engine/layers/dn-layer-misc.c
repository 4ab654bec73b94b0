/* dn-layer-misc.c: dropout, flatten, add (residual sums) and concat.
 *
 * Dropout draws no random numbers of its own: its mask is the backend's
 * counter-based hash of a seed made from the step's ctx->seed and a salt
 * from the layer's name, so two dropout layers differ, CPU and GPU agree,
 * and backward recomputes the same mask.
 *
 * dn_layer_new() calls configure only when the file gives settings, so the
 * defaults are applied on first use through a `ready` flag.
 */
#include "dn-error.h"
#include "dn-layer-private.h"

typedef struct {
    DnLayer parent;
    gboolean ready;
    double p;
    gboolean dropped; /* the last forward applied a mask (training, p > 0) */
    uint64_t seed;    /* the seed of that mask */
} DnDropout;

typedef struct {
    DnLayer parent;
    gboolean ready;
    int start_dim, end_dim;
} DnFlatten;

typedef struct {
    DnLayer parent;
    gboolean ready;
    int dim;  /* as written: PyTorch's dim, which counts the batch dimension */
    int axis; /* the per-sample dimension it names */
} DnConcat;

static gboolean config_error (DnLayer *l, GError **error, const char *msg)
{
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "layer '%s' (%s): %s", l->name, l->klass->type,
                 msg);
    return FALSE;
}

static size_t numel_of (const DnLayer *l, int batch)
{
    return (size_t) batch * (size_t) dn_shape_numel (&l->out_shape);
}

/* ---- dropout ---- */

static void dropout_defaults (DnDropout *self)
{
    if (self->ready)
        return;
    self->ready = TRUE;
    self->p = 0.5;
}

static gboolean dropout_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnDropout *self = (DnDropout *) l;
    static const char *const known[] = {"p", NULL};
    dropout_defaults (self);
    if (!dn_fields_check_keys (&r, known) || !dn_fields_number (&r, "p", 0.0, 1.0, &self->p))
        return FALSE;
    if (self->p >= 1.0)
        return config_error (l, error,
                             "\"p\" is 1, which drops everything; it must be at least 0 and "
                             "below 1");
    return TRUE;
}

static gboolean same_shape_infer (DnLayer *l, GError **error)
{
    l->out_shape = l->in_shape[0];
    return TRUE;
}

static gboolean dropout_infer (DnLayer *l, GError **error)
{
    dropout_defaults ((DnDropout *) l);
    return same_shape_infer (l, error);
}

/* FNV-1a of the layer's name: a salt that is the same on every run and machine. */
static uint64_t name_salt (const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = name != NULL ? name : ""; *c != '\0'; c++)
        h = (h ^ (uint8_t) *c) * 0x100000001b3ULL;
    return h;
}

// x and y are (B, ...); y = x * mask / (1 - p) in training, y = x otherwise
static void dropout_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                             DnTensor *out)
{
    DnDropout *self = (DnDropout *) l;
    DnBackend *be = ctx->backend;
    size_t n = numel_of (l, batch);
    self->dropped = ctx->training && self->p > 0.0;
    if (!self->dropped) {
        be->copy (be, out->data, in[0]->data, n);
        return;
    }
    self->seed = dn_rng_hash (ctx->seed, name_salt (l->name));
    be->dropout_forward (be, n, (float) self->p, self->seed, in[0]->data, out->data);
}

static void dropout_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                              const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnDropout *self = (DnDropout *) l;
    DnBackend *be = ctx->backend;
    if (din[0] == NULL)
        return;
    size_t n = numel_of (l, batch);
    if (self->dropped)
        be->dropout_backward (be, n, (float) self->p, self->seed, dout->data, din[0]->data);
    else
        be->axpy (be, n, 1.0f, dout->data, din[0]->data);
}

static void dropout_to_json (DnLayer *l, JsonBuilder *b)
{
    DnDropout *self = (DnDropout *) l;
    dropout_defaults (self);
    json_builder_set_member_name (b, "p");
    json_builder_add_double_value (b, self->p);
}

static char *dropout_describe (DnLayer *l)
{
    DnDropout *self = (DnDropout *) l;
    dropout_defaults (self);
    return g_strdup_printf ("p %g", self->p);
}

const DnLayerClass dn_dropout_class = {
    .type = "dropout",
    .instance_size = sizeof (DnDropout),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = dropout_configure,
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .to_json = dropout_to_json,
    .describe = dropout_describe,
};

/* ---- flatten: start_dim 1, end_dim -1 only ---- */

static void flatten_defaults (DnFlatten *self)
{
    if (self->ready)
        return;
    self->ready = TRUE;
    self->start_dim = 1;
    self->end_dim = -1;
}

static gboolean flatten_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnFlatten *self = (DnFlatten *) l;
    static const char *const known[] = {"start_dim", "end_dim", NULL};
    flatten_defaults (self);
    if (!dn_fields_check_keys (&r, known) ||
        !dn_fields_int (&r, "start_dim", -DN_MAX_DIMS - 1, DN_MAX_DIMS, &self->start_dim) ||
        !dn_fields_int (&r, "end_dim", -DN_MAX_DIMS - 1, DN_MAX_DIMS, &self->end_dim))
        return FALSE;
    if (self->start_dim != 1)
        return config_error (l, error,
                             "only \"start_dim\": 1 is supported (flatten everything but the "
                             "batch); remove the setting");
    return TRUE;
}

static gboolean flatten_infer (DnLayer *l, GError **error)
{
    DnFlatten *self = (DnFlatten *) l;
    const DnShape *in = &l->in_shape[0];
    flatten_defaults (self);
    /* end_dim counts the batch dimension: the last one is -1 or in->ndim. */
    if (self->end_dim != -1 && self->end_dim != in->ndim) {
        g_autofree char *s = dn_shape_to_string (in);
        dn_layer_shape_error (l, error,
                              "\"end_dim\" %d on an input %s per sample leaves dimensions "
                              "unflattened, which is not supported; use -1",
                              self->end_dim, s);
        return FALSE;
    }
    l->out_shape = dn_shape_1d (dn_shape_numel (in));
    return TRUE;
}

// x is (B, ...), y is (B, numel): the same floats
static void copy_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                          DnTensor *out)
{
    DnBackend *be = ctx->backend;
    be->copy (be, out->data, in[0]->data, numel_of (l, batch));
}

static void copy_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                           const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnBackend *be = ctx->backend;
    if (din[0] != NULL)
        be->axpy (be, numel_of (l, batch), 1.0f, dout->data, din[0]->data);
}

static char *flatten_describe (DnLayer *l)
{
    return g_strdup_printf ("→ %" G_GINT64_FORMAT, dn_shape_numel (&l->out_shape));
}

const DnLayerClass dn_flatten_class = {
    .type = "flatten",
    .instance_size = sizeof (DnFlatten),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = flatten_configure,
    .infer = flatten_infer,
    .forward = copy_forward,
    .backward = copy_backward,
    .describe = flatten_describe,
    .view = TRUE,
};

/* ---- add: the elementwise sum of 2 or more inputs of one shape ---- */

static gboolean add_infer (DnLayer *l, GError **error)
{
    for (int i = 1; i < l->n_inputs; i++) {
        if (!dn_shape_equal (&l->in_shape[i], &l->in_shape[0])) {
            g_autofree char *a = dn_shape_to_string (&l->in_shape[0]);
            g_autofree char *b = dn_shape_to_string (&l->in_shape[i]);
            dn_layer_shape_error (l, error,
                                  "input 1 is %s but input %d is %s; the inputs of an add must "
                                  "have one shape (a conv or linear on the shortcut can match "
                                  "them)",
                                  a, i + 1, b);
            return FALSE;
        }
    }
    l->out_shape = l->in_shape[0];
    return TRUE;
}

// every x_i and y are (B, ...); y = sum_i x_i
static void add_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                         DnTensor *out)
{
    DnBackend *be = ctx->backend;
    size_t n = numel_of (l, batch);
    be->add (be, n, in[0]->data, in[1]->data, out->data);
    for (int i = 2; i < l->n_inputs; i++)
        be->axpy (be, n, 1.0f, in[i]->data, out->data);
}

// dx_i += dy for every input
static void add_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                          const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnBackend *be = ctx->backend;
    size_t n = numel_of (l, batch);
    for (int i = 0; i < l->n_inputs; i++)
        if (din[i] != NULL)
            be->axpy (be, n, 1.0f, dout->data, din[i]->data);
}

static char *inputs_describe (DnLayer *l)
{
    return g_strdup_printf ("%d inputs", l->n_inputs);
}

const DnLayerClass dn_add_class = {
    .type = "add",
    .instance_size = sizeof (DnLayer),
    .min_inputs = 2,
    .max_inputs = DN_LAYER_MAX_INPUTS,
    .infer = add_infer,
    .forward = add_forward,
    .backward = add_backward,
    .describe = inputs_describe,
};

/* ---- concat along one dimension (default 1: channels) ---- */

static void concat_defaults (DnConcat *self)
{
    if (self->ready)
        return;
    self->ready = TRUE;
    self->dim = 1;
}

static gboolean concat_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnConcat *self = (DnConcat *) l;
    static const char *const known[] = {"dim", NULL};
    concat_defaults (self);
    return dn_fields_check_keys (&r, known) &&
           dn_fields_int (&r, "dim", -DN_MAX_DIMS - 1, DN_MAX_DIMS, &self->dim);
}

static gboolean concat_infer (DnLayer *l, GError **error)
{
    DnConcat *self = (DnConcat *) l;
    const DnShape *first = &l->in_shape[0];
    concat_defaults (self);
    g_autofree char *s0 = dn_shape_to_string (first);
    int nd = first->ndim;
    int d = self->dim < 0 ? self->dim + nd + 1 : self->dim;
    if (d < 1 || d > nd) {
        dn_layer_shape_error (l, error,
                              "\"dim\" %d does not name a dimension of an input %s per sample; "
                              "use 1 to %d, or -1 for the last (dim 0 is the batch)",
                              self->dim, s0, nd);
        return FALSE;
    }
    self->axis = d - 1;
    DnShape out = *first;
    for (int i = 1; i < l->n_inputs; i++) {
        const DnShape *s = &l->in_shape[i];
        gboolean ok = s->ndim == nd;
        for (int k = 0; ok && k < nd; k++)
            ok = k == self->axis || s->d[k] == first->d[k];
        if (!ok) {
            g_autofree char *si = dn_shape_to_string (s);
            dn_layer_shape_error (l, error,
                                  "input 1 is %s but input %d is %s; to concatenate along dim "
                                  "%d all other dimensions must match",
                                  s0, i + 1, si, self->dim);
            return FALSE;
        }
        out.d[self->axis] += s->d[self->axis];
    }
    l->out_shape = out;
    return TRUE;
}

/* With the per-sample shape split at the axis, every input is (outer, block_i) and the
 * output (outer, sum of block_i), outer counting the batch. */
static size_t concat_outer (const DnLayer *l, int batch)
{
    const DnConcat *self = (const DnConcat *) l;
    size_t outer = (size_t) batch;
    for (int k = 0; k < self->axis; k++)
        outer *= (size_t) l->out_shape.d[k];
    return outer;
}

static size_t concat_block (const DnLayer *l, int input)
{
    const DnConcat *self = (const DnConcat *) l;
    const DnShape *s = input >= 0 ? &l->in_shape[input] : &l->out_shape;
    size_t block = 1;
    for (int k = self->axis; k < s->ndim; k++)
        block *= (size_t) s->d[k];
    return block;
}

// x_i are (outer, block_i), y is (outer, sum block_i)
static void concat_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                            DnTensor *out)
{
    DnBackend *be = ctx->backend;
    size_t outer = concat_outer (l, batch), total = concat_block (l, -1);
    for (size_t o = 0; o < outer; o++) {
        size_t off = 0;
        for (int i = 0; i < l->n_inputs; i++) {
            size_t block = concat_block (l, i);
            be->copy (be, out->data + o * total + off, in[i]->data + o * block, block);
            off += block;
        }
    }
}

// dx_i += the slice of dy that x_i gave
static void concat_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                             const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnBackend *be = ctx->backend;
    size_t outer = concat_outer (l, batch), total = concat_block (l, -1);
    size_t off = 0;
    for (int i = 0; i < l->n_inputs; i++) {
        size_t block = concat_block (l, i);
        if (din[i] != NULL)
            for (size_t o = 0; o < outer; o++)
                be->axpy (be, block, 1.0f, dout->data + o * total + off, din[i]->data + o * block);
        off += block;
    }
}

static void concat_to_json (DnLayer *l, JsonBuilder *b)
{
    DnConcat *self = (DnConcat *) l;
    concat_defaults (self);
    if (self->dim != 1) {
        json_builder_set_member_name (b, "dim");
        json_builder_add_int_value (b, self->dim);
    }
}

static char *concat_describe (DnLayer *l)
{
    DnConcat *self = (DnConcat *) l;
    concat_defaults (self);
    return g_strdup_printf ("dim %d, %d inputs", self->dim, l->n_inputs);
}

const DnLayerClass dn_concat_class = {
    .type = "concat",
    .instance_size = sizeof (DnConcat),
    .min_inputs = 2,
    .max_inputs = DN_LAYER_MAX_INPUTS,
    .configure = concat_configure,
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
    .to_json = concat_to_json,
    .describe = concat_describe,
};
