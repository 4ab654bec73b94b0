/* dn-onnx-none.c: ONNX import and export in a build without protobuf-c: each call
 * says how to get a build that has them. */
#include "dn-onnx.h"
#include "dn-error.h"

static void not_built (GError **error)
{
    g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                 "this build of Dendrite Studio reads and writes no ONNX: install "
                 "libprotobuf-c-dev, protobuf-c-compiler and libonnx-dev (sh "
                 "tools/install-deps.sh) and build again");
}

DnNetwork *dn_onnx_import_bytes (const guint8 *bytes, gsize len, const char *dir,
                                 const char *what, DnBackend *be, JsonNode **desc,
                                 GError **error)
{
    not_built (error);
    return NULL;
}

GBytes *dn_onnx_export_bytes (DnNetwork *net, const DnNormalize *norm, const char *name,
                              GError **error)
{
    not_built (error);
    return NULL;
}
