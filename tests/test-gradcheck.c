/* test-gradcheck.c: finite-difference checks of every layer's backward and of
 * every loss.
 *
 * For a layer, the scalar L = sum(y * r) for a fixed random r has dL/dy = r, so
 * backward with dout = r must give dL/dx and dL/dparam. Each element is checked
 * against the central difference (L(v + eps) - L(v - eps)) / 2eps, with L
 * accumulated in double over the float forward. Inputs are chosen away from the
 * kinks (relu at 0, max ties) so the difference is a true derivative there.
 * A loss is checked the same way with L the loss itself.
 */
#include "dn-backend.h"
#include "dn-error.h"
#include "dn-layer.h"
#include "dn-rng.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

#define EPS 1e-3f
/* Float forward passes make each L noisy at about 1e-6; over 2 eps that is ~1e-3. */
#define GC_ATOL 5e-3
#define GC_RTOL 1e-2

typedef enum {
    INPUT_NORMAL,
    INPUT_AWAY_FROM_ZERO, /* |x| >= 0.1: no relu kink within eps */
    INPUT_DISTINCT,       /* values 0.05 apart: no max ties within eps */
} InputKind;

typedef struct {
    int ndim;
    int64_t d[4];
} Shp;

typedef struct {
    const char *path; /* /engine/gradcheck/<path> */
    const char *type;
    const char *cfg; /* JSON settings, as in a network file */
    int batch;
    int n_inputs;
    Shp in[2]; /* per-sample shapes */
    gboolean training;
    InputKind kind;
} GcCase;

