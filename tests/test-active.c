/* test-active.c: active dendrite layers, k-winner-take-all, sparse weights, the
 * row-tracked optimizer step, Synaptic Intelligence arithmetic and task
 * permutations, against hand-computed values (docs/continual.md). */
#include "dn-continual-config.h"
#include "dn-error.h"
#include "dn-network.h"
#include "dn-optim.h"
#include "dn-parallel.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

static JsonNode *parse (const char *text)
{
    g_autoptr (GError) error = NULL;
    JsonNode *n = json_from_string (text, &error);
    g_assert_no_error (error);
    return n;
}

static DnNetwork *network (const char *text)
{
    g_autoptr (JsonNode) desc = parse (text);
    g_autoptr (GError) error = NULL;
    DnNetwork *net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    return net;
}

static float sigmoid (float x)
{
    return 1.0f / (1.0f + expf (-x));
}

/* The reference's unit-test vectors: 2 samples x 3 units x 3 segments. Each sample
 * gets its own context (one-hot of length 2), and U[i, j, :] holds the two
 * samples' responses, so d = U c gives exactly the table's responses. */
static void test_gate_vectors (void)
{
    static const float resp[2][3][3] = {
        {{0.43f, -1.64f, 1.49f}, {-0.79f, 0.53f, 1.08f}, {0.02f, 0.04f, -0.57f}},
        {{1.79f, -0.48f, -0.38f}, {-0.15f, 0.76f, -1.13f}, {1.04f, -0.58f, -0.31f}},
    };
    static const float selected[2][3] = {{-1.64f, 1.08f, -0.57f}, {1.79f, -1.13f, 1.04f}};
    static const int winner[2][3] = {{1, 2, 2}, {0, 2, 0}};
    g_autoptr (DnNetwork) net = network (
        "{\"input\": [1], \"layers\": [{\"name\": \"ad\", \"type\": \"active_dendrite\", "
        "\"out_features\": 3, \"segments\": 3, \"context_dim\": 2}]}");
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, 2, &error));
    DnNode *node = dn_network_find_node (net, "ad");
    DnParam *w = dn_layer_find_param (node->layer, "weight");
    DnParam *b = dn_layer_find_param (node->layer, "bias");
    DnParam *u = dn_layer_find_param (node->layer, "segments");
    g_assert_nonnull (u);
    for (int i = 0; i < 3; i++) {
        w->value[i] = 1.0f;
        b->value[i] = 0.0f;
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                u->value[(i * 3 + j) * 2 + k] = resp[k][i][j];
    }
    float contexts[4] = {1, 0, 0, 1};
    int32_t index[2] = {0, 1};
    float x[2] = {1.0f, 2.0f}; /* t = x */
    dn_network_set_contexts (net, contexts, 2, 2);
    dn_network_set_context_index (net, index);
    dn_network_set_training (net, TRUE);
    const DnTensor *y = dn_network_forward (net, x, 2, 1);
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 3; i++)
            g_assert_cmpfloat_with_epsilon (y->data[s * 3 + i], x[s] * sigmoid (selected[s][i]), 1e-6);
    /* sigma(-1.64) is about 0.162, as the reference notes */
    g_assert_cmpfloat_with_epsilon (sigmoid (-1.64f), 0.162f, 1e-3);

    /* Gradient: only the winning segment of each unit, per sample. */
    dn_network_zero_grad (net);
    float dy[6] = {1, 1, 1, 1, 1, 1};
    dn_network_backward (net, dy, 2);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++) {
                float g = u->grad[(i * 3 + j) * 2 + k];
                float s = sigmoid (selected[k][i]);
                float want = winner[k][i] == j ? x[k] * s * (1 - s) : 0.0f;
                g_assert_cmpfloat_with_epsilon (g, want, 1e-6);
            }
    /* rows touched are flagged for the optimizer */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            g_assert_cmpint (u->rows[i * 3 + j] != 0, ==,
                             winner[0][i] == j || winner[1][i] == j);
}

