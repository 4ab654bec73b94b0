/* test-model.c: model files read back what they wrote, and refuse what they must.
 *
 * Every layer kind goes through build → save → load with an identical
 * description and identical weights; the metadata a model carries is checked
 * on load (normalisation, optimizer steps, JSON members); weights that are not
 * finite are refused naming the tensor; a mapped file converts tensors only on
 * demand; the writer refuses a header its own reader would refuse.
 */
#include "dn-error.h"
#include "dn-json.h"
#include "dn-model.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

typedef struct {
    const char *type;
    const char *desc;
} KindCase;

/* One small network per layer kind (two for active_dendrite: with and without
 * segments, the second being the default that once did not load). */
static const KindCase kind_cases[] = {
    {"linear", "{\"input\": [6], \"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}"},
    {"conv1d", "{\"input\": [2, 8], \"layers\": [{\"type\": \"conv1d\", \"out_channels\": 3, "
               "\"kernel_size\": 3}]}"},
    {"conv2d", "{\"input\": [2, 6, 6], \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, "
               "\"kernel_size\": 3, \"padding\": 1}]}"},
    {"maxpool2d", "{\"input\": [2, 6, 6], \"layers\": [{\"type\": \"maxpool2d\", "
                  "\"kernel_size\": 2}]}"},
    {"avgpool2d", "{\"input\": [2, 6, 6], \"layers\": [{\"type\": \"avgpool2d\", "
                  "\"kernel_size\": 2}]}"},
    {"adaptive_avgpool2d", "{\"input\": [2, 6, 6], \"layers\": [{\"type\": "
                           "\"adaptive_avgpool2d\", \"output_size\": 1}]}"},
    {"batchnorm1d", "{\"input\": [6], \"layers\": [{\"type\": \"batchnorm1d\"}]}"},
    {"batchnorm2d", "{\"input\": [2, 4, 4], \"layers\": [{\"type\": \"batchnorm2d\"}]}"},
    {"layernorm", "{\"input\": [6], \"layers\": [{\"type\": \"layernorm\", "
                  "\"normalized_shape\": [6]}]}"},
    {"relu", "{\"input\": [6], \"layers\": [{\"type\": \"relu\"}]}"},
    {"leaky_relu", "{\"input\": [6], \"layers\": [{\"type\": \"leaky_relu\", "
                   "\"negative_slope\": 0.2}]}"},
    {"sigmoid", "{\"input\": [6], \"layers\": [{\"type\": \"sigmoid\"}]}"},
    {"tanh", "{\"input\": [6], \"layers\": [{\"type\": \"tanh\"}]}"},
    {"gelu", "{\"input\": [6], \"layers\": [{\"type\": \"gelu\"}]}"},
    {"softmax", "{\"input\": [6], \"layers\": [{\"type\": \"softmax\"}]}"},
    {"log_softmax", "{\"input\": [6], \"layers\": [{\"type\": \"log_softmax\"}]}"},
    {"dropout", "{\"input\": [6], \"layers\": [{\"type\": \"dropout\", \"p\": 0.3}]}"},
    {"flatten", "{\"input\": [2, 3, 3], \"layers\": [{\"type\": \"flatten\"}]}"},
    {"add", "{\"input\": [6], \"layers\": [{\"name\": \"a\", \"type\": \"linear\", "
            "\"out_features\": 6}, {\"type\": \"add\", \"inputs\": [\"input\", \"a\"]}]}"},
    {"concat", "{\"input\": [6], \"layers\": [{\"name\": \"a\", \"type\": \"linear\", "
               "\"out_features\": 2}, {\"type\": \"concat\", \"inputs\": [\"input\", \"a\"]}]}"},
    {"dendritic", "{\"input\": [6], \"layers\": [{\"name\": \"d\", \"type\": \"dendritic\", "
                  "\"dendrites\": 2, \"layers\": [{\"type\": \"linear\", \"in_features\": 6, "
                  "\"out_features\": 4}]}]}"},
    {"sparse_linear", "{\"input\": [6], \"layers\": [{\"type\": \"sparse_linear\", "
                      "\"out_features\": 4, \"weight_sparsity\": 0.5}]}"},
    {"active_dendrite", "{\"input\": [6], \"layers\": [{\"type\": \"active_dendrite\", "
                        "\"out_features\": 4}]}"},
    {"active_dendrite", "{\"input\": [6], \"layers\": [{\"type\": \"active_dendrite\", "
                        "\"out_features\": 4, \"segments\": 2, \"context_dim\": 3}]}"},
    {"kwta", "{\"input\": [6], \"layers\": [{\"type\": \"kwta\", \"k\": 2}]}"},
};

static DnNetwork *build (const char *desc)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = dn_json_parse (desc, -1, "test network", &error);
    g_assert_no_error (error);
    DnNetwork *net = dn_network_new_from_json (root, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_nonnull (net);
    return net;
}

static char *describe (DnNetwork *net)
{
    g_autoptr (JsonNode) d = dn_network_to_json (net);
    return dn_json_to_string (d, FALSE);
}

