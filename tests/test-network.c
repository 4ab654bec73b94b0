/* test-network.c: networks built from JSON, run and described.
 *
 * Builds the example networks and a residual graph, checks shapes and
 * PyTorch's parameter counts, one test per kind of bad description (each must
 * give the right error code and a message naming the layer or field), the
 * to_json round trip, forward on a batch against forward per sample, and
 * accumulation in backward. Model files are test-network-model.c's.
 */
#include "dn-network-test.h"

/* ---- building ----------------------------------------------------------- */

static void test_mlp (void)
{
    g_autoptr (DnNetwork) net = build_ok ("{\"input\": [4], \"layers\": ["
                                          "{\"type\": \"linear\", \"out_features\": 8},"
                                          "{\"type\": \"relu\"},"
                                          "{\"type\": \"linear\", \"out_features\": 3}]}");
    g_assert_cmpint (dn_network_n_nodes (net), ==, 3);
    /* unnamed layers are named <type><count> */
    g_assert_cmpstr (dn_network_node (net, 0)->name, ==, "linear1");
    g_assert_cmpstr (dn_network_node (net, 1)->name, ==, "relu1");
    g_assert_cmpstr (dn_network_node (net, 2)->name, ==, "linear2");
    /* default inputs: the node before, the first reads the network input */
    g_assert_cmpint (dn_network_node (net, 0)->inputs[0], ==, -1);
    g_assert_cmpint (dn_network_node (net, 2)->inputs[0], ==, 1);
    assert_node (net, "linear1", "(8)", 4 * 8 + 8);
    assert_node (net, "relu1", "(8)", 0);
    assert_node (net, "linear2", "(3)", 8 * 3 + 3);
    DnShape out = dn_network_output_shape (net);
    assert_shape (&out, "(3)");
    g_assert_cmpint (dn_network_n_params (net), ==, 67);
    g_assert_cmpuint (net->n_buffers, ==, 0);
    g_assert_nonnull (net->params);
    g_assert_nonnull (net->grads);
}

static void test_example_mlp (void)
{
    g_autoptr (DnNetwork) net = build_example ("mlp");
    assert_node (net, "flatten", "(784)", 0);
    assert_node (net, "fc1", "(256)", 784 * 256 + 256);
    assert_node (net, "fc2", "(10)", 256 * 10 + 10);
    g_assert_cmpint (dn_network_n_params (net), ==, 203530);
}

static void test_example_mnist_cnn (void)
{
    g_autoptr (DnNetwork) net = build_example ("mnist-cnn");
    assert_shape (&net->input_shape, "(1, 28, 28)");
    assert_node (net, "conv1", "(32, 26, 26)", 320);
    assert_node (net, "relu1", "(32, 26, 26)", 0);
    assert_node (net, "conv2", "(64, 24, 24)", 18496);
    assert_node (net, "pool", "(64, 12, 12)", 0);
    assert_node (net, "dropout1", "(64, 12, 12)", 0);
    assert_node (net, "flatten", "(9216)", 0);
    assert_node (net, "fc1", "(128)", 1179776);
    assert_node (net, "fc2", "(10)", 1290);
    g_assert_cmpint (dn_network_n_params (net), ==, 1199882);
}

static void test_example_resnet (void)
{
    g_autoptr (DnNetwork) net = build_example ("resnet-small");
    assert_node (net, "conv1", "(16, 28, 28)", 144);
    assert_node (net, "bn1", "(16, 28, 28)", 32);
    assert_node (net, "block1_add", "(16, 28, 28)", 0);
    assert_node (net, "block2_conv1", "(32, 14, 14)", 4608);
    assert_node (net, "block2_shortcut", "(32, 14, 14)", 512);
    assert_node (net, "block2_add", "(32, 14, 14)", 0);
    assert_node (net, "pool", "(32, 1, 1)", 0);
    assert_node (net, "flatten", "(32)", 0);
    assert_node (net, "fc", "(10)", 330);
    g_assert_cmpint (dn_network_n_params (net), ==, 19706);
    /* batch-norm running statistics are buffers: 2 * C for each of the 6 */
    g_assert_cmpuint (net->n_buffers, ==, 2 * (16 + 16 + 16 + 32 + 32 + 32));

    DnNode *add = dn_network_find_node (net, "block1_add");
    g_assert_cmpint (add->n_inputs, ==, 2);
    g_assert_cmpstr (dn_network_node (net, add->inputs[0])->name, ==, "block1_bn2");
    g_assert_cmpstr (dn_network_node (net, add->inputs[1])->name, ==, "relu1");
    DnNode *sc = dn_network_find_node (net, "block2_shortcut");
    g_assert_cmpstr (dn_network_node (net, sc->inputs[0])->name, ==, "block1_relu2");
    g_assert_null (dn_network_find_node (net, "nothing"));
}

static const char *const residual_json =
    "{\"input\": [3, 8, 8], \"layers\": ["
    "{\"name\": \"a\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
    "\"padding\": 1},"
    "{\"name\": \"a_relu\", \"type\": \"relu\"},"
    "{\"name\": \"b\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
    "\"padding\": 1},"
    "{\"name\": \"sum\", \"type\": \"add\", \"inputs\": [\"b\", \"a_relu\"]},"
    "{\"name\": \"skip\", \"type\": \"conv2d\", \"inputs\": \"input\", \"out_channels\": 2, "
    "\"kernel_size\": 1},"
    "{\"name\": \"cat\", \"type\": \"concat\", \"inputs\": [\"sum\", \"skip\", \"a\"]},"
    "{\"name\": \"bn\", \"type\": \"batchnorm2d\"},"
    "{\"name\": \"flat\", \"type\": \"flatten\"},"
    "{\"name\": \"head\", \"type\": \"linear\", \"out_features\": 2}]}";

