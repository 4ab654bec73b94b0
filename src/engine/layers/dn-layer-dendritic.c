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
#include "dn-layer-dendritic.h"
#include "dn-error.h"
#include "dn-layer-private.h"

#include <math.h>
#include <string.h>


static const char *const act_names[] = {"identity", "relu", "leaky_relu", "sigmoid",
                                        "tanh",     "gelu", NULL};

const char *dn_dendrite_act_name (DnAct act)
{
    return act_names[act];
}

/* The forward functions a dendrite may have. */
static const char *const dendrite_act_names[] = {"sigmoid", "tanh", "relu", NULL};
static const DnAct dendrite_acts[] = {DN_ACT_SIGMOID, DN_ACT_TANH, DN_ACT_RELU};

gboolean dn_dendrite_act_from_name (const char *name, DnAct *act)
{
    for (int i = 0; dendrite_act_names[i] != NULL; i++) {
        if (g_str_equal (name, dendrite_act_names[i])) {
            *act = dendrite_acts[i];
            return TRUE;
        }
    }
    return FALSE;
}

gboolean dn_dendrite_act_read (DnFieldReader *r, const char *key, DnAct *act)
{
    int k = -1;
    if (!dn_fields_enum (r, key, dendrite_act_names, NULL, &k))
        return FALSE;
    if (k >= 0)
        *act = dendrite_acts[k];
    return TRUE;
}

static void chain_clear (DnChain *c)
{
    for (int i = 0; i < c->n; i++)
        dn_layer_free (c->layers[i]);
    memset (c, 0, sizeof *c);
}

static gboolean chain_build (DnChain *c, DnLayer *owner, JsonArray *cfgs, const char *prefix,
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

/* The first layers of the k + 1 copies as one convolution, or NULL where that is not
 * how they run: no dendrites, another kind of layer, or grouped channels (a group of the
 * wider convolution would mix the copies). */
static DnLayer *fused_new (DnLayer *owner, JsonObject *first, int k)
{
    const char *type = json_object_get_string_member_with_default (first, "type", "");
    if (k == 0 || (!g_str_equal (type, "conv2d") && !g_str_equal (type, "conv1d")) ||
        json_object_get_int_member_with_default (first, "groups", 1) != 1)
        return NULL;
    /* the copy was built from this object, so out_channels is a valid integer */
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
    JsonObject *cfg = json_object_new ();
    json_node_take_object (node, cfg);
    GList *members = json_object_get_members (first);
    for (GList *m = members; m != NULL; m = m->next)
        json_object_set_member (cfg, m->data,
                                json_node_copy (json_object_get_member (first, m->data)));
    g_list_free (members);
    json_object_set_int_member (cfg, "out_channels",
                                (k + 1) * json_object_get_int_member (first, "out_channels"));
    g_autofree char *name = g_strdup_printf ("%s.fused", owner->name);
    /* a width beyond what a convolution accepts: the copies run one by one */
    return dn_layer_new (type, name, cfg, NULL);
}

static gboolean dendritic_configure (DnLayer *l, JsonObject *cfg, GError **error)
{
    g_auto (DnFieldReader) r = dn_layer_fields (l, cfg, error);
    DnDendritic *self = (DnDendritic *) l;
    static const char *const known[] = {"layers", "forward_function", "init_multiplier", NULL};
    self->act = DN_ACT_SIGMOID;
    self->init_multiplier = 0.01;
    self->t_param = self->d2d_param = -1;
    if (!dn_fields_check_keys (&r, known) ||
        !dn_fields_int (&r, "dendrites", 0, DN_DENDRITE_MAX, &self->k) ||
        !dn_fields_number (&r, "init_multiplier", 0.0, 1e3, &self->init_multiplier))
        return FALSE;
    if (!dn_dendrite_act_read (&r, "forward_function", &self->act))
        return FALSE;
    JsonNode *ln = json_object_get_member (cfg, "layers");
    if (ln == NULL || !JSON_NODE_HOLDS_ARRAY (ln) ||
        json_array_get_length (json_node_get_array (ln)) < 1 ||
        json_array_get_length (json_node_get_array (ln)) > DN_DENDRITIC_GROUP_MAX) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (dendritic): \"layers\" must list 1 to %d layers, the neuron "
                     "module (e.g. a conv2d and its batchnorm2d)",
                     l->name, DN_DENDRITIC_GROUP_MAX);
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
    self->dend = g_new0 (DnChain, MAX (self->k, 1));
    for (int d = 0; d < self->k; d++) {
        g_autofree char *prefix = g_strdup_printf ("dendrite_module.layers.%d", d);
        if (!chain_build (&self->dend[d], l, arr, prefix, error))
            return FALSE;
    }
    self->fused = fused_new (l, json_array_get_object_element (arr, 0), self->k);
    self->want_fused = TRUE;
    self->use_fused = self->fused != NULL;
    return TRUE;
}

