/* test-dendrite.c: wrapping layers as neuron modules and adding dendrite sets
 * (spec: perforated-dendrites.md sections 4, 5.5, 9 and 11).
 *
 * Adding a dendrite must leave the network's function unchanged (T and D2D
 * gain zero rows), draw the new copy from N(0, (0.01)^2) with buffers as at
 * creation, and keep every existing weight. Parameter counts follow the
 * spec's closed forms (wrapping is test-dendrite-wrap.c's). A saved network
 * with dendrites loads bit-identical, and a fresh dendrite learns.
 */
#include "dn-dendrite-test.h"

/* ---- (a) adding a dendrite leaves the outputs unchanged ---- */

static void check_insertion (const char *example, gboolean training)
{
    const int batch = 3;
    g_autoptr (JsonNode) plain = example_network (example);
    g_autoptr (JsonNode) desc = training ? without_dropout (plain) : json_node_ref (plain);
    g_autoptr (JsonNode) wrapped = wrap (desc, NULL, NULL);
    DnNetwork *net = build (wrapped, batch, 5);
    dn_network_set_training (net, training);
    g_autofree float *x = random_input (net, batch, 6);
    DnRng rng;
    dn_rng_seed (&rng, 7);
    size_t n;
    g_autofree float *y0 = forward_copy (net, x, batch, &n);
    for (int k = 1; k <= 3; k++) {
        net = grow (net, &rng, batch);
        size_t m;
        g_autofree float *y1 = forward_copy (net, x, batch, &m);
        g_assert_cmpuint (m, ==, n);
        g_test_message ("%s, %s: %d dendrites, max difference %g", example,
                        training ? "training" : "eval", k, max_abs_diff (y0, y1, n));
        dn_assert_floats_close (y1, y0, n, 0.0, 1e-6);
        /* Give the dendrites weight: the output changes, and the next set must keep it. */
        randomize_cascade (net, 100 + k);
        g_free (y0);
        y0 = forward_copy (net, x, batch, &m);
        if (max_abs_diff (y0, y1, n) < 1e-3)
            FAIL ("%s with %d dendrites: non-zero T leaves the output unchanged", example, k);
    }
    dn_network_free (net);
}

static void test_insertion_mlp_eval (void)
{
    check_insertion ("mlp", FALSE);
}

static void test_insertion_mlp_training (void)
{
    check_insertion ("mlp", TRUE);
}

static void test_insertion_cnn_eval (void)
{
    check_insertion ("mnist-cnn", FALSE);
}

static void test_insertion_cnn_training (void)
{
    check_insertion ("mnist-cnn", TRUE);
}

/* A conv + batch norm group in training mode: batch statistics in every copy. */
static void test_insertion_bn_group (void)
{
    const int batch = 4;
    g_autoptr (JsonNode) desc = parse (BN_NET);
    g_autoptr (JsonNode) wrapped = wrap (desc, BN_GROUPS, NULL);
    DnNetwork *net = build (wrapped, batch, 8);
    DnRng rng;
    dn_rng_seed (&rng, 9);
    g_autofree float *x = random_input (net, batch, 10);
    for (int training = 0; training <= 1; training++) {
        dn_network_set_training (net, training);
        size_t n, m;
        g_autofree float *before = forward_copy (net, x, batch, &n);
        net = grow (net, &rng, batch);
        g_autofree float *after = forward_copy (net, x, batch, &m);
        dn_assert_floats_close (after, before, n, 0.0, 1e-6);
        randomize_cascade (net, 3 + training);
    }
    dn_network_free (net);
}

/* ---- (b) what a new dendrite starts from ---- */

static void moments (const float *x, size_t n, double *mean, double *std)
{
    double s = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt (ss / (n - 1));
}