static void test_residual (void)
{
    g_autoptr (DnNetwork) net = build_ok (residual_json);
    assert_node (net, "a", "(4, 8, 8)", 3 * 4 * 9 + 4);
    assert_node (net, "sum", "(4, 8, 8)", 0);
    assert_node (net, "skip", "(2, 8, 8)", 3 * 2 + 2);
    assert_node (net, "cat", "(10, 8, 8)", 0);
    assert_node (net, "bn", "(10, 8, 8)", 20);
    assert_node (net, "flat", "(640)", 0);
    assert_node (net, "head", "(2)", 640 * 2 + 2);

    DnNode *sum = dn_network_find_node (net, "sum");
    g_assert_cmpint (sum->n_inputs, ==, 2);
    g_assert_cmpint (sum->inputs[0], ==, 2);
    g_assert_cmpint (sum->inputs[1], ==, 1);
    /* "inputs" may be one name; "input" is the network's input */
    DnNode *skip = dn_network_find_node (net, "skip");
    g_assert_cmpint (skip->n_inputs, ==, 1);
    g_assert_cmpint (skip->inputs[0], ==, -1);
    DnNode *cat = dn_network_find_node (net, "cat");
    g_assert_cmpint (cat->n_inputs, ==, 3);
    g_assert_cmpint (cat->inputs[0], ==, 3);
    g_assert_cmpint (cat->inputs[1], ==, 4);
    g_assert_cmpint (cat->inputs[2], ==, 0);
    /* after a node with explicit inputs, the default is again the node before */
    DnNode *bn = dn_network_find_node (net, "bn");
    g_assert_cmpint (bn->inputs[0], ==, 5);
}

/* ---- errors ------------------------------------------------------------- */

typedef struct {
    const char *path;
    const char *json;
    int code;
    const char *fragment1; /* each must appear in the message; NULL: not checked */
    const char *fragment2;
} ErrorCase;

#define L(x) "{\"input\": [1, 4, 4], \"layers\": [" x "]}"

