/* test-dendrite-wrap.c: choosing the neuron modules (spec: perforated-dendrites.md
 * section 4): wrapping selects layers by type and name, groups a conv with its
 * norm, warns about a norm left outside, computes exactly what the plain network
 * did, and refuses what it cannot wrap. */
#include "dn-dendrite-test.h"

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
    g_autoptr (JsonNode) bn = parse (BN_NET);
    /* Grouped: one node per group; add1 read bn1, now the group conv1. */
    expect_layout (bn, BN_GROUPS,
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
    g_autoptr (JsonNode) bn = parse (BN_NET);
    for (int training = 0; training <= 1; training++) {
        check_same_as_plain (mlp, NULL, training);
        check_same_as_plain (cnn, NULL, training);
        check_same_as_plain (bn, BN_GROUPS, training);
        check_same_as_plain (bn, "{\"groups\": [[\"conv2\", \"bn2\"]], \"track\": [\"fc\"]}",
                             training);
    }
}

/* A network with dendrites wrapped again is unchanged; one without any
 * dendritic layer cannot grow. */
static void test_wrap_again (void)
{
    g_autoptr (JsonNode) bn = parse (BN_NET);
    g_autoptr (JsonNode) wdesc = wrap (bn, BN_GROUPS, NULL);
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
    g_autoptr (JsonNode) bn = parse (BN_NET);
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

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/dendrite/wrap/selection", test_wrap_selection);
    g_test_add_func ("/engine/dendrite/wrap/groups", test_wrap_groups);
    g_test_add_func ("/engine/dendrite/wrap/selection-json", test_selection_json);
    g_test_add_func ("/engine/dendrite/wrap/same-function", test_wrap_same_function);
    g_test_add_func ("/engine/dendrite/wrap/again", test_wrap_again);
    g_test_add_func ("/engine/dendrite/add/errors", test_add_errors);

    return g_test_run ();
}
