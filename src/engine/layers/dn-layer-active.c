/* dn-layer-active.c: Numenta's active dendrites (docs/continual.md).
 *
 * - sparse_linear: a linear layer whose weights have a fixed random mask (a
 *   fraction `weight_sparsity` of each row is zero for the whole run), with the
 *   "modified Kaiming" initialisation U(±1/sqrt(input_density·weight_density·fan_in)).
 *   The mask is a buffer (`weight_mask`) so a saved model keeps it; masked weights
 *   get zero gradient, so every optimizer leaves them at zero.
 * - active_dendrite: the same plus `segments` dendritic segments per unit that read
 *   the context vector; the winning segment (largest |response| by default) gates
 *   the unit, y = t · sigmoid(g). Only the winning segment gets a gradient.
 * - kwta: k-winner-take-all per sample, gradient through the winners only.
 *
 * Segment responses depend on the context only, not on the sample, so they are
 * computed once per context in the table (one per training batch), never per
 * sample; in evaluation they are cached until the weights or the table change. */
#include "dn-error.h"
#include "dn-layer-private.h"

#include <math.h>
#include <string.h>

typedef struct {
    DnLayer parent;
    gboolean active; /* active_dendrite (TRUE) or sparse_linear */
    int in_features, out_features;
    gboolean bias;
    double weight_sparsity, input_density;
    int segments, context_dim;
    double context_density;
    DnGateMode gate;
    int p_weight, p_bias, p_segments, p_mask;

    /* Per-context winners of the last forward, on `be`. */
    DnBackend *be;
    float *t;     /* (batch, out) drive before gating */
    size_t t_cap; /* floats */
    float *resp;  /* (chunk, out, segments) responses */
    size_t resp_cap;
    int32_t *win; /* (n_ctx, out) */
    float *g, *dg;  /* (n_ctx, out) */
    size_t win_cap, g_cap, dg_cap;
    int n_ctx;
    gboolean cache_valid;
    guint64 cache_version;
    /* Training with one fixed context (DnCtx.segment_reuse): the responses to it,
     * kept between batches; only the rows an optimizer step marked stale are redone. */
    float *keep;          /* (out, segments) */
    int32_t *stale, *stale_dev; /* row numbers (host, backend) */
    size_t keep_cap, stale_dev_cap;
    guint64 keep_serial; /* the segment_reuse value `keep` belongs to */
    const float *keep_ctx;
    gboolean alloc_failed;
} DnActive;

static const char *const gate_names[] = {"abs_max", "max", "additive", NULL};

static gboolean dense_only (void)
{
    return g_strcmp0 (g_getenv ("DN_ACTIVE_DENSE"), "1") == 0;
}

static gboolean active_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnActive *self = (DnActive *) l;
    static const char *const known_sparse[] = {"in_features", "out_features", "bias",
                                               "weight_sparsity", "input_density", NULL};
    static const char *const known_active[] = {
        "in_features",  "out_features", "bias",           "weight_sparsity", "input_density",
        "segments",     "context_dim",  "context_density", "gating",         NULL};
    self->active = g_str_equal (l->klass->type, "active_dendrite");
    self->bias = TRUE;
    self->weight_sparsity = 0.0;
    self->input_density = 1.0;
    self->context_density = 1.0;
    self->gate = DN_GATE_ABS_MAX;
    if (!dn_fields_check_keys (&r, self->active ? known_active : known_sparse) ||
        !dn_fields_int (&r, "in_features", 1, 1 << 28, &self->in_features) ||
        !dn_fields_int (&r, "out_features", 1, 1 << 28, &self->out_features) ||
        !dn_fields_bool (&r, "bias", &self->bias) ||
        !dn_fields_number (&r, "weight_sparsity", 0.0, 0.999, &self->weight_sparsity) ||
        !dn_fields_number (&r, "input_density", 1e-4, 1.0, &self->input_density))
        return FALSE;
    if (self->out_features == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "layer '%s' (%s): \"out_features\" is required",
                     l->name, l->klass->type);
        return FALSE;
    }
    if (!self->active)
        return TRUE;
    if (!dn_fields_int (&r, "segments", 0, 4096, &self->segments) ||
        /* 0 is what a layer without segments (the default) writes */
        !dn_fields_int (&r, "context_dim", 0, 1 << 20, &self->context_dim) ||
        !dn_fields_number (&r, "context_density", 1e-4, 1.0, &self->context_density))
        return FALSE;
    if (self->context_dim == 0 && self->segments > 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (active_dendrite): \"context_dim\" is required: the length of the "
                     "context vector (784 for a prototype of 28×28 images, the number of tasks for "
                     "one-hot task ids)",
                     l->name);
        return FALSE;
    }
    int gate = self->gate;
    if (!dn_fields_enum (&r, "gating", gate_names, NULL, &gate))
        return FALSE;
    self->gate = (DnGateMode) gate;
    return TRUE;
}

