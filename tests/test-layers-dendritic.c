/* test-layers-dendritic.c: the dendritic node as a layer kind, without running
 * data: its configuration and shape errors, the most dendrites, its parameter
 * names and its description. */
#include "dn-layers-test.h"

static void test_dendritic_config_errors (void)
{
    const char *lin = "[{\"type\": \"linear\", \"out_features\": 4}]";
    /* No neuron module: missing, empty, not a list, a list of non-layers. */
    expect_config_error ("dendritic", "dend_a", "{\"dendrites\": 1}", "layers");
    expect_config_error ("dendritic", "dend_b", "{\"layers\": []}", "layers");
    expect_config_error ("dendritic", "dend_c", "{\"layers\": {\"type\": \"linear\"}}", "layers");
    expect_config_error ("dendritic", "dend_d", "{\"layers\": [3]}", "layers");
    expect_config_error ("dendritic", "dend_e", "{\"layers\": [{\"out_features\": 4}]}", "type");
    /* More layers in a group than a module holds. */
    g_autoptr (GString) nine = g_string_new ("{\"layers\": [");
    for (int i = 0; i < 9; i++)
        g_string_append_printf (nine, "%s{\"type\": \"relu\"}", i ? ", " : "");
    g_string_append (nine, "]}");
    expect_config_error ("dendritic", "dend_f", nine->str, "layers");
    /* A dendritic module inside another. */
    g_autofree char *nested =
        g_strdup_printf ("{\"layers\": [{\"type\": \"dendritic\", \"layers\": %s}]}", lin);
    expect_config_error ("dendritic", "dend_g", nested, "dendritic");
    /* forward_function: unknown name, a known activation we do not offer, not a string. */
    g_autofree char *ff1 =
        g_strdup_printf ("{\"forward_function\": \"softplus\", \"layers\": %s}", lin);
    expect_config_error ("dendritic", "dend_h", ff1, "forward_function");
    g_autofree char *ff2 =
        g_strdup_printf ("{\"forward_function\": \"gelu\", \"layers\": %s}", lin);
    expect_config_error ("dendritic", "dend_i", ff2, "forward_function");
    g_autofree char *ff3 = g_strdup_printf ("{\"forward_function\": 1, \"layers\": %s}", lin);
    expect_config_error ("dendritic", "dend_j", ff3, "forward_function");
    /* dendrites out of range or not a whole number. */
    g_autofree char *big =
        g_strdup_printf ("{\"dendrites\": %d, \"layers\": %s}", DN_DENDRITE_MAX + 1, lin);
    expect_config_error ("dendritic", "dend_k", big, "dendrites");
    g_autofree char *neg = g_strdup_printf ("{\"dendrites\": -1, \"layers\": %s}", lin);
    expect_config_error ("dendritic", "dend_l", neg, "dendrites");
    g_autofree char *frac = g_strdup_printf ("{\"dendrites\": 1.5, \"layers\": %s}", lin);
    expect_config_error ("dendritic", "dend_m", frac, "dendrites");
    g_autofree char *im = g_strdup_printf ("{\"init_multiplier\": -1, \"layers\": %s}", lin);
    expect_config_error ("dendritic", "dend_n", im, "init_multiplier");
    /* An unknown setting of the module, and one of a layer inside it. */
    g_autofree char *unk = g_strdup_printf ("{\"dendrite\": 1, \"layers\": %s}", lin);
    expect_config_error ("dendritic", "dend_o", unk, "dendrite");
    expect_config_error ("dendritic", "dend_p",
                         "{\"layers\": [{\"type\": \"linear\", \"out_feature\": 4}]}",
                         "out_feature");
    expect_config_error ("dendritic", "dend_q", "{\"layers\": [{\"type\": \"lstm\"}]}", "lstm");
}

