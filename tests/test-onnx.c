/* test-onnx.c: ONNX import and export.
 *
 * Golden models (tests/fixtures/onnx, made by tools/make-onnx-fixtures.py with
 * PyTorch and onnxruntime) are imported and run; their outputs match
 * onnxruntime's to 1e-5. Hostile models are refused with an error that says
 * what is wrong. Exported networks, plain and dendritic, import back to the same
 * outputs where import maps them, and run in onnxruntime with our outputs where
 * Python's onnxruntime is installed (skipped, saying so, elsewhere).
 */
#include "dn-error.h"
#include "dn-model.h"
#include "dn-onnx.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

static float *read_floats (const char *path, gsize *n)
{
    char *data = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (path, &data, &len, NULL));
    g_assert_cmpuint (len % 4, ==, 0);
    *n = len / 4;
    return (float *) data;
}

/* max |a - b| / max(1, |b|) */
static double max_error (const float *a, const float *b, gsize n)
{
    double e = 0.0;
    for (gsize i = 0; i < n; i++)
        e = MAX (e, fabs ((double) a[i] - b[i]) / MAX (1.0, fabs ((double) b[i])));
    return e;
}

/* The network's output for `batch` samples, copied. */
static float *forward (DnNetwork *net, const float *x, int batch, gsize *n)
{
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, batch, &error));
    dn_network_set_training (net, FALSE);
    const DnTensor *y = dn_network_forward (net, x, batch, 0);
    *n = (gsize) dn_tensor_numel (y);
    return g_memdup2 (y->data, *n * sizeof (float));
}

static void test_fixture (gconstpointer data)
{
    const char *name = data;
    g_autofree char *dir = dn_test_fixture_path ("onnx");
    g_autofree char *model = g_strdup_printf ("%s/%s.onnx", dir, name);
    g_autofree char *in_path = g_strdup_printf ("%s/%s.in.bin", dir, name);
    g_autofree char *out_path = g_strdup_printf ("%s/%s.out.bin", dir, name);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net = dn_onnx_import (model, dn_backend_cpu (), NULL, &error);
    g_assert_no_error (error);
    gsize nx, ny, ngot;
    g_autofree float *x = read_floats (in_path, &nx);
    g_autofree float *y = read_floats (out_path, &ny);
    int batch = (int) (nx / dn_shape_numel (&net->input_shape));
    g_assert_cmpint (batch, >=, 1);
    g_autofree float *got = forward (net, x, batch, &ngot);
    g_assert_cmpuint (ngot, ==, ny);
    double err = max_error (got, y, ny);
    g_test_message ("%s: %d samples, %d layers, max error %.3g", name, batch,
                    dn_network_n_nodes (net), err);
    g_assert_cmpfloat (err, <=, 1e-5);
}

/* Each hostile model gives an error (never a network, never a crash) saying why. */
static void test_refused (void)
{
    static const struct {
        const char *file, *says;
    } cases[] = {
        {"huge-dims", "at most"},
        {"huge-input", "too large"},
        {"lying-size", "holds 12 bytes of raw data but its dimensions need 32"},
        {"missing-initializer", "reads 'fc.weight', which no earlier node computes"},
        {"cycle", "node 'first' (Relu): reads 'b', which no earlier node computes"},
        {"external-parent", "outside the model's folder"},
        {"external-absolute", "outside the model's folder"},
        {"unknown-op", "node 'mystery' (Einsum): no layer computes the operator Einsum"},
        {"old-opset", "opset 7"},
        {"truncated", "not an ONNX model"},
        {"maxpool-2d-ceil", "\"ceil_mode\" is set"},
        {"gemm-all-attributes", "\"transA\" is set"},
        {"identity", "is its input, unchanged"},
        {"maxpool-2d-pads", "padding 2 is more than half the kernel size 3"},
        {"deep-nesting", "nested more than 100 deep"},
    };
    g_autofree char *dir = dn_test_fixture_path ("onnx/hostile");
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("%s/%s.onnx", dir, cases[i].file);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnNetwork) net = dn_onnx_import (path, dn_backend_cpu (), NULL, &error);
        g_assert_null (net);
        g_assert_nonnull (error);
        g_test_message ("%s: %s", cases[i].file, error->message);
        if (strstr (error->message, cases[i].says) == NULL)
            g_error ("%s: \"%s\" does not say \"%s\"", cases[i].file, error->message,
                     cases[i].says);
    }
}

