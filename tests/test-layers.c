/* test-layers.c: layer configuration and shapes, without running any data.
 *
 * Bad settings and shapes that do not connect must give a GError of the right
 * code whose message names the layer (and the setting); settings must survive
 * to_json; output shapes and parameter counts must be PyTorch's. The dendritic
 * node's own settings are test-layers-dendritic.c's.
 */
#include "dn-layers-test.h"

static void test_unknown_type (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnLayer) l = dn_layer_new ("convolution", "c1", NULL, &error);
    g_assert_null (l);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    assert_message_has (error, "c1");
    assert_message_has (error, "convolution");
    /* The message lists every known type. */
    const DnLayerClass *const *classes = dn_layer_classes ();
    for (int i = 0; classes[i] != NULL; i++)
        assert_message_has (error, classes[i]->type);
    assert_message_has (error, "conv2d");
    assert_message_has (error, "batchnorm2d");
}

/* Sigmoid and tanh of NaN are NaN (as PyTorch gives) and of +-inf their limits,
 * without the undefined float-to-int conversion the vectorised exp once did on
 * NaN (UBSan: float-cast-overflow). A diverging run feeds them exactly this. */
static void test_act_nan (void)
{
    DnBackend *be = dn_backend_cpu ();
    /* 17 elements: the vectorised body and the scalar tail both see a NaN */
    float x[17], y[17];
    for (int i = 0; i < 17; i++)
        x[i] = (i % 4 == 0) ? NAN : (float) (i - 8);
    x[1] = INFINITY;
    x[2] = -INFINITY;
    for (int a = 0; a < 2; a++) {
        DnAct act = a == 0 ? DN_ACT_SIGMOID : DN_ACT_TANH;
        be->act_forward (be, act, 0.0f, 17, x, y);
        for (int i = 0; i < 17; i++) {
            if (isnan (x[i]))
                g_assert_true (isnan (y[i]));
            else
                g_assert_true (isfinite (y[i]));
        }
        g_assert_cmpfloat (y[1], ==, 1.0f);
        /* the clamped exp saturates sigmoid at a tiny positive value, tanh at -1 */
        if (a == 0)
            g_assert_cmpfloat (y[2], <, 1e-37f);
        else
            g_assert_cmpfloat (y[2], ==, -1.0f);
        g_assert_cmpfloat_with_epsilon (y[3], a == 0 ? 1.0f / (1.0f + expf (5.0f)) : tanhf (-5.0f),
                                        1e-6);
    }
}

static void test_lookup (void)
{
    const DnLayerClass *const *classes = dn_layer_classes ();
    int n = 0;
    for (; classes[n] != NULL; n++)
        g_assert_true (dn_layer_class_lookup (classes[n]->type) == classes[n]);
    g_assert_cmpint (n, ==, 24);
    g_assert_null (dn_layer_class_lookup ("lstm"));
}

static void test_unknown_setting (void)
{
    expect_config_error ("linear", "fc_a", "{\"out_features\": 10, \"kernal_size\": 3}",
                         "kernal_size");
    expect_config_error ("conv2d", "conv_a",
                         "{\"out_channels\": 4, \"kernel_size\": 3, \"strides\": 2}", "strides");
    expect_config_error ("relu", "act_a", "{\"inplace\": true}", "inplace");
    expect_config_error ("batchnorm2d", "bn_a", "{\"num_feature\": 3}", "num_feature");
    expect_config_error ("dropout", "drop_a", "{\"rate\": 0.5}", "rate");
}

static void test_wrong_type (void)
{
    expect_config_error ("linear", "fc_b", "{\"out_features\": \"ten\"}", "out_features");
    expect_config_error ("linear", "fc_c", "{\"out_features\": 10.5}", "out_features");
    expect_config_error ("linear", "fc_d", "{\"out_features\": 10, \"bias\": \"yes\"}", "bias");
    expect_config_error ("conv2d", "conv_b", "{\"out_channels\": 4, \"kernel_size\": [3, 3, 3]}",
                         "kernel_size");
    expect_config_error ("conv2d", "conv_c", "{\"out_channels\": 4, \"kernel_size\": {\"h\": 3}}",
                         "kernel_size");
    expect_config_error ("dropout", "drop_b", "{\"p\": \"half\"}", "p");
    expect_config_error ("leaky_relu", "lrelu_b", "{\"negative_slope\": [0.1]}", "negative_slope");
}