/* Both kinds read one flat vector of features per sample. */
static gboolean check_flat (DnLayer *l, GError **error)
{
    if (l->in_shape[0].ndim == 1)
        return TRUE;
    g_autofree char *s = dn_shape_to_string (&l->in_shape[0]);
    dn_layer_shape_error (l, error,
                          "expects a flat input (features) but gets %s; add a flatten layer "
                          "before it",
                          s);
    return FALSE;
}

static gboolean active_infer (DnLayer *l, GError **error)
{
    DnActive *self = (DnActive *) l;
    const DnShape *in = &l->in_shape[0];
    if (!check_flat (l, error))
        return FALSE;
    if (self->in_features != 0 && self->in_features != in->d[0]) {
        dn_layer_shape_error (l, error,
                              "\"in_features\" is %d but the layer before it gives %" G_GINT64_FORMAT
                              " features; set in_features to %" G_GINT64_FORMAT " or remove it",
                              self->in_features, in->d[0], in->d[0]);
        return FALSE;
    }
    self->in_features = (int) in->d[0];
    int O = self->out_features, I = self->in_features;
    self->p_weight = dn_layer_add_param (l, "weight", dn_shape_2d (O, I), TRUE);
    self->p_bias = self->bias ? dn_layer_add_param (l, "bias", dn_shape_1d (O), TRUE) : -1;
    self->p_segments = -1;
    if (self->active && self->segments > 0) {
        DnShape s = {.ndim = 3, .d = {O, self->segments, self->context_dim}};
        self->p_segments = dn_layer_add_param (l, "segments", s, TRUE);
        dn_layer_track_rows (l, self->p_segments, (size_t) self->context_dim);
        l->context_dim = self->context_dim;
    }
    self->p_mask = self->weight_sparsity > 0.0
                       ? dn_layer_add_param (l, "weight_mask", dn_shape_2d (O, I), FALSE)
                       : -1;
    /* dt in backward */
    l->workspace_per_sample = self->p_segments >= 0 ? (size_t) O : 0;
    l->out_shape = dn_shape_1d (O);
    self->cache_valid = FALSE;
    return TRUE;
}

static void active_init (DnLayer *l, DnRng *rng)
{
    DnActive *self = (DnActive *) l;
    int O = self->out_features, I = self->in_features;
    float *w = l->params[self->p_weight].value;
    double density = 1.0 - self->weight_sparsity;
    float bound = (float) (1.0 / sqrt (self->input_density * density * I));
    dn_init_uniform (rng, w, (size_t) O * I, bound);
    if (self->p_mask >= 0) {
        /* Per row, exactly round(density * I) positions stay, drawn without replacement. */
        float *mask = l->params[self->p_mask].value;
        int keep = (int) rint (density * I);
        g_autofree int *perm = g_new (int, I);
        for (int o = 0; o < O; o++) {
            for (int i = 0; i < I; i++)
                perm[i] = i;
            for (int i = 0; i < keep; i++) { /* partial Fisher-Yates */
                int j = i + (int) dn_rng_below (rng, (uint32_t) (I - i));
                int tmp = perm[i];
                perm[i] = perm[j];
                perm[j] = tmp;
            }
            float *m = mask + (size_t) o * I;
            memset (m, 0, sizeof (float) * I);
            for (int i = 0; i < keep; i++)
                m[perm[i]] = 1.0f;
        }
        for (size_t i = 0; i < (size_t) O * I; i++)
            w[i] *= mask[i];
    }
    if (self->p_bias >= 0)
        dn_init_uniform (rng, l->params[self->p_bias].value, (size_t) O,
                         1.0f / sqrtf ((float) I));
    if (self->p_segments >= 0)
        dn_init_uniform (rng, l->params[self->p_segments].value,
                         (size_t) O * self->segments * self->context_dim,
                         (float) (1.0 / sqrt (self->context_density * self->context_dim)));
    self->cache_valid = FALSE;
}

