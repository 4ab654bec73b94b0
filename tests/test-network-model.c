/* test-network-model.c: model files of networks: save and load bit-identical,
 * one test per kind of broken or foreign file, and weights loaded from files
 * written by other tools (module. and _orig_mod. prefixes). */
#include "dn-network-test.h"

#include <glib/gstdio.h>

static void test_model_roundtrip (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
    g_autoptr (DnNetwork) a = build_example ("resnet-small");
    fill_random (a, 99);
    g_autoptr (GHashTable) extra = g_hash_table_new (g_str_hash, g_str_equal);
    g_hash_table_insert (extra, (char *) "note", (char *) "kept");
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_model_save (a, path, extra, &error));
    g_assert_no_error (error);

    GHashTable *meta = NULL;
    g_autoptr (DnNetwork) b = dn_model_load (path, dn_backend_cpu (), &meta, &error);
    g_assert_no_error (error);
    g_assert_nonnull (b);
    g_assert_nonnull (meta);
    g_assert_cmpstr (g_hash_table_lookup (meta, "note"), ==, "kept");
    g_assert_cmpstr (g_hash_table_lookup (meta, "format"), ==, "pt");
    g_assert_nonnull (g_hash_table_lookup (meta, "dendrite_network"));
    g_hash_table_unref (meta);

    assert_same_params (a, b, TRUE);
    g_assert_cmpint (memcmp (a->params, b->params, a->n_params * sizeof (float)), ==, 0);
    g_assert_cmpint (memcmp (a->buffers, b->buffers, a->n_buffers * sizeof (float)), ==, 0);
    g_autofree char *sa = dn_network_summary (a);
    g_autofree char *sb = dn_network_summary (b);
    g_assert_cmpstr (sa, ==, sb);

    int batch = 4;
    g_assert_true (dn_network_reserve (a, batch, &error));
    g_assert_true (dn_network_reserve (b, batch, &error));
    dn_network_set_training (a, FALSE);
    dn_network_set_training (b, FALSE);
    size_t in = (size_t) dn_shape_numel (&a->input_shape);
    g_autofree float *x = random_floats (in * batch, 31);
    const DnTensor *ya = dn_network_forward (a, x, batch, 0);
    g_autofree float *outa = g_memdup2 (ya->data, (gsize) dn_tensor_numel (ya) * sizeof (float));
    const DnTensor *yb = dn_network_forward (b, x, batch, 0);
    g_assert_cmpint (dn_tensor_numel (yb), ==, batch * 10);
    g_assert_cmpint (memcmp (outa, yb->data, (size_t) dn_tensor_numel (yb) * sizeof (float)), ==,
                     0);

    /* metadata may be left out */
    g_autoptr (DnNetwork) c = dn_model_load (path, dn_backend_cpu (), NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (c);
    dn_test_tmpdir_remove (dir);
}

/* Writes the parameters of `net` under their names (with `prefix`), leaving out
 * `skip`, changing the shape of `reshape`, and adding a tensor `extra`, with the
 * network description `desc` in the metadata (NULL: none). */
static char *write_model (const char *dir, const char *file, DnNetwork *net, const char *prefix,
                          const char *skip, const char *reshape, const char *extra,
                          const char *desc)
{
    g_autoptr (GPtrArray) params = dn_network_named_params (net);
    g_autofree DnStWrite *w = g_new0 (DnStWrite, params->len + 2);
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    static const float zeros[64];
    int n = 0;
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = params->pdata[i];
        if (g_strcmp0 (np->name, skip) == 0)
            continue;
        char *name = g_strconcat (prefix, np->name, NULL);
        g_ptr_array_add (names, name);
        w[n].name = name;
        w[n].shape = np->param->shape;
        w[n].data = np->param->value;
        if (g_strcmp0 (np->name, reshape) == 0) {
            g_assert_cmpint (dn_shape_numel (&np->param->shape), >, 1);
            w[n].shape = dn_shape_1d (1); /* one value: fits in any tensor's data */
        }
        n++;
    }
    if (extra != NULL) {
        w[n].name = extra;
        w[n].shape = dn_shape_1d (4);
        w[n].data = zeros;
        n++;
    }
    g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
    if (desc != NULL)
        g_hash_table_insert (meta, (char *) "dendrite_network", (char *) desc);
    char *path = g_build_filename (dir, file, NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_safetensors_write (path, w, n, meta, &error));
    g_assert_no_error (error);
    return path;
}

