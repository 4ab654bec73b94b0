/* test-pb.c: perforated backpropagation, the layer side (dn-layer-candidate.c).
 *
 * The candidate objective and its gradient against finite differences (on v, and
 * through a whole candidate: linear, conv and conv + batch norm, with cascade
 * weights); the perforated backward (no gradient into earlier layers through
 * dendrites; dendrite gradients only when live); per-channel snapshots; frozen
 * layers (no weight gradients, the same input gradients). The run side is in
 * test-pb-run.c.
 */
#include "dn-dendrite.h"
#include "dn-error.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

#define BATCH 6

/* The network of `json` for BATCH samples, initialised from seed 11. */
static DnNetwork *network_new (const char *json, gboolean training)
{
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    g_assert_true (json_parser_load_from_data (p, json, -1, &error));
    DnNetwork *net = dn_network_new_from_json (json_parser_get_root (p), dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_true (dn_network_reserve (net, BATCH, &error));
    DnRng rng;
    dn_rng_seed (&rng, 11);
    dn_network_init (net, &rng);
    dn_network_set_training (net, training);
    return net;
}

static DnNetwork *build (const char *input, const char *layers, int k, gboolean training)
{
    g_autofree char *json = g_strdup_printf (
        "{\"input\": %s, \"layers\": [%s,"
        "{\"name\": \"d\", \"type\": \"dendritic\", \"dendrites\": %d, \"init_multiplier\": 0.5, "
        "\"layers\": %s}]}",
        input,
        g_str_equal (input, "[5]")
            ? "{\"name\": \"pre\", \"type\": \"linear\", \"out_features\": 4}"
            : "{\"name\": \"pre\", \"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3, "
              "\"padding\": 1}",
        k, layers);
    return network_new (json, training);
}

static const char *const linear_module = "[{\"type\": \"linear\", \"out_features\": 3}]";
static const char *const conv_module =
    "[{\"type\": \"conv2d\", \"out_channels\": 3, \"kernel_size\": 3, \"padding\": 1}]";
static const char *const conv_bn_module =
    "[{\"type\": \"conv2d\", \"out_channels\": 3, \"kernel_size\": 3, \"padding\": 1},"
    " {\"type\": \"batchnorm2d\"}]";

static float *random_floats (DnRng *rng, size_t n, float scale)
{
    float *x = g_new (float, n);
    for (size_t i = 0; i < n; i++)
        x[i] = scale * dn_rng_normal (rng);
    return x;
}

/* Forward of random inputs (n_in floats a sample), then backward of a random output
 * gradient from zeroed gradients; returns that output gradient. */
static float *forward_backward (DnNetwork *net, DnRng *rng, int n_in)
{
    g_autofree float *x = random_floats (rng, (size_t) BATCH * n_in, 1.0f);
    const DnTensor *y = dn_network_forward (net, x, BATCH, 1);
    float *dy = random_floats (rng, (size_t) dn_tensor_numel (y), 1.0f);
    dn_network_zero_grad (net);
    dn_network_backward (net, dy, BATCH);
    return dy;
}

/* Sets every output and cascade weight of node d but the candidate's output row to
 * random values, so earlier dendrites feed the neuron and the candidate. */
static void randomise_combination (DnNetwork *net, DnRng *rng)
{
    DnLayer *l = dn_network_find_node (net, "d")->layer;
    int k = dn_dendritic_count (l), C = dn_dendritic_channels (l);
    for (int p = 0; p < l->n_params; p++) {
        DnParam *prm = &l->params[p];
        gboolean top = g_str_has_prefix (prm->name, "dendrites_to_top.");
        if (!top && !g_str_has_prefix (prm->name, "dendrite_module.dendrites_to_dendrites."))
            continue;
        int64_t n = dn_shape_numel (&prm->shape);
        for (int64_t i = 0; i < n; i++)
            prm->value[i] = top && i / C == k - 1 ? 0.0f : 0.7f * dn_rng_normal (rng);
    }
}

/* The objective's gradient in v against central differences, both forms. */
static void test_objective (void)
{
    const int B = 7, C = 3;
    DnRng rng;
    dn_rng_seed (&rng, 3);
    g_autofree float *v = random_floats (&rng, B * C, 1.0f);
    g_autofree float *e = random_floats (&rng, B * C, 0.1f);
    double mv[3] = {0.1, -0.2, 0.05}, me[3] = {0.01, 0.0, -0.02}, score[3];
    g_autofree float *dv = g_new (float, B *C);
    for (int normalized = 0; normalized < 2; normalized++) {
        dn_candidate_objective (B, C, v, e, mv, me, normalized, score, dv);
        for (int i = 0; i < B * C; i++) {
            float keep = v[i], h = 1e-2f;
            v[i] = keep + h;
            double up = dn_candidate_objective (B, C, v, e, mv, me, normalized, score, NULL);
            v[i] = keep - h;
            double down = dn_candidate_objective (B, C, v, e, mv, me, normalized, score, NULL);
            v[i] = keep;
            double fd = (up - down) / (2 * h);
            g_assert_cmpfloat_with_epsilon (dv[i], fd, 1e-3 + 1e-2 * fabs (fd));
        }
    }
    /* a perfectly aligned channel scores 1 in the Pearson form */
    for (int b = 0; b < B; b++)
        e[b * C] = 2.0f * v[b * C];
    double zero[3] = {0, 0, 0};
    double mean_v0 = 0.0;
    for (int b = 0; b < B; b++)
        mean_v0 += v[b * C] / B;
    double mvs[3] = {mean_v0, 0, 0}, mes[3] = {2 * mean_v0, 0, 0};
    dn_candidate_objective (B, C, v, e, mvs, mes, TRUE, score, NULL);
    g_assert_cmpfloat_with_epsilon (score[0], 1.0, 1e-5);
    dn_candidate_objective (B, C, v, e, zero, zero, FALSE, score, NULL);
    g_assert_cmpfloat (score[0], >, 0.0);
}

typedef struct {
    const char *path;
    const char *input;
    const char *module;
    int k;
    gboolean by_mean;
} GradCase;

static const GradCase grad_cases[] = {
    {"/pb/candidate/gradient/linear-k1", "[5]", NULL, 1, TRUE},
    {"/pb/candidate/gradient/linear-k3", "[5]", NULL, 3, TRUE},
    {"/pb/candidate/gradient/conv-k2-sum", "[2, 5, 5]", NULL, 2, FALSE},
    {"/pb/candidate/gradient/conv-bn-k2", "[2, 5, 5]", NULL, 2, TRUE},
};

/* The objective as a function of the candidate's parameters: e and the means fixed. */
static double objective_now (DnNetwork *net, const float *x, const float *e, const double *mv,
                             const double *me, gboolean by_mean, gboolean normalized)
{
    DnLayer *l = dn_network_find_node (net, "d")->layer;
    int C = dn_dendritic_channels (l);
    dn_network_forward (net, x, BATCH, 1);
    g_autofree float *v = g_new (float, BATCH *C), *unused = g_new (float, BATCH *C);
    double score[8];
    g_assert_true (dn_dendritic_candidate_values (l, by_mean, BATCH, v, unused));
    return dn_candidate_objective (BATCH, C, v, e, mv, me, normalized, score, NULL);
}

static void test_candidate_gradient (gconstpointer data)
{
    const GradCase *gc = data;
    const char *module = strstr (gc->path, "conv-bn") ? conv_bn_module
                         : strstr (gc->path, "conv")  ? conv_module
                                                      : linear_module;
    g_autoptr (DnNetwork) net = build (gc->input, module, gc->k, TRUE);
    DnNode *node = dn_network_find_node (net, "d");
    DnLayer *l = node->layer;
    DnRng rng;
    dn_rng_seed (&rng, 5);
    randomise_combination (net, &rng);
    dn_dendritic_set_mode (l, DN_DENDRITIC_PB_CANDIDATE, FALSE);
    size_t n_in = (size_t) BATCH * dn_shape_numel (&net->input_shape);
    g_autofree float *x = random_floats (&rng, n_in, 1.0f);
    const DnTensor *y = dn_network_forward (net, x, BATCH, 1);
    size_t n_out = (size_t) dn_tensor_numel (y);
    g_autofree float *dy = random_floats (&rng, n_out, 1.0f);
    dn_network_zero_grad (net);
    dn_network_backward (net, dy, BATCH);
    const int C = dn_dendritic_channels (l);
    g_autofree float *v = g_new (float, BATCH *C), *e = g_new (float, BATCH *C);
    g_autofree float *dv = g_new (float, BATCH *C);
    g_assert_true (dn_dendritic_candidate_values (l, gc->by_mean, BATCH, v, e));
    /* the error signal is the loss gradient at the module's output: here dy itself */
    int S = (int) (n_out / BATCH / C);
    for (int b = 0; b < BATCH; b++)
        for (int c = 0; c < C; c++) {
            double sum = 0;
            for (int q = 0; q < S; q++)
                sum += dy[((size_t) b * C + c) * S + q];
            g_assert_cmpfloat_with_epsilon (e[b * C + c], gc->by_mean ? sum / S : sum, 1e-4);
        }
    double mv[8], me[8], score[8];
    for (int c = 0; c < C; c++) {
        mv[c] = 0.3 * dn_rng_normal (&rng);
        me[c] = 0.0;
    }
    for (int normalized = 0; normalized < 2; normalized++) {
        dn_network_forward (net, x, BATCH, 1);
        dn_candidate_objective (BATCH, C, v, e, mv, me, normalized, score, dv);
        dn_network_zero_grad (net);
        DnTensor xin;
        DnNode *pre = dn_network_find_node (net, "pre");
        dn_tensor_view (&xin, pre->out.data, BATCH, &pre->layer->out_shape);
        dn_network_forward (net, x, BATCH, 1);
        g_assert_true (dn_dendritic_candidate_values (l, gc->by_mean, BATCH, v, e));
        dn_candidate_objective (BATCH, C, v, e, mv, me, normalized, score, dv);
        dn_dendritic_candidate_backward (l, &net->ctx, BATCH, &xin, dv, gc->by_mean);
        g_autofree float *grads = g_memdup2 (net->grads, net->n_params * sizeof (float));
        int idx[DN_LAYER_MAX_PARAMS];
        int n = dn_dendritic_candidate_params (l, idx);
        int checked = 0;
        for (int p = 0; p < l->n_params; p++) {
            DnParam *prm = &l->params[p];
            gboolean cand = FALSE;
            for (int i = 0; i < n; i++)
                cand = cand || idx[i] == p;
            if (!prm->trainable)
                continue;
            int64_t m = dn_shape_numel (&prm->shape);
            for (int64_t i = 0; i < m; i++) {
                float g = grads[prm->value + i - net->params];
                if (!cand) {
                    /* nothing outside the candidate is touched */
                    g_assert_cmpfloat (g, ==, 0.0f);
                    continue;
                }
                float keep = prm->value[i], h = 1e-2f;
                prm->value[i] = keep + h;
                double up = objective_now (net, x, e, mv, me, gc->by_mean, normalized);
                prm->value[i] = keep - h;
                double down = objective_now (net, x, e, mv, me, gc->by_mean, normalized);
                prm->value[i] = keep;
                double fd = (up - down) / (2 * h);
                if (fabs (g - fd) > 2e-3 + 3e-2 * fabs (fd))
                    g_error ("%s: %s[%" G_GINT64_FORMAT "]: gradient %g, differences %g", gc->path,
                             prm->name, i, g, fd);
                checked++;
            }
        }
        g_assert_cmpint (checked, >, 0);
    }
}

/* PB_NEURON: the node's input gradient is the neuron module's alone, the dendrites
 * get no gradient unless live; GD sends gradient through the dendrites too. */
static void test_perforated (void)
{
    float *pre_grad[3];
    float *dend_grad[3];
    const DnDendriticMode modes[3] = {DN_DENDRITIC_PB_NEURON, DN_DENDRITIC_PB_NEURON,
                                      DN_DENDRITIC_GD};
    const gboolean live[3] = {FALSE, TRUE, FALSE};
    size_t n_pre = 0;
    for (int run = 0; run < 3; run++) {
        g_autoptr (DnNetwork) net = build ("[5]", linear_module, 2, TRUE);
        DnRng rng;
        dn_rng_seed (&rng, 9);
        randomise_combination (net, &rng);
        DnLayer *l = dn_network_find_node (net, "d")->layer;
        /* every output weight non-zero: the newest set feeds the neuron too */
        for (int p = 0; p < l->n_params; p++)
            if (g_str_has_prefix (l->params[p].name, "dendrites_to_top."))
                for (int i = 0; i < dn_shape_numel (&l->params[p].shape); i++)
                    l->params[p].value[i] = 0.8f;
        dn_dendritic_set_mode (l, modes[run], live[run]);
        g_autofree float *dy = forward_backward (net, &rng, 5);
        DnNode *pre = dn_network_find_node (net, "pre");
        n_pre = (size_t) dn_tensor_numel (&pre->dout);
        pre_grad[run] = g_memdup2 (pre->dout.data, n_pre * sizeof (float));
        /* the input gradient of a linear module alone: dy W */
        DnParam *w = dn_layer_find_param (l, "main_module.weight");
        if (modes[run] == DN_DENDRITIC_PB_NEURON)
            for (int b = 0; b < BATCH; b++)
                for (int i = 0; i < 4; i++) {
                    double sum = 0;
                    for (int c = 0; c < 3; c++)
                        sum += dy[b * 3 + c] * w->value[c * 4 + i];
                    g_assert_cmpfloat_with_epsilon (pre_grad[run][b * 4 + i], sum, 1e-5);
                }
        size_t nd = 0;
        for (int p = 0; p < l->n_params; p++)
            if (dn_dendritic_is_dendrite_param (l, p))
                nd += (size_t) dn_shape_numel (&l->params[p].shape);
        dend_grad[run] = g_new0 (float, nd + 1);
        double norm = 0;
        nd = 0;
        for (int p = 0; p < l->n_params; p++) {
            if (!dn_dendritic_is_dendrite_param (l, p))
                continue;
            for (int i = 0; i < dn_shape_numel (&l->params[p].shape); i++) {
                float g = l->params[p].grad[i];
                dend_grad[run][nd++] = g;
                norm += fabs (g);
            }
        }
        if (run == 0)
            g_assert_cmpfloat (norm, ==, 0.0);
        else
            g_assert_cmpfloat (norm, >, 0.0);
    }
    /* the live dendrites learn as in GD; only their input path is cut */
    g_assert_cmpmem (pre_grad[0], n_pre * sizeof (float), pre_grad[1], n_pre * sizeof (float));
    gboolean differs = FALSE;
    for (size_t i = 0; i < n_pre; i++)
        differs = differs || fabsf (pre_grad[0][i] - pre_grad[2][i]) > 1e-4f;
    g_assert_true (differs);
    for (int run = 0; run < 3; run++) {
        g_free (pre_grad[run]);
        g_free (dend_grad[run]);
    }
}

/* save_channel takes channel c's rows (and cascade column) only; load puts all back. */
static void test_snapshot_channels (void)
{
    g_autoptr (DnNetwork) net = build ("[2, 5, 5]", conv_bn_module, 2, TRUE);
    DnLayer *l = dn_network_find_node (net, "d")->layer;
    DnRng rng;
    dn_rng_seed (&rng, 2);
    randomise_combination (net, &rng);
    size_t n = dn_dendritic_candidate_size (l);
    g_autofree float *snap = g_new0 (float, n);
    dn_dendritic_candidate_save_channel (l, net->backend, 1, snap);
    int idx[DN_LAYER_MAX_PARAMS];
    int np = dn_dendritic_candidate_params (l, idx);
    size_t off = 0, nonzero = 0;
    for (int i = 0; i < np; i++) {
        DnParam *p = &l->params[idx[i]];
        size_t m = (size_t) dn_shape_numel (&p->shape);
        gboolean cascade = g_str_has_prefix (p->name, "dendrite_module.dendrites_to_dendrites.");
        for (size_t j = 0; j < m; j++) {
            gboolean mine = cascade ? j % 3 == 1 : j / (m / 3) == 1;
            if (mine)
                g_assert_cmpfloat (snap[off + j], ==, p->value[j]);
            else
                g_assert_cmpfloat (snap[off + j], ==, 0.0f);
            nonzero += mine && p->value[j] != 0.0f;
        }
        off += m;
    }
    g_assert_cmpuint (off, ==, n);
    g_assert_cmpuint (nonzero, >, 0);
    /* batch norm's running variance starts at 1, so loading the snapshot shows */
    dn_dendritic_candidate_load (l, net->backend, snap);
    DnParam *var = NULL;
    for (int i = 0; i < np; i++)
        if (g_str_has_suffix (l->params[idx[i]].name, "running_var"))
            var = &l->params[idx[i]];
    g_assert_nonnull (var);
    g_assert_cmpfloat (var->value[0], ==, 0.0f);
    g_assert_cmpfloat (var->value[1], ==, 1.0f);
}

static void test_mixing_refused (void)
{
    g_autoptr (DnNetwork) net =
        build ("[5]",
               "[{\"type\": \"linear\", \"out_features\": 3}, {\"type\": \"layernorm\", "
               "\"normalized_shape\": [3]}]",
               1, TRUE);
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_dendritic_candidate_check (dn_network_find_node (net, "d")->layer, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "layernorm"));
}