static void test_dendritic_max (void)
{
    /* The most dendrites a module may have builds. */
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    DnShape flat = shp (1, 6, 0, 0);
    g_autofree char *cfg = g_strdup_printf (
        "{\"dendrites\": %d, \"layers\": [{\"type\": \"linear\", \"out_features\": 2}]}",
        DN_DENDRITE_MAX);
    g_autoptr (DnLayer) l = build ("dendritic", "most", cfg, 1, &flat, &in_infer, &error);
    g_assert_no_error (error);
    int k = DN_DENDRITE_MAX;
    g_assert_cmpint (dn_layer_n_params (l), ==, 14 * (k + 1) + 2 * k * (k + 1) / 2);
    /* Groups whose copies and cascade weights do not fit in one module: an error, not
     * a crash. Three params per copy leave room for the copies but not for T and D2D. */
    const char *groups[] = {
        "[{\"type\": \"linear\", \"out_features\": 2, \"bias\": false}, "
        "{\"type\": \"batchnorm1d\", \"track_running_stats\": false}]",
        "[{\"type\": \"linear\", \"out_features\": 2}, {\"type\": \"batchnorm1d\"}]",
    };
    for (size_t i = 0; i < G_N_ELEMENTS (groups); i++) {
        g_autoptr (GError) err = NULL;
        g_autofree char *c =
            g_strdup_printf ("{\"dendrites\": %d, \"layers\": %s}", DN_DENDRITE_MAX, groups[i]);
        g_test_message ("%s", c);
        g_autoptr (DnLayer) big = build ("dendritic", "too_big", c, 1, &flat, &in_infer, &err);
        g_assert_null (big);
        g_assert_nonnull (err);
        g_test_message ("%s", err->message);
        g_assert_true (err->domain == DN_ERROR);
        assert_message_has (err, "too_big");
        assert_message_has (err, "dendrites");
    }
}

/* Shape errors of the neuron module name the dendritic layer. */
static void test_dendritic_shape_errors (void)
{
    DnShape flat = shp (1, 10, 0, 0);
    DnShape img = shp (3, 1, 8, 8);
    expect_shape_error ("dendritic", "dend_conv_flat",
                        "{\"dendrites\": 2, \"layers\": [{\"type\": \"conv2d\", "
                        "\"out_channels\": 4, \"kernel_size\": 3}]}",
                        1, &flat);
    expect_shape_error ("dendritic", "dend_fc_img",
                        "{\"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}", 1, &img);
    expect_shape_error ("dendritic", "dend_bn_feat",
                        "{\"dendrites\": 1, \"layers\": [{\"type\": \"conv2d\", "
                        "\"out_channels\": 4, \"kernel_size\": 3}, {\"type\": "
                        "\"batchnorm2d\", \"num_features\": 3}]}",
                        1, &img);
    DnShape two[2] = {flat, flat};
    expect_shape_error ("dendritic", "dend_two",
                        "{\"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}", 2, two);
}

/* The reference's state-dict names: main_module[.<i>].<p>,
 * dendrite_module.layers.<d>[.<i>].<p>, dendrites_to_top.<k-1> (k, C) and
 * dendrite_module.dendrites_to_dendrites.<i> (i, C); T and D2D trainable. */
static void test_dendritic_param_names (void)
{
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    DnShape flat = shp (1, 6, 0, 0);
    g_autoptr (DnLayer) fc =
        build ("dendritic", "fc1",
               "{\"dendrites\": 3, \"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}", 1,
               &flat, &in_infer, &error);
    g_assert_no_error (error);
    const struct {
        const char *name;
        DnShape shape;
    } want[] = {
        {"main_module.weight", dn_shape_2d (4, 6)},
        {"main_module.bias", dn_shape_1d (4)},
        {"dendrite_module.layers.0.weight", dn_shape_2d (4, 6)},
        {"dendrite_module.layers.0.bias", dn_shape_1d (4)},
        {"dendrite_module.layers.1.weight", dn_shape_2d (4, 6)},
        {"dendrite_module.layers.1.bias", dn_shape_1d (4)},
        {"dendrite_module.layers.2.weight", dn_shape_2d (4, 6)},
        {"dendrite_module.layers.2.bias", dn_shape_1d (4)},
        {"dendrites_to_top.2", dn_shape_2d (3, 4)},
        {"dendrite_module.dendrites_to_dendrites.1", dn_shape_2d (1, 4)},
        {"dendrite_module.dendrites_to_dendrites.2", dn_shape_2d (2, 4)},
    };
    g_assert_cmpint (fc->n_params, ==, G_N_ELEMENTS (want));
    for (size_t i = 0; i < G_N_ELEMENTS (want); i++) {
        g_assert_cmpstr (fc->params[i].name, ==, want[i].name);
        g_assert_true (dn_shape_equal (&fc->params[i].shape, &want[i].shape));
        g_assert_true (fc->params[i].trainable);
    }
    g_assert_cmpint (dn_dendritic_count (fc), ==, 3);
    g_assert_cmpint (dn_dendritic_channels (fc), ==, 4);
    g_assert_cmpint (dn_dendritic_neuron_params (fc), ==, 28);

    /* A group numbers its layers; running statistics stay buffers in every copy. */
    DnShape img = shp (3, 2, 5, 5);
    g_autoptr (DnLayer) grp = build ("dendritic", "conv1",
                                     "{\"dendrites\": 1, \"layers\": [{\"type\": \"conv2d\", "
                                     "\"out_channels\": 3, \"kernel_size\": 3}, {\"type\": "
                                     "\"batchnorm2d\"}]}",
                                     1, &img, &in_infer, &error);
    g_assert_no_error (error);
    const char *gnames[] = {"main_module.0.weight",
                            "main_module.0.bias",
                            "main_module.1.weight",
                            "main_module.1.bias",
                            "main_module.1.running_mean",
                            "main_module.1.running_var",
                            "dendrite_module.layers.0.0.weight",
                            "dendrite_module.layers.0.0.bias",
                            "dendrite_module.layers.0.1.weight",
                            "dendrite_module.layers.0.1.bias",
                            "dendrite_module.layers.0.1.running_mean",
                            "dendrite_module.layers.0.1.running_var",
                            "dendrites_to_top.0"};
    g_assert_cmpint (grp->n_params, ==, G_N_ELEMENTS (gnames));
    for (size_t i = 0; i < G_N_ELEMENTS (gnames); i++) {
        g_assert_cmpstr (grp->params[i].name, ==, gnames[i]);
        g_assert_cmpint (grp->params[i].trainable, ==,
                         !g_str_has_suffix (gnames[i], "_mean") &&
                             !g_str_has_suffix (gnames[i], "_var"));
    }
    DnShape t = dn_shape_2d (1, 3);
    g_assert_true (dn_shape_equal (&dn_layer_find_param (grp, "dendrites_to_top.0")->shape, &t));
    g_assert_cmpint (dn_dendritic_channels (grp), ==, 3);
    g_assert_cmpint (dn_dendritic_neuron_params (grp), ==, 3 * 2 * 9 + 3 + 6);
    /* Not a dendritic layer. */
    g_autoptr (DnLayer) plain =
        build ("linear", "fc", "{\"out_features\": 4}", 1, &flat, &in_infer, &error);
    g_assert_no_error (error);
    g_assert_cmpint (dn_dendritic_count (plain), ==, -1);

    /* Inferred again (a restructure re-infers): the same params, not twice. */
    g_assert_true (dn_layer_infer (grp, 1, &img, &error));
    g_assert_no_error (error);
    g_assert_cmpint (grp->n_params, ==, G_N_ELEMENTS (gnames));
    for (size_t i = 0; i < G_N_ELEMENTS (gnames); i++)
        g_assert_cmpstr (grp->params[i].name, ==, gnames[i]);
}