/* External data beside the model is read; the same bytes without a folder are not. */
static void test_external_needs_folder (void)
{
    g_autofree char *path = dn_test_fixture_path ("onnx/mlp-external.onnx");
    char *bytes = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
    g_autoptr (GError) error = NULL;
    DnNetwork *net = dn_onnx_import_bytes ((const guint8 *) bytes, len, NULL, "mem",
                                           dn_backend_cpu (), NULL, &error);
    g_assert_null (net);
    g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "not read from a file"));
    g_free (bytes);
}

/* A model whose graph holds an If node whose then_branch holds an If node ... `levels`
 * graphs deep (3 messages a level: graph, node, attribute), built outward from the
 * innermost graph so that each length is known when it is written. */
static GByteArray *nested_model (int levels)
{
    int n = 1 + 3 * levels; /* the model, then graph, node, attribute, graph, ... */
    g_autofree guint8 *tags = g_new (guint8, n);
    g_autofree guint64 *sizes = g_new (guint64, n + 1);
    /* field numbers: a graph is field 7 of the model and 6 (g) of an attribute, a node
     * field 1 of a graph, an attribute field 5 of a node; wire type 2 */
    tags[0] = 0;
    for (int i = 1; i < n; i++) {
        int k = (i - 1) % 3, field = k == 0 ? (i == 1 ? 7 : 6) : k == 1 ? 1 : 5;
        tags[i] = (guint8) (field << 3 | 2);
    }
    /* sizes[i]: the bytes of field i (tag, length, message i) and all it holds */
    sizes[n] = 0;
    for (int i = n - 1; i >= 1; i--) {
        guint64 v = sizes[i + 1];
        int vlen = 1;
        while (v >= 0x80) {
            v >>= 7;
            vlen++;
        }
        sizes[i] = 1 + (guint64) vlen + sizes[i + 1];
    }
    GByteArray *b = g_byte_array_new ();
    for (int i = 1; i < n; i++) {
        g_byte_array_append (b, &tags[i], 1);
        guint64 v = sizes[i + 1];
        do {
            guint8 c = (guint8) (v & 0x7f);
            v >>= 7;
            if (v != 0)
                c |= 0x80;
            g_byte_array_append (b, &c, 1);
        } while (v != 0);
    }
    return b;
}

/* Deep nesting is refused before protobuf-c unpacks (which recurses once a level and,
 * a hundred thousand graphs deep, would run out of stack); the usual depth is read. */
static void test_nesting (void)
{
    static const int levels[] = {100000, 34, 33};
    for (guint i = 0; i < G_N_ELEMENTS (levels); i++) {
        g_autoptr (GByteArray) b = nested_model (levels[i]);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnNetwork) net =
            dn_onnx_import_bytes (b->data, b->len, NULL, "nested", dn_backend_cpu (), NULL, &error);
        g_assert_null (net);
        g_assert_nonnull (error);
        g_test_message ("%d levels, %u bytes: %s", levels[i], b->len, error->message);
        /* 33 levels are 100 messages: unpacked, then refused for what is in them */
        gboolean deep = 1 + 3 * levels[i] > 100;
        g_assert_true ((strstr (error->message, "nested more than 100 deep") != NULL) == deep);
    }
}

/* ---- export ---- */

static const char *const plain_net =
    "{\"input\": [2, 12, 12], \"layers\": ["
    "{\"name\": \"conv1\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
    " \"padding\": 1},"
    "{\"name\": \"bn1\", \"type\": \"batchnorm2d\"},"
    "{\"name\": \"relu1\", \"type\": \"relu\"},"
    "{\"name\": \"side\", \"type\": \"conv2d\", \"inputs\": [\"input\"], \"out_channels\": 4, "
    " \"kernel_size\": 3, \"padding\": 2, \"dilation\": 2, \"bias\": false},"
    "{\"name\": \"sum\", \"type\": \"add\", \"inputs\": [\"relu1\", \"side\"]},"
    "{\"name\": \"cat\", \"type\": \"concat\", \"inputs\": [\"sum\", \"relu1\"]},"
    "{\"name\": \"pool\", \"type\": \"maxpool2d\", \"kernel_size\": 2},"
    "{\"name\": \"avg\", \"type\": \"avgpool2d\", \"kernel_size\": 3, \"stride\": 1, "
    " \"padding\": 1, \"count_include_pad\": false},"
    "{\"name\": \"lrelu\", \"type\": \"leaky_relu\", \"negative_slope\": 0.1},"
    "{\"name\": \"flat\", \"type\": \"flatten\"},"
    "{\"name\": \"drop\", \"type\": \"dropout\", \"p\": 0.3},"
    "{\"name\": \"fc1\", \"type\": \"linear\", \"out_features\": 16},"
    "{\"name\": \"ln\", \"type\": \"layernorm\"},"
    "{\"name\": \"gelu\", \"type\": \"gelu\"},"
    "{\"name\": \"tanh\", \"type\": \"tanh\"},"
    "{\"name\": \"fc2\", \"type\": \"linear\", \"out_features\": 5},"
    "{\"name\": \"out\", \"type\": \"log_softmax\", \"dim\": -1}]}";