static const ErrorCase error_cases[] = {
    {"/engine/network/errors/not-an-object", "[1, 2]", DN_ERROR_CONFIG, "\"input\"", NULL},
    {"/engine/network/errors/missing-input", "{\"layers\": [{\"type\": \"relu\"}]}",
     DN_ERROR_CONFIG, "\"input\"", NULL},
    {"/engine/network/errors/input-not-array",
     "{\"input\": 784, \"layers\": [{\"type\": \"relu\"}]}", DN_ERROR_CONFIG, "\"input\"", NULL},
    {"/engine/network/errors/input-empty", "{\"input\": [], \"layers\": [{\"type\": \"relu\"}]}",
     DN_ERROR_CONFIG, "\"input\"", "0 dimensions"},
    {"/engine/network/errors/input-five-dims",
     "{\"input\": [1, 1, 1, 1, 1], \"layers\": [{\"type\": \"relu\"}]}", DN_ERROR_CONFIG,
     "\"input\"", "5 dimensions"},
    {"/engine/network/errors/input-zero", "{\"input\": [1, 0], \"layers\": [{\"type\": \"relu\"}]}",
     DN_ERROR_CONFIG, "\"input\"[1]", NULL},
    {"/engine/network/errors/input-negative",
     "{\"input\": [-3], \"layers\": [{\"type\": \"relu\"}]}", DN_ERROR_CONFIG, "\"input\"[0]",
     NULL},
    {"/engine/network/errors/input-fraction",
     "{\"input\": [1.5], \"layers\": [{\"type\": \"relu\"}]}", DN_ERROR_CONFIG, "\"input\"[0]",
     NULL},
    {"/engine/network/errors/input-string",
     "{\"input\": [\"28\"], \"layers\": [{\"type\": \"relu\"}]}", DN_ERROR_CONFIG, "\"input\"[0]",
     NULL},
    {"/engine/network/errors/input-dim-too-large",
     "{\"input\": [1, 99999999999], \"layers\": [{\"type\": \"relu\"}]}", DN_ERROR_CONFIG,
     "\"input\"[1]", NULL},
    {"/engine/network/errors/input-huge",
     "{\"input\": [100000, 100000, 100000], \"layers\": [{\"type\": \"relu\"}]}", DN_ERROR_CONFIG,
     "\"input\"", "(100000, 100000, 100000)"},
    {"/engine/network/errors/input-overflows-int64",
     "{\"input\": [16777216, 16777216, 16777216, 16777216], \"layers\": [{\"type\": \"relu\"}]}",
     DN_ERROR_CONFIG, "\"input\"", NULL},
    {"/engine/network/errors/layers-missing", "{\"input\": [4]}", DN_ERROR_CONFIG, "\"layers\"",
     NULL},
    {"/engine/network/errors/layers-empty", "{\"input\": [4], \"layers\": []}", DN_ERROR_CONFIG,
     "\"layers\"", NULL},
    {"/engine/network/errors/layers-not-array",
     "{\"input\": [4], \"layers\": {\"type\": \"relu\"}}", DN_ERROR_CONFIG, "\"layers\"", NULL},
    {"/engine/network/errors/layer-not-object", L ("{\"type\": \"relu\"}, \"relu\""),
     DN_ERROR_CONFIG, "layer 2", "object"},
    {"/engine/network/errors/layer-missing-type", L ("{\"name\": \"act\"}"), DN_ERROR_CONFIG,
     "layer 1", "\"type\""},
    {"/engine/network/errors/layer-type-not-string", L ("{\"type\": 3}"), DN_ERROR_CONFIG,
     "layer 1", "\"type\""},
    {"/engine/network/errors/unknown-type", L ("{\"name\": \"x\", \"type\": \"lstm\"}"),
     DN_ERROR_CONFIG, "'x'", "\"lstm\""},
    {"/engine/network/errors/unknown-setting",
     L ("{\"name\": \"act\", \"type\": \"relu\", \"inplace\": true}"), DN_ERROR_CONFIG, "'act'",
     "inplace"},
    {"/engine/network/errors/bad-setting",
     L ("{\"type\": \"flatten\"}, {\"name\": \"fc\", \"type\": \"linear\", \"out_features\": -2}"),
     DN_ERROR_CONFIG, "'fc'", "out_features"},
    {"/engine/network/errors/duplicate-name",
     L ("{\"name\": \"a\", \"type\": \"relu\"}, {\"name\": \"a\", \"type\": \"relu\"}"),
     DN_ERROR_CONFIG, "\"a\"", "used twice"},
    {"/engine/network/errors/duplicate-of-default-name",
     L ("{\"type\": \"relu\"}, {\"name\": \"relu1\", \"type\": \"relu\"}"), DN_ERROR_CONFIG,
     "\"relu1\"", "used twice"},
    {"/engine/network/errors/reserved-name", L ("{\"name\": \"input\", \"type\": \"relu\"}"),
     DN_ERROR_CONFIG, "\"input\"", "reserved"},
    {"/engine/network/errors/name-with-dot", L ("{\"name\": \"block.conv\", \"type\": \"relu\"}"),
     DN_ERROR_CONFIG, "layer 1", "dots"},
    {"/engine/network/errors/name-empty", L ("{\"name\": \"\", \"type\": \"relu\"}"),
     DN_ERROR_CONFIG, "layer 1", "\"name\""},
    {"/engine/network/errors/name-not-string", L ("{\"name\": 7, \"type\": \"relu\"}"),
     DN_ERROR_CONFIG, "layer 1", "\"name\""},
    {"/engine/network/errors/inputs-unknown",
     L ("{\"name\": \"a\", \"type\": \"relu\"}, {\"name\": \"s\", \"type\": \"add\", \"inputs\": "
        "[\"a\", \"ghost\"]}"),
     DN_ERROR_CONFIG, "'s'", "\"ghost\""},
    {"/engine/network/errors/inputs-later-layer",
     L ("{\"name\": \"a\", \"type\": \"relu\", \"inputs\": [\"b\"]}, {\"name\": \"b\", \"type\": "
        "\"relu\"}"),
     DN_ERROR_CONFIG, "'a'", "\"b\""},
    {"/engine/network/errors/inputs-itself",
     L ("{\"name\": \"a\", \"type\": \"relu\", \"inputs\": \"a\"}"), DN_ERROR_CONFIG, "'a'",
     "before it"},
    {"/engine/network/errors/inputs-number",
     L ("{\"name\": \"a\", \"type\": \"relu\", \"inputs\": 0}"), DN_ERROR_CONFIG, "'a'",
     "\"inputs\""},
    {"/engine/network/errors/inputs-empty-list",
     L ("{\"name\": \"a\", \"type\": \"relu\", \"inputs\": []}"), DN_ERROR_CONFIG, "'a'",
     "\"inputs\""},
    {"/engine/network/errors/inputs-list-of-numbers",
     L ("{\"name\": \"a\", \"type\": \"relu\", \"inputs\": [0]}"), DN_ERROR_CONFIG, "'a'",
     "\"inputs\""},
    {"/engine/network/errors/inputs-object",
     L ("{\"name\": \"a\", \"type\": \"relu\", \"inputs\": {\"x\": \"input\"}}"), DN_ERROR_CONFIG,
     "'a'", "\"inputs\""},
    {"/engine/network/errors/inputs-too-many",
     L ("{\"name\": \"a\", \"type\": \"add\", \"inputs\": [\"input\", \"input\", \"input\", "
        "\"input\", \"input\", \"input\", \"input\", \"input\", \"input\"]}"),
     DN_ERROR_CONFIG, "'a'", "\"inputs\""},
    {"/engine/network/errors/shape-linear-needs-flatten",
     L ("{\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 3}"), DN_ERROR_SHAPE, "'fc'",
     "flatten"},
    {"/engine/network/errors/shape-in-features",
     L ("{\"type\": \"flatten\"}, {\"name\": \"fc\", \"type\": \"linear\", \"in_features\": 10, "
        "\"out_features\": 3}"),
     DN_ERROR_SHAPE, "'fc'", "16"},
    {"/engine/network/errors/shape-add",
     L ("{\"name\": \"c\", \"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3}, "
        "{\"name\": \"s\", \"type\": \"add\", \"inputs\": [\"c\", \"input\"]}"),
     DN_ERROR_SHAPE, "'s'", NULL},
    {"/engine/network/errors/shape-concat",
     L ("{\"name\": \"c\", \"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3}, "
        "{\"name\": \"cat\", \"type\": \"concat\", \"inputs\": [\"c\", \"input\"]}"),
     DN_ERROR_SHAPE, "'cat'", NULL},
    {"/engine/network/errors/shape-kernel-too-big",
     L ("{\"name\": \"c\", \"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 5}"),
     DN_ERROR_SHAPE, "'c'", NULL},
    {"/engine/network/errors/shape-conv-on-flat",
     L ("{\"type\": \"flatten\"}, {\"name\": \"c\", \"type\": \"conv2d\", \"out_channels\": 2, "
        "\"kernel_size\": 1}"),
     DN_ERROR_SHAPE, "'c'", NULL},
    {"/engine/network/errors/shape-one-input-add", L ("{\"name\": \"s\", \"type\": \"add\"}"),
     DN_ERROR_SHAPE, "'s'", NULL},
    {"/engine/network/errors/shape-two-inputs-relu",
     L ("{\"name\": \"r\", \"type\": \"relu\", \"inputs\": [\"input\", \"input\"]}"),
     DN_ERROR_SHAPE, "'r'", NULL},
    /* sizes no machine can hold are refused before anything is allocated */
    {"/engine/network/errors/huge-weight",
     "{\"input\": [65536], \"layers\": [{\"name\": \"fc\", \"type\": \"linear\", "
     "\"out_features\": 65536}]}",
     DN_ERROR_CONFIG, "'fc'", "weight"},
    {"/engine/network/errors/huge-output",
     "{\"input\": [1, 1, 1], \"layers\": [{\"name\": \"c\", \"type\": \"conv2d\", "
     "\"out_channels\": 1048576, \"kernel_size\": 1, \"padding\": 4096}]}",
     DN_ERROR_CONFIG, "'c'", "output"},
    {"/engine/network/errors/huge-total",
     "{\"input\": [32768], \"layers\": ["
     "{\"name\": \"fc1\", \"type\": \"linear\", \"out_features\": 40000},"
     "{\"name\": \"fc2\", \"type\": \"linear\", \"out_features\": 40000}]}",
     DN_ERROR_CONFIG, "network", "in all"},
};