/* describe names the module's layers and the number of dendrites. */
static void test_dendritic_describe (void)
{
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    DnShape img = shp (3, 2, 5, 5);
    g_autoptr (DnLayer) l = build ("dendritic", "conv1",
                                   "{\"dendrites\": 2, \"layers\": [{\"type\": \"conv2d\", "
                                   "\"out_channels\": 3, \"kernel_size\": 3}, {\"type\": "
                                   "\"batchnorm2d\"}]}",
                                   1, &img, &in_infer, &error);
    g_assert_no_error (error);
    g_autofree char *d = describe (l);
    g_test_message ("%s", d);
    g_assert_nonnull (strstr (d, "conv2d"));
    g_assert_nonnull (strstr (d, "batchnorm2d"));
    g_assert_nonnull (strstr (d, "2 dendrites"));
    DnShape flat = shp (1, 6, 0, 0);
    g_autoptr (DnLayer) one =
        build ("dendritic", "fc1",
               "{\"dendrites\": 1, \"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}", 1,
               &flat, &in_infer, &error);
    g_assert_no_error (error);
    g_autofree char *d1 = describe (one);
    g_assert_nonnull (strstr (d1, "linear"));
    g_assert_nonnull (strstr (d1, "1 dendrite"));
    g_assert_null (strstr (d1, "1 dendrites"));
    /* Defaults written back: sigmoid, 0.01, 0 dendrites. */
    g_autoptr (DnLayer) dflt =
        build ("dendritic", "fc2", "{\"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}", 1,
               &flat, &in_infer, &error);
    g_assert_no_error (error);
    g_autoptr (JsonNode) j = layer_to_json (dflt);
    JsonObject *o = json_node_get_object (j);
    g_assert_cmpint (json_object_get_int_member (o, "dendrites"), ==, 0);
    g_assert_cmpstr (json_object_get_string_member (o, "forward_function"), ==, "sigmoid");
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "init_multiplier"), 0.01,
                                    1e-12);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/layers/dendritic/config-errors", test_dendritic_config_errors);
    g_test_add_func ("/engine/layers/dendritic/max-dendrites", test_dendritic_max);
    g_test_add_func ("/engine/layers/dendritic/shape-errors", test_dendritic_shape_errors);
    g_test_add_func ("/engine/layers/dendritic/param-names", test_dendritic_param_names);
    g_test_add_func ("/engine/layers/dendritic/describe", test_dendritic_describe);

    return g_test_run ();
}