static gboolean ensure (DnActive *self, DnBackend *be, void **p, size_t *cap, size_t need,
                        size_t elem)
{
    if (*p != NULL && *cap >= need)
        return TRUE;
    if (*p != NULL)
        be->free (be, *p);
    *p = be->alloc (be, need * elem);
    *cap = *p != NULL ? need : 0;
    if (*p == NULL)
        self->alloc_failed = TRUE;
    return *p != NULL;
}

static void free_buffers (DnActive *self)
{
    if (self->be == NULL)
        return;
    DnBackend *be = self->be;
    be->free (be, self->t);
    be->free (be, self->resp);
    be->free (be, self->win);
    be->free (be, self->g);
    be->free (be, self->dg);
    be->free (be, self->keep);
    be->free (be, self->stale_dev);
    g_clear_pointer (&self->stale, g_free);
    self->t = self->resp = self->g = self->dg = self->keep = NULL;
    self->win = self->stale_dev = NULL;
    self->t_cap = self->resp_cap = self->win_cap = self->g_cap = self->dg_cap = 0;
    self->keep_cap = self->stale_dev_cap = 0;
    self->keep_serial = 0;
    self->cache_valid = FALSE;
}

/* Training with one context on a backend with segment_rows: the responses in
 * `keep`, all rows at the first batch of a reuse period (or every batch outside
 * one), afterwards only the rows marked DN_ROW_STALE. The numbers are the same
 * either way, as segment_rows computes each row alone. */
static gboolean training_responses (DnActive *self, DnLayer *l, DnCtx *ctx)
{
    DnBackend *be = ctx->backend;
    int O = self->out_features, S = self->segments, C = self->context_dim;
    size_t rows = (size_t) O * S;
    DnParam *u = &l->params[self->p_segments];
    if (!ensure (self, be, (void **) &self->keep, &self->keep_cap, rows, sizeof (float)))
        return FALSE;
    gboolean reuse = ctx->segment_reuse != 0 && self->keep_serial == ctx->segment_reuse &&
                     self->keep_ctx == ctx->contexts && u->rows != NULL;
    if (!reuse) {
        be->segment_rows (be, (int) rows, NULL, C, u->value, ctx->contexts, self->keep);
        if (u->rows != NULL)
            for (size_t r = 0; r < rows; r++)
                u->rows[r] &= (guint8) ~DN_ROW_STALE;
        self->keep_serial = ctx->segment_reuse;
        self->keep_ctx = ctx->contexts;
    } else {
        if (self->stale == NULL) {
            self->stale = g_try_new (int32_t, rows);
            if (self->stale == NULL) {
                self->alloc_failed = TRUE;
                return FALSE;
            }
        }
        int n = 0;
        for (size_t r = 0; r < rows; r++)
            if (u->rows[r] & DN_ROW_STALE) {
                self->stale[n++] = (int32_t) r;
                u->rows[r] &= (guint8) ~DN_ROW_STALE;
            }
        if (n > 0) {
            if (!ensure (self, be, (void **) &self->stale_dev, &self->stale_dev_cap, rows,
                         sizeof (int32_t)))
                return FALSE;
            be->upload (be, self->stale_dev, self->stale, (size_t) n * sizeof (int32_t));
            be->segment_rows (be, n, self->stale_dev, C, u->value, ctx->contexts, self->keep);
        }
    }
    be->segment_select (be, self->gate, 1, O, S, self->keep, self->win, self->g);
    return TRUE;
}