/* clang-format off */
static const GcCase cases[] = {
    {"linear", "linear", "{\"out_features\": 4}", 3, 1, {{1, {5}}}},
    {"linear/nobias", "linear", "{\"out_features\": 3, \"bias\": false}", 2, 1, {{1, {4}}}},
    {"conv2d", "conv2d", "{\"out_channels\": 3, \"kernel_size\": 3}", 2, 1, {{3, {2, 5, 5}}}},
    {"conv2d/stride2-pad1", "conv2d",
     "{\"out_channels\": 3, \"kernel_size\": 3, \"stride\": 2, \"padding\": 1}",
     2, 1, {{3, {2, 5, 5}}}},
    {"conv2d/dilation2", "conv2d", "{\"out_channels\": 2, \"kernel_size\": 2, \"dilation\": 2}",
     2, 1, {{3, {2, 5, 5}}}},
    {"conv2d/groups2", "conv2d", "{\"out_channels\": 4, \"kernel_size\": 3, \"groups\": 2}",
     2, 1, {{3, {4, 4, 4}}}},
    {"conv2d/kernel3x2-nobias", "conv2d",
     "{\"out_channels\": 3, \"kernel_size\": [3, 2], \"padding\": [1, 0], \"stride\": [1, 2], "
     "\"bias\": false}", 2, 1, {{3, {2, 4, 5}}}},
    {"conv1d", "conv1d", "{\"out_channels\": 3, \"kernel_size\": 3, \"stride\": 2, "
     "\"padding\": 1}", 2, 1, {{2, {2, 7}}}},
    {"conv1d/groups-dilation", "conv1d", "{\"out_channels\": 4, \"kernel_size\": 2, "
     "\"dilation\": 2, \"groups\": 2}", 2, 1, {{2, {2, 6}}}},
    {"maxpool2d", "maxpool2d", "{\"kernel_size\": 2}", 2, 1, {{3, {2, 4, 4}}}, FALSE,
     INPUT_DISTINCT},
    {"maxpool2d/k3-s2-p1", "maxpool2d", "{\"kernel_size\": 3, \"stride\": 2, \"padding\": 1}",
     2, 1, {{3, {2, 5, 5}}}, FALSE, INPUT_DISTINCT},
    {"avgpool2d", "avgpool2d", "{\"kernel_size\": 2}", 2, 1, {{3, {2, 4, 4}}}},
    {"avgpool2d/k3-s2-p1-include-pad", "avgpool2d",
     "{\"kernel_size\": 3, \"stride\": 2, \"padding\": 1}", 2, 1, {{3, {2, 5, 5}}}},
    {"avgpool2d/k3-s2-p1-exclude-pad", "avgpool2d",
     "{\"kernel_size\": 3, \"stride\": 2, \"padding\": 1, \"count_include_pad\": false}",
     2, 1, {{3, {2, 5, 5}}}},
    {"adaptive_avgpool2d", "adaptive_avgpool2d", "{\"output_size\": 1}", 2, 1,
     {{3, {3, 3, 4}}}},
    {"batchnorm1d/train", "batchnorm1d", "{}", 4, 1, {{1, {3}}}, TRUE},
    {"batchnorm1d/train-cl", "batchnorm1d", "{}", 3, 1, {{2, {2, 4}}}, TRUE},
    {"batchnorm1d/eval", "batchnorm1d", "{}", 3, 1, {{1, {3}}}, FALSE},
    {"batchnorm2d/train", "batchnorm2d", "{}", 2, 1, {{3, {3, 3, 3}}}, TRUE},
    {"batchnorm2d/train-noaffine", "batchnorm2d", "{\"affine\": false}", 2, 1,
     {{3, {2, 3, 3}}}, TRUE},
    {"batchnorm2d/eval", "batchnorm2d", "{}", 2, 1, {{3, {3, 3, 3}}}, FALSE},
    {"layernorm", "layernorm", "{}", 3, 1, {{1, {6}}}},
    {"layernorm/chw", "layernorm", "{\"normalized_shape\": [2, 3, 3]}", 2, 1,
     {{3, {2, 3, 3}}}},
    {"layernorm/trailing-noaffine", "layernorm",
     "{\"normalized_shape\": 4, \"elementwise_affine\": false}", 2, 1, {{2, {3, 4}}}},
    {"relu", "relu", "{}", 3, 1, {{2, {2, 5}}}, FALSE, INPUT_AWAY_FROM_ZERO},
    {"leaky_relu", "leaky_relu", "{\"negative_slope\": 0.2}", 3, 1, {{2, {2, 5}}}, FALSE,
     INPUT_AWAY_FROM_ZERO},
    {"sigmoid", "sigmoid", "{}", 3, 1, {{1, {6}}}},
    {"tanh", "tanh", "{}", 3, 1, {{1, {6}}}},
    {"gelu", "gelu", "{}", 3, 1, {{1, {8}}}},
    {"softmax", "softmax", "{}", 3, 1, {{1, {6}}}},
    {"log_softmax", "log_softmax", "{\"dim\": -1}", 3, 1, {{1, {6}}}},
    {"dropout/train", "dropout", "{\"p\": 0.3}", 3, 1, {{1, {8}}}, TRUE},
    {"dropout/eval", "dropout", "{\"p\": 0.3}", 3, 1, {{1, {8}}}, FALSE},
    {"flatten", "flatten", "{}", 2, 1, {{3, {2, 2, 3}}}},
    {"add", "add", "{}", 2, 2, {{3, {2, 2, 2}}, {3, {2, 2, 2}}}},
    {"concat", "concat", "{}", 2, 2, {{3, {2, 3, 3}}, {3, {1, 3, 3}}}},
    /* Neuron modules with k dendrites; every T and D2D value is non-zero (gc_new), so
     * the output weights and the cascade all carry gradient. */
    {"dendritic/linear-k0", "dendritic",
     "{\"dendrites\": 0, \"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}",
     3, 1, {{1, {5}}}},
    {"dendritic/linear-k1-sigmoid", "dendritic",
     "{\"dendrites\": 1, \"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}",
     3, 1, {{1, {5}}}},
    {"dendritic/linear-k3-sigmoid", "dendritic",
     "{\"dendrites\": 3, \"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}",
     3, 1, {{1, {5}}}},
    {"dendritic/linear-k3-tanh", "dendritic",
     "{\"dendrites\": 3, \"forward_function\": \"tanh\", "
     "\"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}", 3, 1, {{1, {5}}}},
    {"dendritic/conv2d-k0", "dendritic",
     "{\"dendrites\": 0, \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, "
     "\"kernel_size\": 2}]}", 2, 1, {{3, {2, 4, 4}}}},
    {"dendritic/conv2d-k1-tanh", "dendritic",
     "{\"dendrites\": 1, \"forward_function\": \"tanh\", \"layers\": [{\"type\": "
     "\"conv2d\", \"out_channels\": 3, \"kernel_size\": 2}]}", 2, 1, {{3, {2, 4, 4}}}},
    {"dendritic/conv2d-k3-sigmoid", "dendritic",
     "{\"dendrites\": 3, \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, "
     "\"kernel_size\": 2}]}", 2, 1, {{3, {2, 4, 4}}}},
    {"dendritic/conv2d-k3-tanh", "dendritic",
     "{\"dendrites\": 3, \"forward_function\": \"tanh\", \"layers\": [{\"type\": "
     "\"conv2d\", \"out_channels\": 3, \"kernel_size\": 2}]}", 2, 1, {{3, {2, 4, 4}}}},
    {"dendritic/conv2d-bn-train-k0", "dendritic",
     "{\"dendrites\": 0, \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, "
     "\"kernel_size\": 2}, {\"type\": \"batchnorm2d\"}]}", 2, 1, {{3, {2, 4, 4}}}, TRUE},
    {"dendritic/conv2d-bn-train-k1-sigmoid", "dendritic",
     "{\"dendrites\": 1, \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, "
     "\"kernel_size\": 2}, {\"type\": \"batchnorm2d\"}]}", 2, 1, {{3, {2, 4, 4}}}, TRUE},
    {"dendritic/conv2d-bn-train-k3-sigmoid", "dendritic",
     "{\"dendrites\": 3, \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, "
     "\"kernel_size\": 2}, {\"type\": \"batchnorm2d\"}]}", 2, 1, {{3, {2, 4, 4}}}, TRUE},
    {"dendritic/conv2d-bn-train-k3-tanh", "dendritic",
     "{\"dendrites\": 3, \"forward_function\": \"tanh\", \"layers\": [{\"type\": "
     "\"conv2d\", \"out_channels\": 3, \"kernel_size\": 2}, {\"type\": "
     "\"batchnorm2d\"}]}", 2, 1, {{3, {2, 4, 4}}}, TRUE},
    /* A group ending in a layer whose backward reads its own output. */
    {"dendritic/linear-sigmoid-group-k3", "dendritic",
     "{\"dendrites\": 3, \"layers\": [{\"type\": \"linear\", \"out_features\": 4}, "
     "{\"type\": \"sigmoid\"}]}",
     3, 1, {{1, {5}}}},
    /* Active dendrites: two context vectors, samples alternate between them. */
    {"sparse_linear", "sparse_linear", "{\"out_features\": 4, \"input_density\": 0.5}",
     3, 1, {{1, {5}}}},
    {"active_dendrite/abs_max-s1", "active_dendrite",
     "{\"out_features\": 4, \"segments\": 1, \"context_dim\": 6}", 3, 1, {{1, {5}}}},
    {"active_dendrite/abs_max-s3", "active_dendrite",
     "{\"out_features\": 4, \"segments\": 3, \"context_dim\": 6}", 4, 1, {{1, {5}}}},
    {"active_dendrite/max-s3", "active_dendrite",
     "{\"out_features\": 4, \"segments\": 3, \"context_dim\": 6, \"gating\": \"max\"}",
     4, 1, {{1, {5}}}},
    {"active_dendrite/additive-s3", "active_dendrite",
     "{\"out_features\": 4, \"segments\": 3, \"context_dim\": 6, \"gating\": "
     "\"additive\"}", 4, 1, {{1, {5}}}},
    {"active_dendrite/no-segments", "active_dendrite",
     "{\"out_features\": 4, \"segments\": 0}", 3, 1, {{1, {5}}}},
    {"kwta/k3", "kwta", "{\"k\": 3}", 3, 1, {{1, {8}}}, FALSE, INPUT_DISTINCT},
    {"kwta/k-all", "kwta", "{\"k\": 8}", 2, 1, {{1, {8}}}, FALSE, INPUT_DISTINCT},
    {"dendritic/conv2d-bn-eval-k3-tanh", "dendritic",
     "{\"dendrites\": 3, \"forward_function\": \"tanh\", \"layers\": [{\"type\": "
     "\"conv2d\", \"out_channels\": 3, \"kernel_size\": 2}, {\"type\": "
     "\"batchnorm2d\"}]}", 2, 1, {{3, {2, 4, 4}}}, FALSE},
};
/* clang-format on */