static char *network_json (DnNetwork *net)
{
    g_autoptr (JsonNode) desc = dn_network_to_json (net);
    return json_to_string (desc, FALSE);
}

static void expect_load_error (const char *path, int code, const char *f1, const char *f2)
{
    g_autoptr (GError) error = NULL;
    GHashTable *meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (path, dn_backend_cpu (), &meta, &error);
    g_assert_null (net);
    g_assert_null (meta);
    g_assert_error (error, DN_ERROR, code);
    g_test_message ("message: %s", error->message);
    assert_message_has (error, path);
    assert_message_has (error, f1);
    assert_message_has (error, f2);
}

static void test_load_no_description (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnNetwork) net = build_example ("mlp");
    g_autofree char *path = write_model (dir, "plain.safetensors", net, "", NULL, NULL, NULL, NULL);
    expect_load_error (path, DN_ERROR_FORMAT, "dendrite_network", NULL);
    dn_test_tmpdir_remove (dir);
}

static void test_load_corrupt_description (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnNetwork) net = build_example ("mlp");
    g_autofree char *p1 = write_model (dir, "bad-json.safetensors", net, "", NULL, NULL, NULL,
                                       "{\"input\": [1, 28, 28], \"layers\": [");
    expect_load_error (p1, DN_ERROR_FORMAT, "not valid JSON", NULL);
    /* valid JSON, not a valid network */
    g_autofree char *p2 = write_model (dir, "bad-net.safetensors", net, "", NULL, NULL, NULL,
                                       "{\"input\": [784], \"layers\": []}");
    expect_load_error (p2, DN_ERROR_FORMAT, "\"layers\"", NULL);
    g_autofree char *p3 =
        write_model (dir, "not-object.safetensors", net, "", NULL, NULL, NULL, "[1, 2, 3]");
    expect_load_error (p3, DN_ERROR_FORMAT, NULL, NULL);
    dn_test_tmpdir_remove (dir);
}

static void test_load_wrong_shape (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnNetwork) net = build_example ("mlp");
    g_autofree char *desc = network_json (net);
    g_autofree char *path =
        write_model (dir, "shape.safetensors", net, "", NULL, "fc2.weight", NULL, desc);
    expect_load_error (path, DN_ERROR_SHAPE, "\"fc2.weight\"", "'fc2'");
    dn_test_tmpdir_remove (dir);
}

static void test_load_missing_tensor (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnNetwork) net = build_example ("mlp");
    g_autofree char *desc = network_json (net);
    g_autofree char *path =
        write_model (dir, "missing.safetensors", net, "", "fc1.bias", NULL, NULL, desc);
    expect_load_error (path, DN_ERROR_FORMAT, "\"fc1.bias\"", NULL);
    dn_test_tmpdir_remove (dir);
}

static void test_load_extra_tensor (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnNetwork) net = build_example ("mlp");
    g_autofree char *desc = network_json (net);
    g_autofree char *path =
        write_model (dir, "extra.safetensors", net, "", NULL, NULL, "fc3.weight", desc);
    expect_load_error (path, DN_ERROR_FORMAT, "\"fc3.weight\"", NULL);
    dn_test_tmpdir_remove (dir);
}