/* Frozen layers (a dendrite phase: conv, batch norm, linear, and a dendritic node's
 * neuron module in PB_CANDIDATE mode) compute no parameter gradients and pass on the
 * same input gradients, bit for bit, as when they compute them. */
static void test_frozen (void)
{
    const char *json =
        "{\"input\": [1, 6, 6], \"layers\": ["
        "{\"name\": \"a\", \"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3, "
        "\"padding\": 1},"
        "{\"name\": \"b\", \"type\": \"conv2d\", \"out_channels\": 3, \"kernel_size\": 3},"
        "{\"name\": \"bn\", \"type\": \"batchnorm2d\"},"
        "{\"name\": \"relu\", \"type\": \"relu\"},"
        "{\"name\": \"d\", \"type\": \"dendritic\", \"dendrites\": 1, \"layers\": "
        "[{\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3, \"padding\": 1}]},"
        "{\"name\": \"flatten\", \"type\": \"flatten\"},"
        "{\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 4}]}";
    static const char *const frozen[] = {"b", "bn", "fc"};
    float *a_grad[2], *input_grad[2];
    size_t n_a = 0, n_in = 0;
    for (int run = 0; run < 2; run++) {
        g_autoptr (DnNetwork) net = network_new (json, TRUE);
        DnRng rng;
        dn_rng_seed (&rng, 5);
        DnLayer *d = dn_network_find_node (net, "d")->layer;
        for (guint i = 0; i < G_N_ELEMENTS (frozen); i++)
            dn_network_find_node (net, frozen[i])->layer->frozen = run == 1;
        dn_dendritic_set_mode (d, run == 1 ? DN_DENDRITIC_PB_CANDIDATE : DN_DENDRITIC_PB_NEURON,
                               FALSE);
        g_autofree float *dy = forward_backward (net, &rng, 36);
        DnNode *a = dn_network_find_node (net, "a");
        n_in = (size_t) dn_tensor_numel (&a->dout);
        input_grad[run] = g_memdup2 (a->dout.data, n_in * sizeof (float));
        DnParam *w = dn_layer_find_param (a->layer, "weight");
        n_a = (size_t) dn_shape_numel (&w->shape);
        a_grad[run] = g_memdup2 (w->grad, n_a * sizeof (float));
        /* the frozen layers' and the neuron module's gradients: zero only when frozen */
        DnLayer *check[4] = {dn_network_find_node (net, "b")->layer,
                             dn_network_find_node (net, "bn")->layer,
                             dn_network_find_node (net, "fc")->layer, d};
        for (int i = 0; i < 4; i++) {
            double norm = 0.0;
            for (int j = 0; j < check[i]->n_params; j++) {
                DnParam *prm = &check[i]->params[j];
                if (!prm->trainable || (check[i] == d && !g_str_has_prefix (prm->name, "main_")))
                    continue;
                for (int64_t e = 0; e < dn_shape_numel (&prm->shape); e++)
                    norm += fabs (prm->grad[e]);
            }
            if (run == 1)
                g_assert_cmpfloat (norm, ==, 0.0);
            else
                g_assert_cmpfloat (norm, >, 0.0);
        }
    }
    g_assert_cmpmem (input_grad[0], n_in * sizeof (float), input_grad[1], n_in * sizeof (float));
    g_assert_cmpmem (a_grad[0], n_a * sizeof (float), a_grad[1], n_a * sizeof (float));
    for (int run = 0; run < 2; run++) {
        g_free (input_grad[run]);
        g_free (a_grad[run]);
    }
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/pb/objective/gradient", test_objective);
    for (guint i = 0; i < G_N_ELEMENTS (grad_cases); i++)
        g_test_add_data_func (grad_cases[i].path, &grad_cases[i], test_candidate_gradient);
    g_test_add_func ("/pb/neuron/perforated", test_perforated);
    g_test_add_func ("/pb/snapshot/channels", test_snapshot_channels);
    g_test_add_func ("/pb/candidate/mixing-refused", test_mixing_refused);
    g_test_add_func ("/pb/frozen-layers", test_frozen);
    return g_test_run ();
}
