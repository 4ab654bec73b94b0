/* dn-layer-norm.c: batchnorm1d, batchnorm2d and layernorm.
 *
 * Batch norm normalises each channel (dim 0 of the per-sample shape) over
 * the batch and the positions: (C) and (C, L) for batchnorm1d, (C, H, W)
 * for batchnorm2d. Parameters in PyTorch's order and names: weight, bias
 * (when affine), then the buffers running_mean, running_var (when tracked).
 * As in PyTorch, training mode, or a layer that tracks no running
 * statistics, normalises with the batch's statistics; eval mode uses the
 * running ones.
 *
 * Layer norm normalises each sample over its trailing normalized_shape.
 *
 * The statistics a forward saves for backward (mean and 1/std per channel
 * or per row) live in a buffer the layer owns, allocated on the backend's
 * device. dn_layer_new() calls configure only when the file gives
 * settings, so the defaults are applied on first use through `ready`.
 */
#include "dn-error.h"
#include "dn-layer-private.h"

#include <string.h>

typedef struct {
    DnBackend *be;
    float *data;
    size_t cap; /* floats */
} DnStats;

typedef struct {
    DnLayer parent;
    gboolean ready;
    int num_features; /* 0 until inferred when the file leaves it out */
    double eps, momentum;
    gboolean affine, track;
    int c, spatial;
    int i_weight, i_bias, i_mean, i_var; /* indices in l->params, or -1 */
    DnStats stats;                       /* mean (C), then invstd (C) */
    gboolean batch_stats;                /* the last forward normalised with batch statistics */
} DnBatchNorm;

typedef struct {
    DnLayer parent;
    gboolean ready;
    int n_norm; /* 0: all per-sample dims */
    int64_t norm[DN_MAX_DIMS];
    double eps;
    gboolean affine, bias;
    int64_t rows_per_sample, cols;
    DnStats stats; /* mean (rows), then invstd (rows) */
} DnLayerNorm;

/* Makes stats hold at least `need` floats on be's device; FALSE when out of memory. */
static gboolean stats_reserve (DnStats *st, DnBackend *be, size_t need)
{
    if (st->data != NULL && st->be == be && st->cap >= need)
        return TRUE;
    if (st->data != NULL)
        st->be->free (st->be, st->data);
    st->be = be;
    st->data = be->alloc (be, need * sizeof (float));
    st->cap = st->data != NULL ? need : 0;
    return st->data != NULL;
}

static void stats_clear (DnStats *st)
{
    if (st->data != NULL)
        st->be->free (st->be, st->data);
    memset (st, 0, sizeof *st);
}

static float *param_value (DnLayer *l, int i)
{
    return i >= 0 ? l->params[i].value : NULL;
}

/* NULL for a frozen layer: its backward computes the input gradient only */
static float *param_grad (DnLayer *l, int i)
{
    return i >= 0 && !l->frozen ? l->params[i].grad : NULL;
}

static void fill (float *x, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = v;
}

/* ---- batch norm ---- */

static gboolean is_bn2d (const DnLayer *l)
{
    return l->klass == &dn_batchnorm2d_class;
}

static void bn_defaults (DnBatchNorm *self)
{
    if (self->ready)
        return;
    self->ready = TRUE;
    self->eps = 1e-5;
    self->momentum = 0.1;
    self->affine = TRUE;
    self->track = TRUE;
}

static gboolean bn_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnBatchNorm *self = (DnBatchNorm *) l;
    static const char *const known[] = {"num_features",        "eps", "momentum", "affine",
                                        "track_running_stats", NULL};
    bn_defaults (self);
    return dn_fields_check_keys (&r, known) &&
           dn_fields_int (&r, "num_features", 1, 1 << 24, &self->num_features) &&
           dn_fields_number (&r, "eps", 0.0, 1.0, &self->eps) &&
           dn_fields_number (&r, "momentum", 0.0, 1.0, &self->momentum) &&
           dn_fields_bool (&r, "affine", &self->affine) &&
           dn_fields_bool (&r, "track_running_stats", &self->track);
}