static void test_error_case (gconstpointer data)
{
    const ErrorCase *c = data;
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net = build (c->json, &error);
    g_assert_null (net);
    g_assert_error (error, DN_ERROR, c->code);
    g_test_message ("message: %s", error->message);
    assert_message_has (error, c->fragment1);
    assert_message_has (error, c->fragment2);
}

/* Layer names end up in terminals, tensor names and messages: bounded, and free
 * of control characters, escapes and bidirectional overrides. */
static void test_layer_name_hostile (void)
{
    static const struct {
        const char *name; /* JSON string body */
        const char *needle;
    } cases[] = {
        {"fc\\u001b[31m", "U+001B"},
        {"fc\\u202e", "U+202E"},
        {"fc\\u2066x", "U+2066"},
        {"f\\tc", "U+0009"},
        {"fc\\u007f", "U+007F"},
        {"", "is empty"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *json = g_strdup_printf (
            "{\"input\": [4], \"layers\": [{\"name\": \"%s\", \"type\": \"relu\"}]}",
            cases[i].name);
        g_autoptr (JsonNode) desc = parse (json);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnNetwork) net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
        g_assert_null (net);
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
        g_test_message ("%s", error->message);
        assert_message_has (error, "layer 1");
        assert_message_has (error, cases[i].needle);
    }
    /* a 50 MB name: refused, and the message shows 60 characters of it */
    gsize n = 50 * 1000 * 1000;
    g_autofree char *big = g_malloc (n + 1);
    memset (big, 'n', n);
    big[n] = '\0';
    g_autoptr (JsonNode) desc = json_from_string ("{\"input\": [4], \"layers\": [{\"type\": \"relu\"}]}",
                                                  NULL);
    JsonObject *layer = json_array_get_object_element (
        json_object_get_array_member (json_node_get_object (desc), "layers"), 0);
    json_object_set_string_member (layer, "name", big);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_null (net);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    assert_message_has (error, "at most 128");
    g_assert_cmpuint (strlen (error->message), <, 300);
    /* 128 characters are fine */
    big[128] = '\0';
    json_object_set_string_member (layer, "name", big);
    g_clear_error (&error);
    g_autoptr (DnNetwork) ok = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_nonnull (ok);
}

/* The one way messages show a user's value: quoted, cut, escaped. */
static void test_quote (void)
{
    g_autofree char *plain = dn_quote ("fc1");
    g_assert_cmpstr (plain, ==, "\"fc1\"");
    g_autofree char *none = dn_quote (NULL);
    g_assert_cmpstr (none, ==, "(none)");
    g_autofree char *esc = dn_quote ("a\x1b[2J\"b\\\xe2\x80\xae\xff");
    g_assert_cmpstr (esc, ==, "\"a\\u001b[2J\\\"b\\\\\\u202e\\xff\"");
    char long_name[200];
    memset (long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    g_autofree char *cut = dn_quote (long_name);
    g_assert_cmpuint (g_utf8_strlen (cut, -1), ==, DN_QUOTE_CHARS + 3);
    g_assert_true (g_str_has_suffix (cut, "x…\""));
    /* multibyte characters count as one and are never split */
    GString *wide = g_string_new (NULL);
    for (int i = 0; i < 100; i++)
        g_string_append (wide, "é");
    g_autofree char *w = dn_quote (wide->str);
    g_assert_true (g_utf8_validate (w, -1, NULL));
    g_assert_cmpuint (g_utf8_strlen (w, -1), ==, DN_QUOTE_CHARS + 3);
    g_string_free (wide, TRUE);
}

static void test_null_description (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net = dn_network_new_from_json (NULL, dn_backend_cpu (), &error);
    g_assert_null (net);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
}

/* ---- to_json ------------------------------------------------------------ */

static void roundtrip (JsonNode *desc)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) a = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_autoptr (JsonNode) ja = dn_network_to_json (a);
    g_autoptr (DnNetwork) b = dn_network_new_from_json (ja, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_autoptr (JsonNode) jb = dn_network_to_json (b);

    g_autofree char *sa = dn_network_summary (a);
    g_autofree char *sb = dn_network_summary (b);
    g_assert_cmpstr (sa, ==, sb);
    assert_same_params (a, b, FALSE);
    g_assert_cmpint (dn_network_n_params (a), ==, dn_network_n_params (b));
    g_assert_cmpuint (a->n_buffers, ==, b->n_buffers);
    for (int i = 0; i < dn_network_n_nodes (a); i++) {
        DnNode *x = dn_network_node (a, i), *y = dn_network_node (b, i);
        g_assert_cmpstr (x->name, ==, y->name);
        g_assert_cmpint (x->n_inputs, ==, y->n_inputs);
        for (int k = 0; k < x->n_inputs; k++)
            g_assert_cmpint (x->inputs[k], ==, y->inputs[k]);
    }
    /* the written description is a fixed point */
    g_autofree char *ta = json_to_string (ja, FALSE);
    g_autofree char *tb = json_to_string (jb, FALSE);
    g_assert_cmpstr (ta, ==, tb);
}

