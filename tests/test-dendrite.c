/* test-dendrite.c: wrapping layers as neuron modules and adding dendrite sets
 * (spec: perforated-dendrites.md sections 4, 5.5, 9 and 11).
 *
 * Adding a dendrite must leave the network's function unchanged (T and D2D
 * gain zero rows), draw the new copy from N(0, (0.01)^2) with buffers as at
 * creation, and keep every existing weight. Parameter counts follow the
 * spec's closed forms. Wrapping selects layers by type and name, groups a
 * conv with its norm, warns about a norm left outside and computes exactly
 * what the plain network did. A saved network with dendrites loads
 * bit-identical, and a fresh dendrite learns.
 */
#include "dn-dendrite.h"
#include "dn-error.h"
#include "dn-model.h"
#include "dn-optim.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        g_autofree char *fail_msg_ = g_strdup_printf (__VA_ARGS__);                                \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, fail_msg_);              \
    } while (0)

/* conv1 + bn1 and conv2 + bn2, a residual add that reads bn1, and a linear head. */
static const char *const bn_net =
    "{\"input\": [2, 6, 6], \"layers\": ["
    "{\"name\": \"conv1\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
    "\"padding\": 1},"
    "{\"name\": \"bn1\", \"type\": \"batchnorm2d\"},"
    "{\"name\": \"relu1\", \"type\": \"relu\"},"
    "{\"name\": \"conv2\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
    "\"padding\": 1},"
    "{\"name\": \"bn2\", \"type\": \"batchnorm2d\"},"
    "{\"name\": \"add1\", \"type\": \"add\", \"inputs\": [\"bn2\", \"bn1\"]},"
    "{\"name\": \"flatten\", \"type\": \"flatten\"},"
    "{\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 3}]}";
static const char *const bn_groups = "{\"groups\": [[\"conv1\", \"bn1\"], [\"conv2\", \"bn2\"]]}";

static JsonNode *parse (const char *json)
{
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (p, json, -1, &error);
    g_assert_no_error (error);
    return json_node_copy (json_parser_get_root (p));
}

/* The "network" member of data/examples/<name>.json. */
static JsonNode *example_network (const char *name)
{
    g_autofree char *file = g_strdup_printf ("examples/%s.json", name);
    g_autofree char *path = dn_test_data_path (file);
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_file (p, path, &error);
    g_assert_no_error (error);
    JsonObject *root = json_node_get_object (json_parser_get_root (p));
    return json_node_copy (json_object_get_member (root, "network"));
}

/* A copy of desc without its dropout layers (none of ours is read by name). */
static JsonNode *without_dropout (JsonNode *desc)
{
    JsonNode *out = json_node_copy (desc);
    JsonArray *layers = json_object_get_array_member (json_node_get_object (out), "layers");
    for (guint i = json_array_get_length (layers); i-- > 0;) {
        JsonObject *o = json_array_get_object_element (layers, i);
        if (g_str_equal (json_object_get_string_member (o, "type"), "dropout"))
            json_array_remove_element (layers, i);
    }
    return out;
}

static gboolean selection (const char *sel_json, DnDendriteSelection *sel, GError **error)
{
    dn_dendrite_selection_init (sel);
    if (sel_json == NULL)
        return TRUE;
    g_autoptr (JsonNode) n = parse (sel_json);
    return dn_dendrite_selection_from_json (json_node_get_object (n), sel, error);
}

/* desc wrapped with the selection in sel_json (NULL: defaults); must succeed. */
static JsonNode *wrap (JsonNode *desc, const char *sel_json, GPtrArray **warnings)
{
    DnDendriteSelection sel;
    g_autoptr (GError) error = NULL;
    g_assert_true (selection (sel_json, &sel, &error));
    g_assert_no_error (error);
    JsonNode *w = dn_dendrite_wrap_network (desc, &sel, warnings, &error);
    dn_dendrite_selection_clear (&sel);
    g_assert_no_error (error);
    g_assert_nonnull (w);
    return w;
}