static gboolean bn_infer (DnLayer *l, GError **error)
{
    DnBatchNorm *self = (DnBatchNorm *) l;
    const DnShape *in = &l->in_shape[0];
    bn_defaults (self);
    g_autofree char *s = dn_shape_to_string (in);
    if (is_bn2d (l) && in->ndim != 3) {
        dn_layer_shape_error (l, error,
                              "expects an input (channels, height, width) but gets %s; use "
                              "batchnorm1d for (features) or (channels, length)",
                              s);
        return FALSE;
    }
    if (!is_bn2d (l) && in->ndim != 1 && in->ndim != 2) {
        dn_layer_shape_error (l, error,
                              "expects an input (features) or (channels, length) but gets %s; "
                              "use batchnorm2d for (channels, height, width)",
                              s);
        return FALSE;
    }
    if (self->num_features != 0 && self->num_features != in->d[0]) {
        dn_layer_shape_error (l, error,
                              "\"num_features\" is %d but the input %s has %" G_GINT64_FORMAT
                              " channels; set num_features to %" G_GINT64_FORMAT " or remove it",
                              self->num_features, s, in->d[0], in->d[0]);
        return FALSE;
    }
    self->num_features = self->c = (int) in->d[0];
    self->spatial = (int) (dn_shape_numel (in) / self->c);
    self->i_weight = self->i_bias = self->i_mean = self->i_var = -1;
    if (self->affine) {
        self->i_weight = dn_layer_add_param (l, "weight", dn_shape_1d (self->c), TRUE);
        self->i_bias = dn_layer_add_param (l, "bias", dn_shape_1d (self->c), TRUE);
    }
    if (self->track) {
        self->i_mean = dn_layer_add_param (l, "running_mean", dn_shape_1d (self->c), FALSE);
        self->i_var = dn_layer_add_param (l, "running_var", dn_shape_1d (self->c), FALSE);
    }
    /* Backward in eval mode: a (B, numel) temporary and C zeros. */
    l->workspace_per_sample = (size_t) dn_shape_numel (in) + (size_t) self->c;
    l->out_shape = *in;
    return TRUE;
}

static void bn_init (DnLayer *l, DnRng *rng)
{
    DnBatchNorm *self = (DnBatchNorm *) l;
    if (self->i_weight >= 0)
        fill (l->params[self->i_weight].value, self->c, 1.0f);
    if (self->i_bias >= 0)
        fill (l->params[self->i_bias].value, self->c, 0.0f);
    if (self->i_mean >= 0)
        fill (l->params[self->i_mean].value, self->c, 0.0f);
    if (self->i_var >= 0)
        fill (l->params[self->i_var].value, self->c, 1.0f);
}

// x and y are (B, C, S)
static void bn_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in, DnTensor *out)
{
    DnBatchNorm *self = (DnBatchNorm *) l;
    DnBackend *be = ctx->backend;
    const float *gamma = param_value (l, self->i_weight), *beta = param_value (l, self->i_bias);
    float *rm = param_value (l, self->i_mean), *rv = param_value (l, self->i_var);
    self->batch_stats = ctx->training || !self->track;
    if (!self->batch_stats) {
        be->batchnorm_forward_eval (be, batch, self->c, self->spatial, in[0]->data, gamma, beta,
                                    (float) self->eps, rm, rv, out->data);
        return;
    }
    if (!stats_reserve (&self->stats, be, 2 * (size_t) self->c)) {
        /* Out of memory for 2 C floats: a zero output keeps the run defined. */
        be->zero (be, out->data, (size_t) batch * dn_shape_numel (&l->out_shape));
        return;
    }
    gboolean update = ctx->training && self->track;
    be->batchnorm_forward_train (be, batch, self->c, self->spatial, in[0]->data, gamma, beta,
                                 (float) self->eps, (float) self->momentum, update ? rm : NULL,
                                 update ? rv : NULL, out->data, self->stats.data,
                                 self->stats.data + self->c);
}

// eval-mode backward, y = gamma (x - rm) / sqrt(rv + eps) + beta with constant statistics:
// dx += dy gamma / sqrt(rv + eps); dgamma += sum dy xhat; dbeta += sum dy.
// Built from existing ops so every backend has it; it is not a hot path.
static void bn_backward_eval (DnLayer *l, DnCtx *ctx, int batch, const float *x, const float *dy,
                              float *dx)
{
    DnBatchNorm *self = (DnBatchNorm *) l;
    DnBackend *be = ctx->backend;
    const size_t n = (size_t) batch * self->c * self->spatial;
    float *tmp = ctx->workspace, *zeros = ctx->workspace + n;
    const float *gamma = param_value (l, self->i_weight);
    const float *rm = param_value (l, self->i_mean), *rv = param_value (l, self->i_var);
    float *dgamma = param_grad (l, self->i_weight), *dbeta = param_grad (l, self->i_bias);
    float eps = (float) self->eps;
    be->zero (be, zeros, self->c);
    if (dx != NULL) {
        be->batchnorm_forward_eval (be, batch, self->c, self->spatial, dy, gamma, NULL, eps, zeros,
                                    rv, tmp);
        be->axpy (be, n, 1.0f, tmp, dx);
    }
    if (dbeta != NULL)
        be->bias_backward (be, batch, self->c, self->spatial, dy, dbeta);
    if (dgamma != NULL) {
        be->batchnorm_forward_eval (be, batch, self->c, self->spatial, x, NULL, NULL, eps, rm, rv,
                                    tmp);
        be->mul (be, n, tmp, dy, tmp);
        be->bias_backward (be, batch, self->c, self->spatial, tmp, dgamma);
    }
}