/* A layer set up for repeated forward passes at perturbed points. */
typedef struct {
    DnLayer *l;
    DnCtx ctx;
    int batch;
    int n_in;
    DnTensor in[2];
    const DnTensor *in_ptrs[2];
    DnTensor *out;
    float *r; /* dL/dy */
    float *contexts;
    int32_t ctx_index[8];
} Gc;

static double gc_loss (Gc *g)
{
    g->l->klass->forward (g->l, &g->ctx, g->batch, g->in_ptrs, g->out);
    int64_t n = dn_tensor_numel (g->out);
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += (double) g->out->data[i] * g->r[i];
    return s;
}

static gboolean close_enough (double num, double ana)
{
    double scale = MAX (fabs (num), fabs (ana));
    return fabs (num - ana) <= GC_ATOL + GC_RTOL * scale;
}

/* Compares analytic gradients `ana` of the n values at x with central differences of
 * loss(data); returns the number of mismatches and describes the first few in report. */
static int compare_numeric (const char *what, float *x, size_t n, const float *ana,
                            double (*loss) (gpointer), gpointer data, GString *report)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float orig = x[i];
        float hi = orig + EPS, lo = orig - EPS;
        x[i] = hi;
        double lp = loss (data);
        x[i] = lo;
        double lm = loss (data);
        x[i] = orig;
        double num = (lp - lm) / ((double) hi - (double) lo);
        if (!close_enough (num, ana[i])) {
            if (bad < 5)
                g_string_append_printf (report,
                                        "  %s[%zu]: backward %.6g, finite difference %.6g\n", what,
                                        i, ana[i], num);
            bad++;
        }
    }
    return bad;
}