/* "name:type" of every node, types of dendritic nodes as "dendritic(conv2d+batchnorm2d)". */
static char *layout (JsonNode *desc)
{
    GString *s = g_string_new (NULL);
    JsonArray *a = json_object_get_array_member (json_node_get_object (desc), "layers");
    for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonObject *o = json_array_get_object_element (a, i);
        const char *type = json_object_get_string_member (o, "type");
        g_string_append_printf (s, "%s%s:%s", i ? " " : "",
                                json_object_get_string_member_with_default (o, "name", "?"), type);
        if (g_str_equal (type, "dendritic")) {
            JsonArray *m = json_object_get_array_member (o, "layers");
            g_string_append_c (s, '(');
            for (guint j = 0; j < json_array_get_length (m); j++)
                g_string_append_printf (
                    s, "%s%s", j ? "+" : "",
                    json_object_get_string_member (json_array_get_object_element (m, j), "type"));
            g_string_append_c (s, ')');
        }
        if (json_object_has_member (o, "inputs")) {
            JsonArray *in = json_object_get_array_member (o, "inputs");
            g_string_append_c (s, '<');
            for (guint j = 0; j < json_array_get_length (in); j++)
                g_string_append_printf (s, "%s%s", j ? "," : "",
                                        json_array_get_string_element (in, j));
        }
    }
    return g_string_free (s, FALSE);
}

/* The error of wrapping desc with sel_json (at parsing or at wrapping). */
static void expect_wrap_error (JsonNode *desc, const char *sel_json, const char *needle)
{
    DnDendriteSelection sel;
    g_autoptr (GError) error = NULL;
    JsonNode *w = NULL;
    if (selection (sel_json, &sel, &error))
        w = dn_dendrite_wrap_network (desc, &sel, NULL, &error);
    dn_dendrite_selection_clear (&sel);
    if (w != NULL) {
        g_autofree char *got = layout (w);
        json_node_unref (w);
        FAIL ("%s was accepted: %s", sel_json, got);
    }
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_test_message ("%s: %s", sel_json, error->message);
    if (needle != NULL && strstr (error->message, needle) == NULL)
        FAIL ("error \"%s\" does not mention \"%s\"", error->message, needle);
}

static DnNetwork *build (JsonNode *desc, int batch, guint64 seed)
{
    g_autoptr (GError) error = NULL;
    DnNetwork *net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_true (dn_network_reserve (net, batch, &error));
    g_assert_no_error (error);
    DnRng rng;
    dn_rng_seed (&rng, seed);
    dn_network_init (net, &rng);
    return net;
}

/* One more dendrite everywhere; frees the old network. */
static DnNetwork *grow (DnNetwork *net, DnRng *rng, int batch)
{
    g_autoptr (GError) error = NULL;
    int k = dn_network_dendrite_count (net);
    DnNetwork *bigger = dn_network_add_dendrites (net, rng, &error);
    g_assert_no_error (error);
    g_assert_nonnull (bigger);
    g_assert_cmpint (dn_network_dendrite_count (bigger), ==, k + 1);
    g_assert_cmpint (bigger->training, ==, net->training);
    g_assert_true (dn_network_reserve (bigger, batch, &error));
    dn_network_free (net);
    return bigger;
}

static float *random_input (DnNetwork *net, int batch, guint64 seed)
{
    DnRng rng;
    dn_rng_seed (&rng, seed);
    size_t n = (size_t) batch * dn_shape_numel (&net->input_shape);
    float *x = g_new (float, n);
    for (size_t i = 0; i < n; i++)
        x[i] = dn_rng_normal (&rng);
    return x;
}

static float *forward_copy (DnNetwork *net, const float *x, int batch, size_t *n)
{
    const DnTensor *y = dn_network_forward (net, x, batch, 11);
    *n = (size_t) dn_tensor_numel (y);
    return g_memdup2 (y->data, *n * sizeof (float));
}

static gboolean is_cascade (const char *name)
{
    return strstr (name, ".dendrites_to_top.") != NULL ||
           strstr (name, ".dendrites_to_dendrites.") != NULL;
}