static void test_gate_variants (void)
{
    /* plain max picks 1.49 over -1.64; additive adds the plain max */
    const char *head = "{\"input\": [1], \"layers\": [{\"name\": \"ad\", \"type\": "
                       "\"active_dendrite\", \"out_features\": 1, \"segments\": 3, "
                       "\"context_dim\": 1, \"gating\": \"";
    static const char *const modes[] = {"abs_max", "max", "additive"};
    const float r[3] = {0.43f, -1.64f, 1.49f};
    const float want[3] = {2.0f * sigmoid (-1.64f), 2.0f * sigmoid (1.49f), 2.0f + 1.49f};
    for (int m = 0; m < 3; m++) {
        g_autofree char *text = g_strconcat (head, modes[m], "\"}]}", NULL);
        g_autoptr (DnNetwork) net = network (text);
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_network_reserve (net, 1, &error));
        DnNode *node = dn_network_find_node (net, "ad");
        dn_layer_find_param (node->layer, "weight")->value[0] = 1.0f;
        dn_layer_find_param (node->layer, "bias")->value[0] = 0.0f;
        memcpy (dn_layer_find_param (node->layer, "segments")->value, r, sizeof r);
        float c = 1.0f, x = 2.0f;
        dn_network_set_contexts (net, &c, 1, 1);
        dn_network_set_training (net, FALSE);
        const DnTensor *y = dn_network_forward (net, &x, 1, 0);
        g_assert_cmpfloat_with_epsilon (y->data[0], want[m], 1e-5);
    }
}

static int kwta_count (const float *y, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += y[i] != 0.0f;
    return k;
}

static int cmp_float_desc (const void *a, const void *b)
{
    float x = *(const float *) a, y = *(const float *) b;
    return (x < y) - (x > y);
}