static void test_roundtrip_examples (void)
{
    const char *names[] = {"mlp", "mnist-cnn", "resnet-small"};
    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        g_test_message ("example %s", names[i]);
        g_autoptr (JsonNode) desc = example_network (names[i]);
        roundtrip (desc);
    }
}

static void test_roundtrip_residual (void)
{
    g_autoptr (JsonNode) desc = parse (residual_json);
    roundtrip (desc);
}

static void test_roundtrip_settings (void)
{
    /* every kind of layer with settings away from the defaults */
    g_autoptr (JsonNode) desc = parse (
        "{\"input\": [2, 9, 9], \"layers\": ["
        "{\"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": [3, 2], \"stride\": 2, "
        "\"padding\": [1, 0], \"dilation\": 1, \"groups\": 2, \"bias\": false},"
        "{\"type\": \"batchnorm2d\", \"eps\": 0.001, \"momentum\": 0.2},"
        "{\"type\": \"leaky_relu\", \"negative_slope\": 0.2},"
        "{\"type\": \"maxpool2d\", \"kernel_size\": 2, \"stride\": 1, \"padding\": 1},"
        "{\"type\": \"avgpool2d\", \"kernel_size\": 2},"
        "{\"type\": \"dropout\", \"p\": 0.1},"
        "{\"type\": \"flatten\"},"
        "{\"type\": \"layernorm\"},"
        "{\"type\": \"linear\", \"out_features\": 6, \"bias\": false},"
        "{\"type\": \"batchnorm1d\", \"affine\": false},"
        "{\"type\": \"gelu\"}, {\"type\": \"tanh\"}, {\"type\": \"sigmoid\"},"
        "{\"type\": \"log_softmax\", \"dim\": 1}]}");
    roundtrip (desc);
}

/* ---- running ------------------------------------------------------------ */

/* In eval mode every sample's output depends on that sample alone. */
static void check_batch_matches_samples (DnNetwork *net, int batch)
{
    fill_random (net, 7);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, batch, &error));
    g_assert_no_error (error);
    dn_network_set_training (net, FALSE);
    size_t in = (size_t) dn_shape_numel (&net->input_shape);
    DnShape os = dn_network_output_shape (net);
    size_t out = (size_t) dn_shape_numel (&os);
    g_autofree float *x = random_floats (in * batch, 11);
    const DnTensor *y = dn_network_forward (net, x, batch, 1);
    g_assert_cmpint (y->shape[0], ==, batch);
    g_autofree float *whole = g_memdup2 (y->data, out * batch * sizeof (float));
    float max_abs = 0.0f;
    for (size_t i = 0; i < out * batch; i++)
        max_abs = MAX (max_abs, fabsf (whole[i]));
    g_assert_cmpfloat (max_abs, >, 0.0f);
    for (int b = 0; b < batch; b++) {
        const DnTensor *yb = dn_network_forward (net, x + b * in, 1, 2);
        g_assert_cmpint (yb->shape[0], ==, 1);
        dn_assert_floats_close (yb->data, whole + b * out, out, 1e-4, 1e-5);
    }
}

static void test_forward_batch_mnist (void)
{
    g_autoptr (DnNetwork) net = build_example ("mnist-cnn");
    check_batch_matches_samples (net, 5);
}

static void test_forward_batch_resnet (void)
{
    g_autoptr (DnNetwork) net = build_example ("resnet-small");
    check_batch_matches_samples (net, 3);
}

static void test_forward_batch_residual (void)
{
    g_autoptr (DnNetwork) net = build_ok (residual_json);
    check_batch_matches_samples (net, 4);
}

static void test_reserve_grows (void)
{
    g_autoptr (DnNetwork) net = build_ok (residual_json);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, 2, &error));
    g_assert_cmpint (net->max_batch, ==, 2);
    g_assert_true (dn_network_reserve (net, 1, &error));
    g_assert_cmpint (net->max_batch, ==, 2);
    g_assert_true (dn_network_reserve (net, 6, &error));
    g_assert_no_error (error);
    g_assert_cmpint (net->max_batch, ==, 6);
    fill_random (net, 3);
    dn_network_set_training (net, FALSE);
    g_autofree float *x = random_floats (6 * 3 * 8 * 8, 5);
    const DnTensor *y = dn_network_forward (net, x, 6, 0);
    g_assert_cmpint (y->shape[0], ==, 6);
    g_assert_cmpint (y->shape[1], ==, 2);
}