static void test_out_of_range (void)
{
    expect_config_error ("conv2d", "conv_d", "{\"out_channels\": 4, \"kernel_size\": 0}",
                         "kernel_size");
    expect_config_error ("conv2d", "conv_e", "{\"out_channels\": 4, \"kernel_size\": [3, -1]}",
                         "kernel_size");
    expect_config_error ("conv2d", "conv_f",
                         "{\"out_channels\": 4, \"kernel_size\": 3, \"stride\": 0}", "stride");
    expect_config_error ("conv1d", "conv_g",
                         "{\"out_channels\": 4, \"kernel_size\": 3, \"padding\": -1}", "padding");
    expect_config_error ("linear", "fc_e", "{\"out_features\": 0}", "out_features");
    expect_config_error ("linear", "fc_f", "{\"out_features\": -3}", "out_features");
    expect_config_error ("dropout", "drop_c", "{\"p\": 1.5}", "p");
    expect_config_error ("dropout", "drop_d", "{\"p\": 1.0}", "p");
    expect_config_error ("dropout", "drop_e", "{\"p\": -0.1}", "p");
    expect_config_error ("maxpool2d", "pool_a", "{\"kernel_size\": 0}", "kernel_size");
    expect_config_error ("avgpool2d", "pool_b", "{\"kernel_size\": 2, \"stride\": 0}", "stride");
    expect_config_error ("batchnorm1d", "bn_b", "{\"eps\": -1e-5}", "eps");
}

/* Settings we do not support are refused with a message, not ignored. */
static void test_unsupported_settings (void)
{
    const struct {
        const char *type, *cfg, *key;
    } cases[] = {
        {"maxpool2d", "{\"kernel_size\": 2, \"ceil_mode\": true}", "ceil_mode"},
        {"avgpool2d", "{\"kernel_size\": 2, \"ceil_mode\": true}", "ceil_mode"},
        {"adaptive_avgpool2d", "{\"output_size\": 2}", "output_size"},
        {"gelu", "{\"approximate\": \"tanh\"}", "approximate"},
        {"flatten", "{\"start_dim\": 2}", "start_dim"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (GError) error = NULL;
        gboolean in_infer;
        DnShape s = shp (3, 2, 4, 4);
        g_autoptr (DnLayer) l =
            build (cases[i].type, "odd_one", cases[i].cfg, 1, &s, &in_infer, &error);
        g_assert_null (l);
        g_assert_nonnull (error);
        g_test_message ("%s %s: %s", cases[i].type, cases[i].cfg, error->message);
        g_assert_true (error->domain == DN_ERROR);
        g_assert_true (error->code == DN_ERROR_CONFIG || error->code == DN_ERROR_UNSUPPORTED);
        assert_message_has (error, "odd_one");
        assert_message_has (error, cases[i].key);
    }
}

/* A required setting left out: an error at the latest when the layer is shaped. */
static void test_missing_required (void)
{
    const struct {
        const char *type, *key;
        DnShape shape;
    } cases[] = {
        {"linear", "out_features", shp (1, 10, 0, 0)},
        {"conv2d", "out_channels", shp (3, 1, 8, 8)},
        {"conv1d", "out_channels", shp (2, 1, 8, 0)},
        {"maxpool2d", "kernel_size", shp (3, 1, 8, 8)},
        {"avgpool2d", "kernel_size", shp (3, 1, 8, 8)},
    };
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (GError) error = NULL;
        gboolean in_infer;
        g_autoptr (DnLayer) l =
            build (cases[i].type, "needs_more", "{}", 1, &cases[i].shape, &in_infer, &error);
        g_assert_null (l);
        g_assert_nonnull (error);
        g_test_message ("%s {}: %s", cases[i].type, error->message);
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
        assert_message_has (error, "needs_more");
        assert_message_has (error, cases[i].key);
    }
    /* conv2d without kernel_size. */
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    DnShape s = shp (3, 1, 8, 8);
    g_autoptr (DnLayer) l =
        build ("conv2d", "needs_k", "{\"out_channels\": 2}", 1, &s, &in_infer, &error);
    g_assert_null (l);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    assert_message_has (error, "kernel_size");
}