static void bn_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                         const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnBatchNorm *self = (DnBatchNorm *) l;
    DnBackend *be = ctx->backend;
    float *dx = din[0] != NULL ? din[0]->data : NULL;
    if (!self->batch_stats) {
        bn_backward_eval (l, ctx, batch, in[0]->data, dout->data, dx);
        return;
    }
    if (self->stats.data == NULL)
        return;
    be->batchnorm_backward (be, batch, self->c, self->spatial, in[0]->data, dout->data,
                            param_value (l, self->i_weight), self->stats.data,
                            self->stats.data + self->c, dx, param_grad (l, self->i_weight),
                            param_grad (l, self->i_bias));
}

static void bn_to_json (DnLayer *l, JsonBuilder *b)
{
    DnBatchNorm *self = (DnBatchNorm *) l;
    bn_defaults (self);
    if (self->num_features > 0) {
        json_builder_set_member_name (b, "num_features");
        json_builder_add_int_value (b, self->num_features);
    }
    if (self->eps != 1e-5) {
        json_builder_set_member_name (b, "eps");
        json_builder_add_double_value (b, self->eps);
    }
    if (self->momentum != 0.1) {
        json_builder_set_member_name (b, "momentum");
        json_builder_add_double_value (b, self->momentum);
    }
    if (!self->affine) {
        json_builder_set_member_name (b, "affine");
        json_builder_add_boolean_value (b, FALSE);
    }
    if (!self->track) {
        json_builder_set_member_name (b, "track_running_stats");
        json_builder_add_boolean_value (b, FALSE);
    }
}

static char *bn_describe (DnLayer *l)
{
    DnBatchNorm *self = (DnBatchNorm *) l;
    bn_defaults (self);
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "%d %s", self->num_features, is_bn2d (l) ? "channels" : "features");
    if (self->eps != 1e-5)
        g_string_append_printf (s, ", eps %g", self->eps);
    if (self->momentum != 0.1)
        g_string_append_printf (s, ", momentum %g", self->momentum);
    if (!self->affine)
        g_string_append (s, ", no affine");
    if (!self->track)
        g_string_append (s, ", no running stats");
    return g_string_free (s, FALSE);
}

static void bn_finalize (DnLayer *l)
{
    stats_clear (&((DnBatchNorm *) l)->stats);
}

const DnLayerClass dn_batchnorm1d_class = {
    .type = "batchnorm1d",
    .instance_size = sizeof (DnBatchNorm),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = bn_configure,
    .infer = bn_infer,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .to_json = bn_to_json,
    .describe = bn_describe,
    .finalize = bn_finalize,
};

const DnLayerClass dn_batchnorm2d_class = {
    .type = "batchnorm2d",
    .instance_size = sizeof (DnBatchNorm),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = bn_configure,
    .infer = bn_infer,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .to_json = bn_to_json,
    .describe = bn_describe,
    .finalize = bn_finalize,
};

/* ---- layer norm ---- */

static void ln_defaults (DnLayerNorm *self)
{
    if (self->ready)
        return;
    self->ready = TRUE;
    self->eps = 1e-5;
    self->affine = TRUE;
    self->bias = TRUE;
}

static gboolean ln_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnLayerNorm *self = (DnLayerNorm *) l;
    static const char *const known[] = {"normalized_shape", "eps", "elementwise_affine", "bias",
                                        NULL};
    ln_defaults (self);
    if (!dn_fields_check_keys (&r, known) || !dn_fields_number (&r, "eps", 0.0, 1.0, &self->eps) ||
        !dn_fields_bool (&r, "elementwise_affine", &self->affine) ||
        !dn_fields_bool (&r, "bias", &self->bias))
        return FALSE;
    int shape[DN_MAX_DIMS], n = 0;
    if (!dn_fields_int_list (&r, "normalized_shape", 1, 1 << 30, 1, DN_MAX_DIMS, TRUE, shape, &n))
        return FALSE;
    for (int i = 0; i < n; i++)
        self->norm[i] = shape[i];
    if (n > 0)
        self->n_norm = n;
    return TRUE;
}