static void test_kwta (void)
{
    DnBackend *be = dn_backend_cpu ();
    enum { N = 2048 };
    g_autofree float *x = g_new (float, 2 * N);
    g_autofree float *y = g_new (float, 2 * N);
    g_autofree guint8 *mask = g_new (guint8, 2 * N);
    DnRng rng;
    dn_rng_seed (&rng, 7);
    g_autofree int *perm = g_new (int, N);
    for (int r = 0; r < 2; r++) {
        dn_rng_permutation (&rng, perm, N);
        for (int i = 0; i < N; i++)
            x[r * N + i] = (float) perm[i] - 1000.0f; /* distinct, some negative */
    }
    /* 5 % of 2048 is 102 (Python's round), exactly that many for distinct values */
    g_autoptr (DnNetwork) net = network (
        "{\"input\": [2048], \"layers\": [{\"name\": \"k\", \"type\": \"kwta\", "
        "\"percent_on\": 0.05}]}");
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, 2, &error));
    const DnTensor *out = dn_network_forward (net, x, 2, 0);
    for (int r = 0; r < 2; r++) {
        g_assert_cmpint (kwta_count (out->data + r * N, N), ==, 102);
        for (int i = 0; i < N; i++)
            if (out->data[r * N + i] != 0.0f)
                g_assert_cmpfloat (x[r * N + i], >=, 2047.0f - 1000.0f - 101.0f);
    }
    /* k = 1: the maximum; k = N: everything, negative values too (no ReLU) */
    be->kwta_forward (be, 2, N, 1, x, y, mask);
    g_assert_cmpint (kwta_count (y, N), ==, 1);
    g_assert_cmpfloat (y[perm[0] == 2047 ? 0 : 0] + 0.0f, >=, -2000.0f); /* defined values */
    be->kwta_forward (be, 2, N, N, x, y, mask);
    g_assert_cmpint (kwta_count (y, N), ==, N - 1); /* one value is exactly 0 */
    for (int i = 0; i < N; i++)
        g_assert_true (mask[i]);
    /* many rows of random values, some with many ties: the winners are exactly the
     * values at or above the k-th largest, found here by sorting */
    {
        enum { ROWS = 64, COLS = 2000 };
        g_autofree float *rx = g_new (float, ROWS * COLS), *ry = g_new (float, ROWS * COLS);
        g_autofree guint8 *rm = g_new (guint8, ROWS * COLS);
        g_autofree float *sorted = g_new (float, COLS);
        for (int i = 0; i < ROWS * COLS; i++) {
            float v = dn_rng_normal (&rng);
            int row = i / COLS;
            if (row % 4 == 1) /* coarse values: ties everywhere */
                v = floorf (v * 4.0f);
            else if (row % 4 == 2) /* ascending: the sample sees a skewed picture */
                v = (float) (i % COLS);
            rx[i] = v;
        }
        int ks[] = {1, 17, 100, 250, 1000};
        for (guint q = 0; q < G_N_ELEMENTS (ks); q++) {
            be->kwta_forward (be, ROWS, COLS, ks[q], rx, ry, rm);
            for (int r = 0; r < ROWS; r++) {
                memcpy (sorted, rx + r * COLS, sizeof (float) * COLS);
                qsort (sorted, COLS, sizeof (float), cmp_float_desc);
                float thr = sorted[ks[q] - 1];
                for (int i = 0; i < COLS; i++) {
                    float v = rx[r * COLS + i];
                    g_assert_cmpint (rm[r * COLS + i], ==, v >= thr);
                    g_assert_cmpfloat (ry[r * COLS + i], ==, v >= thr ? v : 0.0f);
                }
            }
        }
    }
    /* ties at the threshold: all tied values pass (>= threshold) */
    float t[6] = {1, 3, 3, 3, 0, 2};
    float ty[6];
    guint8 tm[6];
    be->kwta_forward (be, 1, 6, 2, t, ty, tm);
    g_assert_cmpint (kwta_count (ty, 6), ==, 3);
    /* negative winners pass when the k-th largest is negative */
    float neg[4] = {-5, -1, -3, -2};
    be->kwta_forward (be, 1, 4, 2, neg, ty, tm);
    g_assert_cmpfloat (ty[1], ==, -1.0f);
    g_assert_cmpfloat (ty[3], ==, -2.0f);
    g_assert_cmpfloat (ty[0], ==, 0.0f);
    /* gradient through the winners only */
    float dy[4] = {1, 1, 1, 1}, dx[4] = {0};
    be->kwta_backward (be, 1, 4, tm, dy, dx);
    g_assert_cmpfloat (dx[0], ==, 0.0f);
    g_assert_cmpfloat (dx[1], ==, 1.0f);
    g_assert_cmpfloat (dx[2], ==, 0.0f);
    g_assert_cmpfloat (dx[3], ==, 1.0f);
}

/* Masks: exactly round(0.5 * fan_in) per row; weights and segments inside the
 * "modified Kaiming" bounds; masked weights still zero after many Adam steps. */