static void test_shape_errors (void)
{
    DnShape flat784 = shp (1, 784, 0, 0);
    DnShape img = shp (3, 1, 28, 28);
    DnShape small = shp (3, 2, 5, 5);

    /* linear: in_features disagrees with the input; a 3-D input without flatten. */
    expect_shape_error ("linear", "fc_in", "{\"in_features\": 100, \"out_features\": 10}", 1,
                        &flat784);
    expect_shape_error ("linear", "fc_img", "{\"out_features\": 10}", 1, &img);
    /* conv2d on a 1-D input, on 2-D, with the wrong in_channels, with groups that do not
     * divide the channels, with a kernel larger than the input. */
    expect_shape_error ("conv2d", "conv_flat", "{\"out_channels\": 4, \"kernel_size\": 3}", 1,
                        &flat784);
    DnShape seq = shp (2, 3, 50, 0);
    expect_shape_error ("conv2d", "conv_seq", "{\"out_channels\": 4, \"kernel_size\": 3}", 1, &seq);
    expect_shape_error ("conv2d", "conv_ch",
                        "{\"in_channels\": 3, \"out_channels\": 4, \"kernel_size\": 3}", 1, &img);
    DnShape three = shp (3, 3, 8, 8);
    expect_shape_error ("conv2d", "conv_grp",
                        "{\"out_channels\": 4, \"kernel_size\": 3, \"groups\": 2}", 1, &three);
    expect_shape_error ("conv2d", "conv_big", "{\"out_channels\": 4, \"kernel_size\": 7}", 1,
                        &small);
    /* conv1d on an image. */
    expect_shape_error ("conv1d", "conv1_img", "{\"out_channels\": 4, \"kernel_size\": 3}", 1,
                        &img);
    /* pooling larger than its input, and on a flat input. */
    expect_shape_error ("maxpool2d", "pool_big", "{\"kernel_size\": 7}", 1, &small);
    expect_shape_error ("avgpool2d", "avg_big", "{\"kernel_size\": 6}", 1, &small);
    expect_shape_error ("maxpool2d", "pool_flat", "{\"kernel_size\": 2}", 1, &flat784);
    expect_shape_error ("adaptive_avgpool2d", "gap_flat", "{}", 1, &flat784);
    /* batch norm: the wrong number of features, and the wrong rank. */
    expect_shape_error ("batchnorm2d", "bn_feat", "{\"num_features\": 3}", 1, &small);
    expect_shape_error ("batchnorm2d", "bn_rank", "{}", 1, &flat784);
    expect_shape_error ("batchnorm1d", "bn1_rank", "{}", 1, &small);
    /* layernorm over dims the input does not end with. */
    expect_shape_error ("layernorm", "ln_dims", "{\"normalized_shape\": [4, 4]}", 1, &small);
    /* add of different shapes; concat with mismatched spatial dims; one input only. */
    DnShape pair[2] = {shp (3, 2, 5, 5), shp (3, 2, 4, 4)};
    expect_shape_error ("add", "add_mis", "{}", 2, pair);
    DnShape pair2[2] = {shp (3, 2, 5, 5), shp (3, 3, 5, 4)};
    expect_shape_error ("concat", "cat_mis", "{}", 2, pair2);
    DnShape pair3[2] = {shp (3, 2, 5, 5), shp (2, 2, 5, 0)};
    expect_shape_error ("concat", "cat_rank", "{}", 2, pair3);
    expect_shape_error ("add", "add_one", "{}", 1, &small);
    /* Two inputs to a layer that takes one. */
    DnShape same[2] = {small, small};
    expect_shape_error ("relu", "relu_two", "{}", 2, same);
}

static void test_linear_message (void)
{
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    DnShape flat = shp (1, 784, 0, 0);
    g_autoptr (DnLayer) l = build ("linear", "fc1", "{\"in_features\": 100, \"out_features\": 10}",
                                   1, &flat, &in_infer, &error);
    g_assert_null (l);
    g_assert_error (error, DN_ERROR, DN_ERROR_SHAPE);
    /* Names both numbers so a person can fix the file. */
    assert_message_has (error, "100");
    assert_message_has (error, "784");
    assert_message_has (error, "in_features");
}

/* Settings -> layer -> to_json -> layer: the same layer. Every setting given is
 * non-default so it must appear in to_json (an int n stands for [n, n]). */
typedef struct {
    const char *type;
    const char *cfg;
    int n_in;
    DnShape in[2];
    /* Settings to_json may leave out (optional ones the shapes imply). */
    const char *may_omit;
} RoundTrip;

static gboolean number_list (JsonNode *n, double *v, int *len)
{
    *len = 0;
    if (JSON_NODE_HOLDS_VALUE (n)) {
        GType t = json_node_get_value_type (n);
        if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
            return FALSE;
        v[(*len)++] = json_node_get_double (n);
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_ARRAY (n))
        return FALSE;
    JsonArray *a = json_node_get_array (n);
    for (guint i = 0; i < json_array_get_length (a) && i < 8; i++) {
        JsonNode *e = json_array_get_element (a, i);
        if (!JSON_NODE_HOLDS_VALUE (e))
            return FALSE;
        v[(*len)++] = json_node_get_double (e);
    }
    return TRUE;
}

/* The same setting: equal strings/booleans, or equal numbers where a scalar n equals
 * a list of n's (kernel_size 3 == [3, 3]), floats to float precision. */
static gboolean same_setting (JsonNode *a, JsonNode *b)
{
    double va[8], vb[8];
    int la, lb;
    if (number_list (a, va, &la) && number_list (b, vb, &lb)) {
        if (la == 1 && lb > 1) {
            for (int i = 0; i < lb; i++)
                if (fabs (vb[i] - va[0]) > 1e-6 * fabs (va[0]))
                    return FALSE;
            return TRUE;
        }
        if (lb == 1 && la > 1)
            return same_setting (b, a);
        if (la != lb)
            return FALSE;
        for (int i = 0; i < la; i++)
            if (fabs (va[i] - vb[i]) > 1e-6 * fabs (va[i]))
                return FALSE;
        return TRUE;
    }
    return json_node_equal (a, b);
}