/* Non-zero output and cascade weights, so every dendrite matters. */
static void randomize_cascade (DnNetwork *net, guint64 seed)
{
    DnRng rng;
    dn_rng_seed (&rng, seed);
    g_autoptr (GPtrArray) named = dn_network_named_params (net);
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = named->pdata[i];
        if (is_cascade (np->name))
            for (int64_t j = 0; j < dn_shape_numel (&np->param->shape); j++)
                np->param->value[j] = dn_rng_uniform_range (&rng, 0.5f, 1.5f) *
                                      (dn_rng_uniform (&rng) < 0.5f ? -1.0f : 1.0f);
    }
}

static DnParam *param (DnNetwork *net, const char *name)
{
    g_autoptr (GPtrArray) named = dn_network_named_params (net);
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = named->pdata[i];
        if (g_str_equal (np->name, name))
            return np->param;
    }
    FAIL ("no parameter %s", name);
    return NULL;
}

static double max_abs_diff (const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = MAX (m, fabs ((double) a[i] - b[i]));
    return m;
}

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
    g_autoptr (JsonNode) desc = parse (bn_net);
    g_autoptr (JsonNode) wrapped = wrap (desc, bn_groups, NULL);
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
    g_autoptr (JsonNode) desc = parse (bn_net);
    g_autoptr (JsonNode) wrapped = wrap (desc, bn_groups, NULL);
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
    g_autoptr (JsonNode) bn = parse (bn_net);
    check_counts (bn, bn_groups, 4);
    /* batch norms left outside: their params count once */
    check_counts (bn, NULL, 3);
}

/* ---- (d) choosing the neuron modules ---- */

static void expect_layout (JsonNode *desc, const char *sel_json, const char *want, int n_warnings)
{
    GPtrArray *warnings = NULL;
    g_autoptr (JsonNode) w = wrap (desc, sel_json, &warnings);
    g_autofree char *got = layout (w);
    g_test_message ("%s: %s", sel_json ? sel_json : "defaults", got);
    g_assert_cmpstr (got, ==, want);
    g_assert_nonnull (warnings);
    for (guint i = 0; i < warnings->len; i++)
        g_test_message ("warning: %s", (char *) warnings->pdata[i]);
    g_assert_cmpint (warnings->len, ==, n_warnings);
    g_ptr_array_unref (warnings);
}

static void test_wrap_selection (void)
{
    g_autoptr (JsonNode) cnn = example_network ("mnist-cnn");
    const char *rest = " pool:maxpool2d dropout1:dropout flatten:flatten";
    g_autofree char *dflt = g_strconcat (
        "conv1:dendritic(conv2d) relu1:relu conv2:dendritic(conv2d) relu2:relu", rest,
        " fc1:dendritic(linear) relu3:relu dropout2:dropout fc2:dendritic(linear)", NULL);
    expect_layout (cnn, NULL, dflt, 0);
    g_autofree char *lin = g_strconcat ("conv1:conv2d relu1:relu conv2:conv2d relu2:relu", rest,
                                        " fc1:dendritic(linear) relu3:relu dropout2:dropout "
                                        "fc2:dendritic(linear)",
                                        NULL);
    expect_layout (cnn, "{\"perforate_types\": [\"linear\"]}", lin, 0);
    g_autofree char *named = g_strconcat ("conv1:conv2d relu1:relu conv2:conv2d relu2:relu", rest,
                                          " fc1:linear relu3:dendritic(relu) dropout2:dropout "
                                          "fc2:dendritic(linear)",
                                          NULL);
    expect_layout (cnn, "{\"perforate_types\": [], \"perforate\": [\"fc2\", \"relu3\"]}", named, 0);
    g_autofree char *off =
        g_strconcat ("conv1:conv2d relu1:relu conv2:dendritic(conv2d) relu2:relu", rest,
                     " fc1:dendritic(linear) relu3:relu dropout2:dropout "
                     "fc2:linear",
                     NULL);
    expect_layout (cnn, "{\"track\": [\"conv1\"], \"skip\": [\"fc2\"]}", off, 0);

    /* The wrapped network keeps the settings of its layers. */
    g_autoptr (JsonNode) w = wrap (cnn, NULL, NULL);
    JsonObject *conv2 = json_array_get_object_element (
        json_object_get_array_member (json_node_get_object (w), "layers"), 2);
    g_assert_cmpint (json_object_get_int_member (conv2, "dendrites"), ==, 0);
    g_assert_cmpstr (json_object_get_string_member (conv2, "forward_function"), ==, "sigmoid");
    JsonObject *inner =
        json_array_get_object_element (json_object_get_array_member (conv2, "layers"), 0);
    g_assert_cmpint (json_object_get_int_member (inner, "out_channels"), ==, 64);
    g_assert_cmpint (json_object_get_int_member (inner, "kernel_size"), ==, 3);
    g_assert_false (json_object_has_member (inner, "name"));
    g_autoptr (JsonNode) tanh = wrap (cnn, "{\"forward_function\": \"tanh\"}", NULL);
    JsonObject *t0 = json_array_get_object_element (
        json_object_get_array_member (json_node_get_object (tanh), "layers"), 0);
    g_assert_cmpstr (json_object_get_string_member (t0, "forward_function"), ==, "tanh");
}