static void test_masks_and_init (void)
{
    g_autoptr (DnNetwork) net = network (
        "{\"input\": [784], \"layers\": ["
        "{\"name\": \"fc1\", \"type\": \"active_dendrite\", \"out_features\": 64, "
        "\"weight_sparsity\": 0.5, \"segments\": 3, \"context_dim\": 784, "
        "\"context_density\": 0.1},"
        "{\"name\": \"k1\", \"type\": \"kwta\", \"k\": 8},"
        "{\"name\": \"fc2\", \"type\": \"sparse_linear\", \"out_features\": 2048, "
        "\"weight_sparsity\": 0.5, \"input_density\": 0.05},"
        "{\"name\": \"head\", \"type\": \"sparse_linear\", \"out_features\": 10, "
        "\"weight_sparsity\": 0.5, \"input_density\": 0.05}]}");
    DnRng rng;
    dn_rng_seed (&rng, 3);
    dn_network_init (net, &rng);
    struct {
        const char *node;
        int fan_in, keep;
        double bound;
    } want[] = {{"fc1", 784, 392, 1.0 / sqrt (392.0)},
                {"fc2", 64, 32, 1.0 / sqrt (0.05 * 0.5 * 64)},
                {"head", 2048, 1024, 1.0 / sqrt (51.2)}};
    for (size_t k = 0; k < G_N_ELEMENTS (want); k++) {
        DnLayer *l = dn_network_find_node (net, want[k].node)->layer;
        DnParam *w = dn_layer_find_param (l, "weight");
        DnParam *m = dn_layer_find_param (l, "weight_mask");
        int rows = (int) w->shape.d[0];
        for (int r = 0; r < rows; r++) {
            int nz = 0;
            for (int i = 0; i < want[k].fan_in; i++) {
                float v = w->value[(size_t) r * want[k].fan_in + i];
                float mv = m->value[(size_t) r * want[k].fan_in + i];
                nz += mv != 0.0f;
                if (mv == 0.0f)
                    g_assert_cmpfloat (v, ==, 0.0f);
                g_assert_cmpfloat (fabs (v), <=, want[k].bound);
            }
            g_assert_cmpint (nz, ==, want[k].keep);
        }
    }
    DnParam *u = dn_layer_find_param (dn_network_find_node (net, "fc1")->layer, "segments");
    for (int64_t i = 0; i < dn_shape_numel (&u->shape); i++)
        g_assert_cmpfloat (fabs (u->value[i]), <=, 1.0 / sqrt (78.4));

    /* Train: masked weights never move. */
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, 8, &error));
    DnOptimConfig oc;
    dn_optim_config_defaults (&oc, DN_OPTIM_ADAM);
    oc.lr = 0.01;
    g_autoptr (DnOptimizer) opt = dn_optimizer_new (&oc, dn_backend_cpu (), net->n_params, &error);
    g_autofree float *x = g_new (float, 8 * 784);
    g_autofree float *ctx = g_new (float, 784);
    for (int i = 0; i < 784; i++)
        ctx[i] = dn_rng_normal (&rng);
    dn_network_set_contexts (net, ctx, 1, 784);
    dn_network_set_training (net, TRUE);
    float dy[80];
    for (int step = 0; step < 60; step++) {
        for (int i = 0; i < 8 * 784; i++)
            x[i] = dn_rng_normal (&rng);
        for (int i = 0; i < 80; i++)
            dy[i] = dn_rng_normal (&rng);
        dn_network_forward (net, x, 8, step);
        dn_network_zero_grad (net);
        dn_network_backward (net, dy, 8);
        g_autoptr (GArray) spans = dn_network_live_spans (net);
        dn_optimizer_step_spans (opt, net->params, net->grads, oc.lr, (size_t *) spans->data,
                                 (int) spans->len / 2);
    }
    int moved = 0;
    for (size_t k = 0; k < G_N_ELEMENTS (want); k++) {
        DnLayer *l = dn_network_find_node (net, want[k].node)->layer;
        DnParam *w = dn_layer_find_param (l, "weight");
        DnParam *m = dn_layer_find_param (l, "weight_mask");
        for (int64_t i = 0; i < dn_shape_numel (&w->shape); i++) {
            if (m->value[i] == 0.0f)
                g_assert_cmpfloat (w->value[i], ==, 0.0f);
            else
                moved += 1;
        }
    }
    g_assert_cmpint (moved, >, 0);
}