static void check_round_trip (const RoundTrip *rt)
{
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    g_test_message ("%s %s", rt->type, rt->cfg);
    g_autoptr (DnLayer) a = build (rt->type, "rt", rt->cfg, rt->n_in, rt->in, &in_infer, &error);
    g_assert_no_error (error);
    g_autoptr (JsonNode) ja = layer_to_json (a);
    JsonObject *oa = json_node_get_object (ja);
    g_assert_false (json_object_has_member (oa, "type"));
    g_assert_false (json_object_has_member (oa, "name"));
    g_assert_false (json_object_has_member (oa, "inputs"));

    /* Every setting given survives. */
    g_autoptr (JsonObject) cfg = parse_object (rt->cfg);
    g_autoptr (GList) keys = json_object_get_members (cfg);
    for (GList *k = keys; k != NULL; k = k->next) {
        const char *key = k->data;
        JsonNode *got = json_object_get_member (oa, key);
        if (got == NULL) {
            g_auto (GStrv) omit = g_strsplit (rt->may_omit ? rt->may_omit : "", ",", -1);
            if (g_strv_contains ((const char *const *) omit, key))
                continue;
        }
        g_autofree char *text = json_to_string (ja, FALSE);
        if (got == NULL || !same_setting (json_object_get_member (cfg, key), got)) {
            g_autofree char *msg =
                g_strdup_printf ("%s: setting \"%s\" of %s is lost or changed in to_json: %s",
                                 rt->type, key, rt->cfg, text);
            g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
        }
    }

    /* Built again from to_json: the same layer, and the same JSON. */
    g_autofree char *text_a = json_to_string (ja, FALSE);
    g_autoptr (DnLayer) b = build (rt->type, "rt", text_a, rt->n_in, rt->in, &in_infer, &error);
    g_assert_no_error (error);
    g_autofree char *da = describe (a);
    g_autofree char *db = describe (b);
    g_assert_cmpstr (da, ==, db);
    g_assert_true (dn_shape_equal (&a->out_shape, &b->out_shape));
    g_assert_cmpint (a->n_params, ==, b->n_params);
    for (int i = 0; i < a->n_params; i++) {
        g_assert_cmpstr (a->params[i].name, ==, b->params[i].name);
        g_assert_true (dn_shape_equal (&a->params[i].shape, &b->params[i].shape));
        g_assert_cmpint (a->params[i].trainable, ==, b->params[i].trainable);
    }
    g_autoptr (JsonNode) jb = layer_to_json (b);
    g_autofree char *text_b = json_to_string (jb, FALSE);
    g_assert_cmpstr (text_a, ==, text_b);
}