static void test_load_missing_file (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (dir, "nothing.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (path, dn_backend_cpu (), NULL, &error);
    g_assert_null (net);
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    assert_message_has (error, "nothing.safetensors");
    dn_test_tmpdir_remove (dir);
}

/* Loads a file of net_a's weights, written with `prefix` and with batch-norm's
 * num_batches_tracked entries added, into a fresh network. */
static void check_load_weights (const char *prefix)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnNetwork) a = build_example ("resnet-small");
    fill_random (a, 5);
    g_autoptr (GPtrArray) params = dn_network_named_params (a);
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    g_autofree DnStWrite *w = g_new0 (DnStWrite, params->len * 2);
    static const float tracked = 1234.0f;
    int n = 0;
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = params->pdata[i];
        char *name = g_strconcat (prefix, np->name, NULL);
        g_ptr_array_add (names, name);
        w[n++] = (DnStWrite){name, np->param->shape, np->param->value};
        if (g_str_has_suffix (np->name, ".running_var")) {
            /* PyTorch writes a 0-dimensional int64 here; a scalar of any kind is ignored */
            char *t = g_strdup_printf ("%s%s.num_batches_tracked", prefix, np->node->name);
            g_ptr_array_add (names, t);
            w[n++] = (DnStWrite){t, dn_shape_make (0, NULL), &tracked};
        }
    }
    g_autofree char *path = g_build_filename (dir, "torch.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_safetensors_write (path, w, n, NULL, &error));
    g_assert_no_error (error);

    g_autoptr (DnSafetensors) st = dn_safetensors_read (path, &error);
    g_assert_no_error (error);
    g_autoptr (DnNetwork) b = build_example ("resnet-small");
    g_assert_true (dn_model_load_weights (b, st, "torch.safetensors", &error));
    g_assert_no_error (error);
    assert_same_params (a, b, TRUE);
    g_assert_cmpint (memcmp (a->params, b->params, a->n_params * sizeof (float)), ==, 0);
    g_assert_cmpint (memcmp (a->buffers, b->buffers, a->n_buffers * sizeof (float)), ==, 0);
    dn_test_tmpdir_remove (dir);
}

static void test_load_weights_plain (void)
{
    check_load_weights ("");
}

static void test_load_weights_module_prefix (void)
{
    check_load_weights ("module.");
}

static void test_load_weights_compiled_prefix (void)
{
    check_load_weights ("module._orig_mod.");
}

static void test_load_weights_error_names_file (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnNetwork) net = build_example ("mlp");
    g_autofree char *path =
        write_model (dir, "w.safetensors", net, "module.", NULL, NULL, "module.head.weight", NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_read (path, &error);
    g_assert_no_error (error);
    g_autoptr (DnNetwork) b = build_example ("mlp");
    g_assert_false (dn_model_load_weights (b, st, "weights.safetensors", &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
    assert_message_has (error, "weights.safetensors");
    assert_message_has (error, "module.head.weight");
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/network/model/roundtrip", test_model_roundtrip);
    g_test_add_func ("/engine/network/model/no-description", test_load_no_description);
    g_test_add_func ("/engine/network/model/corrupt-description", test_load_corrupt_description);
    g_test_add_func ("/engine/network/model/wrong-shape", test_load_wrong_shape);
    g_test_add_func ("/engine/network/model/missing-tensor", test_load_missing_tensor);
    g_test_add_func ("/engine/network/model/extra-tensor", test_load_extra_tensor);
    g_test_add_func ("/engine/network/model/missing-file", test_load_missing_file);
    g_test_add_func ("/engine/network/model/weights-plain", test_load_weights_plain);
    g_test_add_func ("/engine/network/model/weights-module-prefix",
                     test_load_weights_module_prefix);
    g_test_add_func ("/engine/network/model/weights-compiled-prefix",
                     test_load_weights_compiled_prefix);
    g_test_add_func ("/engine/network/model/weights-error-names-file",
                     test_load_weights_error_names_file);

    return g_test_run ();
}