static void test_every_kind (void)
{
    /* every registered kind has a case here */
    const DnLayerClass *const *classes = dn_layer_classes ();
    for (int i = 0; classes[i] != NULL; i++) {
        gboolean found = FALSE;
        for (gsize k = 0; k < G_N_ELEMENTS (kind_cases) && !found; k++)
            found = g_str_equal (kind_cases[k].type, classes[i]->type);
        if (!found)
            g_error ("layer kind %s has no round-trip case in test-model.c", classes[i]->type);
    }
    g_autofree char *dir = dn_test_tmpdir ();
    for (gsize k = 0; k < G_N_ELEMENTS (kind_cases); k++) {
        g_test_message ("%s: %s", kind_cases[k].type, kind_cases[k].desc);
        g_autoptr (DnNetwork) a = build (kind_cases[k].desc);
        DnRng rng;
        dn_rng_seed (&rng, 5 + k);
        dn_network_init (a, &rng);
        for (size_t i = 0; i < a->n_buffers; i++)
            a->buffers[i] = dn_rng_uniform_range (&rng, 0.5f, 1.5f);
        g_autofree char *path = g_strdup_printf ("%s/kind-%" G_GSIZE_FORMAT ".safetensors", dir, k);
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_model_save (a, path, NULL, &error));
        g_assert_no_error (error);
        g_autoptr (DnNetwork) b = dn_model_load (path, dn_backend_cpu (), NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (b);
        g_autofree char *da = describe (a);
        g_autofree char *db = describe (b);
        g_assert_cmpstr (da, ==, db);
        g_assert_cmpuint (a->n_params, ==, b->n_params);
        g_assert_cmpuint (a->n_buffers, ==, b->n_buffers);
        g_assert_cmpmem (a->params, a->n_params * sizeof (float), b->params,
                         b->n_params * sizeof (float));
        g_assert_cmpmem (a->buffers, a->n_buffers * sizeof (float), b->buffers,
                         b->n_buffers * sizeof (float));
    }
    dn_test_tmpdir_remove (dir);
}

/* Saves a one-layer model with `key` = `value` in its metadata; returns the path. */
static char *save_with (const char *dir, const char *key, const char *value)
{
    g_autoptr (DnNetwork) net = build ("{\"input\": [1, 2, 2], \"layers\": [{\"type\": "
                                       "\"flatten\"}, {\"name\": \"fc\", \"type\": \"linear\", "
                                       "\"out_features\": 2}]}");
    g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
    if (key != NULL)
        g_hash_table_insert (meta, (char *) key, (char *) value);
    char *path = g_build_filename (dir, "m.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_model_save (net, path, meta, &error));
    g_assert_no_error (error);
    return path;
}

static void assert_load_fails (const char *path, int code, const char *const *needles)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (path, dn_backend_cpu (), NULL, &error);
    g_assert_null (net);
    g_assert_nonnull (error);
    if (code >= 0)
        g_assert_error (error, DN_ERROR, code);
    g_test_message ("%s", error->message);
    for (int i = 0; needles[i] != NULL; i++)
        if (strstr (error->message, needles[i]) == NULL)
            g_error ("message \"%s\" does not mention \"%s\"", error->message, needles[i]);
}