static void test_round_trip (void)
{
    const char *implied = "in_features,in_channels,num_features,output_size";
    const RoundTrip cases[] = {
        {"linear",
         "{\"in_features\": 20, \"out_features\": 7, \"bias\": false}",
         1,
         {shp (1, 20, 0, 0)}},
        {"conv1d",
         "{\"in_channels\": 4, \"out_channels\": 6, \"kernel_size\": 3, \"stride\": 2, "
         "\"padding\": 1, \"dilation\": 2, \"groups\": 2, \"bias\": false}",
         1,
         {shp (2, 4, 11, 0)},
         implied},
        {"conv2d",
         "{\"out_channels\": 6, \"kernel_size\": [3, 2], \"stride\": [2, 1], "
         "\"padding\": [1, 0], \"dilation\": 2, \"groups\": 2}",
         1,
         {shp (3, 4, 9, 9)}},
        {"maxpool2d",
         "{\"kernel_size\": 3, \"stride\": 2, \"padding\": 1, \"dilation\": 2}",
         1,
         {shp (3, 2, 9, 9)}},
        {"avgpool2d",
         "{\"kernel_size\": [3, 2], \"stride\": 2, \"padding\": 1, \"count_include_pad\": false}",
         1,
         {shp (3, 2, 7, 7)}},
        {"adaptive_avgpool2d", "{\"output_size\": 1}", 1, {shp (3, 5, 4, 4)}, implied},
        {"batchnorm1d",
         "{\"num_features\": 3, \"eps\": 0.001, \"momentum\": 0.2, \"affine\": false, "
         "\"track_running_stats\": false}",
         1,
         {shp (2, 3, 5, 0)},
         implied},
        {"batchnorm2d", "{\"eps\": 0.0001, \"momentum\": 0.05}", 1, {shp (3, 4, 3, 3)}},
        {"layernorm",
         "{\"normalized_shape\": [3, 4], \"eps\": 1e-6, \"elementwise_affine\": false}",
         1,
         {shp (3, 2, 3, 4)}},
        {"relu", "{}", 1, {shp (1, 5, 0, 0)}},
        {"leaky_relu", "{\"negative_slope\": 0.2}", 1, {shp (1, 5, 0, 0)}},
        {"sigmoid", "{}", 1, {shp (1, 5, 0, 0)}},
        {"tanh", "{}", 1, {shp (1, 5, 0, 0)}},
        {"gelu", "{}", 1, {shp (1, 5, 0, 0)}},
        {"softmax", "{\"dim\": 1}", 1, {shp (1, 5, 0, 0)}, "dim"},
        {"log_softmax", "{}", 1, {shp (1, 5, 0, 0)}},
        {"dropout", "{\"p\": 0.25}", 1, {shp (1, 5, 0, 0)}},
        {"flatten", "{}", 1, {shp (3, 2, 3, 4)}},
        {"add", "{}", 2, {shp (3, 2, 3, 3), shp (3, 2, 3, 3)}},
        {"concat", "{}", 2, {shp (3, 2, 3, 3), shp (3, 1, 3, 3)}},
        {"dendritic",
         "{\"dendrites\": 2, \"forward_function\": \"tanh\", \"init_multiplier\": 0.05, "
         "\"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, \"kernel_size\": 2}, "
         "{\"type\": \"batchnorm2d\", \"momentum\": 0.2}]}",
         1,
         {shp (3, 2, 4, 4)}},
        {"dendritic",
         "{\"dendrites\": 0, \"forward_function\": \"relu\", \"init_multiplier\": 0.5, "
         "\"layers\": [{\"type\": \"linear\", \"out_features\": 4, \"bias\": false}]}",
         1,
         {shp (1, 6, 0, 0)}},
        {"dendritic",
         "{\"dendrites\": 3, \"forward_function\": \"sigmoid\", \"init_multiplier\": 0.01, "
         "\"layers\": [{\"type\": \"conv1d\", \"out_channels\": 2, \"kernel_size\": 3}]}",
         1,
         {shp (2, 3, 7, 0)}},
        {"sparse_linear",
         "{\"out_features\": 7, \"bias\": false, \"weight_sparsity\": 0.5, "
         "\"input_density\": 0.05}",
         1,
         {shp (1, 20, 0, 0)}},
        {"active_dendrite",
         "{\"out_features\": 6, \"weight_sparsity\": 0.5, \"input_density\": 1.0, "
         "\"segments\": 4, \"context_dim\": 9, \"context_density\": 0.1, \"gating\": "
         "\"max\"}",
         1,
         {shp (1, 20, 0, 0)}},
        {"kwta", "{\"k\": 3}", 1, {shp (1, 20, 0, 0)}},
        {"kwta", "{\"percent_on\": 0.1}", 1, {shp (1, 20, 0, 0)}},
    };
    /* Every kind is covered here. */
    const DnLayerClass *const *classes = dn_layer_classes ();
    for (int k = 0; classes[k] != NULL; k++) {
        gboolean found = FALSE;
        for (size_t i = 0; i < G_N_ELEMENTS (cases) && !found; i++)
            found = g_str_equal (cases[i].type, classes[k]->type);
        g_assert_true (found);
    }
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
        check_round_trip (&cases[i]);
}