/* Two backward calls without zero_grad add up: the grads double. */
static void check_backward_accumulates (DnNetwork *net, int batch)
{
    fill_random (net, 21);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, batch, &error));
    /* eval mode: batch-norm uses running statistics, dropout is the identity */
    dn_network_set_training (net, FALSE);
    size_t in = (size_t) dn_shape_numel (&net->input_shape);
    DnShape os = dn_network_output_shape (net);
    size_t out = (size_t) dn_shape_numel (&os);
    g_autofree float *x = random_floats (in * batch, 4);
    g_autofree float *dy = random_floats (out * batch, 9);
    dn_network_forward (net, x, batch, 0);
    dn_network_zero_grad (net);
    for (size_t i = 0; i < net->n_params; i++)
        g_assert_cmpfloat (net->grads[i], ==, 0.0f);
    dn_network_backward (net, dy, batch);
    g_autofree float *once = g_memdup2 (net->grads, net->n_params * sizeof (float));
    size_t nonzero = 0;
    for (size_t i = 0; i < net->n_params; i++)
        nonzero += once[i] != 0.0f;
    g_assert_cmpuint (nonzero, >, net->n_params / 2);
    dn_network_backward (net, dy, batch);
    g_autofree float *twice = g_new (float, net->n_params);
    for (size_t i = 0; i < net->n_params; i++)
        twice[i] = 2.0f * once[i];
    dn_assert_floats_close (net->grads, twice, net->n_params, 1e-5, 1e-7);
    dn_network_zero_grad (net);
    for (size_t i = 0; i < net->n_params; i++)
        g_assert_cmpfloat (net->grads[i], ==, 0.0f);
}

static void test_backward_accumulates_mlp (void)
{
    g_autoptr (DnNetwork) net = build_ok ("{\"input\": [5], \"layers\": ["
                                          "{\"type\": \"linear\", \"out_features\": 7},"
                                          "{\"type\": \"tanh\"},"
                                          "{\"type\": \"linear\", \"out_features\": 3}]}");
    check_backward_accumulates (net, 4);
}

static void test_backward_accumulates_residual (void)
{
    g_autoptr (DnNetwork) net = build_ok (residual_json);
    check_backward_accumulates (net, 3);
}

/* ---- fusion -------------------------------------------------------------- */

/* Chains a conv2d computes (DnLayerClass.fuse): a relu and a maxpool2d, a relu alone, and
 * a max pooling with overlapping, padded windows alone. */
static const char *fusion_json =
    "{\"input\": [2, 9, 9], \"layers\": ["
    "{\"name\": \"a\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
    "\"padding\": 1},"
    "{\"type\": \"relu\"},"
    "{\"type\": \"maxpool2d\", \"kernel_size\": 2},"
    "{\"name\": \"b\", \"type\": \"conv2d\", \"out_channels\": 6, \"kernel_size\": 2, "
    "\"groups\": 2},"
    "{\"type\": \"relu\"},"
    "{\"name\": \"c\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
    "\"padding\": 1, \"bias\": false},"
    "{\"type\": \"maxpool2d\", \"kernel_size\": 3, \"stride\": 2, \"padding\": 1},"
    "{\"type\": \"flatten\"},"
    "{\"type\": \"linear\", \"out_features\": 3}]}";

/* Fused, the network computes the very same numbers as layer by layer (every output
 * kept, so nothing fuses). */
/* Trains one step of a and b (same parameters, same input and output gradient) and
 * checks that they give bit-identical outputs (out floats per sample) and parameter
 * gradients. */
static void assert_same_numbers (DnNetwork *a, DnNetwork *b, int batch, size_t out, guint x_seed,
                                 guint dy_seed)
{
    size_t in = (size_t) dn_shape_numel (&a->input_shape);
    g_autofree float *x = random_floats (in * batch, x_seed);
    g_autofree float *dy = random_floats (out * batch, dy_seed);
    DnNetwork *nets[2] = {a, b};
    g_autofree float *y0 = NULL;
    for (int k = 0; k < 2; k++) {
        g_autoptr (GError) error = NULL;
        fill_random (nets[k], 5);
        g_assert_true (dn_network_reserve (nets[k], batch, &error));
        const DnTensor *y = dn_network_forward (nets[k], x, batch, 1);
        dn_network_zero_grad (nets[k]);
        dn_network_backward (nets[k], dy, batch);
        if (k == 0)
            y0 = g_memdup2 (y->data, out * batch * sizeof (float));
        else
            g_assert_cmpmem (y->data, out * batch * sizeof (float), y0, out * batch * sizeof (float));
    }
    g_assert_cmpuint (a->n_params, ==, b->n_params);
    g_assert_cmpmem (a->grads, a->n_params * sizeof (float), b->grads, b->n_params * sizeof (float));
}

/* Builds `json` twice, once with fusion planned and once with every output kept (no
 * fusion), checks the planned chains (chains[i]: how many nodes node i computes beyond
 * itself) and that both give bit-identical outputs and parameter gradients. */
static void check_fusion (const char *json, const int *chains, int n_nodes, size_t out)
{
    g_autoptr (DnNetwork) fused = build_ok (json);
    g_autoptr (DnNetwork) plain = build_ok (json);
    for (int i = 0; i < dn_network_n_nodes (plain); i++)
        dn_network_keep_output (plain, i);
    g_assert_cmpint (dn_network_n_nodes (fused), ==, n_nodes);
    for (int i = 0; i < dn_network_n_nodes (fused); i++) {
        g_assert_cmpint (dn_network_node (fused, i)->fused, ==, chains[i]);
        g_assert_cmpint (dn_network_node (plain, i)->fused, ==, 0);
    }
    assert_same_numbers (fused, plain, 3, out, 8, 9);
}

static void test_fusion_same_numbers (void)
{
    static const int chains[] = {2, 0, 0, 1, 0, 1, 0, 0, 0};
    check_fusion (fusion_json, chains, G_N_ELEMENTS (chains), 3);
}