/* Winners and their responses for every context in the table. */
static gboolean compute_winners (DnActive *self, DnLayer *l, DnCtx *ctx)
{
    DnBackend *be = ctx->backend;
    int O = self->out_features, S = self->segments, C = self->context_dim;
    int P = ctx->n_contexts;
    if (!ctx->training && self->cache_valid && self->cache_version == ctx->context_version &&
        self->n_ctx == P)
        return TRUE;
    size_t pairs = (size_t) P * O;
    if (!ensure (self, be, (void **) &self->win, &self->win_cap, pairs, sizeof (int32_t)) ||
        !ensure (self, be, (void **) &self->g, &self->g_cap, pairs, sizeof (float)) ||
        !ensure (self, be, (void **) &self->dg, &self->dg_cap, pairs, sizeof (float)))
        return FALSE;
    if (ctx->training && P == 1 && be->segment_rows != NULL) {
        if (!training_responses (self, l, ctx))
            return FALSE;
        self->n_ctx = 1;
        self->cache_valid = FALSE;
        return TRUE;
    }
    self->keep_serial = 0;
    /* Responses for a chunk of contexts at a time: at most ~4M floats of scratch. */
    size_t per_ctx = (size_t) O * S;
    int chunk = (int) MAX (1, MIN ((size_t) P, ((size_t) 4 << 20) / per_ctx));
    if (!ensure (self, be, (void **) &self->resp, &self->resp_cap, per_ctx * chunk, sizeof (float)))
        return FALSE;
    const float *U = l->params[self->p_segments].value;
    for (int p0 = 0; p0 < P; p0 += chunk) {
        int n = MIN (chunk, P - p0);
        /* resp (n, O*S) = contexts (n, C) · U^T, with U viewed as (O*S, C) */
        be->gemm (be, FALSE, TRUE, n, (int) per_ctx, C, 1.0f, ctx->contexts + (size_t) p0 * C, C, U,
                  C, 0.0f, self->resp, (int) per_ctx);
        be->segment_select (be, self->gate, n, O, S, self->resp, self->win + (size_t) p0 * O,
                            self->g + (size_t) p0 * O);
    }
    self->n_ctx = P;
    self->cache_valid = !ctx->training;
    self->cache_version = ctx->context_version;
    return TRUE;
}

// t = x W^T + b; with segments y = gate(t, g[context of the sample])
static void active_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                            DnTensor *out)
{
    DnActive *self = (DnActive *) l;
    DnBackend *be = ctx->backend;
    int I = self->in_features, O = self->out_features;
    if (self->be != be) {
        free_buffers (self);
        self->be = be;
    }
    gboolean gated = self->p_segments >= 0;
    if (gated && (ctx->contexts == NULL || ctx->context_dim != self->context_dim)) {
        /* No usable context (the engine checks this before training): every gate is
         * sigmoid(0). Never reached through dendrite train / continual runs. */
        gated = FALSE;
    }
    float *t = out->data;
    if (self->p_segments >= 0) {
        if (!ensure (self, be, (void **) &self->t, &self->t_cap, (size_t) batch * O,
                     sizeof (float))) {
            be->zero (be, out->data, (size_t) batch * O);
            return;
        }
        t = self->t;
    }
    /* The input of a layer after k-WTA is mostly zero: a kernel whose work scales
     * with its non-zeros then replaces the GEMM (DN_ACTIVE_DENSE=1 turns it off). */
    gboolean sparse_in = FALSE;
    if (O >= 64 && I >= 64 && be->sparse_gemm_nt != NULL && !dense_only ()) {
        size_t nnz = be->count_nonzero (be, in[0]->data, (size_t) batch * I);
        sparse_in = nnz < (size_t) batch * I / 8;
    }
    if (sparse_in)
        be->sparse_gemm_nt (be, batch, I, O, in[0]->data, l->params[self->p_weight].value, t);
    else
        be->gemm (be, FALSE, TRUE, batch, O, I, 1.0f, in[0]->data, I,
                  l->params[self->p_weight].value, I, 0.0f, t, O);
    if (self->p_bias >= 0)
        be->bias_add (be, batch, O, 1, l->params[self->p_bias].value, t);
    if (self->p_segments < 0)
        return;
    if (!gated) {
        be->copy (be, out->data, t, (size_t) batch * O);
        if (self->gate != DN_GATE_ADDITIVE)
            be->scale (be, (size_t) batch * O, 0.5f, out->data);
        self->n_ctx = 0;
        return;
    }
    gint64 t0 = ctx->profile ? g_get_monotonic_time () : 0;
    if (!compute_winners (self, l, ctx)) {
        be->zero (be, out->data, (size_t) batch * O);
        return;
    }
    be->gate_forward (be, self->gate, batch, O, t, self->g, ctx->context_index, out->data);
    if (ctx->profile) {
        be->synchronize (be);
        l->prof_seconds[2] += (g_get_monotonic_time () - t0) / 1e6;
    }
}