/* Output shapes and trainable parameter counts, as PyTorch gives them. */
static void test_shapes_and_counts (void)
{
    const struct {
        const char *type, *cfg;
        int n_in;
        DnShape in[2];
        DnShape out;
        int64_t n_params;
    } cases[] = {
        {"linear", "{\"out_features\": 128}", 1, {shp (1, 784, 0, 0)}, shp (1, 128, 0, 0), 100480},
        {"linear",
         "{\"out_features\": 5, \"bias\": false}",
         1,
         {shp (1, 10, 0, 0)},
         shp (1, 5, 0, 0),
         50},
        {"conv2d",
         "{\"out_channels\": 32, \"kernel_size\": 3}",
         1,
         {shp (3, 1, 28, 28)},
         shp (3, 32, 26, 26),
         320},
        {"conv2d",
         "{\"out_channels\": 64, \"kernel_size\": 3}",
         1,
         {shp (3, 32, 26, 26)},
         shp (3, 64, 24, 24),
         18496},
        {"conv2d",
         "{\"out_channels\": 6, \"kernel_size\": 3, \"groups\": 2, \"bias\": false}",
         1,
         {shp (3, 4, 5, 5)},
         shp (3, 6, 3, 3),
         108},
        {"conv2d",
         "{\"out_channels\": 8, \"kernel_size\": 3, \"stride\": 2, \"padding\": 1}",
         1,
         {shp (3, 3, 7, 8)},
         shp (3, 8, 4, 4),
         224},
        {"conv2d",
         "{\"out_channels\": 2, \"kernel_size\": 3, \"dilation\": 2}",
         1,
         {shp (3, 1, 9, 9)},
         shp (3, 2, 5, 5),
         20},
        {"conv2d",
         "{\"out_channels\": 2, \"kernel_size\": [3, 1]}",
         1,
         {shp (3, 1, 6, 6)},
         shp (3, 2, 4, 6),
         8},
        {"conv1d",
         "{\"out_channels\": 3, \"kernel_size\": 3, \"stride\": 2, \"padding\": 1}",
         1,
         {shp (2, 2, 7, 0)},
         shp (2, 3, 4, 0),
         21},
        {"maxpool2d", "{\"kernel_size\": 2}", 1, {shp (3, 64, 24, 24)}, shp (3, 64, 12, 12), 0},
        {"maxpool2d",
         "{\"kernel_size\": 3, \"stride\": 2, \"padding\": 1}",
         1,
         {shp (3, 2, 5, 5)},
         shp (3, 2, 3, 3),
         0},
        {"avgpool2d",
         "{\"kernel_size\": 3, \"stride\": 2, \"padding\": 1}",
         1,
         {shp (3, 2, 6, 6)},
         shp (3, 2, 3, 3),
         0},
        {"adaptive_avgpool2d", "{}", 1, {shp (3, 16, 7, 5)}, shp (3, 16, 1, 1), 0},
        {"batchnorm1d", "{}", 1, {shp (1, 10, 0, 0)}, shp (1, 10, 0, 0), 20},
        {"batchnorm1d", "{}", 1, {shp (2, 4, 9, 0)}, shp (2, 4, 9, 0), 8},
        {"batchnorm2d", "{\"num_features\": 16}", 1, {shp (3, 16, 4, 4)}, shp (3, 16, 4, 4), 32},
        {"batchnorm2d", "{\"affine\": false}", 1, {shp (3, 16, 4, 4)}, shp (3, 16, 4, 4), 0},
        {"layernorm", "{}", 1, {shp (3, 4, 5, 5)}, shp (3, 4, 5, 5), 200},
        {"layernorm", "{\"normalized_shape\": 5}", 1, {shp (3, 4, 5, 5)}, shp (3, 4, 5, 5), 10},
        {"relu", "{}", 1, {shp (3, 2, 3, 3)}, shp (3, 2, 3, 3), 0},
        {"softmax", "{}", 1, {shp (1, 10, 0, 0)}, shp (1, 10, 0, 0), 0},
        {"dropout", "{}", 1, {shp (1, 10, 0, 0)}, shp (1, 10, 0, 0), 0},
        {"flatten", "{}", 1, {shp (3, 64, 12, 12)}, shp (1, 9216, 0, 0), 0},
        {"add", "{}", 2, {shp (3, 2, 3, 3), shp (3, 2, 3, 3)}, shp (3, 2, 3, 3), 0},
        {"concat", "{}", 2, {shp (3, 2, 3, 3), shp (3, 5, 3, 3)}, shp (3, 7, 3, 3), 0},
        /* Dendritic, P neuron params and C channels with k dendrites:
         * P (k + 1) + C k (T) + C k (k - 1) / 2 (cascade). */
        {"dendritic",
         "{\"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}",
         1,
         {shp (1, 10, 0, 0)},
         shp (1, 4, 0, 0),
         44},
        {"dendritic",
         "{\"dendrites\": 2, \"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}",
         1,
         {shp (1, 10, 0, 0)},
         shp (1, 4, 0, 0),
         44 * 3 + 4 * 2 + 4 * 1},
        {"dendritic",
         "{\"dendrites\": 3, \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, "
         "\"kernel_size\": 2}, {\"type\": \"batchnorm2d\"}]}",
         1,
         {shp (3, 2, 4, 4)},
         shp (3, 3, 3, 3),
         33 * 4 + 3 * 3 + 3 * 3},
        {"dendritic",
         "{\"dendrites\": 5, \"layers\": [{\"type\": \"conv1d\", \"out_channels\": 2, "
         "\"kernel_size\": 3, \"padding\": 1}]}",
         1,
         {shp (2, 3, 7, 0)},
         shp (2, 2, 7, 0),
         20 * 6 + 2 * 5 + 2 * 10},
    };
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (GError) error = NULL;
        gboolean in_infer;
        g_test_message ("%s %s", cases[i].type, cases[i].cfg);
        g_autoptr (DnLayer) l =
            build (cases[i].type, "l", cases[i].cfg, cases[i].n_in, cases[i].in, &in_infer, &error);
        g_assert_no_error (error);
        if (!dn_shape_equal (&l->out_shape, &cases[i].out)) {
            g_autofree char *got = dn_shape_to_string (&l->out_shape);
            g_autofree char *want = dn_shape_to_string (&cases[i].out);
            g_autofree char *msg = g_strdup_printf ("%s %s: output %s, expected %s", cases[i].type,
                                                    cases[i].cfg, got, want);
            g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
        }
        g_assert_cmpint (dn_layer_n_params (l), ==, cases[i].n_params);
    }
}

