#include "dn-test-util.h"

#include "dn-safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#ifdef DN_TEST_ASAN
/* Every test: a huge allocation that fails comes back as NULL under
 * AddressSanitizer too, as it does without it (by default ASan aborts), so the
 * out-of-memory paths can be tested. */
const char *__asan_default_options (void);
const char *__asan_default_options (void)
{
    return "allocator_may_return_null=1";
}
#endif

char *dn_test_fixture_path (const char *name)
{
    return g_test_build_filename (G_TEST_DIST, "fixtures", name, NULL);
}

char *dn_test_data_path (const char *rel)
{
    const char *dir = g_getenv ("DN_DATA_DIR");
    g_assert_nonnull (dir);
    return g_build_filename (dir, rel, NULL);
}

char *dn_test_tmpdir (void)
{
    g_autoptr (GError) error = NULL;
    char *dir = g_dir_make_tmp ("dn-test-XXXXXX", &error);
    g_assert_no_error (error);
    return dir;
}

static void remove_tree (const char *path)
{
    if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
        GDir *d = g_dir_open (path, 0, NULL);
        const char *name;
        while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
            g_autofree char *child = g_build_filename (path, name, NULL);
            remove_tree (child);
        }
        if (d != NULL)
            g_dir_close (d);
        g_rmdir (path);
    } else {
        g_unlink (path);
    }
}

void dn_test_spin_until (gboolean (*done) (gpointer), gpointer data, double seconds)
{
    gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
    while (!done (data) && g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, FALSE);
}

static gboolean never (gpointer data)
{
    return FALSE;
}

void dn_test_pump (double seconds)
{
    dn_test_spin_until (never, NULL, seconds);
}

void dn_test_tmpdir_remove (const char *dir)
{
    if (dir != NULL)
        remove_tree (dir);
}

JsonNode *dn_test_load_json (const char *fixture_name)
{
    g_autofree char *path = dn_test_fixture_path (fixture_name);
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_file (parser, path, &error);
    g_assert_no_error (error);
    return json_node_copy (json_parser_get_root (parser));
}

JsonObject *dn_test_json_object (const char *text)
{
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, text, -1, &error);
    g_assert_no_error (error);
    JsonNode *root = json_parser_get_root (parser);
    g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
    return json_object_ref (json_node_get_object (root));
}

float *dn_test_json_floats (JsonArray *a, gsize *n)
{
    guint len = json_array_get_length (a);
    float *out = g_new0 (float, len ? len : 1);
    for (guint i = 0; i < len; i++)
        out[i] = (float) json_array_get_double_element (a, i);
    *n = len;
    return out;
}

char *dn_test_write_file (const char *dir, const char *name, const void *data, gsize len)
{
    char *path = g_build_filename (dir, name, NULL);
    g_autoptr (GError) error = NULL;
    g_file_set_contents (path, data, (gssize) len, &error);
    g_assert_no_error (error);
    return path;
}

void dn_test_assert_floats_close (const char *file, int line, const char *what, const float *a,
                                  const float *b, gsize n, double rtol, double atol)
{
    for (gsize i = 0; i < n; i++) {
        double tol = atol + rtol * fabs ((double) b[i]);
        if (!(fabs ((double) a[i] - (double) b[i]) <= tol)) {
            g_autofree char *msg =
                g_strdup_printf ("%s:%d: %s[%" G_GSIZE_FORMAT "] = %.9g, expected %.9g (tol %.3g)",
                                 file, line, what, i, a[i], b[i], tol);
            g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, msg);
        }
    }
}

static void put_be32 (GByteArray *b, guint32 v)
{
    guint8 x[4] = {v >> 24, v >> 16, v >> 8, v};
    g_byte_array_append (b, x, 4);
}

void dn_test_write_idx (const char *dir, const char *prefix, int n, int side, int base)
{
    g_autoptr (GByteArray) img = g_byte_array_new ();
    g_autoptr (GByteArray) lab = g_byte_array_new ();
    put_be32 (img, 0x803);
    put_be32 (img, n);
    put_be32 (img, side);
    put_be32 (img, side);
    put_be32 (lab, 0x801);
    put_be32 (lab, n);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < side * side; k++) {
            guint8 v = (guint8) MIN (base + (i * 7 + k * 3) % 40, 255);
            g_byte_array_append (img, &v, 1);
        }
        guint8 l = (guint8) (i % 2);
        g_byte_array_append (lab, &l, 1);
    }
    g_autofree char *in = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
    g_autofree char *ln = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
    g_free (dn_test_write_file (dir, in, img->data, img->len));
    g_free (dn_test_write_file (dir, ln, lab->data, lab->len));
}