/* Every trainable parameter of dendrite d in every dendritic node is N(0, scale^2). */
static void check_new_dendrite (DnNetwork *net, int d, double scale)
{
    g_autofree char *infix = g_strdup_printf (".dendrite_module.layers.%d.", d);
    g_autoptr (GPtrArray) named = dn_network_named_params (net);
    g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (float));
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = named->pdata[i];
        if (strstr (np->name, infix) == NULL || !np->param->trainable)
            continue;
        size_t n = (size_t) dn_shape_numel (&np->param->shape);
        g_array_append_vals (all, np->param->value, (guint) n);
        double mean, std;
        moments (np->param->value, n, &mean, &std);
        g_test_message ("%s: %zu values, mean %.3g, std %.4g", np->name, n, mean, std);
        if (n >= 250 && (fabs (std / scale - 1.0) > 0.2 || fabs (mean) > 4.0 * scale / sqrt (n)))
            FAIL ("%s: mean %g, std %g; expected N(0, %g^2)", np->name, mean, std, scale);
        for (size_t j = 0; j < n; j++)
            if (fabsf (np->param->value[j]) > 6.0 * scale)
                FAIL ("%s[%zu] = %g is far outside N(0, %g^2)", np->name, j, np->param->value[j],
                      scale);
    }
    g_assert_cmpuint (all->len, >, 1000);
    double mean, std;
    moments ((float *) all->data, all->len, &mean, &std);
    if (fabs (std / scale - 1.0) > 0.05)
        FAIL ("dendrite %d: %u values with std %g, expected %g", d, all->len, std, scale);
}

static void test_new_weights (void)
{
    const char *sels[] = {NULL, "{\"init_multiplier\": 0.1}"};
    const double scales[] = {0.01, 0.1};
    for (int s = 0; s < 2; s++) {
        g_autoptr (JsonNode) desc = example_network ("mnist-cnn");
        g_autoptr (JsonNode) wrapped = wrap (desc, sels[s], NULL);
        DnNetwork *net = build (wrapped, 1, 12);
        DnRng rng;
        dn_rng_seed (&rng, 13);
        net = grow (net, &rng, 1);
        check_new_dendrite (net, 0, scales[s]);
        net = grow (net, &rng, 1);
        check_new_dendrite (net, 1, scales[s]);
        dn_network_free (net);
    }
}

/* Existing weights are copied, T gains a zero row and D2D a zero (k, C) matrix. */
static void test_new_rows_zero (void)
{
    g_autoptr (JsonNode) desc = example_network ("mlp");
    g_autoptr (JsonNode) wrapped = wrap (desc, NULL, NULL);
    DnNetwork *net = build (wrapped, 1, 14);
    DnRng rng;
    dn_rng_seed (&rng, 15);
    const char *nodes[] = {"fc1", "fc2"};
    const int channels[] = {256, 10};
    for (int k = 1; k <= 3; k++) {
        g_autoptr (GPtrArray) old_named = dn_network_named_params (net);
        GHashTable *old = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
        for (guint i = 0; i < old_named->len; i++) {
            DnNamedParam *np = old_named->pdata[i];
            g_hash_table_insert (
                old, g_strdup (np->name),
                g_memdup2 (np->param->value, dn_shape_numel (&np->param->shape) * sizeof (float)));
        }
        net = grow (net, &rng, 1);
        for (int m = 0; m < 2; m++) {
            int c = channels[m];
            g_autofree char *tname = g_strdup_printf ("%s.dendrites_to_top.%d", nodes[m], k - 1);
            g_autofree char *told = g_strdup_printf ("%s.dendrites_to_top.%d", nodes[m], k - 2);
            DnParam *t = param (net, tname);
            DnShape ts = dn_shape_2d (k, c);
            g_assert_true (dn_shape_equal (&t->shape, &ts));
            if (k > 1)
                g_assert_cmpint (memcmp (t->value, g_hash_table_lookup (old, told),
                                         (size_t) (k - 1) * c * sizeof (float)),
                                 ==, 0);
            for (int j = 0; j < c; j++)
                g_assert_cmpfloat (t->value[(size_t) (k - 1) * c + j], ==, 0.0f);
            if (k > 1) {
                g_autofree char *dname = g_strdup_printf (
                    "%s.dendrite_module.dendrites_to_dendrites.%d", nodes[m], k - 1);
                DnParam *d2d = param (net, dname);
                DnShape ds = dn_shape_2d (k - 1, c);
                g_assert_true (dn_shape_equal (&d2d->shape, &ds));
                for (int64_t j = 0; j < dn_shape_numel (&ds); j++)
                    g_assert_cmpfloat (d2d->value[j], ==, 0.0f);
            }
        }
        /* Everything else that existed is copied bit for bit. */
        g_autoptr (GPtrArray) named = dn_network_named_params (net);
        int copied = 0;
        for (guint i = 0; i < named->len; i++) {
            DnNamedParam *np = named->pdata[i];
            const float *was = g_hash_table_lookup (old, np->name);
            if (was == NULL || g_strrstr (np->name, "dendrites_to_top") != NULL)
                continue;
            size_t n = (size_t) dn_shape_numel (&np->param->shape);
            if (memcmp (was, np->param->value, n * sizeof (float)) != 0)
                FAIL ("%s changed when dendrite %d was added", np->name, k);
            copied++;
        }
        g_assert_cmpint (copied, ==, (int) g_hash_table_size (old) - (k > 1 ? 2 : 0));
        g_hash_table_unref (old);
        randomize_cascade (net, 20 + k);
    }
    dn_network_free (net);
}