/* A step over the live rows only equals a full Adam step on the whole arena. */
static void test_live_rows_exact (void)
{
    const char *desc = "{\"input\": [6], \"layers\": [{\"name\": \"ad\", \"type\": "
                       "\"active_dendrite\", \"out_features\": 5, \"segments\": 4, "
                       "\"context_dim\": 3}]}";
    g_autoptr (DnNetwork) a = network (desc);
    g_autoptr (DnNetwork) b = network (desc);
    DnRng ra, rb;
    dn_rng_seed (&ra, 11);
    dn_rng_seed (&rb, 11);
    dn_network_init (a, &ra);
    dn_network_init (b, &rb);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (a, 4, &error) && dn_network_reserve (b, 4, &error));
    DnOptimConfig oc;
    dn_optim_config_defaults (&oc, DN_OPTIM_ADAM);
    g_autoptr (DnOptimizer) oa = dn_optimizer_new (&oc, dn_backend_cpu (), a->n_params, &error);
    g_autoptr (DnOptimizer) ob = dn_optimizer_new (&oc, dn_backend_cpu (), b->n_params, &error);
    g_assert_true (dn_optimizer_spans_exact (oa));
    float ctx[6] = {1, -2, 0.5f, -1, 0.3f, 2};
    DnRng data;
    dn_rng_seed (&data, 5);
    float x[24], dy[20];
    for (int step = 0; step < 20; step++) {
        for (int i = 0; i < 24; i++)
            x[i] = dn_rng_normal (&data);
        for (int i = 0; i < 20; i++)
            dy[i] = dn_rng_normal (&data);
        /* the context changes every few steps, so different segments win */
        float *c = ctx + 3 * ((step / 5) % 2);
        DnNetwork *nets[2] = {a, b};
        for (int k = 0; k < 2; k++) {
            dn_network_set_contexts (nets[k], c, 1, 3);
            dn_network_set_training (nets[k], TRUE);
            dn_network_forward (nets[k], x, 4, step);
            dn_network_zero_grad (nets[k]);
            dn_network_backward (nets[k], dy, 4);
        }
        g_autoptr (GArray) spans = dn_network_live_spans (a);
        dn_optimizer_step_spans (oa, a->params, a->grads, 0.01, (size_t *) spans->data,
                                 (int) spans->len / 2);
        dn_optimizer_step (ob, b->params, b->grads, 0.01);
    }
    for (size_t i = 0; i < a->n_params; i++)
        g_assert_cmpfloat (a->params[i], ==, b->params[i]);
}