static gboolean ln_infer (DnLayer *l, GError **error)
{
    DnLayerNorm *self = (DnLayerNorm *) l;
    const DnShape *in = &l->in_shape[0];
    ln_defaults (self);
    DnShape norm = dn_shape_make (self->n_norm, self->norm);
    gboolean ok = in->ndim >= 1 && self->n_norm <= in->ndim;
    for (int i = 0; ok && i < self->n_norm; i++)
        ok = norm.d[i] == in->d[in->ndim - self->n_norm + i];
    if (!ok) {
        g_autofree char *s = dn_shape_to_string (in);
        g_autofree char *ns = dn_shape_to_string (&norm);
        dn_layer_shape_error (l, error,
                              "\"normalized_shape\" %s is not the trailing part of the input %s; "
                              "set it to the last dimensions of the input or remove it",
                              ns, s);
        return FALSE;
    }
    if (self->n_norm == 0)
        norm = *in;
    self->cols = dn_shape_numel (&norm);
    self->rows_per_sample = dn_shape_numel (in) / self->cols;
    if (self->affine) {
        dn_layer_add_param (l, "weight", norm, TRUE);
        if (self->bias)
            dn_layer_add_param (l, "bias", norm, TRUE);
    }
    l->out_shape = *in;
    return TRUE;
}

static void ln_init (DnLayer *l, DnRng *rng)
{
    DnLayerNorm *self = (DnLayerNorm *) l;
    for (int i = 0; i < l->n_params; i++)
        fill (l->params[i].value, self->cols, i == 0 ? 1.0f : 0.0f);
}

// x and y are (B * rows_per_sample, cols); weight and bias are (cols)
static void ln_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in, DnTensor *out)
{
    DnLayerNorm *self = (DnLayerNorm *) l;
    DnBackend *be = ctx->backend;
    int rows = (int) (batch * self->rows_per_sample);
    if (!stats_reserve (&self->stats, be, 2 * (size_t) rows)) {
        be->zero (be, out->data, (size_t) rows * self->cols);
        return;
    }
    be->layernorm_forward (be, rows, (int) self->cols, in[0]->data,
                           param_value (l, l->n_params > 0 ? 0 : -1),
                           param_value (l, l->n_params > 1 ? 1 : -1), (float) self->eps, out->data,
                           self->stats.data, self->stats.data + rows);
}

static void ln_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                         const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnLayerNorm *self = (DnLayerNorm *) l;
    DnBackend *be = ctx->backend;
    int rows = (int) (batch * self->rows_per_sample);
    if (self->stats.data == NULL || self->stats.cap < 2 * (size_t) rows)
        return;
    be->layernorm_backward (be, rows, (int) self->cols, in[0]->data, dout->data,
                            param_value (l, l->n_params > 0 ? 0 : -1), self->stats.data,
                            self->stats.data + rows, din[0] != NULL ? din[0]->data : NULL,
                            param_grad (l, l->n_params > 0 ? 0 : -1),
                            param_grad (l, l->n_params > 1 ? 1 : -1));
}

static void ln_to_json (DnLayer *l, JsonBuilder *b)
{
    DnLayerNorm *self = (DnLayerNorm *) l;
    ln_defaults (self);
    if (self->n_norm == 1) {
        json_builder_set_member_name (b, "normalized_shape");
        json_builder_add_int_value (b, self->norm[0]);
    } else if (self->n_norm > 1) {
        json_builder_set_member_name (b, "normalized_shape");
        json_builder_begin_array (b);
        for (int i = 0; i < self->n_norm; i++)
            json_builder_add_int_value (b, self->norm[i]);
        json_builder_end_array (b);
    }
    if (self->eps != 1e-5) {
        json_builder_set_member_name (b, "eps");
        json_builder_add_double_value (b, self->eps);
    }
    if (!self->affine) {
        json_builder_set_member_name (b, "elementwise_affine");
        json_builder_add_boolean_value (b, FALSE);
    }
    if (!self->bias) {
        json_builder_set_member_name (b, "bias");
        json_builder_add_boolean_value (b, FALSE);
    }
}

static char *ln_describe (DnLayer *l)
{
    DnLayerNorm *self = (DnLayerNorm *) l;
    ln_defaults (self);
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "over %" G_GINT64_FORMAT, self->cols);
    if (self->eps != 1e-5)
        g_string_append_printf (s, ", eps %g", self->eps);
    if (!self->affine)
        g_string_append (s, ", no affine");
    else if (!self->bias)
        g_string_append (s, ", no bias");
    return g_string_free (s, FALSE);
}

static void ln_finalize (DnLayer *l)
{
    stats_clear (&((DnLayerNorm *) l)->stats);
}

const DnLayerClass dn_layernorm_class = {
    .type = "layernorm",
    .instance_size = sizeof (DnLayerNorm),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = ln_configure,
    .infer = ln_infer,
    .init = ln_init,
    .forward = ln_forward,
    .backward = ln_backward,
    .to_json = ln_to_json,
    .describe = ln_describe,
    .finalize = ln_finalize,
};