/* A new dendrite's batch norm starts from running statistics (0, 1); the others keep
 * theirs; its affine parameters are drawn like any other parameter. */
static void test_new_bn_stats (void)
{
    const int batch = 4;
    g_autoptr (JsonNode) desc = parse (BN_NET);
    g_autoptr (JsonNode) wrapped = wrap (desc, BN_GROUPS, NULL);
    DnNetwork *net = build (wrapped, batch, 16);
    DnRng rng;
    dn_rng_seed (&rng, 17);
    net = grow (net, &rng, batch);
    dn_network_set_training (net, TRUE);
    g_autofree float *x = random_input (net, batch, 18);
    for (int i = 0; i < 3; i++)
        dn_network_forward (net, x, batch, 1);
    const char *moved[] = {"conv1.main_module.1.running_mean", "conv1.main_module.1.running_var",
                           "conv1.dendrite_module.layers.0.1.running_mean",
                           "conv1.dendrite_module.layers.0.1.running_var",
                           "conv2.dendrite_module.layers.0.1.running_var"};
    float was[G_N_ELEMENTS (moved)][4];
    for (size_t i = 0; i < G_N_ELEMENTS (moved); i++) {
        DnParam *p = param (net, moved[i]);
        memcpy (was[i], p->value, sizeof was[i]);
        /* the statistics moved away from their start, (0, 1) */
        float start = g_str_has_suffix (moved[i], "_var") ? 1.0f : 0.0f;
        g_assert_cmpfloat (max_abs_diff (p->value, (float[]){start, start, start, start}, 4), >,
                           1e-4);
    }
    net = grow (net, &rng, batch);
    for (size_t i = 0; i < G_N_ELEMENTS (moved); i++)
        g_assert_cmpint (memcmp (was[i], param (net, moved[i])->value, sizeof was[i]), ==, 0);
    const char *nodes[] = {"conv1", "conv2"};
    for (int m = 0; m < 2; m++) {
        const struct {
            const char *p;
            float v;
        } want[] = {{"running_mean", 0.0f}, {"running_var", 1.0f}};
        for (int w = 0; w < 2; w++) {
            g_autofree char *name =
                g_strdup_printf ("%s.dendrite_module.layers.1.1.%s", nodes[m], want[w].p);
            DnParam *p = param (net, name);
            g_assert_false (p->trainable);
            for (int j = 0; j < 4; j++)
                g_assert_cmpfloat (p->value[j], ==, want[w].v);
        }
        g_autofree char *gamma = g_strdup_printf ("%s.dendrite_module.layers.1.1.weight", nodes[m]);
        DnParam *g = param (net, gamma);
        for (int j = 0; j < 4; j++)
            g_assert_cmpfloat (fabsf (g->value[j]), <, 0.06f);
    }
    dn_network_free (net);
}

/* ---- (c) parameter counts ---- */

typedef struct {
    int64_t p, c;
} Module;

/* Expected counts (spec 9) for modules mods with k dendrites and u other params. */
static void expected_counts (const Module *mods, int n, int64_t u, int k, int64_t *clean,
                             int64_t *ref)
{
    *clean = *ref = u;
    for (int i = 0; i < n; i++) {
        int64_t p = mods[i].p, c = mods[i].c;
        *clean += p * (k + 1) + c * k * (k + 1) / 2;
        *ref +=
            p * (k + 1) + c * k * (k + 1) / 2 + c * k * (k - 1) / 2 + (k >= 2 ? c * (k - 1) : 0);
    }
}