static double gc_loss_cb (gpointer data)
{
    return gc_loss (data);
}

static void fill_input (DnRng *rng, InputKind kind, float *x, size_t n)
{
    if (kind == INPUT_DISTINCT) {
        g_autofree int *perm = g_new (int, n);
        dn_rng_permutation (rng, perm, (int) n);
        for (size_t i = 0; i < n; i++)
            x[i] = ((float) perm[i] - (float) n / 2) * 0.05f;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float v = dn_rng_normal (rng);
        if (kind == INPUT_AWAY_FROM_ZERO)
            v = copysignf (fabsf (v) + 0.1f, v);
        x[i] = v;
    }
}

static JsonObject *parse_object (const char *json)
{
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (p, json, -1, &error);
    g_assert_no_error (error);
    return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

/* Builds the case's layer with random parameters and inputs. */
static Gc *gc_new (const GcCase *c, DnRng *rng)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) cfg = parse_object (c->cfg);
    Gc *g = g_new0 (Gc, 1);
    g->l = dn_layer_new (c->type, c->type, cfg, &error);
    g_assert_no_error (error);
    g->batch = c->batch;
    g->n_in = c->n_inputs;
    DnShape shapes[2];
    for (int i = 0; i < c->n_inputs; i++)
        shapes[i] = dn_shape_make (c->in[i].ndim, c->in[i].d);
    g_assert_true (dn_layer_infer (g->l, c->n_inputs, shapes, &error));
    g_assert_no_error (error);

    for (int i = 0; i < g->n_in; i++) {
        size_t n = (size_t) (g->batch * dn_shape_numel (&shapes[i]));
        float *x = g_new (float, n);
        fill_input (rng, c->kind, x, n);
        dn_tensor_view (&g->in[i], x, g->batch, &shapes[i]);
        g->in_ptrs[i] = &g->in[i];
    }
    for (int i = 0; i < g->l->n_params; i++) {
        DnParam *p = &g->l->params[i];
        size_t n = (size_t) dn_shape_numel (&p->shape);
        p->value = g_new (float, n);
        p->grad = p->trainable ? g_new0 (float, n) : NULL;
    }
    /* A dendritic layer starts as the network starts it: its init must leave the
     * dendrite-to-neuron (T) and cascade (D2D) weights at zero. The values set below
     * replace them, as training would. */
    if (g_str_equal (c->type, "dendritic")) {
        g->l->klass->init (g->l, rng);
        for (int i = 0; i < g->l->n_params; i++) {
            DnParam *p = &g->l->params[i];
            if (g_str_has_prefix (p->name, "dendrites_to_top.") ||
                strstr (p->name, "dendrites_to_dendrites.") != NULL)
                for (int64_t j = 0; j < dn_shape_numel (&p->shape); j++)
                    g_assert_cmpfloat (p->value[j], ==, 0.0f);
        }
    }
    for (int i = 0; i < g->l->n_params; i++) {
        DnParam *p = &g->l->params[i];
        size_t n = (size_t) dn_shape_numel (&p->shape);
        /* "running_var", or "main_module.1.running_var" in a dendritic group */
        const char *leaf = strrchr (p->name, '.');
        gboolean is_var = g_str_equal (leaf != NULL ? leaf + 1 : p->name, "running_var");
        for (size_t j = 0; j < n; j++) {
            if (is_var)
                p->value[j] = dn_rng_uniform_range (rng, 0.5f, 1.5f);
            else
                p->value[j] = 0.5f * dn_rng_normal (rng);
        }
    }
    g->out = dn_tensor_new (g->batch, &g->l->out_shape, &error);
    g_assert_no_error (error);
    size_t n_out = (size_t) dn_tensor_numel (g->out);
    g->r = g_new (float, n_out);
    for (size_t i = 0; i < n_out; i++)
        g->r[i] = dn_rng_normal (rng);

    size_t ws = g->l->workspace_per_sample * (size_t) g->batch;
    g->ctx = (DnCtx){.backend = dn_backend_cpu (),
                     .training = c->training,
                     .seed = 0x5eed,
                     .workspace = g_new0 (float, ws ? ws : 1),
                     .workspace_size = ws};
    if (g->l->context_dim > 0) {
        int dim = g->l->context_dim;
        g->contexts = g_new (float, 2 * dim);
        for (int i = 0; i < 2 * dim; i++)
            g->contexts[i] = dn_rng_normal (rng);
        for (int b = 0; b < (int) G_N_ELEMENTS (g->ctx_index); b++)
            g->ctx_index[b] = b % 2;
        g->ctx.contexts = g->contexts;
        g->ctx.n_contexts = 2;
        g->ctx.context_dim = dim;
        g->ctx.context_index = g->ctx_index;
        g->ctx.training = TRUE; /* winners recomputed at every perturbed point */
    }
    return g;
}