static void test_wrap_groups (void)
{
    g_autoptr (JsonNode) bn = parse (bn_net);
    /* Grouped: one node per group; add1 read bn1, now the group conv1. */
    expect_layout (bn, bn_groups,
                   "conv1:dendritic(conv2d+batchnorm2d) relu1:relu "
                   "conv2:dendritic(conv2d+batchnorm2d) add1:add<conv2,conv1 flatten:flatten "
                   "fc:dendritic(linear)",
                   0);
    /* Not grouped: each norm after a wrapped conv is a warning naming both and the fix. */
    GPtrArray *warnings = NULL;
    g_autoptr (JsonNode) w = wrap (bn, NULL, &warnings);
    g_assert_cmpint (warnings->len, ==, 2);
    const char *pairs[2][2] = {{"bn1", "conv1"}, {"bn2", "conv2"}};
    for (int i = 0; i < 2; i++) {
        const char *msg = warnings->pdata[i];
        g_autofree char *fix = g_strdup_printf ("[\"%s\", \"%s\"]", pairs[i][1], pairs[i][0]);
        if (strstr (msg, pairs[i][0]) == NULL || strstr (msg, pairs[i][1]) == NULL ||
            strstr (msg, "\"groups\"") == NULL || strstr (msg, fix) == NULL)
            FAIL ("warning \"%s\" should name %s and %s and suggest %s in \"groups\"", msg,
                  pairs[i][0], pairs[i][1], fix);
    }
    g_ptr_array_unref (warnings);
    /* A norm after a tracked conv is fine. */
    expect_layout (bn, "{\"track\": [\"conv1\"]}",
                   "conv1:conv2d bn1:batchnorm2d relu1:relu conv2:dendritic(conv2d) "
                   "bn2:batchnorm2d add1:add<bn2,bn1 flatten:flatten fc:dendritic(linear)",
                   1);
    /* A longer group. */
    expect_layout (bn, "{\"groups\": [[\"conv2\", \"bn2\"], [\"flatten\", \"fc\"]]}",
                   "conv1:dendritic(conv2d) bn1:batchnorm2d relu1:relu "
                   "conv2:dendritic(conv2d+batchnorm2d) add1:add<conv2,bn1 "
                   "flatten:dendritic(flatten+linear)",
                   1);

    /* Groups that cannot be one module. */
    expect_wrap_error (bn, "{\"groups\": [[\"conv1\", \"relu1\"]]}", "conv1");
    expect_wrap_error (bn, "{\"groups\": [[\"conv1\", \"bn9\"]]}", "bn9");
    expect_wrap_error (bn, "{\"groups\": [[\"conv9\", \"bn1\"]]}", "conv9");
    expect_wrap_error (bn, "{\"groups\": [[\"bn1\", \"conv1\"]]}", "bn1");
    expect_wrap_error (bn, "{\"groups\": [[\"bn2\", \"add1\"]]}", "add1");
    expect_wrap_error (bn, "{\"groups\": [[\"conv1\", \"bn1\"], [\"bn1\", \"relu1\"]]}", "bn1");
    expect_wrap_error (bn, "{\"groups\": [[\"conv1\"]]}", "groups");
    expect_wrap_error (bn, "{\"groups\": [\"conv1\", \"bn1\"]}", "groups");
    expect_wrap_error (bn, "{\"groups\": [[\"conv1\", 2]]}", "groups");
    /* add1 reads bn1's output, which a group [bn1, relu1] no longer exposes. */
    expect_wrap_error (bn, "{\"groups\": [[\"conv1\", \"bn1\", \"relu1\"]]}", "bn1");
    /* A later layer reading the first layer of a group: its output is gone too. */
    g_autoptr (JsonNode) reads_conv = parse (
        "{\"input\": [1, 4, 4], \"layers\": ["
        "{\"name\": \"conv1\", \"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 1},"
        "{\"name\": \"bn1\", \"type\": \"batchnorm2d\"},"
        "{\"name\": \"add1\", \"type\": \"add\", \"inputs\": [\"bn1\", \"conv1\"]}]}");
    expect_wrap_error (reads_conv, "{\"groups\": [[\"conv1\", \"bn1\"]]}", "conv1");
    /* Bad selections. */
    expect_wrap_error (bn, "{\"forward_function\": \"gelu\"}", "forward_function");
    expect_wrap_error (bn, "{\"init_multiplier\": -0.5}", "init_multiplier");
    expect_wrap_error (bn, "{\"perforate\": \"fc\"}", "perforate");
    expect_wrap_error (bn, "{\"track\": [1]}", "track");
}

