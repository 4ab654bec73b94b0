/* dn-onnx-private.h: what the ONNX reader (dn-onnx-read.c), the graph import
 * (dn-onnx-import.c, its operators in dn-onnx-import-ops.c) and the export
 * (dn-onnx-export.c) share. Built only with protobuf-c. */
#pragma once

#include "dn-onnx.h"
#include "onnx.pb-c.h"

G_BEGIN_DECLS

/* The most elements one tensor of a model may hold, and the most one dimension may
 * have: beyond them a file is refused before anything is allocated. */
#define DN_ONNX_MAX_NUMEL ((int64_t) 1 << 28)
#define DN_ONNX_MAX_DIM ((int64_t) 1 << 26)
/* The deepest nesting of messages a model may have (the model itself is level 1):
 * Google's protobuf libraries default to 100 as well. Deeper is refused before
 * unpacking, which would recurse once per level. */
#define DN_ONNX_MAX_NESTING 100
/* The producer_name of the models export writes. */
#define DN_ONNX_PRODUCER "dendrite-studio"

/* A constant of the graph (an initializer or a Constant node's value), converted:
 * `f` always, `i` too for integer types (a Reshape's shape). Row-major, ONNX's
 * dimension order. */
typedef struct {
    int ndim;
    int64_t dims[DN_MAX_DIMS];
    int64_t numel;
    float *f;
    int64_t *i;
} DnOnnxConst;

void _dn_onnx_const_free (DnOnnxConst *c);

/* Unpacks a model and checks what every later step relies on: a graph, the default
 * domain's opset within what import reads, no other domains used by nodes. */
Onnx__ModelProto *_dn_onnx_unpack (const guint8 *bytes, gsize len, const char *what, int *opset,
                                   GError **error);
/* A tensor's values; `dir` is the folder its external data may come from (NULL:
 * refused). Sizes are checked against the dimensions before anything is read. */
DnOnnxConst *_dn_onnx_tensor_read (const Onnx__TensorProto *t, const char *dir,
                                   const char *what, GError **error);

/* Node attributes. */
const Onnx__AttributeProto *_dn_onnx_attr (const Onnx__NodeProto *n, const char *name);
/* Fails naming the node and the attribute when it has one not in `known`. */
gboolean _dn_onnx_check_attrs (const Onnx__NodeProto *n, const char *const *known,
                               const char *what, GError **error);
/* Typed reads with a default; a wrong type is an error naming node and attribute. */
gboolean _dn_onnx_attr_int (const Onnx__NodeProto *n, const char *name, int64_t def,
                            int64_t *out, const char *what, GError **error);
gboolean _dn_onnx_attr_float (const Onnx__NodeProto *n, const char *name, float def, float *out,
                              const char *what, GError **error);
/* A list of at most `max` ints; *n = 0 when absent. */
gboolean _dn_onnx_attr_ints (const Onnx__NodeProto *n, const char *name, int max, int64_t *out,
                             int *n_out, const char *what, GError **error);
/* A string (shorter than out_len), or `def` when absent, copied into out. */
gboolean _dn_onnx_attr_string (const Onnx__NodeProto *n, const char *name, const char *def,
                               char *out, gsize out_len, const char *what, GError **error);
/* "node 'NAME' (OP)" for messages; free with g_free. */
char *_dn_onnx_node_label (const Onnx__NodeProto *n, int index);

/* The import of one graph: values by name, the layers made so far. */
typedef struct {
    char *layer;   /* the layer computing it, or "input" */
    DnShape shape; /* per sample */
    int index;     /* the layer's index in `layers`, -1 for the input */
} DnOnnxValue;

typedef struct {
    const char *what; /* the model, in messages */
    const char *dir;
    int opset;
    Onnx__GraphProto *graph;
    gboolean ours; /* written by dn_onnx_export_bytes (its producer_name) */
    GHashTable *values;    /* name -> DnOnnxValue* */
    GHashTable *consts;    /* name -> DnOnnxConst* */
    GHashTable *consumers; /* name -> GINT_TO_POINTER (readers: nodes and graph outputs) */
    JsonArray *layers;     /* the network's "layers" */
    GHashTable *names;     /* layer names used */
    GHashTable *weights;   /* "layer.param" -> DnOnnxConst* (ours, PyTorch layout) */
    GHashTable *weight_of; /* "layer.param" -> label of the node it came from */
    GHashTable *foldable;  /* value name -> layer index: a linear without bias yet */
    int *role;             /* per node: 0 map it, 1 part of a pattern, 2 the pattern's end */
    char **pattern_input;  /* per node with role 2: the value it reads */
    DnShape input_shape;
} DnOnnxImport;

/* dn-onnx-import.c, for the operators: */
/* The value of input i (NULL: absent or empty); *c receives a constant instead. */
DnOnnxValue *_dn_onnx_input (DnOnnxImport *im, const Onnx__NodeProto *n, int i, DnOnnxConst **c);
/* Adds a layer reading `in` (n_in values), checks it by building it, and makes
 * the node's first output its output. cfg is taken. Returns the new layer's name. */
const char *_dn_onnx_add_layer (DnOnnxImport *im, const Onnx__NodeProto *n, int index,
                                const char *type, JsonObject *cfg, int n_in, DnOnnxValue **in,
                                GError **error);
/* The node's first output is the value `v` (Identity, Dropout with p = 0). */
void _dn_onnx_alias (DnOnnxImport *im, const Onnx__NodeProto *n, const DnOnnxValue *v);
/* Records a weight of the layer; c is taken. */
void _dn_onnx_weight (DnOnnxImport *im, const char *layer, const char *param, DnOnnxConst *c,
                      const char *label);
/* Fails unless only the node's first output is read. */
gboolean _dn_onnx_single_output (DnOnnxImport *im, const Onnx__NodeProto *n, const char *label,
                                 GError **error);
/* The number of nodes and graph outputs reading value `name`. */
int _dn_onnx_readers (DnOnnxImport *im, const char *name);

/* dn-onnx-import-ops.c: */
/* Maps node `index` of the graph onto layers. */
gboolean _dn_onnx_map_node (DnOnnxImport *im, int index, GError **error);
/* Finds the erf form of GELU (x * 0.5 * (1 + erf(x / sqrt 2))) and marks its nodes. */
void _dn_onnx_find_patterns (DnOnnxImport *im);

G_END_DECLS