static const char *const dendritic_mlp =
    "{\"input\": [1, 6, 6], \"layers\": ["
    "{\"name\": \"flat\", \"type\": \"flatten\"},"
    "{\"name\": \"fc1\", \"type\": \"dendritic\", \"dendrites\": 3, "
    " \"layers\": [{\"type\": \"linear\", \"out_features\": 12}]},"
    "{\"name\": \"relu\", \"type\": \"relu\"},"
    "{\"name\": \"fc2\", \"type\": \"dendritic\", \"dendrites\": 1, \"forward_function\": "
    " \"tanh\", \"layers\": [{\"type\": \"linear\", \"out_features\": 4}]}]}";

static const char *const dendritic_cnn =
    "{\"input\": [2, 8, 8], \"layers\": ["
    "{\"name\": \"conv1\", \"type\": \"dendritic\", \"dendrites\": 2, \"forward_function\": "
    " \"relu\", \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 3, \"kernel_size\": 3, "
    " \"padding\": 1, \"bias\": false}, {\"type\": \"batchnorm2d\"}]},"
    "{\"name\": \"relu1\", \"type\": \"relu\"},"
    "{\"name\": \"conv2\", \"type\": \"dendritic\", \"dendrites\": 2, "
    " \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 1}]},"
    "{\"name\": \"cat\", \"type\": \"concat\", \"inputs\": [\"conv2\", \"relu1\"]},"
    "{\"name\": \"pool\", \"type\": \"adaptive_avgpool2d\", \"output_size\": 1},"
    "{\"name\": \"flat\", \"type\": \"flatten\"},"
    "{\"name\": \"fc\", \"type\": \"dendritic\", \"dendrites\": 2, "
    " \"layers\": [{\"type\": \"linear\", \"out_features\": 3}]},"
    "{\"name\": \"soft\", \"type\": \"softmax\"}]}";

/* A network with every parameter and buffer drawn at random (variances positive),
 * so dendrites, cascades and statistics all change the output. */
static DnNetwork *random_network (const char *text, guint32 seed)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) desc = json_from_string (text, &error);
    g_assert_no_error (error);
    DnNetwork *net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_autoptr (GRand) r = g_rand_new_with_seed (seed);
    g_autoptr (GPtrArray) params = dn_network_named_params (net);
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = g_ptr_array_index (params, i);
        gboolean var = g_str_has_suffix (np->name, "running_var");
        for (int64_t k = 0; k < dn_shape_numel (&np->param->shape); k++)
            np->param->value[k] = var ? (float) g_rand_double_range (r, 0.5, 1.5)
                                      : (float) g_rand_double_range (r, -0.5, 0.5);
    }
    return net;
}

static float *random_input (DnNetwork *net, int batch, guint32 seed, gsize *n)
{
    g_autoptr (GRand) r = g_rand_new_with_seed (seed);
    *n = (gsize) batch * dn_shape_numel (&net->input_shape);
    float *x = g_new (float, *n);
    for (gsize i = 0; i < *n; i++)
        x[i] = (float) g_rand_double_range (r, 0.0, 1.0);
    return x;
}