/* Selections written and read back are the same. */
static void test_selection_json (void)
{
    DnDendriteSelection a, b;
    g_autoptr (GError) error = NULL;
    g_assert_true (
        selection ("{\"perforate_types\": [\"conv2d\"], \"perforate\": [\"fc\"], "
                   "\"track\": [\"conv1\"], \"skip\": [\"x\"], \"groups\": [[\"conv2\", "
                   "\"bn2\"]], \"forward_function\": \"relu\", \"init_multiplier\": 0.5, "
                   "\"max_dendrites\": 3}",
                   &a, &error));
    g_assert_no_error (error);
    g_autoptr (JsonBuilder) jb = json_builder_new ();
    json_builder_begin_object (jb);
    dn_dendrite_selection_to_json (&a, jb);
    json_builder_end_object (jb);
    g_autoptr (JsonNode) j = json_builder_get_root (jb);
    g_autofree char *text = json_to_string (j, FALSE);
    g_test_message ("%s", text);
    g_assert_true (selection (text, &b, &error));
    g_assert_no_error (error);
    g_assert_cmpstrv (a.perforate_types, b.perforate_types);
    g_assert_cmpstrv (a.perforate_names, b.perforate_names);
    g_assert_cmpstrv (a.track_names, b.track_names);
    g_assert_cmpstrv (a.skip_names, b.skip_names);
    g_assert_cmpstrv (a.groups[0], b.groups[0]);
    g_assert_null (b.groups[1]);
    g_assert_cmpint (b.forward_function, ==, DN_ACT_RELU);
    g_assert_cmpfloat (b.init_multiplier, ==, 0.5);
    g_assert_true (dn_dendrite_selection_key ("groups"));
    g_assert_false (dn_dendrite_selection_key ("max_dendrites"));
    dn_dendrite_selection_clear (&a);
    dn_dendrite_selection_clear (&b);
}

/* The plain network's counterpart of each parameter of the wrapped one:
 * node.main_module.p is node.p, node.main_module.i.p the group's i-th layer's p. */