/* The sparse kernels give the dense products (up to rounding). */
static void test_sparse_kernels (void)
{
    DnBackend *be = dn_backend_cpu ();
    enum { R = 37, K = 300, N = 129 };
    DnRng rng;
    dn_rng_seed (&rng, 9);
    g_autofree float *a = g_new (float, R * K), *b = g_new (float, K * N), *bs = g_new (float, R * N);
    for (int i = 0; i < R * K; i++)
        a[i] = dn_rng_uniform (&rng) < 0.06f ? dn_rng_normal (&rng) : 0.0f;
    for (int i = 0; i < K * N; i++)
        b[i] = dn_rng_normal (&rng);
    for (int i = 0; i < R * N; i++) /* sparse and dense rows both occur */
        bs[i] = (i / N) % 2 || dn_rng_uniform (&rng) < 0.05f ? dn_rng_normal (&rng) : 0.0f;
    g_autofree float *y0 = g_new0 (float, R * N), *y1 = g_new0 (float, R * N);
    be->gemm (be, FALSE, FALSE, R, N, K, 1.0f, a, K, b, N, 1.0f, y0, N);
    be->sparse_rows_gemm (be, R, K, N, a, b, y1);
    dn_assert_floats_close (y1, y0, R * N, 1e-5, 1e-5);
    g_autofree float *c0 = g_new0 (float, K * N), *c1 = g_new0 (float, K * N);
    be->gemm (be, TRUE, FALSE, K, N, R, 1.0f, a, K, bs, N, 1.0f, c0, N);
    be->sparse_outer (be, R, K, N, a, bs, c1);
    dn_assert_floats_close (c1, c0, K * N, 1e-5, 1e-5);
    /* the mostly-zero b takes the indexed path */
    for (int i = 0; i < R * N; i++)
        bs[i] = dn_rng_uniform (&rng) < 0.05f ? dn_rng_normal (&rng) : 0.0f;
    memset (c0, 0, sizeof (float) * K * N);
    memset (c1, 0, sizeof (float) * K * N);
    be->gemm (be, TRUE, FALSE, K, N, R, 1.0f, a, K, bs, N, 1.0f, c0, N);
    be->sparse_outer (be, R, K, N, a, bs, c1);
    dn_assert_floats_close (c1, c0, K * N, 1e-5, 1e-5);
    g_assert_cmpuint (be->count_nonzero (be, bs, R * N), >, 0);

    /* forward of a layer with a mostly-zero input: y = a · w^T with w (N, K); N = 129
     * leaves a partial block of outputs. The same bits on one thread and on two. */
    g_autofree float *w = g_new (float, N * K), *f0 = g_new (float, R * N),
                     *f1 = g_new (float, R * N), *f2 = g_new (float, R * N);
    for (int i = 0; i < N * K; i++)
        w[i] = dn_rng_normal (&rng);
    be->gemm (be, FALSE, TRUE, R, N, K, 1.0f, a, K, w, K, 0.0f, f0, N);
    for (int i = 0; i < R * N; i++)
        f1[i] = f2[i] = NAN; /* every output is written, not accumulated */
    dn_backend_cpu_set_threads (1);
    be->sparse_gemm_nt (be, R, K, N, a, w, f1);
    dn_backend_cpu_set_threads (2);
    be->sparse_gemm_nt (be, R, K, N, a, w, f2);
    dn_backend_cpu_set_threads (0);
    dn_assert_floats_close (f1, f0, R * N, 1e-5, 1e-5);
    g_assert_cmpint (memcmp (f1, f2, sizeof (float) * R * N), ==, 0);

    /* A k-WTA network's gradients are the same with and without the sparse path. */
    const char *desc = "{\"input\": [100], \"layers\": ["
                       "{\"name\": \"fc1\", \"type\": \"sparse_linear\", \"out_features\": 256, "
                       "\"weight_sparsity\": 0.5}, {\"type\": \"kwta\", \"k\": 12},"
                       "{\"name\": \"fc2\", \"type\": \"active_dendrite\", \"out_features\": 128, "
                       "\"segments\": 2, \"context_dim\": 5}, {\"type\": \"kwta\", \"k\": 6},"
                       "{\"name\": \"head\", \"type\": \"sparse_linear\", \"out_features\": 10}]}";
    g_autofree float *grads[2] = {NULL, NULL};
    size_t n_params = 0;
    for (int dense = 0; dense < 2; dense++) {
        if (dense)
            g_setenv ("DN_ACTIVE_DENSE", "1", TRUE);
        g_autoptr (DnNetwork) net = network (desc);
        DnRng r2;
        dn_rng_seed (&r2, 4);
        dn_network_init (net, &r2);
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_network_reserve (net, 16, &error));
        float x[1600], ctx[5] = {0.5f, -1, 2, 0.1f, -0.3f}, dy[160];
        for (int i = 0; i < 1600; i++)
            x[i] = dn_rng_normal (&r2);
        for (int i = 0; i < 160; i++)
            dy[i] = dn_rng_normal (&r2);
        dn_network_set_contexts (net, ctx, 1, 5);
        dn_network_set_training (net, TRUE);
        dn_network_forward (net, x, 16, 0);
        dn_network_zero_grad (net);
        dn_network_backward (net, dy, 16);
        n_params = net->n_params;
        grads[dense] = g_memdup2 (net->grads, n_params * sizeof (float));
        g_unsetenv ("DN_ACTIVE_DENSE");
    }
    dn_assert_floats_close (grads[0], grads[1], n_params, 1e-4, 1e-5);
    g_free (grads[0]);
    g_free (grads[1]);
    grads[0] = grads[1] = NULL;
}

/* segment_rows: each row's response is its dot product with the context (against
 * double precision), and the same bits whether computed with all rows or a few,
 * on one thread or two: what lets a layer recompute only the rows that moved. */