static void gc_free (Gc *g)
{
    for (int i = 0; i < g->n_in; i++)
        g_free (g->in[i].data);
    for (int i = 0; i < g->l->n_params; i++) {
        g_free (g->l->params[i].value);
        g_free (g->l->params[i].grad);
        g->l->params[i].value = g->l->params[i].grad = NULL;
    }
    dn_layer_free (g->l);
    dn_tensor_free (g->out);
    g_free (g->r);
    g_free (g->ctx.workspace);
    g_free (g->contexts);
    g_free (g);
}

/* Runs forward and backward at the unperturbed point, then checks every input and
 * trainable parameter. `corrupt` scales the analytic gradients (1 in real checks);
 * with `only` set, just those of the parameters whose names contain it. */
static int gc_run_only (Gc *g, float corrupt, const char *only, GString *report)
{
    DnTensor *din[2] = {NULL, NULL};
    for (int i = 0; i < g->l->n_params; i++)
        if (g->l->params[i].trainable)
            memset (g->l->params[i].grad, 0,
                    (size_t) dn_shape_numel (&g->l->params[i].shape) * sizeof (float));
    for (int i = 0; i < g->n_in; i++) {
        DnShape s = dn_tensor_sample_shape (&g->in[i]);
        din[i] = dn_tensor_new (g->batch, &s, NULL);
    }
    gc_loss (g);
    DnTensor dout;
    DnShape os = dn_tensor_sample_shape (g->out);
    dn_tensor_view (&dout, g->r, g->batch, &os);
    g->l->klass->backward (g->l, &g->ctx, g->batch, g->in_ptrs, g->out, &dout, din);

    int bad = 0;
    for (int i = 0; i < g->n_in; i++) {
        size_t n = (size_t) dn_tensor_numel (din[i]);
        for (size_t j = 0; j < n && only == NULL; j++)
            din[i]->data[j] *= corrupt;
        g_autofree char *what = g_strdup_printf ("dx%d", i);
        bad += compare_numeric (what, g->in[i].data, n, din[i]->data, gc_loss_cb, g, report);
        dn_tensor_free (din[i]);
    }
    for (int i = 0; i < g->l->n_params; i++) {
        DnParam *p = &g->l->params[i];
        if (!p->trainable)
            continue;
        size_t n = (size_t) dn_shape_numel (&p->shape);
        g_autofree float *ana = g_memdup2 (p->grad, n * sizeof (float));
        for (size_t j = 0; j < n && (only == NULL || strstr (p->name, only) != NULL); j++)
            ana[j] *= corrupt;
        g_autofree char *what = g_strdup_printf ("d%s", p->name);
        bad += compare_numeric (what, p->value, n, ana, gc_loss_cb, g, report);
    }
    return bad;
}

