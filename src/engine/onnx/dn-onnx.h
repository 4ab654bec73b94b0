/* dn-onnx.h: ONNX models in and out.
 *
 * Import maps an ONNX graph (opsets DN_ONNX_MIN_OPSET to DN_ONNX_MAX_OPSET) onto the
 * network's layers, node by node, with the initializers as the weights: a Conv
 * becomes a conv2d, a Gemm (or a MatMul and the Add of its bias) a linear layer, and
 * so on (docs/onnx.md has the table). A node, attribute or shape that no layer
 * computes exactly is an error naming the node, its op type and what would be
 * needed; nothing is half imported. Tensors stored outside the model
 * (external data) are read only from the model's own folder.
 *
 * Export writes a network, with or without dendrites, as standard operators of
 * opset DN_ONNX_EXPORT_OPSET: a dendritic node expands into its neuron module,
 * its dendrite copies, their forward function, the cascade and the output
 * weights. The input is "input" (N, ...input shape) of raw values: the
 * normalisation runs first as a Sub and a Div, and metadata_props record it
 * ("dendrite_normalize") with the input shape ("dendrite_input_shape").
 *
 * The reader and writer of the format are generated from onnx.proto by
 * protoc-c; a build without protobuf-c has these calls, which then fail with
 * an error saying how to get them (dn_onnx_available says which).
 */
#pragma once

#include "dn-data.h"
#include "dn-network.h"

G_BEGIN_DECLS

#define DN_ONNX_MIN_OPSET 11
#define DN_ONNX_MAX_OPSET 28
#define DN_ONNX_EXPORT_OPSET 17
/* The largest model file import reads (protobuf's own limit is 2 GB; bigger weights
 * belong in external data). */
#define DN_ONNX_MAX_FILE ((gsize) 1 << 31)

/* Whether this build reads and writes ONNX. */
gboolean dn_onnx_available (void);

/* The network an ONNX model describes, with its initializers as weights, on `be`.
 * `dir` is the folder external data may come from (NULL: none may); `what`
 * names the model in messages. *desc, when not NULL, receives the network's JSON
 * description. */
DnNetwork *dn_onnx_import_bytes (const guint8 *bytes, gsize len, const char *dir,
                                 const char *what, DnBackend *be, JsonNode **desc,
                                 GError **error);
/* The same from a file; external data from the file's folder. */
DnNetwork *dn_onnx_import (const char *path, DnBackend *be, JsonNode **desc, GError **error);
/* Imports `path` and writes OUT_DIR/NAME.json (an experiment with the network; NAME
 * is the file's name without .onnx) and OUT_DIR/NAME.safetensors (a model file
 * with the weights and `norm`, or no normalisation when NULL), each atomically.
 * *json_path and *model_path (may be NULL) receive the two paths. */
gboolean dn_onnx_import_to_dir (const char *path, const char *out_dir, const DnNormalize *norm,
                                char **json_path, char **model_path, GError **error);

/* The network as an ONNX model (checked against itself: every value defined
 * before use). norm may be NULL (none). The network's parameters are read
 * through its backend. */
GBytes *dn_onnx_export_bytes (DnNetwork *net, const DnNormalize *norm, const char *name,
                              GError **error);
/* Exports a model file (its network, weights and normalisation) to `onnx_path`,
 * written atomically. */
gboolean dn_onnx_export_model (const char *model_path, const char *onnx_path, GError **error);

G_END_DECLS