void dn_test_edit_metadata (const char *path, const char *key, const char *find, const char *with)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_read (path, &error);
    g_assert_no_error (error);
    g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init (&it, st->metadata);
    while (g_hash_table_iter_next (&it, &k, &v))
        g_hash_table_insert (meta, k, v);
    g_autofree char *changed = NULL;
    if (find == NULL) {
        g_hash_table_remove (meta, key);
    } else {
        const char *old = g_hash_table_lookup (meta, key);
        const char *at = old != NULL ? strstr (old, find) : NULL;
        if (at == NULL)
            g_error ("%s has no %s: %s", key, find, old != NULL ? old : "(no such entry)");
        changed = g_strdup_printf ("%.*s%s%s", (int) (at - old), old, with, at + strlen (find));
        g_hash_table_insert (meta, (gpointer) key, changed);
    }
    g_autofree DnStWrite *t = g_new (DnStWrite, MAX (st->tensors->len, 1));
    for (guint i = 0; i < st->tensors->len; i++) {
        DnStTensor *x = st->tensors->pdata[i];
        t[i] = (DnStWrite){x->name, x->shape, x->data};
    }
    g_assert_true (dn_safetensors_write (path, t, (int) st->tensors->len, meta, &error));
    g_assert_no_error (error);
}

void dn_test_assert_same_tensors (const char *a_path, const char *b_path)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) a = dn_safetensors_read (a_path, &error);
    g_assert_no_error (error);
    g_autoptr (DnSafetensors) b = dn_safetensors_read (b_path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (a->tensors->len, ==, b->tensors->len);
    for (guint i = 0; i < a->tensors->len; i++) {
        DnStTensor *ta = a->tensors->pdata[i];
        DnStTensor *tb = dn_safetensors_find (b, ta->name);
        g_assert_nonnull (tb);
        g_assert_true (dn_shape_equal (&ta->shape, &tb->shape));
        g_assert_cmpmem (ta->data, dn_shape_numel (&ta->shape) * sizeof (float), tb->data,
                         dn_shape_numel (&tb->shape) * sizeof (float));
    }
    g_assert_cmpstr (dn_safetensors_metadata (a, "dendrite_network"), ==,
                     dn_safetensors_metadata (b, "dendrite_network"));
}

char *dn_test_small_experiment (const char *tmp, const char *name, const char *out, int width,
                                int epochs)
{
    GString *csv = g_string_new ("a,b,label\n");
    for (int i = 0; i < 300; i++)
        g_string_append_printf (csv, "%d,%d,%d\n", i % 3 ? 2 : -2, (i * 7) % 5, i % 3 != 0);
    g_autofree char *data = dn_test_write_file (tmp, "sep.csv", csv->str, csv->len);
    g_string_free (csv, TRUE);
    return g_strdup_printf (
        "{\"name\": \"%s\", \"data\": {\"format\": \"csv\", \"path\": \"%s\"},"
        " \"network\": {\"input\": [2], \"layers\": [{\"name\": \"fc1\", \"type\": \"linear\","
        " \"out_features\": %d}, {\"name\": \"r\", \"type\": \"relu\"}, {\"name\": \"fc2\","
        " \"type\": \"linear\", \"out_features\": 2}]},"
        " \"training\": {\"optimizer\": {\"type\": \"adam\", \"lr\": 0.01}, \"epochs\": %d,"
        " \"batch_size\": 16, \"seed\": 3}, \"output\": {\"dir\": \"%s\"}}",
        name, data, width, epochs, out);
}

JsonNode *dn_test_example_network (const char *name)
{
    g_autofree char *file = g_strdup_printf ("examples/%s.json", name);
    g_autofree char *path = dn_test_data_path (file);
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_file (p, path, &error);
    g_assert_no_error (error);
    JsonObject *root = json_node_get_object (json_parser_get_root (p));
    g_assert_true (json_object_has_member (root, "network"));
    return json_node_copy (json_object_get_member (root, "network"));
}

JsonNode *dn_test_parse_json (const char *json)
{
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (p, json, -1, &error);
    g_assert_no_error (error);
    return json_node_copy (json_parser_get_root (p));
}

DnExperiment *dn_test_example_experiment (const char *name, int epochs)
{
    g_autofree char *rel = g_strdup_printf ("examples/%s.json", name);
    g_autofree char *path = dn_test_data_path (rel);
    g_autoptr (GError) error = NULL;
    DnExperiment *exp = dn_experiment_load (path, &error);
    g_assert_no_error (error);
    g_free (exp->data_path);
    exp->data_path = dn_test_data_path ("datasets/mnist-10k");
    exp->val_fraction = 0.5;
    exp->epochs = epochs;
    return exp;
}