static int gc_run (Gc *g, float corrupt, GString *report)
{
    return gc_run_only (g, corrupt, NULL, report);
}

static void test_layer (gconstpointer data)
{
    const GcCase *c = data;
    DnRng rng;
    dn_rng_seed (&rng, 2024);
    Gc *g = gc_new (c, &rng);
    g_autoptr (GString) report = g_string_new (NULL);
    int bad = gc_run (g, 1.0f, report);
    gc_free (g);
    if (bad > 0) {
        g_autofree char *msg =
            g_strdup_printf ("%s (%s): %d gradient values differ from finite differences:\n%s",
                             c->type, c->cfg, bad, report->str);
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
}

/* The checker itself must notice a wrong gradient. */
static void test_detects_errors (void)
{
    DnRng rng;
    dn_rng_seed (&rng, 7);
    g_autoptr (GString) report = g_string_new (NULL);
    Gc *g = gc_new (&cases[0], &rng);
    g_assert_cmpint (gc_run (g, 1.0f, report), ==, 0);
    g_assert_cmpint (gc_run (g, 1.1f, report), >, 0);
    gc_free (g);
}

/* The dendritic checks notice a wrong gradient in each part of the cascade alone:
 * the output weights, the cascade weights and a deep dendrite's body. */
static void test_detects_dendritic_errors (void)
{
    const GcCase *c = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS (cases) && c == NULL; i++)
        if (g_str_equal (cases[i].path, "dendritic/conv2d-bn-train-k3-sigmoid"))
            c = &cases[i];
    g_assert_nonnull (c);
    const char *parts[] = {"dendrites_to_top.2",
                           "dendrites_to_dendrites.2",
                           "dendrites_to_dendrites.1",
                           "dendrite_module.layers.0.0.weight",
                           "dendrite_module.layers.2.1.bias",
                           "main_module.1.weight"};
    DnRng rng;
    dn_rng_seed (&rng, 7);
    Gc *g = gc_new (c, &rng);
    g_autoptr (GString) report = g_string_new (NULL);
    g_assert_cmpint (gc_run (g, 1.0f, report), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS (parts); i++) {
        g_test_message ("corrupting %s", parts[i]);
        g_assert_cmpint (gc_run_only (g, 1.2f, parts[i], report), >, 0);
    }
    gc_free (g);
}

/* Losses: L is the loss itself, checked against dlogits with scale 1. */
typedef struct {
    const char *type;
    int rows, cols;
    float smoothing;
    float *logits, *target;
    int32_t *labels;
} LossCase;

static double loss_value (gpointer data)
{
    LossCase *c = data;
    DnBackend *be = dn_backend_cpu ();
    double loss = NAN;
    if (g_str_equal (c->type, "cross_entropy"))
        be->cross_entropy (be, c->rows, c->cols, c->logits, c->labels, c->smoothing, 1.0f, &loss,
                           NULL);
    else if (g_str_equal (c->type, "nll"))
        be->nll (be, c->rows, c->cols, c->logits, c->labels, 1.0f, &loss, NULL);
    else if (g_str_equal (c->type, "mse"))
        be->mse (be, c->rows, c->cols, c->logits, c->target, 1.0f, &loss, NULL);
    else if (g_str_equal (c->type, "bce_logits"))
        be->bce_logits (be, c->rows, c->cols, c->logits, c->target, 1.0f, &loss, NULL);
    else
        g_assert_not_reached ();
    return loss;
}

