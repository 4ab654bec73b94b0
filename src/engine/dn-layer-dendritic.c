/* dn-layer-dendritic.c: a neuron module with k dendrites (Perforated AI's design).
 *
 * The neuron module M is one layer (linear, conv1d, conv2d) or a group run in
 * order (conv + batch norm). Each dendrite D_i is a full copy of M. With C
 * output channels (the neuron axis: the first per-sample dimension), s_i the
 * dendrite outputs after the forward function sigma, T the (k, C)
 * dendrite-to-neuron weights and D2D[i] the (i, C) cascade weights:
 *
 *   y   = M(x)
 *   a_i = D_i(x) + sum_{j<i} D2D[i][j] * s_j      (per channel, broadcast over positions)
 *   s_i = sigma(a_i)
 *   out = y + sum_i T[i] * s_i
 *
 * Backward follows the chain rule in decreasing i (spec 5.4). With k = 0 the
 * module is the plain layer. A new dendrite starts with T and D2D rows at zero
 * so the network computes the same function right after insertion.
 *
 * JSON: {"type": "dendritic", "name": "conv1", "dendrites": 2,
 *        "forward_function": "sigmoid", "init_multiplier": 0.01,
 *        "layers": [{"type": "conv2d", ...}, {"type": "batchnorm2d"}]}
 * Parameters use the reference's state-dict names: main_module[.<i>].<p>,
 * dendrite_module.layers.<d>[.<i>].<p>, dendrites_to_top.<k-1> (k, C) and
 * dendrite_module.dendrites_to_dendrites.<i> (i, C).
 */
#include "dn-dendrite.h"
#include "dn-error.h"
#include "dn-layer-private.h"

#include <math.h>
#include <string.h>

#define GROUP_MAX 8

typedef struct {
    int n;
    DnLayer *layers[GROUP_MAX];
    float *outs[GROUP_MAX];     /* each layer's output, cap_batch samples */
    float *douts[GROUP_MAX];    /* gradients of the intermediate outputs */
    int first_param[GROUP_MAX]; /* index of each layer's first param in the parent */
} Chain;

typedef struct {
    DnLayer parent;
    JsonNode *layer_cfgs; /* the "layers" array */
    int k;
    DnAct act;
    double init_multiplier;
    Chain main;
    Chain *dend; /* k chains */
    int channels;
    int spatial;
    size_t numel;  /* per sample, of the output */
    int t_param;   /* index of T in params, or -1 */
    int d2d_param; /* index of D2D[1] in params; D2D[i] is d2d_param + i - 1 */
    float *s, *da; /* (k, batch, numel) each */
    int cap_batch;
    int last_batch;
    DnBackend *be; /* of the buffers */
} DnDendritic;

static const char *const act_names[] = {"identity", "relu", "leaky_relu", "sigmoid",
                                        "tanh",     "gelu", NULL};

const char *dn_dendrite_act_name (DnAct act)
{
    return act_names[act];
}

gboolean dn_dendrite_act_from_name (const char *name, DnAct *act)
{
    if (g_str_equal (name, "sigmoid"))
        *act = DN_ACT_SIGMOID;
    else if (g_str_equal (name, "tanh"))
        *act = DN_ACT_TANH;
    else if (g_str_equal (name, "relu"))
        *act = DN_ACT_RELU;
    else
        return FALSE;
    return TRUE;
}

static void chain_clear (Chain *c, DnBackend *be)
{
    for (int i = 0; i < c->n; i++) {
        dn_layer_free (c->layers[i]);
        if (be != NULL) {
            be->free (be, c->outs[i]);
            be->free (be, c->douts[i]);
        }
    }
    memset (c, 0, sizeof *c);
}