/* The fire-detection example: P = 4545, C = 129 over its modules. */
static void test_counts_fire_detection (void)
{
    g_autoptr (JsonNode) desc =
        parse ("{\"input\": [4], \"layers\": ["
               "{\"name\": \"fc1\", \"type\": \"linear\", \"out_features\": 64},"
               "{\"name\": \"relu1\", \"type\": \"relu\"},"
               "{\"name\": \"fc2\", \"type\": \"linear\", \"out_features\": 65}]}");
    g_autoptr (JsonNode) wrapped = wrap (desc, NULL, NULL);
    DnNetwork *net = build (wrapped, 1, 1);
    const int64_t reference[] = {4545, 9219, 14280, 19599};
    const int64_t clean[] = {4545, 9219, 14022, 18954}; /* P (k + 1) + C k (k + 1) / 2 */
    DnRng rng;
    dn_rng_seed (&rng, 2);
    for (int k = 0; k <= 3; k++) {
        if (k > 0)
            net = grow (net, &rng, 1);
        g_assert_cmpint (dn_network_dendrite_count (net), ==, k);
        g_assert_cmpint (dn_network_reference_param_count (net), ==, reference[k]);
        g_assert_cmpint (dn_network_clean_param_count (net), ==, clean[k]);
        g_assert_cmpint (dn_network_n_params (net), ==, clean[k]);
    }
    dn_network_free (net);
}

/* The closed forms on networks of several kinds, with params outside any module. */
static void check_counts (JsonNode *desc, const char *sel_json, int max_k)
{
    g_autoptr (JsonNode) wrapped = wrap (desc, sel_json, NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) plain = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    DnNetwork *net = build (wrapped, 1, 3);
    /* P and C of each module from the plain network's layers */
    Module mods[16];
    int n = 0;
    int64_t inside = 0;
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnNode *node = dn_network_node (net, i);
        if (dn_dendritic_count (node->layer) < 0)
            continue;
        JsonObject *o = json_array_get_object_element (
            json_object_get_array_member (json_node_get_object (wrapped), "layers"), i);
        int members = (int) json_array_get_length (json_object_get_array_member (o, "layers"));
        DnNode *first = dn_network_find_node (plain, node->name);
        g_assert_nonnull (first);
        int at = 0;
        while (dn_network_node (plain, at) != first)
            at++;
        mods[n].p = 0;
        for (int j = 0; j < members; j++)
            mods[n].p += dn_layer_n_params (dn_network_node (plain, at + j)->layer);
        mods[n].c = dn_network_node (plain, at + members - 1)->layer->out_shape.d[0];
        g_assert_cmpint (dn_dendritic_neuron_params (node->layer), ==, mods[n].p);
        g_assert_cmpint (dn_dendritic_channels (node->layer), ==, mods[n].c);
        inside += mods[n].p;
        n++;
    }
    g_assert_cmpint (n, ==, dn_network_n_dendritic (net));
    g_assert_cmpint (n, >, 0);
    int64_t u = dn_network_n_params (plain) - inside;
    DnRng rng;
    dn_rng_seed (&rng, 4);
    for (int k = 0; k <= max_k; k++) {
        if (k > 0)
            net = grow (net, &rng, 1);
        int64_t clean, ref;
        expected_counts (mods, n, u, k, &clean, &ref);
        g_test_message ("%d modules, %" G_GINT64_FORMAT
                        " other params, k = %d: clean %" G_GINT64_FORMAT
                        ", reference %" G_GINT64_FORMAT,
                        n, u, k, clean, ref);
        g_assert_cmpint (dn_network_clean_param_count (net), ==, clean);
        g_assert_cmpint (dn_network_n_params (net), ==, clean);
        g_assert_cmpint (dn_network_reference_param_count (net), ==, ref);
    }
    dn_network_free (net);
}