static void test_segment_rows (void)
{
    DnBackend *be = dn_backend_cpu ();
    enum { ROWS = 300, DIM = 787 }; /* a tail after the blocks of 16 */
    DnRng rng;
    dn_rng_seed (&rng, 21);
    g_autofree float *u = g_new (float, ROWS * DIM), *ctx = g_new (float, DIM);
    for (int i = 0; i < ROWS * DIM; i++)
        u[i] = dn_rng_normal (&rng);
    for (int i = 0; i < DIM; i++)
        ctx[i] = dn_rng_uniform (&rng) < 0.3f ? dn_rng_normal (&rng) : 0.0f;
    g_autofree float *all1 = g_new (float, ROWS), *all2 = g_new (float, ROWS),
                     *some = g_new (float, ROWS);
    dn_parallel_set_threads (1);
    be->segment_rows (be, ROWS, NULL, DIM, u, ctx, all1);
    dn_parallel_set_threads (2);
    be->segment_rows (be, ROWS, NULL, DIM, u, ctx, all2);
    for (int r = 0; r < ROWS; r++) {
        double want = 0.0;
        for (int k = 0; k < DIM; k++)
            want += (double) u[(size_t) r * DIM + k] * ctx[k];
        g_assert_cmpfloat_with_epsilon (all1[r], want, 1e-4 * (1.0 + fabs (want)));
        g_assert_cmpfloat (all1[r], ==, all2[r]);
    }
    int32_t rows[3] = {7, 299, 0};
    for (int r = 0; r < ROWS; r++)
        some[r] = -1.0f;
    be->segment_rows (be, 3, rows, DIM, u, ctx, some);
    for (int r = 0; r < ROWS; r++)
        if (r == 0 || r == 7 || r == 299)
            g_assert_cmpfloat (some[r], ==, all1[r]);
        else
            g_assert_cmpfloat (some[r], ==, -1.0f); /* rows not listed are left alone */
}

/* Synaptic Intelligence by hand: two parameters, a few steps. */
static void test_si_arithmetic (void)
{
    float theta[2] = {1.0f, 2.0f}, star[2] = {0.5f, 2.0f}, big[2] = {2.0f, 3.0f};
    float grad[2] = {0.1f, -0.2f};
    double pen = dn_si_penalty (2, theta, star, big, 0.1, grad);
    /* 0.1 * (2 * 0.25 + 3 * 0) = 0.05; grad += 2 * 0.1 * Omega * d */
    g_assert_cmpfloat_with_epsilon (pen, 0.05, 1e-7);
    g_assert_cmpfloat_with_epsilon (grad[0], 0.1f + 0.2f * 2.0f * 0.5f, 1e-7);
    g_assert_cmpfloat_with_epsilon (grad[1], -0.2f, 1e-7);

    float prev[2] = {0.8f, 2.1f}, omega[2] = {0.0f, 0.0f};
    float g2[2] = {0.5f, -1.0f};
    dn_si_accumulate (2, g2, theta, prev, omega);
    /* omega -= g * (theta - prev): -0.5*0.2 = -0.1; +1.0*(-0.1) = -0.1 */
    g_assert_cmpfloat_with_epsilon (omega[0], -0.1f, 1e-6);
    g_assert_cmpfloat_with_epsilon (omega[1], -0.1f, 1e-6);
    g_assert_cmpfloat (prev[0], ==, 1.0f);
    omega[0] = 0.3f; /* a positive one survives the ReLU */
    float big2[2] = {0.0f, 0.0f};
    dn_si_consolidate (2, theta, star, omega, big2, 0.1);
    /* Omega += relu(omega) / (delta^2 + xi): 0.3 / (0.25 + 0.1); negative omega adds 0 */
    g_assert_cmpfloat_with_epsilon (big2[0], 0.3f / 0.35f, 1e-6);
    g_assert_cmpfloat (big2[1], ==, 0.0f);
    g_assert_cmpfloat (star[0], ==, 1.0f);
    g_assert_cmpfloat (omega[0], ==, 0.0f);
    g_assert_cmpfloat (omega[1], ==, 0.0f);
}