static void loss_grad (LossCase *c, float *d)
{
    DnBackend *be = dn_backend_cpu ();
    double loss;
    if (g_str_equal (c->type, "cross_entropy"))
        be->cross_entropy (be, c->rows, c->cols, c->logits, c->labels, c->smoothing, 1.0f, &loss,
                           d);
    else if (g_str_equal (c->type, "nll"))
        be->nll (be, c->rows, c->cols, c->logits, c->labels, 1.0f, &loss, d);
    else if (g_str_equal (c->type, "mse"))
        be->mse (be, c->rows, c->cols, c->logits, c->target, 1.0f, &loss, d);
    else
        be->bce_logits (be, c->rows, c->cols, c->logits, c->target, 1.0f, &loss, d);
}

static void check_loss (const char *type, float smoothing)
{
    DnRng rng;
    dn_rng_seed (&rng, 99);
    LossCase c = {.type = type, .rows = 3, .cols = 5, .smoothing = smoothing};
    size_t n = (size_t) c.rows * c.cols;
    c.logits = g_new (float, n);
    c.target = g_new (float, n);
    c.labels = g_new (int32_t, c.rows);
    for (size_t i = 0; i < n; i++) {
        c.logits[i] = 1.5f * dn_rng_normal (&rng);
        c.target[i] = g_str_equal (type, "mse") ? dn_rng_normal (&rng) : dn_rng_uniform (&rng);
    }
    for (int i = 0; i < c.rows; i++)
        c.labels[i] = (int32_t) dn_rng_below (&rng, (uint32_t) c.cols);
    g_autofree float *d = g_new0 (float, n);
    loss_grad (&c, d);
    g_autoptr (GString) report = g_string_new (NULL);
    int bad = compare_numeric ("dlogits", c.logits, n, d, loss_value, &c, report);
    g_free (c.logits);
    g_free (c.target);
    g_free (c.labels);
    if (bad > 0) {
        g_autofree char *msg = g_strdup_printf ("loss %s (label_smoothing %g): %d mismatches:\n%s",
                                                type, smoothing, bad, report->str);
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
}

static void test_loss_cross_entropy (void)
{
    check_loss ("cross_entropy", 0.0f);
}

static void test_loss_cross_entropy_smoothing (void)
{
    check_loss ("cross_entropy", 0.1f);
}

static void test_loss_nll (void)
{
    check_loss ("nll", 0.0f);
}

static void test_loss_mse (void)
{
    check_loss ("mse", 0.0f);
}

static void test_loss_bce_logits (void)
{
    check_loss ("bce_logits", 0.0f);
}

/* Every registered layer kind has a gradient check here. */
static void test_coverage (void)
{
    const DnLayerClass *const *classes = dn_layer_classes ();
    for (int k = 0; classes[k] != NULL; k++) {
        gboolean found = FALSE;
        for (size_t i = 0; i < G_N_ELEMENTS (cases) && !found; i++)
            found = g_str_equal (cases[i].type, classes[k]->type);
        if (!found) {
            g_autofree char *msg =
                g_strdup_printf ("layer kind %s has no gradient check", classes[k]->type);
            g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
        }
    }
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("/engine/gradcheck/%s", cases[i].path);
        g_test_add_data_func (path, &cases[i], test_layer);
    }
    g_test_add_func ("/engine/gradcheck/loss/cross_entropy", test_loss_cross_entropy);
    g_test_add_func ("/engine/gradcheck/loss/cross_entropy-smoothing",
                     test_loss_cross_entropy_smoothing);
    g_test_add_func ("/engine/gradcheck/loss/nll", test_loss_nll);
    g_test_add_func ("/engine/gradcheck/loss/mse", test_loss_mse);
    g_test_add_func ("/engine/gradcheck/loss/bce_logits", test_loss_bce_logits);
    g_test_add_func ("/engine/gradcheck/detects-errors", test_detects_errors);
    g_test_add_func ("/engine/gradcheck/detects-errors-dendritic", test_detects_dendritic_errors);
    g_test_add_func ("/engine/gradcheck/coverage", test_coverage);
    return g_test_run ();
}