static GPtrArray *counterparts (DnNetwork *wrapped, DnNetwork *plain)
{
    g_autoptr (GPtrArray) named = dn_network_named_params (wrapped);
    g_autoptr (GPtrArray) pn = dn_network_named_params (plain);
    GPtrArray *pairs = g_ptr_array_new ();
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = named->pdata[i];
        const char *rest = np->name + strlen (np->node->name) + 1;
        g_autofree char *src = NULL;
        if (!g_str_has_prefix (rest, "main_module.")) {
            src = g_strdup (np->name);
        } else if (g_ascii_isdigit (rest[strlen ("main_module.")])) {
            rest += strlen ("main_module.");
            /* members follow the group's first layer in the plain network */
            DnNode *first = dn_network_find_node (plain, np->node->name);
            int at = 0;
            while (dn_network_node (plain, at) != first)
                at++;
            src = g_strdup_printf ("%s.%s", dn_network_node (plain, at + atoi (rest))->name,
                                   strchr (rest, '.') + 1);
        } else {
            src = g_strdup_printf ("%s.%s", np->node->name, rest + strlen ("main_module."));
        }
        DnParam *match = NULL;
        for (guint j = 0; j < pn->len && match == NULL; j++) {
            DnNamedParam *q = pn->pdata[j];
            if (g_str_equal (q->name, src))
                match = q->param;
        }
        if (match == NULL)
            FAIL ("%s (as %s) has no counterpart in the plain network", np->name, src);
        g_assert_true (dn_shape_equal (&match->shape, &np->param->shape));
        g_ptr_array_add (pairs, np->param);
        g_ptr_array_add (pairs, match);
    }
    g_assert_cmpuint (pairs->len, ==, 2 * pn->len);
    return pairs;
}

static float *random_floats (size_t n, guint64 seed)
{
    DnRng rng;
    dn_rng_seed (&rng, seed);
    float *x = g_new (float, n);
    for (size_t i = 0; i < n; i++)
        x[i] = dn_rng_normal (&rng);
    return x;
}

/* With k = 0 and the plain network's weights, the wrapped network computes the
 * same outputs and gradients, bit for bit. */
static void check_same_as_plain (JsonNode *desc, const char *sel_json, gboolean training)
{
    const int batch = 3;
    g_autoptr (JsonNode) wdesc = wrap (desc, sel_json, NULL);
    g_autoptr (DnNetwork) plain = build (desc, batch, 21);
    g_autoptr (DnNetwork) wrapped = build (wdesc, batch, 22);
    g_assert_cmpint (dn_network_n_dendritic (wrapped), >, 0);
    g_autoptr (GPtrArray) pairs = counterparts (wrapped, plain);
    for (guint i = 0; i < pairs->len; i += 2) {
        DnParam *w = pairs->pdata[i], *p = pairs->pdata[i + 1];
        memcpy (w->value, p->value, dn_shape_numel (&p->shape) * sizeof (float));
    }
    dn_network_set_training (plain, training);
    dn_network_set_training (wrapped, training);
    g_autofree float *x = random_input (plain, batch, 23);
    size_t n, m;
    g_autofree float *yp = forward_copy (plain, x, batch, &n);
    g_autofree float *yw = forward_copy (wrapped, x, batch, &m);
    g_assert_cmpuint (n, ==, m);
    g_assert_cmpint (memcmp (yp, yw, n * sizeof (float)), ==, 0);
    g_autofree float *dy = random_floats (n, 24);
    dn_network_zero_grad (plain);
    dn_network_zero_grad (wrapped);
    dn_network_backward (plain, dy, batch);
    dn_network_backward (wrapped, dy, batch);
    for (guint i = 0; i < pairs->len; i += 2) {
        DnParam *w = pairs->pdata[i], *p = pairs->pdata[i + 1];
        size_t k = (size_t) dn_shape_numel (&p->shape);
        if (p->trainable)
            g_assert_cmpint (memcmp (w->grad, p->grad, k * sizeof (float)), ==, 0);
        else /* running statistics updated alike in training */
            g_assert_cmpint (memcmp (w->value, p->value, k * sizeof (float)), ==, 0);
    }
}

static void test_wrap_same_function (void)
{
    g_autoptr (JsonNode) mlp = example_network ("mlp");
    g_autoptr (JsonNode) cnn = example_network ("mnist-cnn");
    g_autoptr (JsonNode) bn = parse (bn_net);
    for (int training = 0; training <= 1; training++) {
        check_same_as_plain (mlp, NULL, training);
        check_same_as_plain (cnn, NULL, training);
        check_same_as_plain (bn, bn_groups, training);
        check_same_as_plain (bn, "{\"groups\": [[\"conv2\", \"bn2\"]], \"track\": [\"fc\"]}",
                             training);
    }
}