static void active_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                             const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    (void) out;
    DnActive *self = (DnActive *) l;
    DnBackend *be = ctx->backend;
    int I = self->in_features, O = self->out_features;
    const float *dt = dout->data;
    if (self->p_segments >= 0) {
        float *buf = ctx->workspace;
        if (self->n_ctx == 0 || self->alloc_failed) {
            /* ungated forward (no context): y = t / 2 or y = t */
            be->copy (be, buf, dout->data, (size_t) batch * O);
            if (self->gate != DN_GATE_ADDITIVE)
                be->scale (be, (size_t) batch * O, 0.5f, buf);
        } else {
            gint64 t0 = ctx->profile ? g_get_monotonic_time () : 0;
            be->zero (be, self->dg, (size_t) self->n_ctx * O);
            be->gate_backward (be, self->gate, batch, O, self->t, self->g, ctx->context_index,
                               dout->data, buf, self->dg);
            DnParam *u = &l->params[self->p_segments];
            if (!l->frozen)
                be->segment_grad (be, self->n_ctx, O, self->segments, self->context_dim, self->win,
                                  self->dg, ctx->contexts, u->grad, u->rows);
            if (ctx->profile) {
                be->synchronize (be);
                l->prof_seconds[2] += (g_get_monotonic_time () - t0) / 1e6;
            }
        }
        dt = buf;
    }
    DnParam *w = &l->params[self->p_weight];
    /* After k-WTA most of dt is zero: the sparse kernels then do a fraction of the
     * work of the GEMMs for the same numbers (DN_ACTIVE_DENSE=1 turns them off). */
    gboolean sparse = FALSE;
    if (O >= 64 && be->sparse_outer != NULL && !dense_only ()) {
        size_t nnz = be->count_nonzero (be, dt, (size_t) batch * O);
        sparse = nnz < (size_t) batch * O / 4;
    }
    if (!l->frozen) {
        if (sparse)
            be->sparse_outer (be, batch, O, I, dt, in[0]->data, w->grad);
        else
            be->gemm (be, TRUE, FALSE, O, I, batch, 1.0f, dt, O, in[0]->data, I, 1.0f, w->grad, I);
        if (self->p_mask >= 0)
            be->mul (be, (size_t) O * I, w->grad, l->params[self->p_mask].value, w->grad);
        if (self->p_bias >= 0)
            be->bias_backward (be, batch, O, 1, dt, l->params[self->p_bias].grad);
    }
    if (din[0] != NULL) {
        if (sparse)
            be->sparse_rows_gemm (be, batch, O, I, dt, w->value, din[0]->data);
        else
            be->gemm (be, FALSE, FALSE, batch, I, O, 1.0f, dt, O, w->value, I, 1.0f, din[0]->data,
                      I);
    }
}

static void active_to_json (DnLayer *l, JsonBuilder *b)
{
    DnActive *self = (DnActive *) l;
    json_builder_set_member_name (b, "out_features");
    json_builder_add_int_value (b, self->out_features);
    if (!self->bias) {
        json_builder_set_member_name (b, "bias");
        json_builder_add_boolean_value (b, FALSE);
    }
    json_builder_set_member_name (b, "weight_sparsity");
    json_builder_add_double_value (b, self->weight_sparsity);
    json_builder_set_member_name (b, "input_density");
    json_builder_add_double_value (b, self->input_density);
    if (!self->active)
        return;
    json_builder_set_member_name (b, "segments");
    json_builder_add_int_value (b, self->segments);
    if (self->context_dim > 0) { /* a layer without segments reads no context */
        json_builder_set_member_name (b, "context_dim");
        json_builder_add_int_value (b, self->context_dim);
    }
    json_builder_set_member_name (b, "context_density");
    json_builder_add_double_value (b, self->context_density);
    json_builder_set_member_name (b, "gating");
    json_builder_add_string_value (b, gate_names[self->gate]);
}

static char *active_describe (DnLayer *l)
{
    DnActive *self = (DnActive *) l;
    g_autofree char *sparse =
        self->weight_sparsity > 0.0 ? g_strdup_printf (", %.0f %% sparse", 100.0 * self->weight_sparsity)
                                    : g_strdup ("");
    if (!self->active || self->segments == 0)
        return g_strdup_printf ("%d → %d%s%s", self->in_features, self->out_features, sparse,
                                self->bias ? "" : ", no bias");
    return g_strdup_printf ("%d → %d%s, %d segments × %d, %s gate", self->in_features,
                            self->out_features, sparse, self->segments, self->context_dim,
                            gate_names[self->gate]);
}

static void active_finalize (DnLayer *l)
{
    free_buffers ((DnActive *) l);
}