/* Dendritic modules fuse too: without dendrites their conv takes the ReLU and the
 * pooling; with dendrites the combination takes them. */
static void test_fusion_dendritic (void)
{
    for (int k = 0; k <= 2; k++) {
        g_autofree char *json = g_strdup_printf (
            "{\"input\": [2, 8, 8], \"layers\": ["
            "{\"name\": \"a\", \"type\": \"dendritic\", \"dendrites\": %d, \"layers\": "
            "[{\"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
            "\"padding\": 1}]},"
            "{\"type\": \"relu\"},"
            "{\"type\": \"maxpool2d\", \"kernel_size\": 2},"
            "{\"type\": \"flatten\"},"
            "{\"name\": \"b\", \"type\": \"dendritic\", \"dendrites\": %d, \"layers\": "
            "[{\"type\": \"linear\", \"out_features\": 5}]},"
            "{\"type\": \"relu\"},"
            "{\"name\": \"c\", \"type\": \"linear\", \"out_features\": 3}]}",
            k, k);
        /* k = 0: the conv takes relu + pool, the linear module nothing; k >= 1: the conv
         * module takes relu + pool, the linear one its relu */
        const int chains0[] = {2, 0, 0, 0, 0, 0, 0}, chains1[] = {2, 0, 0, 0, 1, 0, 0};
        check_fusion (json, k == 0 ? chains0 : chains1, 7, 3);
    }
    /* a conv + batch norm module (its copies run one by one after the stacked conv) and
     * an overlapping pooling */
    static const char *group =
        "{\"input\": [2, 8, 8], \"layers\": ["
        "{\"name\": \"a\", \"type\": \"dendritic\", \"dendrites\": 2, \"layers\": "
        "[{\"type\": \"conv2d\", \"out_channels\": 3, \"kernel_size\": 3, \"padding\": 1},"
        "{\"type\": \"batchnorm2d\"}]},"
        "{\"type\": \"relu\"},"
        "{\"type\": \"maxpool2d\", \"kernel_size\": 3, \"stride\": 2, \"padding\": 1},"
        "{\"type\": \"flatten\"},"
        "{\"name\": \"c\", \"type\": \"linear\", \"out_features\": 3}]}";
    static const int chains[] = {2, 0, 0, 0, 0};
    check_fusion (group, chains, G_N_ELEMENTS (chains), 3);
}

/* A flatten shares its input's memory (DnLayerClass.view): first, in the middle and last,
 * the network computes what it computes without them. */
static void test_view_same_numbers (void)
{
    g_autoptr (DnNetwork) with =
        build_ok ("{\"input\": [6], \"layers\": [{\"type\": \"flatten\"},"
                  "{\"type\": \"linear\", \"out_features\": 4}, {\"type\": \"flatten\"},"
                  "{\"type\": \"tanh\"}, {\"type\": \"linear\", \"out_features\": 3},"
                  "{\"type\": \"flatten\"}]}");
    g_autoptr (DnNetwork) without =
        build_ok ("{\"input\": [6], \"layers\": [{\"type\": \"linear\", \"out_features\": 4},"
                  "{\"type\": \"tanh\"}, {\"type\": \"linear\", \"out_features\": 3}]}");
    assert_same_numbers (with, without, 2, 3, 3, 4);
}

/* ---- naming and summary ------------------------------------------------- */

static void test_named_params (void)
{
    g_autoptr (DnNetwork) net = build_example ("mnist-cnn");
    g_autoptr (GPtrArray) params = dn_network_named_params (net);
    static const char *const names[] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                        "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias"};
    static const char *const shapes[] = {"(32, 1, 3, 3)", "(32)",  "(64, 32, 3, 3)", "(64)",
                                         "(128, 9216)",   "(128)", "(10, 128)",      "(10)"};
    g_assert_cmpuint (params->len, ==, G_N_ELEMENTS (names));
    int64_t total = 0;
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = params->pdata[i];
        g_assert_cmpstr (np->name, ==, names[i]);
        assert_shape (&np->param->shape, shapes[i]);
        g_assert_true (np->param->trainable);
        /* the parameters lie in the arena, in order, and each has a gradient */
        g_assert_true (np->param->value == net->params + total);
        g_assert_true (np->param->grad == net->grads + total);
        g_assert_true (g_str_has_prefix (np->name, np->node->name));
        total += dn_shape_numel (&np->param->shape);
    }
    g_assert_cmpint (total, ==, dn_network_n_params (net));
}

static void test_named_params_buffers (void)
{
    g_autoptr (DnNetwork) net = build_example ("resnet-small");
    g_autoptr (GPtrArray) params = dn_network_named_params (net);
    const char *bn1[] = {"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"};
    gboolean bn1_trainable[] = {TRUE, TRUE, FALSE, FALSE};
    guint found = 0;
    size_t buffers = 0;
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = params->pdata[i];
        for (guint k = 0; k < G_N_ELEMENTS (bn1); k++) {
            if (g_str_equal (np->name, bn1[k])) {
                g_assert_cmpint (np->param->trainable, ==, bn1_trainable[k]);
                assert_shape (&np->param->shape, "(16)");
                found++;
            }
        }
        if (!np->param->trainable) {
            g_assert_null (np->param->grad);
            g_assert_true (np->param->value >= net->buffers &&
                           np->param->value < net->buffers + net->n_buffers);
            buffers += (size_t) dn_shape_numel (&np->param->shape);
        }
    }
    g_assert_cmpuint (found, ==, 4);
    g_assert_cmpuint (buffers, ==, net->n_buffers);
    DnNamedParam *first = params->pdata[0];
    g_assert_cmpstr (first->name, ==, "conv1.weight");
}