static gboolean chain_infer (DnChain *c, DnLayer *owner, const char *prefix, DnShape in, DnShape *out,
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
    if (self->fused != NULL) {
        if (!dn_layer_infer (self->fused, 1, &l->in_shape[0], error))
            return FALSE;
        l->workspace_per_sample = MAX (l->workspace_per_sample, self->fused->workspace_per_sample);
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
static void chain_bind (DnChain *c, DnLayer *owner)
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

DnChain *_dn_dendritic_chain (DnDendritic *self, int c)
{
    return c == 0 ? &self->main : &self->dend[c - 1];
}

size_t _dn_dendritic_out_numel (const DnLayer *l)
{
    return (size_t) dn_shape_numel (&l->out_shape);
}

/* Floats of T and the cascade weights: k rows for T, then 1 + 2 + ... + (k - 1). */
static size_t comb_size (const DnDendritic *self)
{
    return ((size_t) self->k + (size_t) self->k * (self->k - 1) / 2) * self->channels;
}

static void free_buffers (DnDendritic *self)
{
    DnBackend *be = self->be;
    if (be == NULL)
        return;
    for (int j = 0; j < DN_DENDRITIC_GROUP_MAX; j++) {
        be->free (be, self->outs[j]);
        be->free (be, self->douts[j]);
    }
    float **bufs[] = {&self->stack, &self->dstack, &self->wcat, &self->dwcat,
                      &self->comb,  &self->dcomb,  &self->s};
    for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
        be->free (be, *bufs[i]);
    memset (self->outs, 0, sizeof self->outs);
    memset (self->douts, 0, sizeof self->douts);
    for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
        *bufs[i] = NULL;
    self->be = NULL;
    self->cap_batch = 0;
}

gboolean _dn_dendritic_ensure_buffers (DnDendritic *self, DnBackend *be, int batch)
{
    if (batch <= self->cap_batch && be == self->be && self->use_fused == self->buffers_fused)
        return TRUE;
    free_buffers (self);
    self->be = be;
    self->buffers_fused = self->use_fused;
    const int n = self->main.n, copies = self->k + 1;
    gboolean ok = TRUE;
    /* k = 0: the last layer writes the node's output; fused alone: the stack is its output */
    for (int j = 0; j < n; j++) {
        if (self->k == 0 ? j == n - 1 : self->use_fused && n == 1)
            break;
        size_t m = _dn_dendritic_out_numel (self->main.layers[j]) * copies * batch;
        self->outs[j] = be->alloc (be, m * sizeof (float));
        self->douts[j] = be->alloc (be, m * sizeof (float));
        ok = ok && self->outs[j] != NULL && self->douts[j] != NULL;
    }
    if (self->use_fused) {
        size_t m = _dn_dendritic_out_numel (self->fused) * batch, w = 0;
        for (int p = 0; p < self->fused->n_params; p++)
            w += (size_t) dn_shape_numel (&self->fused->params[p].shape);
        self->stack = be->alloc (be, m * sizeof (float));
        self->dstack = be->alloc (be, m * sizeof (float));
        self->wcat = be->alloc (be, w * sizeof (float));
        self->dwcat = be->alloc (be, w * sizeof (float));
        ok = ok && self->stack != NULL && self->dstack != NULL && self->wcat != NULL &&
             self->dwcat != NULL;
        size_t off = 0;
        for (int p = 0; ok && p < self->fused->n_params; p++) {
            self->fused->params[p].value = self->wcat + off;
            self->fused->params[p].grad = self->dwcat + off;
            off += (size_t) dn_shape_numel (&self->fused->params[p].shape);
        }
    }
    if (self->k > 0) {
        self->s = be->alloc (be, (size_t) self->k * self->numel * batch * sizeof (float));
        self->comb = be->alloc (be, comb_size (self) * sizeof (float));
        self->dcomb = be->alloc (be, comb_size (self) * sizeof (float));
        ok = ok && self->s != NULL && self->comb != NULL && self->dcomb != NULL;
    }
    if (!ok) {
        free_buffers (self);
        return FALSE;
    }
    self->cap_batch = batch;
    return TRUE;
}

/* Moves the copies' first-layer parameters (or gradients) into the fused layer's, stacked
 * along the output channels, or the gradients back. */
static void fused_gather (DnDendritic *self, DnBackend *be, gboolean grads)
{
    for (int p = 0; p < self->fused->n_params; p++)
        for (int c = 0; c <= self->k; c++) {
            DnParam *src = &_dn_dendritic_chain (self, c)->layers[0]->params[p];
            size_t m = (size_t) dn_shape_numel (&src->shape);
            DnParam *dst = &self->fused->params[p];
            be->copy (be, (grads ? dst->grad : dst->value) + c * m, grads ? src->grad : src->value,
                      m);
        }
}

static void fused_scatter_grads (DnDendritic *self, DnBackend *be)
{
    for (int p = 0; p < self->fused->n_params; p++)
        for (int c = 0; c <= self->k; c++) {
            DnParam *dst = &_dn_dendritic_chain (self, c)->layers[0]->params[p];
            size_t m = (size_t) dn_shape_numel (&dst->shape);
            be->copy (be, dst->grad, self->fused->params[p].grad + c * m, m);
        }
}

/* T and D2D[1..k-1] are consecutive params; comb packs them (values or gradients), or
 * puts the gradients back. */
static void comb_move (DnDendritic *self, DnBackend *be, gboolean grads, gboolean back)
{
    size_t off = 0;
    for (int p = self->t_param; p < self->t_param + self->k; p++) {
        DnParam *prm = &self->parent.params[p];
        size_t m = (size_t) dn_shape_numel (&prm->shape);
        if (back)
            be->copy (be, prm->grad, self->dcomb + off, m);
        else
            be->copy (be, (grads ? self->dcomb : self->comb) + off, grads ? prm->grad : prm->value,
                      m);
        off += m;
    }
}

/* Runs layers first.. of copy c on x; `last` (may be NULL) takes the last output. */
static void chain_forward (DnDendritic *self, int c, int first, DnCtx *ctx, int batch,
                           const DnTensor *x, float *last)
{
    DnChain *ch = _dn_dendritic_chain (self, c);
    DnTensor in, out;
    if (first == 0)
        in = *x;
    else
        dn_tensor_view (&in, self->outs[first - 1] + c * batch * _dn_dendritic_out_numel (ch->layers[first - 1]),
                        batch, &ch->layers[first - 1]->out_shape);
    for (int j = first; j < ch->n; j++) {
        DnLayer *l = ch->layers[j];
        float *o =
            j == ch->n - 1 && last != NULL ? last : self->outs[j] + c * batch * _dn_dendritic_out_numel (l);
        const DnTensor *ins[1] = {&in};
        dn_tensor_view (&out, o, batch, &l->out_shape);
        l->klass->forward (l, ctx, batch, ins, &out);
        in = out;
    }
}

/* Back through layers ..first of copy c from dy, the gradient of its last output
 * (written at `last`, or in its slot when NULL). ADDS into dx (may be NULL) and into the
 * douts of the layers before, which the caller zeroed. */
void _dn_dendritic_chain_backward (DnDendritic *self, int c, int first, DnCtx *ctx, int batch,
                            const DnTensor *x, const float *dy, const float *last, DnTensor *dx)
{
    DnChain *ch = _dn_dendritic_chain (self, c);
    for (int j = ch->n - 1; j >= first; j--) {
        DnLayer *l = ch->layers[j];
        DnTensor in, out, dout, din;
        size_t off = c * batch * _dn_dendritic_out_numel (l);
        if (j == 0)
            in = *x;
        else
            dn_tensor_view (&in, self->outs[j - 1] + c * batch * _dn_dendritic_out_numel (ch->layers[j - 1]),
                            batch, &ch->layers[j - 1]->out_shape);
        dn_tensor_view (&out, j == ch->n - 1 && last != NULL ? (float *) last : self->outs[j] + off,
                        batch, &l->out_shape);
        dn_tensor_view (&dout, j == ch->n - 1 ? (float *) dy : self->douts[j] + off, batch,
                        &l->out_shape);
        DnTensor *dins[1] = {dx};
        if (j > 0) {
            dn_tensor_view (&din, self->douts[j - 1] + c * batch * _dn_dendritic_out_numel (ch->layers[j - 1]),
                            batch, &ch->layers[j - 1]->out_shape);
            dins[0] = &din;
        }
        const DnTensor *ins[1] = {&in};
        l->klass->backward (l, ctx, batch, ins, &out, &dout, dins);
    }
}

/* Where the combination finds the k + 1 module outputs (and their gradients). */
static void slots (DnDendritic *self, int batch, float **r, float **dr, size_t *ld_slot,
                   size_t *ld_sample)
{
    if (self->use_fused && self->main.n == 1) {
        *r = self->stack;
        *dr = self->dstack;
        *ld_slot = self->numel;
        *ld_sample = self->numel * (self->k + 1);
    } else {
        *r = self->outs[self->main.n - 1];
        *dr = self->douts[self->main.n - 1];
        *ld_slot = self->numel * batch;
        *ld_sample = self->numel;
    }
}

/* The fusion of the combination for a batch: NULL when there is none, or when the
 * pooling's argmax buffer cannot be had (n_fused > 0: the fused layers cannot run). */
static const DnConvFusion *combine_fusion (DnDendritic *self, DnBackend *be, int batch)
{
    if (self->n_fused == 0)
        return NULL;
    if (self->fused_pool != NULL) {
        self->fusion.argmax = dn_maxpool_argmax (self->fused_pool, be, batch);
        if (self->fusion.argmax == NULL)
            return NULL;
    }
    return &self->fusion;
}

// x is (B, ...in); out is (B, C, ...): y + sum_i T[i] * sigma(D_i(x) + sum_j D2D[i][j] * s_j),
// or the output of the last layer fused with it
static void dendritic_forward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                               DnTensor *out)
{
    DnDendritic *self = (DnDendritic *) l;
    DnBackend *be = ctx->backend;
    bind (self);
    if (!_dn_dendritic_ensure_buffers (self, be, batch)) {
        /* forward cannot fail: leave a clear mark instead of garbage */
        be->zero (be, out->data, (size_t) dn_tensor_numel (out));
        return;
    }
    self->last_batch = batch;
    if (self->k == 0 && self->inner_fused > 0) {
        self->main.layers[0]->klass->forward (self->main.layers[0], ctx, batch, in, out);
        return;
    }
    if (self->k == 0) {
        chain_forward (self, 0, 0, ctx, batch, in[0], out->data);
        return;
    }
    int first = 0;
    if (self->use_fused) {
        DnTensor st;
        dn_tensor_view (&st, self->stack, batch, &self->fused->out_shape);
        fused_gather (self, be, FALSE);
        self->fused->klass->forward (self->fused, ctx, batch, in, &st);
        if (self->main.n > 1)
            be->transpose_outer (be, batch, self->k + 1, (int) _dn_dendritic_out_numel (self->main.layers[0]),
                                 self->stack, self->outs[0]);
        first = 1;
    }
    for (int c = 0; c <= self->k; c++)
        chain_forward (self, c, first, ctx, batch, in[0], NULL);
    float *r, *dr;
    size_t ld_slot, ld_sample;
    slots (self, batch, &r, &dr, &ld_slot, &ld_sample);
    comb_move (self, be, FALSE, FALSE);
    const DnConvFusion *f = combine_fusion (self, be, batch);
    if (self->n_fused > 0 && f == NULL) {
        be->zero (be, out->data, (size_t) dn_tensor_numel (out));
        return;
    }
    be->dendrite_forward (be, self->act, self->k, batch, self->channels, self->spatial, self->comb,
                          r, ld_slot, ld_sample, f, self->s, out->data);
}

/* Which sub-layers compute parameter gradients: none of a frozen node's; in a dendrite
 * phase (PB_CANDIDATE) not the neuron module's either, whose gradient only flows on to
 * the input (the candidate's own come from dn_dendritic_candidate_backward). */
static void freeze_chains (DnDendritic *self)
{
    const gboolean frozen = self->parent.frozen;
    for (int c = 0; c <= self->k; c++) {
        DnChain *ch = _dn_dendritic_chain (self, c);
        for (int j = 0; j < ch->n; j++)
            ch->layers[j]->frozen = frozen || (c == 0 && self->mode == DN_DENDRITIC_PB_CANDIDATE);
    }
    if (self->fused != NULL)
        self->fused->frozen = frozen;
}

static void dendritic_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                                const DnTensor *out, const DnTensor *dout, DnTensor *const *din)
{
    DnDendritic *self = (DnDendritic *) l;
    DnBackend *be = ctx->backend;
    bind (self);
    freeze_chains (self);
    const int n = self->main.n;
    for (int j = 0; j < n - 1; j++)
        be->zero (be, self->douts[j], _dn_dendritic_out_numel (self->main.layers[j]) * (self->k + 1) * batch);
    if (self->k == 0 && self->inner_fused > 0) {
        self->main.layers[0]->klass->backward (self->main.layers[0], ctx, batch, in, out, dout,
                                               din);
        return;
    }
    if (self->k == 0) {
        _dn_dendritic_chain_backward (self, 0, 0, ctx, batch, in[0], dout->data, out->data, din[0]);
        return;
    }
    float *r, *dr;
    size_t ld_slot, ld_sample;
    slots (self, batch, &r, &dr, &ld_slot, &ld_sample);
    comb_move (self, be, FALSE, FALSE);
    comb_move (self, be, TRUE, FALSE);
    const DnConvFusion *f = combine_fusion (self, be, batch);
    if (self->n_fused > 0 && f == NULL)
        return; /* forward could not run either */
    be->dendrite_backward (be, self->act, self->k, batch, self->channels, self->spatial, self->comb,
                           self->s, f, f != NULL ? out->data : NULL, dout->data, dr, ld_slot,
                           ld_sample, self->dcomb);
    if (!l->frozen)
        comb_move (self, be, TRUE, TRUE);
    /* PB: the cascade weights learn only while live (the candidate's, from its own
     * objective: dn_dendritic_candidate_backward) */
    for (int p = 1; p < self->k && self->mode != DN_DENDRITIC_GD; p++)
        if (self->mode == DN_DENDRITIC_PB_CANDIDATE || !self->learn_live)
            be->zero (be, l->params[self->d2d_param + p - 1].grad, (size_t) p * self->channels);
    const int first = self->use_fused ? 1 : 0;
    for (int c = 0; c <= self->k && first < n; c++) {
        /* PB: the input gets the neuron module's gradient only; a dendrite learns from
         * the loss only while live in neuron training */
        if (c > 0 && self->mode != DN_DENDRITIC_GD &&
            (self->mode == DN_DENDRITIC_PB_CANDIDATE || !self->learn_live))
            break;
        _dn_dendritic_chain_backward (self, c, first, ctx, batch, in[0],
                                      dr + c * batch * self->numel, NULL,
                                      c > 0 && self->mode != DN_DENDRITIC_GD ? NULL : din[0]);
    }
    if (!self->use_fused)
        return;
    if (n > 1)
        be->transpose_outer (be, self->k + 1, batch, (int) _dn_dendritic_out_numel (self->main.layers[0]),
                             self->douts[0], self->dstack);
    DnTensor st, dst;
    dn_tensor_view (&st, self->stack, batch, &self->fused->out_shape);
    dn_tensor_view (&dst, self->dstack, batch, &self->fused->out_shape);
    fused_gather (self, be, FALSE);
    fused_gather (self, be, TRUE);
    self->fused->klass->backward (self->fused, ctx, batch, in, &st, &dst, din);
    if (!l->frozen)
        fused_scatter_grads (self, be);
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
    free_buffers (self);
    chain_clear (&self->main);
    for (int d = 0; d < self->k && self->dend != NULL; d++)
        chain_clear (&self->dend[d]);
    g_free (self->dend);
    if (self->fused != NULL)
        dn_layer_free (self->fused);
    if (self->layer_cfgs != NULL)
        json_node_unref (self->layer_cfgs);
}