const DnLayerClass dn_sparse_linear_class = {
    .type = "sparse_linear",
    .instance_size = sizeof (DnActive),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = active_configure,
    .infer = active_infer,
    .init = active_init,
    .forward = active_forward,
    .backward = active_backward,
    .to_json = active_to_json,
    .describe = active_describe,
    .finalize = active_finalize,
};

const DnLayerClass dn_active_dendrite_class = {
    .type = "active_dendrite",
    .instance_size = sizeof (DnActive),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = active_configure,
    .infer = active_infer,
    .init = active_init,
    .forward = active_forward,
    .backward = active_backward,
    .to_json = active_to_json,
    .describe = active_describe,
    .finalize = active_finalize,
};

/* ---- k-winner-take-all ---- */

typedef struct {
    DnLayer parent;
    double percent_on; /* used when k is 0 */
    int k;
    int k_eff;
    DnBackend *be;
    guint8 *mask;
    size_t mask_cap;
    gboolean ok;
} DnKwta;

static gboolean kwta_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnKwta *self = (DnKwta *) l;
    static const char *const known[] = {"k", "percent_on", NULL};
    self->percent_on = 0.05;
    if (!dn_fields_check_keys (&r, known) || !dn_fields_int (&r, "k", 1, 1 << 28, &self->k) ||
        !dn_fields_number (&r, "percent_on", 1e-6, 1.0, &self->percent_on))
        return FALSE;
    if (self->k > 0 && json_object_has_member (cfg, "percent_on")) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (kwta): give either \"k\" or \"percent_on\", not both", l->name);
        return FALSE;
    }
    return TRUE;
}

static gboolean kwta_infer (DnLayer *l, GError **error)
{
    DnKwta *self = (DnKwta *) l;
    const DnShape *in = &l->in_shape[0];
    if (!check_flat (l, error))
        return FALSE;
    int n = (int) in->d[0];
    if (self->k > n) {
        dn_layer_shape_error (l, error, "\"k\" is %d but the input has only %d units", self->k, n);
        return FALSE;
    }
    /* Python's round (half to even), as the reference: 5 % of 2048 is 102 */
    self->k_eff = self->k > 0 ? self->k : MAX (1, (int) rint (self->percent_on * n));
    l->out_shape = *in;
    return TRUE;
}

static void kwta_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                          DnTensor *out)
{
    DnKwta *self = (DnKwta *) l;
    DnBackend *be = ctx->backend;
    int n = (int) l->in_shape[0].d[0];
    size_t need = (size_t) batch * n;
    if (self->be != be || self->mask_cap < need) {
        if (self->mask != NULL)
            self->be->free (self->be, self->mask);
        self->be = be;
        self->mask = be->alloc (be, need);
        self->mask_cap = self->mask != NULL ? need : 0;
    }
    self->ok = self->mask != NULL;
    if (!self->ok) {
        be->zero (be, out->data, need);
        return;
    }
    be->kwta_forward (be, batch, n, self->k_eff, in[0]->data, out->data, self->mask);
}

static void kwta_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                           const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    (void) in;
    (void) out;
    DnKwta *self = (DnKwta *) l;
    if (din[0] == NULL || !self->ok)
        return;
    ctx->backend->kwta_backward (ctx->backend, batch, (int) l->in_shape[0].d[0], self->mask,
                                 dout->data, din[0]->data);
}

static void kwta_to_json (DnLayer *l, JsonBuilder *b)
{
    DnKwta *self = (DnKwta *) l;
    if (self->k > 0) {
        json_builder_set_member_name (b, "k");
        json_builder_add_int_value (b, self->k);
    } else {
        json_builder_set_member_name (b, "percent_on");
        json_builder_add_double_value (b, self->percent_on);
    }
}

static char *kwta_describe (DnLayer *l)
{
    DnKwta *self = (DnKwta *) l;
    return g_strdup_printf ("%d of %" G_GINT64_FORMAT " on", self->k_eff, l->in_shape[0].d[0]);
}

static void kwta_finalize (DnLayer *l)
{
    DnKwta *self = (DnKwta *) l;
    if (self->mask != NULL)
        self->be->free (self->be, self->mask);
}

const DnLayerClass dn_kwta_class = {
    .type = "kwta",
    .instance_size = sizeof (DnKwta),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = kwta_configure,
    .infer = kwta_infer,
    .forward = kwta_forward,
    .backward = kwta_backward,
    .to_json = kwta_to_json,
    .describe = kwta_describe,
    .finalize = kwta_finalize,
};