static void test_summary (void)
{
    g_autoptr (DnNetwork) net = build_example ("mnist-cnn");
    g_autofree char *s = dn_network_summary (net);
    g_test_message ("%s", s);
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnNode *n = dn_network_node (net, i);
        if (strstr (s, n->name) == NULL)
            g_error ("the summary does not name layer '%s'", n->name);
        if (strstr (s, n->layer->klass->type) == NULL)
            g_error ("the summary does not give kind '%s'", n->layer->klass->type);
    }
    g_assert_nonnull (strstr (s, "1,199,882"));
    g_assert_nonnull (strstr (s, "1,179,776")); /* fc1 */
    g_assert_nonnull (strstr (s, "(64, 12, 12)"));
    g_assert_nonnull (strstr (s, "input"));
    /* a header line, the input line, one per layer, the total */
    g_auto (GStrv) lines = g_strsplit (g_strchomp (s), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, (guint) dn_network_n_nodes (net) + 3);
}

/* A batch smaller than the one reserved (each epoch's last) must get the same
 * gradients as in a fresh network: nothing of the previous, larger batch may
 * leak into it. */
static void test_backward_smaller_batch (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonParser) p = json_parser_new ();
    g_assert_true (json_parser_load_from_data (
        p,
        "{\"input\": [6], \"layers\": [{\"name\": \"fc1\", \"type\": \"linear\", "
        "\"out_features\": 5}, {\"type\": \"relu\"}, {\"name\": \"fc2\", \"type\": "
        "\"linear\", \"out_features\": 5}, {\"type\": \"tanh\"}, {\"name\": \"fc3\", "
        "\"type\": \"linear\", \"out_features\": 5}, {\"type\": \"sigmoid\"}, {\"name\": "
        "\"fc4\", \"type\": \"linear\", \"out_features\": 3}]}",
        -1, NULL));
    DnNetwork *a = dn_network_new_from_json (json_parser_get_root (p), dn_backend_cpu (), &error);
    g_assert_no_error (error);
    DnNetwork *b = dn_network_new_from_json (json_parser_get_root (p), dn_backend_cpu (), &error);
    g_assert_no_error (error);
    DnRng rng;
    dn_rng_seed (&rng, 3);
    dn_network_init (a, &rng);
    memcpy (b->params, a->params, a->n_params * sizeof (float));
    g_assert_true (dn_network_reserve (a, 8, &error));
    g_assert_true (dn_network_reserve (b, 8, &error));
    float x[8 * 6], dy[8 * 3];
    for (int i = 0; i < 8 * 6; i++)
        x[i] = dn_rng_normal (&rng);
    for (int i = 0; i < 8 * 3; i++)
        dy[i] = dn_rng_normal (&rng);
    /* a: a full batch of 8 first, then 3; b: only the batch of 3 */
    dn_network_forward (a, x, 8, 0);
    dn_network_zero_grad (a);
    dn_network_backward (a, dy, 8);
    dn_network_forward (a, x, 3, 0);
    dn_network_zero_grad (a);
    dn_network_backward (a, dy, 3);
    dn_network_forward (b, x, 3, 0);
    dn_network_zero_grad (b);
    dn_network_backward (b, dy, 3);
    g_assert_cmpmem (a->grads, a->n_params * sizeof (float), b->grads,
                     b->n_params * sizeof (float));
    dn_network_free (a);
    dn_network_free (b);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);

    g_test_add_func ("/engine/network/build/mlp", test_mlp);
    g_test_add_func ("/engine/network/build/example-mlp", test_example_mlp);
    g_test_add_func ("/engine/network/build/example-mnist-cnn", test_example_mnist_cnn);
    g_test_add_func ("/engine/network/build/example-resnet-small", test_example_resnet);
    g_test_add_func ("/engine/network/build/residual", test_residual);

    for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
        g_test_add_data_func (error_cases[i].path, &error_cases[i], test_error_case);
    g_test_add_func ("/engine/network/errors/null", test_null_description);
    g_test_add_func ("/engine/network/errors/layer-name-hostile", test_layer_name_hostile);
    g_test_add_func ("/engine/network/errors/quote", test_quote);

    g_test_add_func ("/engine/network/to-json/examples", test_roundtrip_examples);
    g_test_add_func ("/engine/network/to-json/residual", test_roundtrip_residual);
    g_test_add_func ("/engine/network/to-json/settings", test_roundtrip_settings);

    g_test_add_func ("/engine/network/forward/batch-mnist-cnn", test_forward_batch_mnist);
    g_test_add_func ("/engine/network/forward/batch-resnet-small", test_forward_batch_resnet);
    g_test_add_func ("/engine/network/forward/batch-residual", test_forward_batch_residual);
    g_test_add_func ("/engine/network/forward/reserve-grows", test_reserve_grows);
    g_test_add_func ("/engine/network/backward/accumulates-mlp", test_backward_accumulates_mlp);
    g_test_add_func ("/engine/network/backward/smaller-batch", test_backward_smaller_batch);
    g_test_add_func ("/engine/network/backward/accumulates-residual",
                     test_backward_accumulates_residual);

    g_test_add_func ("/engine/network/fusion/same-numbers", test_fusion_same_numbers);
    g_test_add_func ("/engine/network/fusion/dendritic", test_fusion_dendritic);
    g_test_add_func ("/engine/network/view/same-numbers", test_view_same_numbers);
    g_test_add_func ("/engine/network/named-params/mnist-cnn", test_named_params);
    g_test_add_func ("/engine/network/named-params/buffers", test_named_params_buffers);
    g_test_add_func ("/engine/network/summary", test_summary);


    return g_test_run ();
}
