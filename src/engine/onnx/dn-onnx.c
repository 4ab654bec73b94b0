/* dn-onnx.c: ONNX files in and out: reading the model file, writing what import
 * makes (an experiment and a model file), exporting a model file. The format
 * itself is in dn-onnx-read.c, dn-onnx-import.c and dn-onnx-export.c, or, in a
 * build without protobuf-c, dn-onnx-none.c. */
#include "dn-onnx.h"
#include "dn-config.h"
#include "dn-error.h"
#include "dn-file.h"
#include "dn-json.h"
#include "dn-model.h"

#include <errno.h>
#include <string.h>

gboolean dn_onnx_available (void)
{
    return DN_HAVE_ONNX;
}

DnNetwork *dn_onnx_import (const char *path, DnBackend *be, JsonNode **desc, GError **error)
{
    g_autoptr (GMappedFile) map = NULL;
    g_autoptr (GError) local = NULL;
    if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "%s: not a file that can be read", path);
        return NULL;
    }
    map = g_mapped_file_new (path, FALSE, &local);
    if (map == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "%s: %s", path, local->message);
        return NULL;
    }
    g_autofree char *dir = g_path_get_dirname (path);
    return dn_onnx_import_bytes ((const guint8 *) g_mapped_file_get_contents (map),
                                 g_mapped_file_get_length (map), dir, path, be, desc, error);
}

/* {"mean": [...], "std": [...]} */
static JsonNode *normalize_json (const DnNormalize *n)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "mean");
    json_builder_begin_array (b);
    for (int i = 0; i < n->n_channels; i++)
        json_builder_add_double_value (b, n->mean[i]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "std");
    json_builder_begin_array (b);
    for (int i = 0; i < n->n_channels; i++)
        json_builder_add_double_value (b, n->std[i]);
    json_builder_end_array (b);
    json_builder_end_object (b);
    return json_builder_get_root (b);
}

gboolean dn_onnx_import_to_dir (const char *path, const char *out_dir, const DnNormalize *norm,
                                char **json_path, char **model_path, GError **error)
{
    g_autofree char *base = g_path_get_basename (path);
    if (g_str_has_suffix (base, ".onnx"))
        base[strlen (base) - 5] = '\0';
    g_autofree char *what = g_strdup_printf ("%s: the model's name (from the file's name)", path);
    if (!dn_check_name (base, TRUE, what, error))
        return FALSE;
    g_autoptr (JsonNode) desc = NULL;
    g_autoptr (DnNetwork) net = dn_onnx_import (path, dn_backend_cpu (), &desc, error);
    if (net == NULL)
        return FALSE;
    if (norm != NULL) {
        int channels = net->input_shape.ndim == 3 ? (int) net->input_shape.d[0] : 1;
        if (norm->n_channels != 1 && norm->n_channels != channels) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "the normalisation gives %d channels but the model's input has %d; "
                         "give one mean and std, or one per channel",
                         norm->n_channels, channels);
            return FALSE;
        }
    }
    if (g_mkdir_with_parents (out_dir, 0755) != 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "%s: cannot create the folder: %s", out_dir,
                     g_strerror (errno));
        return FALSE;
    }
    g_autofree char *model = g_strdup_printf ("%s/%s.safetensors", out_dir, base);
    g_autofree char *json = g_strdup_printf ("%s/%s.json", out_dir, base);
    g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr (JsonNode) norm_node = norm != NULL ? normalize_json (norm) : NULL;
    if (norm_node != NULL)
        g_hash_table_insert (meta, g_strdup ("dendrite_normalize"),
                             dn_json_to_string (norm_node, FALSE));
    if (!dn_model_save (net, model, meta, error))
        return FALSE;

    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, base);
    json_builder_set_member_name (b, "description");
    g_autofree char *file = g_path_get_basename (path);
    g_autofree char *description = g_strdup_printf ("Imported from the ONNX model %s", file);
    json_builder_add_string_value (b, description);
    json_builder_set_member_name (b, "data");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "normalize");
    if (norm_node != NULL)
        json_builder_add_value (b, json_node_copy (norm_node));
    else
        json_builder_add_string_value (b, "none");
    json_builder_end_object (b);
    json_builder_set_member_name (b, "network");
    json_builder_add_value (b, json_node_copy (desc));
    json_builder_end_object (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    if (!dn_json_save (root, json, error))
        return FALSE;
    if (json_path != NULL)
        *json_path = g_steal_pointer (&json);
    if (model_path != NULL)
        *model_path = g_steal_pointer (&model);
    return TRUE;
}

gboolean dn_onnx_export_model (const char *model_path, const char *onnx_path, GError **error)
{
    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (model_path, dn_backend_cpu (), &meta, error);
    if (net == NULL)
        return FALSE;
    DnNormalize norm;
    gboolean present = FALSE;
    if (!dn_model_normalize (meta, net, model_path, &norm, &present, error))
        return FALSE;
    g_autofree char *name = g_path_get_basename (model_path);
    g_autoptr (GBytes) bytes = dn_onnx_export_bytes (net, present ? &norm : NULL, name, error);
    if (bytes == NULL)
        return FALSE;
    gsize len;
    const void *data = g_bytes_get_data (bytes, &len);
    return dn_file_write_atomic (onnx_path, data, len, error);
}