static size_t layer_workspace (DnLayer *sub, DnBackend *be, int batch)
{
    return sub->klass->workspace_size != NULL ? sub->klass->workspace_size (sub, be, batch)
                                              : sub->workspace_per_sample * batch;
}

static size_t dendritic_workspace (DnLayer *l, DnBackend *be, int batch)
{
    DnDendritic *self = (DnDendritic *) l;
    size_t ws = self->fused != NULL ? layer_workspace (self->fused, be, batch) : 0;
    for (int i = 0; i < self->main.n; i++)
        ws = MAX (ws, layer_workspace (self->main.layers[i], be, batch));
    return ws;
}

int dn_dendritic_count (const DnLayer *l)
{
    return l->klass == &dn_dendritic_class ? ((const DnDendritic *) l)->k : -1;
}

void dn_dendritic_set_fused (DnLayer *l, gboolean fused)
{
    DnDendritic *self = (DnDendritic *) l;
    self->want_fused = fused;
    self->use_fused = fused && self->fused != NULL && self->mode == DN_DENDRITIC_GD;
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

/* With dendrites: takes a ReLU, then a 2-D max pooling (over the module's (h, w)), which
 * the combination computes. Without: whatever the module's one layer takes. */
static int dendritic_fuse (DnLayer *l, DnLayer *const *next, int n)
{
    DnDendritic *self = (DnDendritic *) l;
    self->n_fused = 0;
    self->fusion = (DnConvFusion){FALSE, NULL, NULL};
    self->fused_pool = NULL;
    self->inner_fused = 0;
    if (self->k == 0) {
        DnLayer *inner = self->main.n == 1 ? self->main.layers[0] : NULL;
        if (inner != NULL && inner->klass->fuse != NULL)
            self->inner_fused = inner->klass->fuse (inner, next, n);
        return self->inner_fused;
    }
    int k = 0;
    if (k < n && next[k]->klass == &dn_relu_class) {
        self->fusion.relu = TRUE;
        k++;
    }
    if (k < n && next[k]->klass == &dn_maxpool2d_class && l->out_shape.ndim == 3 &&
        dn_maxpool_geom (next[k])->h * dn_maxpool_geom (next[k])->w == self->spatial) {
        self->fused_pool = next[k];
        self->fusion.pool = dn_maxpool_geom (next[k]);
        k++;
    }
    self->n_fused = k;
    return k;
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
    .fuse = dendritic_fuse,
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
    if (self->n_fused > 0) {
        /* the node's own gradient is never written: the neuron's error signal is slot 0
         * of the combination's gradients */
        float *r, *dr;
        size_t ld_slot, ld_sample;
        slots ((DnDendritic *) self, batch, &r, &dr, &ld_slot, &ld_sample);
        for (int b = 0; b < batch; b++)
            self->be->download (self->be, gh + (size_t) b * self->numel, dr + b * ld_sample,
                                self->numel * sizeof (float));
    } else {
        self->be->download (self->be, gh, g, n * sizeof (float));
    }
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