static void test_normalize_checked (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    static const struct {
        const char *value;
        const char *needle;
    } cases[] = {
        {"{\"mean\":[0.1],\"std\":[0]}", "not positive"},
        {"{\"mean\":[0.1],\"std\":[1e-300]}", "too small"},
        {"{\"mean\":[0.1],\"std\":[1e300]}", "does not fit a float"},
        {"{\"mean\":[-1e39],\"std\":[1]}", "does not fit a float"},
        {"{\"mean\":[null],\"std\":[1]}", "finite"},
        {"{\"mean\":[0.1, 0.2],\"std\":[1]}", "2 means but 1 stds"},
        {"{\"mean\":[0, 0, 0],\"std\":[1, 1, 1]}", "3 channels"},
        {"{\"mean\":[0],\"std\":[1],\"scale\":2}", "\"scale\""},
        {"[0.1, 0.3]", "must be"},
        {"{\"mean\":[0.1],", "not valid JSON"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = save_with (dir, "dendrite_normalize", cases[i].value);
        const char *needles[] = {"m.safetensors", "dendrite_normalize", cases[i].needle, NULL};
        assert_load_fails (path, -1, needles);
    }
    /* a good one reads back, and one value per channel of a [1, 2, 2] input is fine */
    g_autofree char *path = save_with (dir, "dendrite_normalize", "{\"mean\":[0.5],\"std\":[2]}");
    g_autoptr (GError) error = NULL;
    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (path, dn_backend_cpu (), &meta, &error);
    g_assert_no_error (error);
    DnNormalize norm;
    gboolean present = FALSE;
    g_assert_true (dn_model_normalize (meta, net, path, &norm, &present, &error));
    g_assert_true (present);
    g_assert_cmpint (norm.n_channels, ==, 1);
    g_assert_cmpfloat (norm.mean[0], ==, 0.5f);
    g_assert_cmpfloat (norm.std[0], ==, 2.0f);
    dn_test_tmpdir_remove (dir);
}

static void test_metadata_types (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    {
        g_autofree char *path = save_with (dir, "dendrite_optimizer_steps", "-3");
        const char *needles[] = {"dendrite_optimizer_steps", "\"-3\"", "whole number", NULL};
        assert_load_fails (path, DN_ERROR_FORMAT, needles);
    }
    {
        g_autofree char *path = save_with (dir, "dendrite_run", "[1, 2]");
        const char *needles[] = {"dendrite_run", "not a JSON object", NULL};
        assert_load_fails (path, DN_ERROR_FORMAT, needles);
    }
    {
        g_autofree char *path =
            save_with (dir, "dendrite_continual", "{\"tasks\": 2, \"tasks\": 3}");
        const char *needles[] = {"dendrite_continual", "\"tasks\" twice", NULL};
        assert_load_fails (path, DN_ERROR_FORMAT, needles);
    }
    {
        g_autofree char *path = save_with (dir, "dendrite_training", "{\"experiment\":\"x\",");
        const char *needles[] = {"m.safetensors", "dendrite_training", "not valid JSON", NULL};
        assert_load_fails (path, DN_ERROR_FORMAT, needles);
    }
    {
        g_autofree char *path = save_with (dir, "dendrite_training", "\"cross_entropy\"");
        const char *needles[] = {"dendrite_training", "not a JSON object", NULL};
        assert_load_fails (path, DN_ERROR_FORMAT, needles);
    }
    dn_test_tmpdir_remove (dir);
}

static void test_weights_not_finite (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    const float bad[] = {NAN, INFINITY};
    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (DnNetwork) net = build ("{\"input\": [3], \"layers\": [{\"name\": \"fc\", "
                                           "\"type\": \"linear\", \"out_features\": 2}]}");
        net->params[4] = bad[i];
        g_autofree char *path = g_build_filename (dir, "nan.safetensors", NULL);
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_model_save (net, path, NULL, &error));
        const char *needles[] = {"nan.safetensors", "\"fc.weight\"", "not finite", "element 4",
                                 NULL};
        assert_load_fails (path, DN_ERROR_NUMERIC, needles);
    }
    dn_test_tmpdir_remove (dir);
}

static void test_read_lazily (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = save_with (dir, NULL, NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (st->tensors->len, ==, 2);
    for (guint i = 0; i < st->tensors->len; i++)
        g_assert_null (((DnStTensor *) st->tensors->pdata[i])->data);
    DnStTensor *w = dn_safetensors_find (st, "fc.weight");
    g_assert_nonnull (w);
    g_assert_nonnull (w->data);
    dn_safetensors_tensor_release (st, w);
    g_assert_null (w->data);
    g_assert_nonnull (dn_safetensors_tensor_data (st, w, &error));
    g_assert_no_error (error);
    /* read converts every tensor at once */
    g_autoptr (DnSafetensors) all = dn_safetensors_read (path, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < all->tensors->len; i++)
        g_assert_nonnull (((DnStTensor *) all->tensors->pdata[i])->data);
    dn_test_tmpdir_remove (dir);
}

static void test_read_not_regular (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_open ("/dev/zero", &error);
    g_assert_null (st);
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "not a regular file"));
}

/* A lying header is refused before the data is touched: a file whose header
 * says its one tensor ends far past the file's end. */
static void test_read_header_first (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    const char *json = "{\"t\":{\"dtype\":\"F32\",\"shape\":[1000000000],"
                       "\"data_offsets\":[0,4000000000]}}";
    gsize hl = strlen (json);
    g_autofree guint8 *bytes = g_malloc0 (8 + hl + 16);
    guint64 le = GUINT64_TO_LE ((guint64) hl);
    memcpy (bytes, &le, 8);
    memcpy (bytes + 8, json, hl);
    g_autofree char *path = dn_test_write_file (dir, "lying.safetensors", bytes, 8 + hl + 16);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_read (path, &error);
    g_assert_null (st);
    g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "truncated"));
    dn_test_tmpdir_remove (dir);
}

/* The writer refuses a header above the readers' 100 MB limit instead of writing a
 * model that nothing can open. */
static void test_write_header_limit (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    gsize n = 101 * 1000 * 1000;
    g_autofree char *big = g_malloc (n + 1);
    memset (big, 'a', n);
    big[n] = '\0';
    g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
    g_hash_table_insert (meta, (char *) "note", big);
    g_autofree char *path = g_build_filename (dir, "big.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_safetensors_write (path, NULL, 0, meta, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "100 MB"));
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/model/roundtrip/every-kind", test_every_kind);
    g_test_add_func ("/engine/model/metadata/normalize", test_normalize_checked);
    g_test_add_func ("/engine/model/metadata/types", test_metadata_types);
    g_test_add_func ("/engine/model/weights/not-finite", test_weights_not_finite);
    g_test_add_func ("/engine/model/read/lazily", test_read_lazily);
    g_test_add_func ("/engine/model/read/not-regular", test_read_not_regular);
    g_test_add_func ("/engine/model/read/header-first", test_read_header_first);
    g_test_add_func ("/engine/model/write/header-limit", test_write_header_limit);
    return g_test_run ();
}