/* Parameter names, shapes and kinds, PyTorch's state-dict entries. */
static void test_param_names (void)
{
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    DnShape img = shp (3, 3, 8, 8);
    g_autoptr (DnLayer) conv =
        build ("conv2d", "c", "{\"out_channels\": 4, \"kernel_size\": [3, 2]}", 1, &img, &in_infer,
               &error);
    g_assert_no_error (error);
    g_assert_cmpint (conv->n_params, ==, 2);
    DnParam *w = dn_layer_find_param (conv, "weight");
    g_assert_nonnull (w);
    DnShape ws = dn_shape_4d (4, 3, 3, 2);
    g_assert_true (dn_shape_equal (&w->shape, &ws));
    g_assert_true (w->trainable);
    g_assert_nonnull (dn_layer_find_param (conv, "bias"));
    g_assert_null (dn_layer_find_param (conv, "running_mean"));

    g_autoptr (DnLayer) bn = build ("batchnorm2d", "bn", "{}", 1, &img, &in_infer, &error);
    g_assert_no_error (error);
    const char *names[] = {"weight", "bias", "running_mean", "running_var"};
    for (size_t i = 0; i < G_N_ELEMENTS (names); i++) {
        DnParam *p = dn_layer_find_param (bn, names[i]);
        g_assert_nonnull (p);
        DnShape c = dn_shape_1d (3);
        g_assert_true (dn_shape_equal (&p->shape, &c));
        g_assert_cmpint (p->trainable, ==, i < 2);
    }
    g_autoptr (DnLayer) bn_plain =
        build ("batchnorm2d", "bn", "{\"affine\": false}", 1, &img, &in_infer, &error);
    g_assert_no_error (error);
    g_assert_null (dn_layer_find_param (bn_plain, "weight"));
    g_assert_nonnull (dn_layer_find_param (bn_plain, "running_var"));

    /* A linear layer's weight is (out, in). */
    DnShape flat = shp (1, 6, 0, 0);
    g_autoptr (DnLayer) fc =
        build ("linear", "fc", "{\"out_features\": 4}", 1, &flat, &in_infer, &error);
    g_assert_no_error (error);
    DnShape fw = dn_shape_2d (4, 6);
    g_assert_true (dn_shape_equal (&dn_layer_find_param (fc, "weight")->shape, &fw));
}

/* infer may run again (re-import, restructure): the params are declared afresh, not twice. */
static void test_reinfer (void)
{
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    DnShape a = shp (1, 10, 0, 0);
    g_autoptr (DnLayer) fc =
        build ("linear", "fc", "{\"out_features\": 3}", 1, &a, &in_infer, &error);
    g_assert_no_error (error);
    g_assert_cmpint (dn_layer_n_params (fc), ==, 33);
    g_assert_true (dn_layer_infer (fc, 1, &a, &error));
    g_assert_no_error (error);
    g_assert_cmpint (fc->n_params, ==, 2);
    g_assert_cmpint (dn_layer_n_params (fc), ==, 33);
}

/* PyTorch's default initialisation: linear U(±1/sqrt(fan_in)); norm weight 1, bias 0,
 * running_mean 0, running_var 1. */
static void test_init (void)
{
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    DnRng rng;
    dn_rng_seed (&rng, 3);

    DnShape flat = shp (1, 100, 0, 0);
    g_autoptr (DnLayer) fc =
        build ("linear", "fc", "{\"out_features\": 50}", 1, &flat, &in_infer, &error);
    g_assert_no_error (error);
    for (int i = 0; i < fc->n_params; i++)
        fc->params[i].value = g_new0 (float, dn_shape_numel (&fc->params[i].shape));
    g_assert_nonnull (fc->klass->init);
    fc->klass->init (fc, &rng);
    float bound = 1.0f / sqrtf (100.0f), maxabs = 0.0f;
    for (int i = 0; i < fc->n_params; i++) {
        for (int64_t j = 0; j < dn_shape_numel (&fc->params[i].shape); j++)
            maxabs = MAX (maxabs, fabsf (fc->params[i].value[j]));
        g_free (fc->params[i].value);
        fc->params[i].value = NULL;
    }
    g_assert_cmpfloat (maxabs, <=, bound);
    g_assert_cmpfloat (maxabs, >, 0.8f * bound);

    DnShape img = shp (3, 4, 3, 3);
    g_autoptr (DnLayer) bn = build ("batchnorm2d", "bn", "{}", 1, &img, &in_infer, &error);
    g_assert_no_error (error);
    for (int i = 0; i < bn->n_params; i++) {
        bn->params[i].value = g_new (float, 4);
        for (int j = 0; j < 4; j++)
            bn->params[i].value[j] = 42.0f;
    }
    if (bn->klass->init != NULL)
        bn->klass->init (bn, &rng);
    const struct {
        const char *name;
        float v;
    } want[] = {{"weight", 1.0f}, {"bias", 0.0f}, {"running_mean", 0.0f}, {"running_var", 1.0f}};
    for (size_t i = 0; i < G_N_ELEMENTS (want); i++) {
        DnParam *p = dn_layer_find_param (bn, want[i].name);
        for (int j = 0; j < 4; j++)
            g_assert_cmpfloat (p->value[j], ==, want[i].v);
    }
    for (int i = 0; i < bn->n_params; i++) {
        g_free (bn->params[i].value);
        bn->params[i].value = NULL;
    }
}