static void test_counts_formula (void)
{
    g_autoptr (JsonNode) mlp = example_network ("mlp");
    check_counts (mlp, NULL, 3);
    check_counts (mlp, "{\"track\": [\"fc2\"]}", 4);
    g_autoptr (JsonNode) cnn = example_network ("mnist-cnn");
    check_counts (cnn, NULL, 2);
    g_autoptr (JsonNode) bn = parse (BN_NET);
    check_counts (bn, BN_GROUPS, 4);
    /* batch norms left outside: their params count once */
    check_counts (bn, NULL, 3);
}

/* ---- (e) model files ---- */

static void test_model_roundtrip (void)
{
    const int batch = 3;
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (JsonNode) bn = parse (BN_NET);
    g_autoptr (JsonNode) wdesc = wrap (bn, BN_GROUPS, NULL);
    DnNetwork *net = build (wdesc, batch, 40);
    DnRng rng;
    dn_rng_seed (&rng, 41);
    g_autofree float *x = random_input (net, batch, 42);
    for (int k = 0; k <= 3; k++) {
        if (k > 0)
            net = grow (net, &rng, batch);
        randomize_cascade (net, 50 + k);
        /* running statistics away from (0, 1) */
        dn_network_set_training (net, TRUE);
        dn_network_forward (net, x, batch, 1);
        dn_network_set_training (net, FALSE);
        g_autofree char *path = g_strdup_printf ("%s/k%d.safetensors", dir, k);
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_model_save (net, path, NULL, &error));
        g_assert_no_error (error);
        g_autoptr (DnNetwork) back = dn_model_load (path, dn_backend_cpu (), NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (back);
        g_assert_cmpint (dn_network_dendrite_count (back), ==, k);
        g_assert_cmpuint (back->n_params, ==, net->n_params);
        g_assert_cmpint (memcmp (back->params, net->params, net->n_params * sizeof (float)), ==, 0);
        g_assert_cmpint (memcmp (back->buffers, net->buffers, net->n_buffers * sizeof (float)), ==,
                         0);
        g_assert_true (dn_network_reserve (back, batch, &error));
        dn_network_set_training (back, FALSE);
        size_t n, m;
        g_autofree float *ya = forward_copy (net, x, batch, &n);
        g_autofree float *yb = forward_copy (back, x, batch, &m);
        g_assert_cmpuint (n, ==, m);
        g_assert_cmpint (memcmp (ya, yb, n * sizeof (float)), ==, 0);
    }
    dn_network_free (net);
    dn_test_tmpdir_remove (dir);
}

/* ---- (f) a new dendrite learns ---- */

static double loss_and_grad (DnNetwork *net, const float *x, const float *t, int batch)
{
    DnBackend *be = net->backend;
    const DnTensor *y = dn_network_forward (net, x, batch, 1);
    g_autofree float *dy = g_new (float, batch);
    double loss = 0.0;
    be->mse (be, batch, 1, y->data, t, 1.0f, &loss, dy);
    dn_network_zero_grad (net);
    dn_network_backward (net, dy, batch);
    return loss;
}

static double train (DnNetwork *net, const float *x, const float *t, int batch, int steps)
{
    DnOptimConfig cfg;
    dn_optim_config_defaults (&cfg, DN_OPTIM_ADAM);
    cfg.lr = 0.01;
    g_autoptr (GError) error = NULL;
    g_autoptr (DnOptimizer) opt = dn_optimizer_new (&cfg, net->backend, net->n_params, &error);
    g_assert_no_error (error);
    double loss = 0.0;
    for (int s = 0; s < steps; s++) {
        loss = loss_and_grad (net, x, t, batch);
        dn_optimizer_step (opt, net->params, net->grads, cfg.lr);
    }
    return loss;
}