static gboolean chain_build (Chain *c, DnLayer *owner, JsonArray *cfgs, const char *prefix,
                             GError **error)
{
    c->n = (int) json_array_get_length (cfgs);
    for (int i = 0; i < c->n; i++) {
        JsonObject *o = json_array_get_object_element (cfgs, i);
        const char *type = json_object_get_string_member_with_default (o, "type", "");
        g_autofree char *name = c->n > 1 ? g_strdup_printf ("%s.%s.%d", owner->name, prefix, i)
                                         : g_strdup_printf ("%s.%s", owner->name, prefix);
        c->layers[i] = dn_layer_new (type, name, o, error);
        if (c->layers[i] == NULL) {
            c->n = i;
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean dendritic_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    DnDendritic *self = (DnDendritic *) l;
    static const char *const known[] = {"layers", "forward_function", "init_multiplier", NULL};
    self->act = DN_ACT_SIGMOID;
    self->init_multiplier = 0.01;
    self->t_param = self->d2d_param = -1;
    if (!dn_cfg_check_keys (l, cfg, known, error) ||
        !dn_cfg_int (l, cfg, "dendrites", 0, DN_DENDRITE_MAX, &self->k, error) ||
        !dn_cfg_double (l, cfg, "init_multiplier", 0.0, 1e3, &self->init_multiplier, error))
        return FALSE;
    JsonNode *ff = json_object_get_member (cfg, "forward_function");
    if (ff != NULL &&
        (!JSON_NODE_HOLDS_VALUE (ff) || json_node_get_value_type (ff) != G_TYPE_STRING ||
         !dn_dendrite_act_from_name (json_node_get_string (ff), &self->act))) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (dendritic): \"forward_function\" must be \"sigmoid\", \"tanh\" "
                     "or \"relu\"",
                     l->name);
        return FALSE;
    }
    JsonNode *ln = json_object_get_member (cfg, "layers");
    if (ln == NULL || !JSON_NODE_HOLDS_ARRAY (ln) ||
        json_array_get_length (json_node_get_array (ln)) < 1 ||
        json_array_get_length (json_node_get_array (ln)) > GROUP_MAX) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (dendritic): \"layers\" must list 1 to %d layers, the neuron "
                     "module (e.g. a conv2d and its batchnorm2d)",
                     l->name, GROUP_MAX);
        return FALSE;
    }
    JsonArray *arr = json_node_get_array (ln);
    for (guint i = 0; i < json_array_get_length (arr); i++) {
        JsonNode *e = json_array_get_element (arr, i);
        JsonNode *t = JSON_NODE_HOLDS_OBJECT (e)
                          ? json_object_get_member (json_node_get_object (e), "type")
                          : NULL;
        if (t == NULL || !JSON_NODE_HOLDS_VALUE (t) ||
            json_node_get_value_type (t) != G_TYPE_STRING) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "layer '%s' (dendritic): layers[%u] must be a layer object with a "
                         "\"type\"",
                         l->name, i);
            return FALSE;
        }
        if (g_str_equal (json_node_get_string (t), "dendritic")) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "layer '%s' (dendritic): a dendritic module cannot contain another",
                         l->name);
            return FALSE;
        }
    }
    self->layer_cfgs = json_node_copy (ln);
    if (!chain_build (&self->main, l, arr, "main_module", error))
        return FALSE;
    self->dend = g_new0 (Chain, MAX (self->k, 1));
    for (int d = 0; d < self->k; d++) {
        g_autofree char *prefix = g_strdup_printf ("dendrite_module.layers.%d", d);
        if (!chain_build (&self->dend[d], l, arr, prefix, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean chain_infer (Chain *c, DnLayer *owner, const char *prefix, DnShape in, DnShape *out,
                             GError **error)
{
    DnShape shape = in;
    for (int i = 0; i < c->n; i++) {
        if (!dn_layer_infer (c->layers[i], 1, &shape, error))
            return FALSE;
        shape = c->layers[i]->out_shape;
        c->first_param[i] = owner->n_params;
        for (int j = 0; j < c->layers[i]->n_params; j++) {
            DnParam *p = &c->layers[i]->params[j];
            g_autofree char *name = c->n > 1 ? g_strdup_printf ("%s.%d.%s", prefix, i, p->name)
                                             : g_strdup_printf ("%s.%s", prefix, p->name);
            if (owner->n_params >= DN_LAYER_MAX_PARAMS) {
                dn_layer_shape_error (owner, error, "has too many parameters; use fewer dendrites");
                return FALSE;
            }
            dn_layer_add_param (owner, name, p->shape, p->trainable);
        }
        owner->workspace_per_sample =
            MAX (owner->workspace_per_sample, c->layers[i]->workspace_per_sample);
    }
    *out = shape;
    return TRUE;
}

static gboolean dendritic_infer (DnLayer *l, GError **error)
{
    DnDendritic *self = (DnDendritic *) l;
    DnShape out;
    if (!chain_infer (&self->main, l, "main_module", l->in_shape[0], &out, error))
        return FALSE;
    if (out.ndim < 1) {
        dn_layer_shape_error (l, error, "its neuron module has no channel axis");
        return FALSE;
    }
    for (int d = 0; d < self->k; d++) {
        g_autofree char *prefix = g_strdup_printf ("dendrite_module.layers.%d", d);
        DnShape dout;
        if (!chain_infer (&self->dend[d], l, prefix, l->in_shape[0], &dout, error))
            return FALSE;
    }
    l->out_shape = out;
    self->channels = (int) out.d[0];
    self->numel = (size_t) dn_shape_numel (&out);
    self->spatial = (int) (self->numel / self->channels);
    self->t_param = self->d2d_param = -1;
    /* T and the k - 1 cascade matrices must fit beside the copies */
    if (l->n_params + self->k > DN_LAYER_MAX_PARAMS) {
        dn_layer_shape_error (l, error, "has too many parameters; use fewer dendrites");
        return FALSE;
    }
    if (self->k > 0) {
        g_autofree char *t = g_strdup_printf ("dendrites_to_top.%d", self->k - 1);
        self->t_param = dn_layer_add_param (l, t, dn_shape_2d (self->k, self->channels), TRUE);
    }
    for (int i = 1; i < self->k; i++) {
        g_autofree char *n = g_strdup_printf ("dendrite_module.dendrites_to_dendrites.%d", i);
        int idx = dn_layer_add_param (l, n, dn_shape_2d (i, self->channels), TRUE);
        if (i == 1)
            self->d2d_param = idx;
    }
    return TRUE;
}

/* Points the sub-layers' parameters at the network's arenas (set on ours). */
static void chain_bind (Chain *c, DnLayer *owner)
{
    for (int i = 0; i < c->n; i++)
        for (int j = 0; j < c->layers[i]->n_params; j++) {
            c->layers[i]->params[j].value = owner->params[c->first_param[i] + j].value;
            c->layers[i]->params[j].grad = owner->params[c->first_param[i] + j].grad;
        }
}

static void bind (DnDendritic *self)
{
    chain_bind (&self->main, &self->parent);
    for (int d = 0; d < self->k; d++)
        chain_bind (&self->dend[d], &self->parent);
}

static void dendritic_init (DnLayer *l, DnRng *rng)
{
    DnDendritic *self = (DnDendritic *) l;
    bind (self);
    for (int i = 0; i < self->main.n; i++)
        if (self->main.layers[i]->klass->init != NULL)
            self->main.layers[i]->klass->init (self->main.layers[i], rng);
    for (int d = 0; d < self->k; d++)
        dn_dendrite_init_copy (&self->dend[d].layers[0], self->dend[d].n, rng,
                               (float) self->init_multiplier);
    for (int p = 0; p < l->n_params; p++)
        if (p == self->t_param || (self->d2d_param >= 0 && p >= self->d2d_param))
            memset (l->params[p].value, 0,
                    (size_t) dn_shape_numel (&l->params[p].shape) * sizeof (float));
}

void dn_dendrite_init_copy (DnLayer **layers, int n, DnRng *rng, float multiplier)
{
    /* Buffers (running statistics) take their initial values, as at wrap time;
     * parameters are drawn from N(0, 1) * multiplier (spec 5.5). */
    for (int i = 0; i < n; i++) {
        if (layers[i]->klass->init != NULL)
            layers[i]->klass->init (layers[i], rng);
        for (int j = 0; j < layers[i]->n_params; j++) {
            DnParam *p = &layers[i]->params[j];
            if (!p->trainable)
                continue;
            int64_t m = dn_shape_numel (&p->shape);
            for (int64_t e = 0; e < m; e++)
                p->value[e] = dn_rng_normal (rng) * multiplier;
        }
    }
}

static gboolean ensure_buffers (DnDendritic *self, DnBackend *be, int batch)
{
    if (batch <= self->cap_batch && be == self->be)
        return TRUE;
    Chain *chains[1 + DN_DENDRITE_MAX];
    int nc = 0;
    chains[nc++] = &self->main;
    for (int d = 0; d < self->k; d++)
        chains[nc++] = &self->dend[d];
    for (int c = 0; c < nc; c++) {
        Chain *ch = chains[c];
        for (int i = 0; i < ch->n; i++) {
            size_t n = (size_t) dn_shape_numel (&ch->layers[i]->out_shape) * batch;
            if (self->be != NULL) {
                self->be->free (self->be, ch->outs[i]);
                self->be->free (self->be, ch->douts[i]);
            }
            ch->outs[i] = be->alloc (be, n * sizeof (float));
            ch->douts[i] = be->alloc (be, n * sizeof (float));
            if (ch->outs[i] == NULL || ch->douts[i] == NULL)
                return FALSE;
        }
    }
    if (self->be != NULL) {
        self->be->free (self->be, self->s);
        self->be->free (self->be, self->da);
    }
    size_t kn = (size_t) MAX (self->k, 1) * self->numel * batch;
    self->s = be->alloc (be, kn * sizeof (float));
    self->da = be->alloc (be, kn * sizeof (float));
    self->be = be;
    self->cap_batch = batch;
    return self->s != NULL && self->da != NULL;
}

static void chain_forward (Chain *c, DnCtx *ctx, int batch, const DnTensor *x)
{
    DnTensor in = *x, out;
    for (int i = 0; i < c->n; i++) {
        const DnTensor *ins[1] = {&in};
        dn_tensor_view (&out, c->outs[i], batch, &c->layers[i]->out_shape);
        c->layers[i]->klass->forward (c->layers[i], ctx, batch, ins, &out);
        in = out;
    }
}

/* dy is the gradient of the chain's last output; ADDS into dx when not NULL. */
static void chain_backward (Chain *c, DnCtx *ctx, int batch, const DnTensor *x, const float *dy,
                            DnTensor *dx)
{
    DnBackend *be = ctx->backend;
    for (int i = c->n - 1; i >= 0; i--) {
        DnLayer *l = c->layers[i];
        DnTensor in, out, dout, din;
        if (i == 0)
            in = *x;
        else
            dn_tensor_view (&in, c->outs[i - 1], batch, &c->layers[i - 1]->out_shape);
        dn_tensor_view (&out, c->outs[i], batch, &l->out_shape);
        dn_tensor_view (&dout, i == c->n - 1 ? (float *) dy : c->douts[i], batch, &l->out_shape);
        DnTensor *dins[1] = {NULL};
        if (i > 0) {
            dn_tensor_view (&din, c->douts[i - 1], batch, &c->layers[i - 1]->out_shape);
            be->zero (be, din.data, (size_t) dn_tensor_numel (&din));
            dins[0] = &din;
        } else {
            dins[0] = dx;
        }
        const DnTensor *ins[1] = {&in};
        l->klass->backward (l, ctx, batch, ins, &out, &dout, dins);
    }
}

static float *d2d (DnDendritic *self, int i)
{
    return self->parent.params[self->d2d_param + i - 1].value;
}

static float *d2d_grad (DnDendritic *self, int i)
{
    return self->parent.params[self->d2d_param + i - 1].grad;
}

// x is (B, ...in); out is (B, C, ...): y + sum_i T[i] * sigma(D_i(x) + sum_j D2D[i][j] * s_j)
static void dendritic_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                               DnTensor *out)
{
    DnDendritic *self = (DnDendritic *) l;
    DnBackend *be = ctx->backend;
    bind (self);
    if (!ensure_buffers (self, be, batch)) {
        /* forward cannot fail: leave a clear mark instead of garbage */
        be->zero (be, out->data, (size_t) dn_tensor_numel (out));
        return;
    }
    const size_t n = self->numel * batch;
    const int C = self->channels, S = self->spatial;
    self->last_batch = batch;
    chain_forward (&self->main, ctx, batch, in[0]);
    be->copy (be, out->data, self->main.outs[self->main.n - 1], n);
    const float *T = self->k > 0 ? l->params[self->t_param].value : NULL;
    for (int i = 0; i < self->k; i++) {
        Chain *c = &self->dend[i];
        chain_forward (c, ctx, batch, in[0]);
        /* r_i stays as it is: the chain's last layer may read its output in backward
         * (sigmoid, tanh). a_i goes to da, which backward overwrites before reading. */
        float *a = c->outs[c->n - 1];
        if (i > 0) {
            be->copy (be, self->da + (size_t) i * n, a, n);
            a = self->da + (size_t) i * n;
        }
        for (int j = 0; j < i; j++)
            be->channel_axpy (be, batch, C, S, d2d (self, i) + (size_t) j * C,
                              self->s + (size_t) j * n, a);
        float *s = self->s + (size_t) i * n;
        be->act_forward (be, self->act, 0.0f, n, a, s);
        be->channel_axpy (be, batch, C, S, T + (size_t) i * C, s, out->data);
    }
}

static void dendritic_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                                const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnDendritic *self = (DnDendritic *) l;
    DnBackend *be = ctx->backend;
    bind (self);
    const size_t n = self->numel * batch;
    const int C = self->channels, S = self->spatial;
    const float *g = dout->data;
    chain_backward (&self->main, ctx, batch, in[0], g, din[0]);
    if (self->k == 0)
        return;
    const float *T = l->params[self->t_param].value;
    float *dT = l->params[self->t_param].grad;
    for (int i = self->k - 1; i >= 0; i--) {
        const float *s = self->s + (size_t) i * n;
        float *da = self->da + (size_t) i * n;
        /* ds_i = T[i] * g + sum_{m>i} D2D[m][i] * da_m, kept in the dendrite's
         * last-output gradient buffer */
        Chain *c = &self->dend[i];
        float *ds = c->douts[c->n - 1];
        be->channel_dot (be, batch, C, S, g, s, dT + (size_t) i * C);
        be->zero (be, ds, n);
        be->channel_axpy (be, batch, C, S, T + (size_t) i * C, g, ds);
        for (int m = i + 1; m < self->k; m++)
            be->channel_axpy (be, batch, C, S, d2d (self, m) + (size_t) i * C,
                              self->da + (size_t) m * n, ds);
        be->zero (be, da, n);
        /* sigma'(a) from s: relu's derivative is 1 where s > 0, like where a > 0 */
        be->act_backward (be, self->act, 0.0f, n, s, s, ds, da);
        for (int j = 0; j < i; j++)
            be->channel_dot (be, batch, C, S, da, self->s + (size_t) j * n,
                             d2d_grad (self, i) + (size_t) j * C);
        chain_backward (c, ctx, batch, in[0], da, din[0]);
    }
}

static void dendritic_to_json (DnLayer *l, JsonBuilder *b)
{
    DnDendritic *self = (DnDendritic *) l;
    json_builder_set_member_name (b, "dendrites");
    json_builder_add_int_value (b, self->k);
    json_builder_set_member_name (b, "forward_function");
    json_builder_add_string_value (b, act_names[self->act]);
    json_builder_set_member_name (b, "init_multiplier");
    json_builder_add_double_value (b, self->init_multiplier);
    json_builder_set_member_name (b, "layers");
    json_builder_add_value (b, json_node_copy (self->layer_cfgs));
}

static char *dendritic_describe (DnLayer *l)
{
    DnDendritic *self = (DnDendritic *) l;
    GString *s = g_string_new (NULL);
    for (int i = 0; i < self->main.n; i++) {
        DnLayer *sub = self->main.layers[i];
        g_autofree char *d = sub->klass->describe ? sub->klass->describe (sub) : g_strdup ("");
        g_string_append_printf (s, "%s%s %s", i ? " + " : "", sub->klass->type, d);
    }
    g_string_append_printf (s, "; %d dendrite%s", self->k, self->k == 1 ? "" : "s");
    return g_string_free (s, FALSE);
}

static void dendritic_finalize (DnLayer *l)
{
    DnDendritic *self = (DnDendritic *) l;
    if (self->be != NULL) {
        self->be->free (self->be, self->s);
        self->be->free (self->be, self->da);
    }
    chain_clear (&self->main, self->be);
    for (int d = 0; d < self->k && self->dend != NULL; d++)
        chain_clear (&self->dend[d], self->be);
    g_free (self->dend);
    if (self->layer_cfgs != NULL)
        json_node_unref (self->layer_cfgs);
}

static size_t dendritic_workspace (DnLayer *l, DnBackend *be, int batch)
{
    DnDendritic *self = (DnDendritic *) l;
    size_t ws = 0;
    for (int i = 0; i < self->main.n; i++) {
        DnLayer *sub = self->main.layers[i];
        size_t need = sub->klass->workspace_size != NULL
                          ? sub->klass->workspace_size (sub, be, batch)
                          : sub->workspace_per_sample * batch;
        ws = MAX (ws, need);
    }
    return ws;
}

int dn_dendritic_count (const DnLayer *l)
{
    return l->klass == &dn_dendritic_class ? ((const DnDendritic *) l)->k : -1;
}

int dn_dendritic_channels (const DnLayer *l)
{
    return ((const DnDendritic *) l)->channels;
}

int64_t dn_dendritic_neuron_params (const DnLayer *l)
{
    const DnDendritic *self = (const DnDendritic *) l;
    int64_t p = 0;
    for (int i = 0; i < self->main.n; i++)
        p += dn_layer_n_params (self->main.layers[i]);
    return p;
}

const float *dn_dendritic_outputs (const DnLayer *l, int i, int *batch, size_t *n_per_sample)
{
    const DnDendritic *self = (const DnDendritic *) l;
    *n_per_sample = self->numel;
    *batch = self->last_batch;
    if (i >= self->k || self->s == NULL)
        return NULL;
    return self->s + (size_t) i * self->numel * self->last_batch;
}

const DnLayerClass dn_dendritic_class = {
    .type = "dendritic",
    .instance_size = sizeof (DnDendritic),
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = dendritic_configure,
    .infer = dendritic_infer,
    .init = dendritic_init,
    .forward = dendritic_forward,
    .backward = dendritic_backward,
    .to_json = dendritic_to_json,
    .describe = dendritic_describe,
    .finalize = dendritic_finalize,
    .workspace_size = dendritic_workspace,
};

double dn_dendritic_correlation (const DnLayer *l, const float *g, int batch)
{
    const DnDendritic *self = (const DnDendritic *) l;
    if (l->klass != &dn_dendritic_class || self->k == 0 || self->s == NULL ||
        batch != self->last_batch || self->be == NULL)
        return NAN;
    /* Host copies: the statistics are cheap next to an epoch and run once per epoch. */
    size_t n = self->numel * batch;
    float *s = g_new (float, n), *gh = g_new (float, n);
    self->be->download (self->be, s, self->s + (size_t) (self->k - 1) * n, n * sizeof (float));
    self->be->download (self->be, gh, g, n * sizeof (float));
    const int C = self->channels, S = self->spatial;
    double total = 0.0;
    int counted = 0;
    for (int c = 0; c < C; c++) {
        double ss = 0, sg = 0, ssq = 0, gsq = 0, sgp = 0;
        double m = (double) batch * S;
        for (int b = 0; b < batch; b++) {
            const float *sp = s + ((size_t) b * C + c) * S, *gp = gh + ((size_t) b * C + c) * S;
            for (int p = 0; p < S; p++) {
                ss += sp[p];
                sg += gp[p];
                ssq += (double) sp[p] * sp[p];
                gsq += (double) gp[p] * gp[p];
                sgp += (double) sp[p] * gp[p];
            }
        }
        double cov = sgp / m - (ss / m) * (sg / m);
        double vs = ssq / m - (ss / m) * (ss / m), vg = gsq / m - (sg / m) * (sg / m);
        if (vs > 1e-20 && vg > 1e-20) {
            total += fabs (cov / sqrt (vs * vg));
            counted++;
        }
    }
    g_free (s);
    g_free (gh);
    return counted > 0 ? total / counted : 0.0;
}