/* A network with dendrites wrapped again is unchanged; one without any
 * dendritic layer cannot grow. */
static void test_wrap_again (void)
{
    g_autoptr (JsonNode) bn = parse (bn_net);
    g_autoptr (JsonNode) wdesc = wrap (bn, bn_groups, NULL);
    DnNetwork *net = build (wdesc, 1, 30);
    DnRng rng;
    dn_rng_seed (&rng, 31);
    net = grow (net, &rng, 1);
    net = grow (net, &rng, 1);
    g_autoptr (JsonNode) d2 = dn_network_to_json (net);
    g_autoptr (JsonNode) again = wrap (d2, NULL, NULL);
    g_autofree char *text = json_to_string (again, FALSE);
    g_test_message ("%s", text);
    g_autoptr (DnNetwork) rebuilt = build (again, 2, 32);
    g_assert_cmpint (dn_network_dendrite_count (rebuilt), ==, 2);
    g_assert_cmpint (dn_network_n_params (rebuilt), ==, dn_network_n_params (net));
    /* and computes the same with the same weights */
    randomize_cascade (net, 34);
    dn_network_copy_weights (rebuilt, net);
    g_autoptr (GError) err = NULL;
    g_assert_true (dn_network_reserve (net, 2, &err));
    g_autofree float *x = random_input (net, 2, 35);
    size_t n, m;
    g_autofree float *ya = forward_copy (net, x, 2, &n);
    g_autofree float *yb = forward_copy (rebuilt, x, 2, &m);
    g_assert_cmpuint (n, ==, m);
    g_assert_cmpint (memcmp (ya, yb, n * sizeof (float)), ==, 0);
    dn_network_free (net);
}

/* A network without dendritic layers cannot grow, nor one at the most dendrites. */
static void test_add_errors (void)
{
    DnRng rng;
    dn_rng_seed (&rng, 36);
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) bn = parse (bn_net);
    g_autoptr (DnNetwork) plain = build (bn, 1, 33);
    g_autoptr (DnNetwork) none = dn_network_add_dendrites (plain, &rng, &error);
    g_assert_null (none);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_test_message ("%s", error->message);
    g_clear_error (&error);

    g_autofree char *json = g_strdup_printf (
        "{\"input\": [3], \"layers\": [{\"name\": \"fc\", \"type\": \"dendritic\", "
        "\"dendrites\": %d, \"layers\": [{\"type\": \"linear\", \"out_features\": 2}]}]}",
        DN_DENDRITE_MAX);
    g_autoptr (JsonNode) desc = parse (json);
    g_autoptr (DnNetwork) most = build (desc, 1, 37);
    g_assert_cmpint (dn_network_dendrite_count (most), ==, DN_DENDRITE_MAX);
    g_autoptr (DnNetwork) more = dn_network_add_dendrites (most, &rng, &error);
    g_assert_null (more);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "fc"));
}

/* ---- (e) model files ---- */

static void test_model_roundtrip (void)
{
    const int batch = 3;
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (JsonNode) bn = parse (bn_net);
    g_autoptr (JsonNode) wdesc = wrap (bn, bn_groups, NULL);
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
    g_test_add_func ("/engine/dendrite/wrap/selection", test_wrap_selection);
    g_test_add_func ("/engine/dendrite/wrap/groups", test_wrap_groups);
    g_test_add_func ("/engine/dendrite/wrap/selection-json", test_selection_json);
    g_test_add_func ("/engine/dendrite/wrap/same-function", test_wrap_same_function);
    g_test_add_func ("/engine/dendrite/wrap/again", test_wrap_again);
    g_test_add_func ("/engine/dendrite/add/errors", test_add_errors);
    g_test_add_func ("/engine/dendrite/model/roundtrip", test_model_roundtrip);
    g_test_add_func ("/engine/dendrite/training", test_training);
    return g_test_run ();
}