/* A NaN reaching sigmoid or tanh comes out as NaN, as in PyTorch, with no undefined
 * conversion of the NaN to an int on the way (clang's UBSan stops the test there;
 * GCC's -fsanitize=undefined does not check float-to-int conversions). */
static void test_sigmoid_tanh_nan (void)
{
    static const char *const kinds[] = {"sigmoid", "tanh"};
    for (guint k = 0; k < G_N_ELEMENTS (kinds); k++) {
        g_autofree char *text = g_strdup_printf (
            "{\"input\": [3], \"layers\": [{\"name\": \"a\", \"type\": \"%s\"}]}", kinds[k]);
        g_autoptr (JsonNode) desc = json_from_string (text, NULL);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnNetwork) net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
        g_assert_no_error (error);
        g_assert_true (dn_network_reserve (net, 1, &error));
        const float x[3] = {NAN, 0.0f, INFINITY};
        const DnTensor *y = dn_network_forward (net, x, 1, 1);
        g_assert_true (isnan (y->data[0]));
        g_assert_cmpfloat_with_epsilon (y->data[1], k == 0 ? 0.5f : 0.0f, 1e-6);
        g_assert_cmpfloat_with_epsilon (y->data[2], 1.0f, 1e-6);
    }
}

/* A convolution fused with a ReLU and no pooling has no argmax: its backward pass over
 * a batch of two must not offset the missing argmax (clang's UBSan stops the test there). */
static void test_conv_relu_backward (void)
{
    g_autoptr (JsonNode) desc = json_from_string (
        "{\"input\": [1, 4, 4], \"layers\": [{\"name\": \"c\", \"type\": \"conv2d\", "
        "\"out_channels\": 2, \"kernel_size\": 1}, {\"name\": \"r\", \"type\": \"relu\"}]}",
        NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_true (dn_network_reserve (net, 2, &error));
    DnRng rng;
    dn_rng_seed (&rng, 3);
    dn_network_init (net, &rng);
    float x[32], dy[64];
    for (int i = 0; i < 32; i++)
        x[i] = (float) (i % 7) - 3.0f;
    for (int i = 0; i < 64; i++)
        dy[i] = 1.0f;
    dn_network_set_training (net, TRUE);
    dn_network_forward (net, x, 2, 1);
    dn_network_zero_grad (net);
    dn_network_backward (net, dy, 2);
    double sum = 0.0;
    for (size_t i = 0; i < net->n_params; i++) {
        g_assert_true (isfinite (net->grads[i]));
        sum += fabs (net->grads[i]);
    }
    g_assert_cmpfloat (sum, >, 0.0);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/layers/registry/lookup", test_lookup);
    g_test_add_func ("/engine/layers/act/nan", test_act_nan);
    g_test_add_func ("/engine/layers/errors/unknown-type", test_unknown_type);
    g_test_add_func ("/engine/layers/errors/unknown-setting", test_unknown_setting);
    g_test_add_func ("/engine/layers/errors/wrong-json-type", test_wrong_type);
    g_test_add_func ("/engine/layers/errors/out-of-range", test_out_of_range);
    g_test_add_func ("/engine/layers/errors/unsupported", test_unsupported_settings);
    g_test_add_func ("/engine/layers/errors/missing-required", test_missing_required);
    g_test_add_func ("/engine/layers/errors/shapes", test_shape_errors);
    g_test_add_func ("/engine/layers/errors/linear-message", test_linear_message);
    g_test_add_func ("/engine/layers/to-json/round-trip", test_round_trip);
    g_test_add_func ("/engine/layers/activations/nan", test_sigmoid_tanh_nan);
    g_test_add_func ("/engine/layers/conv2d/fused-relu-backward", test_conv_relu_backward);
    g_test_add_func ("/engine/layers/shapes-and-counts", test_shapes_and_counts);
    g_test_add_func ("/engine/layers/param-names", test_param_names);
    g_test_add_func ("/engine/layers/reinfer", test_reinfer);
    g_test_add_func ("/engine/layers/init", test_init);
    return g_test_run ();
}