static void test_permutations (void)
{
    enum { N = 784 };
    int a[N], b[N], c[N];
    dn_continual_permutation (42, 0, N, a);
    for (int i = 0; i < N; i++)
        g_assert_cmpint (a[i], ==, i);
    dn_continual_permutation (42, 3, N, a);
    dn_continual_permutation (42, 3, N, b);
    dn_continual_permutation (42, 4, N, c);
    g_assert_cmpmem (a, sizeof a, b, sizeof b);
    g_assert_false (memcmp (a, c, sizeof a) == 0);
    gboolean seen[N] = {0};
    for (int i = 0; i < N; i++) {
        g_assert_false (seen[a[i]]);
        seen[a[i]] = TRUE;
    }
    dn_continual_permutation (43, 3, N, c);
    g_assert_false (memcmp (a, c, sizeof a) == 0);
}

static void test_config_errors (void)
{
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"{\"tasks\": 0}", "tasks"},
        {"{\"context\": \"oracle\"}", "prototype"},
        {"{\"evaluate_after\": \"sometimes\"}", "every_task"},
        {"{\"synaptic_intelligence\": 3}", "synaptic_intelligence"},
        {"{\"tasks\": 2, \"epochs\": 3}", "unknown field \"epochs\""},
        {"{\"synaptic_intelligence\": {\"c\": -1}}", "\"c\""},
    };
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (JsonNode) n = parse (cases[i].json);
        DnContinualConfig cfg;
        dn_continual_config_defaults (&cfg);
        g_autoptr (GError) error = NULL;
        g_assert_false (dn_continual_config_from_json (json_node_get_object (n), &cfg, "x.json",
                                                       &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
        if (strstr (error->message, cases[i].needle) == NULL)
            g_error ("%s: message \"%s\" does not mention %s", cases[i].json, error->message,
                     cases[i].needle);
        dn_continual_config_clear (&cfg);
    }
    /* a layer configuration that cannot work */
    static const char *const bad_layers[] = {
        "{\"type\": \"active_dendrite\", \"out_features\": 4, \"segments\": 2}",
        "{\"type\": \"active_dendrite\", \"out_features\": 4, \"gating\": \"min\", "
        "\"context_dim\": 3, \"segments\": 2}",
        "{\"type\": \"kwta\", \"k\": 3, \"percent_on\": 0.1}",
        "{\"type\": \"sparse_linear\", \"out_features\": 4, \"segments\": 2}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS (bad_layers); i++) {
        g_autoptr (JsonNode) n = parse (bad_layers[i]);
        JsonObject *o = json_node_get_object (n);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnLayer) l = dn_layer_new (json_object_get_string_member (o, "type"), "x", o, &error);
        g_assert_null (l);
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    }
}

/* An active_dendrite layer without segments reads no context: its description must
 * build again (it used to write "context_dim": 0, which the reader refuses). */
static void test_no_segments_round_trip (void)
{
    DnNetwork *net = network ("{\"input\": [16], \"layers\": [{\"name\": \"fc1\", "
                              "\"type\": \"active_dendrite\", \"out_features\": 8}]}");
    g_autoptr (JsonNode) desc = dn_network_to_json (net);
    g_autoptr (GError) error = NULL;
    DnNetwork *again = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_cmpint (dn_network_n_params (again), ==, dn_network_n_params (net));
    g_assert_cmpint (dn_network_context_dim (again), ==, 0);
    dn_network_free (again);
    dn_network_free (net);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/active/gate-vectors", test_gate_vectors);
    g_test_add_func ("/engine/active/gate-variants", test_gate_variants);
    g_test_add_func ("/engine/active/kwta", test_kwta);
    g_test_add_func ("/engine/active/masks-and-init", test_masks_and_init);
    g_test_add_func ("/engine/active/live-rows-exact", test_live_rows_exact);
    g_test_add_func ("/engine/active/sparse-kernels", test_sparse_kernels);
    g_test_add_func ("/engine/active/segment-rows", test_segment_rows);
    g_test_add_func ("/engine/active/si-arithmetic", test_si_arithmetic);
    g_test_add_func ("/engine/active/permutations", test_permutations);
    g_test_add_func ("/engine/active/config-errors", test_config_errors);
    g_test_add_func ("/engine/active/no-segments-round-trip", test_no_segments_round_trip);
    return g_test_run ();
}