/* Export, import: the same function (a plain network; import maps what export writes). */
static void test_round_trip (void)
{
    g_autoptr (DnNetwork) net = random_network (plain_net, 5);
    g_autoptr (GError) error = NULL;
    /* the normalisation "none" (mean 0, std 1) writes no Sub and Div, so it imports too */
    DnNormalize none = {.n_channels = 1, .mean = {0.0f}, .std = {1.0f}};
    g_autoptr (GBytes) bytes = dn_onnx_export_bytes (net, &none, "plain", &error);
    g_assert_no_error (error);
    gsize len;
    const guint8 *data = g_bytes_get_data (bytes, &len);
    g_autoptr (DnNetwork) back = dn_onnx_import_bytes (data, len, NULL, "exported",
                                                       dn_backend_cpu (), NULL, &error);
    g_assert_no_error (error);
    gsize nx, na, nb;
    g_autofree float *x = random_input (net, 3, 9, &nx);
    g_autofree float *a = forward (net, x, 3, &na);
    g_autofree float *b = forward (back, x, 3, &nb);
    g_assert_cmpuint (na, ==, nb);
    g_assert_cmpfloat (max_error (b, a, na), <=, 1e-5);
    g_assert_cmpint (dn_network_n_params (back), ==, dn_network_n_params (net));
}

/* What `dendrite export` writes with dendrites or a normalisation does not import back
 * (no layer computes its Mul, Sub and Div nodes, and a dendritic network flattened into
 * layers would no longer be one): the error says so and points to the model file. */
static void test_own_export_refused (void)
{
    static const struct {
        const char *net;
        gboolean normalize;
        const char *node;
    } cases[] = {
        {plain_net, TRUE, "(Sub)"},
        {dendritic_mlp, FALSE, "(Mul)"},
        {dendritic_cnn, TRUE, "(Sub)"},
    };
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *model = g_build_filename (dir, "model.safetensors", NULL);
    g_autofree char *onnx = g_build_filename (dir, "model.onnx", NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (DnNetwork) net = random_network (cases[i].net, 3);
        g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
        if (cases[i].normalize)
            g_hash_table_insert (meta, (gpointer) "dendrite_normalize",
                                 (gpointer) "{\"mean\": [0.5], \"std\": [0.25]}");
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_model_save (net, model, meta, &error));
        g_assert_true (dn_onnx_export_model (model, onnx, &error));
        g_assert_no_error (error);
        g_autoptr (DnNetwork) back = dn_onnx_import (onnx, dn_backend_cpu (), NULL, &error);
        g_assert_null (back);
        g_assert_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED);
        g_test_message ("%s", error->message);
        g_assert_nonnull (strstr (error->message, "written by Dendrite Studio"));
        g_assert_nonnull (strstr (error->message, "open the .safetensors model"));
        g_assert_nonnull (strstr (error->message, cases[i].node));
    }
    dn_test_tmpdir_remove (dir);
}

/* A layer with no ONNX form is refused by name. */
static void test_export_refuses (void)
{
    g_autoptr (DnNetwork) net = random_network (
        "{\"input\": [8], \"layers\": [{\"name\": \"k\", \"type\": \"kwta\", \"k\": 2}]}", 1);
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) bytes = dn_onnx_export_bytes (net, NULL, "kwta", &error);
    g_assert_null (bytes);
    g_assert_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "layer 'k' (kwta)"));
}

static const char *python (void)
{
    const char *p = g_getenv ("DN_PYTHON");
    return p != NULL && p[0] != '\0' ? p : "python3";
}

/* Exports through a model file (as `dendrite export` does, normalisation included) and
 * runs the model in onnxruntime; skips where Python's onnxruntime is missing. */
