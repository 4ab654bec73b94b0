/* dn-onnx-actions.c: opening an ONNX model in the window (Open… and drag and drop):
 * it is imported beside itself (NAME.json and NAME.safetensors, as `dendrite import
 * MODEL.onnx --out` its folder does) and the experiment is opened. */
#include "dn-onnx-actions.h"

#include "dn-onnx.h"

gboolean dn_onnx_actions_is_onnx (GFile *file)
{
    g_autofree char *base = g_file_get_basename (file);
    return base != NULL && g_str_has_suffix (base, ".onnx");
}

GFile *dn_onnx_actions_import (GFile *file, GError **error)
{
    g_autofree char *path = g_file_get_path (file);
    g_autofree char *dir = path != NULL ? g_path_get_dirname (path) : NULL;
    g_autofree char *json = NULL;
    if (path == NULL) {
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                             "only a local ONNX file can be imported");
        return NULL;
    }
    if (!dn_onnx_import_to_dir (path, dir, NULL, &json, NULL, error))
        return NULL;
    return g_file_new_for_path (json);
}