static void test_training (void)
{
    const int batch = 64;
    g_autoptr (JsonNode) desc =
        parse ("{\"input\": [2], \"layers\": ["
               "{\"name\": \"fc1\", \"type\": \"linear\", \"out_features\": 8},"
               "{\"name\": \"act\", \"type\": \"tanh\"},"
               "{\"name\": \"fc2\", \"type\": \"linear\", \"out_features\": 1}]}");
    g_autoptr (JsonNode) wdesc = wrap (desc, NULL, NULL);
    DnNetwork *net = build (wdesc, batch, 60);
    dn_network_set_training (net, TRUE);
    g_autofree float *x = random_input (net, batch, 61);
    g_autofree float *t = g_new (float, batch);
    for (int i = 0; i < batch; i++)
        t[i] = sinf (3.0f * x[2 * i]) * cosf (2.0f * x[2 * i + 1]);
    train (net, x, t, batch, 100);
    double before = loss_and_grad (net, x, t, batch);

    DnRng rng;
    dn_rng_seed (&rng, 62);
    net = grow (net, &rng, batch);
    double at_insertion = loss_and_grad (net, x, t, batch);
    g_assert_cmpfloat (fabs (at_insertion - before), <=, 1e-6 * before);
    /* The new dendrite's outputs: sigmoid of small values, near 0.5. */
    int b;
    size_t per;
    DnLayer *fc1 = dn_network_find_node (net, "fc1")->layer;
    const float *s0 = dn_dendritic_outputs (fc1, 0, &b, &per);
    g_assert_nonnull (s0);
    g_assert_cmpint (b, ==, batch);
    g_assert_cmpuint (per, ==, 8);
    for (size_t i = 0; i < (size_t) batch * per; i++)
        g_assert_cmpfloat (fabsf (s0[i] - 0.5f), <, 0.1f);
    g_assert_null (dn_dendritic_outputs (fc1, 1, &b, &per));
    /* First step (spec 5.4): T gets a gradient, the new dendrite's body none. */
    const char *nodes[] = {"fc1", "fc2"};
    for (int m = 0; m < 2; m++) {
        g_autofree char *tname = g_strdup_printf ("%s.dendrites_to_top.0", nodes[m]);
        g_autofree char *wname = g_strdup_printf ("%s.dendrite_module.layers.0.weight", nodes[m]);
        DnParam *tp = param (net, tname);
        DnParam *wp = param (net, wname);
        double tg = 0.0;
        for (int64_t j = 0; j < dn_shape_numel (&tp->shape); j++)
            tg += fabsf (tp->grad[j]);
        g_assert_cmpfloat (tg, >, 1e-6);
        for (int64_t j = 0; j < dn_shape_numel (&wp->shape); j++)
            g_assert_cmpfloat (wp->grad[j], ==, 0.0f);
    }
    g_autofree float *w0 =
        g_memdup2 (param (net, "fc1.dendrite_module.layers.0.weight")->value, 16 * sizeof (float));
    double after = train (net, x, t, batch, 30);
    g_test_message ("loss %g before the dendrite, %g after 30 steps with it", before, after);
    g_assert_cmpfloat (after, <, 0.95 * before);
    /* T became non-zero, and with it the dendrite learned. */
    DnParam *tp = param (net, "fc1.dendrites_to_top.0");
    g_assert_cmpfloat (max_abs_diff (tp->value, (float[8]){0}, 8), >, 1e-3);
    g_assert_cmpfloat (
        max_abs_diff (w0, param (net, "fc1.dendrite_module.layers.0.weight")->value, 16), >, 1e-4);
    dn_network_free (net);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/dendrite/insertion/mlp-eval", test_insertion_mlp_eval);
    g_test_add_func ("/engine/dendrite/insertion/mlp-training", test_insertion_mlp_training);
    g_test_add_func ("/engine/dendrite/insertion/cnn-eval", test_insertion_cnn_eval);
    g_test_add_func ("/engine/dendrite/insertion/cnn-training", test_insertion_cnn_training);
    g_test_add_func ("/engine/dendrite/insertion/bn-group", test_insertion_bn_group);
    g_test_add_func ("/engine/dendrite/new/weights", test_new_weights);
    g_test_add_func ("/engine/dendrite/new/zero-rows", test_new_rows_zero);
    g_test_add_func ("/engine/dendrite/new/bn-stats", test_new_bn_stats);
    g_test_add_func ("/engine/dendrite/counts/fire-detection", test_counts_fire_detection);
    g_test_add_func ("/engine/dendrite/counts/formula", test_counts_formula);
    g_test_add_func ("/engine/dendrite/model/roundtrip", test_model_roundtrip);
    g_test_add_func ("/engine/dendrite/training", test_training);
    return g_test_run ();
}