static void test_runtime (gconstpointer data)
{
    const char *which = data;
    g_autofree char *probe = g_strdup_printf ("%s -c 'import onnx, onnxruntime'", python ());
    int status = -1;
    if (!g_spawn_command_line_sync (probe, NULL, NULL, &status, NULL) || status != 0) {
        g_test_skip ("Python with onnx and onnxruntime is not installed (set DN_PYTHON to one "
                     "that has them); the golden tests cover import without it");
        return;
    }
    const char *text = g_str_equal (which, "plain")       ? plain_net
                       : g_str_equal (which, "dendritic-mlp") ? dendritic_mlp
                                                              : dendritic_cnn;
    g_autoptr (DnNetwork) net = random_network (text, 11);
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *model = g_build_filename (dir, "model.safetensors", NULL);
    g_autofree char *onnx = g_build_filename (dir, "model.onnx", NULL);
    g_autoptr (GError) error = NULL;
    /* normalisation: per channel for the 2-channel inputs, one value for the MLP */
    DnNormalize norm = {.n_channels = net->input_shape.d[0] == 2 ? 2 : 1,
                        .mean = {0.25f, 0.5f},
                        .std = {0.5f, 2.0f}};
    GString *ns = g_string_new ("{\"mean\": [");
    for (int c = 0; c < norm.n_channels; c++)
        g_string_append_printf (ns, "%s%g", c ? ", " : "", norm.mean[c]);
    g_string_append (ns, "], \"std\": [");
    for (int c = 0; c < norm.n_channels; c++)
        g_string_append_printf (ns, "%s%g", c ? ", " : "", norm.std[c]);
    g_string_append (ns, "]}");
    g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert (meta, g_strdup ("dendrite_normalize"), g_string_free (ns, FALSE));
    g_assert_true (dn_model_save (net, model, meta, &error));
    g_assert_no_error (error);
    g_assert_true (dn_onnx_export_model (model, onnx, &error));
    g_assert_no_error (error);

    int batch = 5;
    gsize nx, ny;
    g_autofree float *raw = random_input (net, batch, 3, &nx);
    g_autofree float *x = g_memdup2 (raw, nx * sizeof (float));
    gsize per_channel = nx / batch / norm.n_channels;
    for (gsize i = 0; i < nx; i++) {
        int c = (int) ((i / per_channel) % norm.n_channels);
        x[i] = (x[i] - norm.mean[c]) / norm.std[c];
    }
    g_autofree float *y = forward (net, x, batch, &ny);
    g_autofree char *xin = dn_test_write_file (dir, "x.bin", raw, nx * sizeof (float));
    g_autofree char *yout = dn_test_write_file (dir, "y.bin", y, ny * sizeof (float));
    g_autofree char *script = g_test_build_filename (G_TEST_DIST, "..", "tools",
                                                     "onnx-runtime-check.py", NULL);
    const char *argv[] = {python (), script, onnx, xin, yout, NULL};
    g_autofree char *out = NULL, *err = NULL;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &out, &err, &status, &error));
    g_test_message ("%s%s", out, err);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    dn_test_tmpdir_remove (dir);
}

/* A build without protobuf-c: import says how to get one that reads ONNX. */
static void test_not_built (void)
{
    g_autoptr (GError) error = NULL;
    g_assert_null (dn_onnx_import_bytes ((const guint8 *) "", 0, NULL, "x", dn_backend_cpu (),
                                         NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "libprotobuf-c-dev"));
    g_clear_error (&error);
    /* export too, from a network and from a model file, and the file is not written */
    g_autoptr (DnNetwork) net = random_network (plain_net, 1);
    g_assert_null (dn_onnx_export_bytes (net, NULL, "plain", &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED);
    g_clear_error (&error);
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *model = g_build_filename (dir, "model.safetensors", NULL);
    g_autofree char *onnx = g_build_filename (dir, "model.onnx", NULL);
    g_assert_true (dn_model_save (net, model, NULL, &error));
    g_assert_false (dn_onnx_export_model (model, onnx, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "libprotobuf-c-dev"));
    g_assert_false (g_file_test (onnx, G_FILE_TEST_EXISTS));
    dn_test_tmpdir_remove (dir);
}

static int compare_names (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    if (!dn_onnx_available ()) {
        g_test_add_func ("/onnx/not-built", test_not_built);
        return g_test_run ();
    }
    g_autofree char *dir = dn_test_fixture_path ("onnx");
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    g_assert_nonnull (d);
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    for (const char *f; (f = g_dir_read_name (d)) != NULL;)
        if (g_str_has_suffix (f, ".in.bin"))
            g_ptr_array_add (names, g_strndup (f, strlen (f) - strlen (".in.bin")));
    g_ptr_array_sort (names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index (names, i);
        g_autofree char *path = g_strdup_printf ("/onnx/golden/%s", name);
        g_test_add_data_func (path, name, test_fixture);
    }
    g_test_add_func ("/onnx/refused", test_refused);
    g_test_add_func ("/onnx/external-needs-folder", test_external_needs_folder);
    g_test_add_func ("/onnx/nesting", test_nesting);
    g_test_add_func ("/onnx/export/round-trip", test_round_trip);
    g_test_add_func ("/onnx/export/refuses", test_export_refuses);
    g_test_add_func ("/onnx/export/own-export-refused", test_own_export_refused);
    g_test_add_data_func ("/onnx/runtime/plain", "plain", test_runtime);
    g_test_add_data_func ("/onnx/runtime/dendritic-mlp", "dendritic-mlp", test_runtime);
    g_test_add_data_func ("/onnx/runtime/dendritic-cnn", "dendritic-cnn", test_runtime);
    return g_test_run ();
}
