/* dn-network.h: a network is a graph of named layers in topological order.
 *
 * Each node names its inputs (default: the node before it; "input" is the
 * network's input), so residual adds and concatenations work. The last node
 * is the output. A network is described by JSON:
 *
 *   {"input": [1, 28, 28],
 *    "layers": [{"name": "conv1", "type": "conv2d", "out_channels": 32, "kernel_size": 3},
 *               {"type": "relu"}, ...,
 *               {"name": "add1", "type": "add", "inputs": ["conv3", "relu2"]}]}
 *
 * Memory, one arena per kind (llm.c style): trainable parameters (so an
 * optimizer updates them with one call), their gradients, buffers (running
 * statistics), activations and their gradients for `max_batch` samples, and
 * one scratch workspace shared by all layers. Parameter names follow PyTorch's
 * state dict: "<node>.<param>", e.g. "conv1.weight", "fc2.bias".
 */
#pragma once

#include "dn-layer.h"

G_BEGIN_DECLS

typedef struct {
    char *name;
    DnLayer *layer;
    int n_inputs;
    int inputs[DN_LAYER_MAX_INPUTS]; /* node indices; -1 is the network input */
    DnTensor out, dout;              /* views into the activation arenas */
    size_t act_offset;               /* per-sample offset into the activation arenas */
    gboolean needs_grad;             /* backward must fill dout (a parameter is upstream) */
    /* Fusion (DnLayerClass.fuse): this node's layer also computes the next `fused` nodes,
     * whose computed_by is this node's index (else their own). Inside such a chain only
     * the last node's output and gradient are written. */
    int fused;
    int computed_by;
    gboolean keep_output; /* dn_network_keep_output: never inside a chain */
} DnNode;

typedef struct {
    DnShape input_shape;
    GPtrArray *nodes; /* DnNode*, topological order */
    DnBackend *backend;

    float *params; /* n_params trainable floats */
    float *grads;  /* n_params floats */
    size_t n_params;
    float *buffers; /* n_buffers floats (running statistics) */
    size_t n_buffers;

    int max_batch;
    float *acts, *dacts; /* acts_per_sample * max_batch floats each */
    size_t acts_per_sample;
    float *workspace;
    size_t workspace_size; /* floats, for max_batch */

    gboolean training;
    DnCtx ctx;
    const float *last_input; /* the input of the last forward, which backward reads */
    int n_tracked;           /* parameters with row tracking (DnParam.row_len) */
} DnNetwork;

/* Builds and shape-checks a network from its JSON description and allocates its
 * parameters on `be` (zeros; call dn_network_init for PyTorch's initialisation).
 * Errors name the layer at fault. */
DnNetwork *dn_network_new_from_json (JsonNode *desc, DnBackend *be, GError **error);
void dn_network_free (DnNetwork *net);
/* Writes the description back (the same format dn_network_new_from_json reads). */
JsonNode *dn_network_to_json (DnNetwork *net);

void dn_network_init (DnNetwork *net, DnRng *rng);
/* Activations for up to `batch` samples (grows, never shrinks). */
gboolean dn_network_reserve (DnNetwork *net, int batch, GError **error);
void dn_network_set_training (DnNetwork *net, gboolean training);

/* x is (batch, ...input_shape) on the device; returns the output (batch, ...out). The
 * seed drives dropout and must be passed again to the matching backward. */
const DnTensor *dn_network_forward (DnNetwork *net, const float *x, int batch, uint64_t seed);
/* dy is d(loss)/d(output) (batch, ...out); adds into the gradient arena. The input
 * given to the matching forward must still be there. */
void dn_network_backward (DnNetwork *net, const float *dy, int batch);
/* Zeroes the gradients (of tracked parameters only the rows written since). */
void dn_network_zero_grad (DnNetwork *net);

/* Context vectors for active dendrite layers: `table` holds n vectors of dim floats
 * on the network's device and must outlive their use. Every sample uses row 0
 * until dn_network_set_context_index() gives one row per sample (batch int32s on
 * the device; NULL: row 0 again). */
void dn_network_set_contexts (DnNetwork *net, const float *table, int n, int dim);
void dn_network_set_context_index (DnNetwork *net, const int32_t *index);
/* The context length the network's layers read (0: none needs a context). */
int dn_network_context_dim (DnNetwork *net);

/* Row-tracked parameters (DnParam.row_len): the (offset, length) pairs of the
 * trainable arena an optimizer must update — everything except tracked rows no
 * step has touched since dn_network_forget_live_rows(), which the engine calls
 * when it makes a new optimizer, and rows marked DN_ROW_IDLE. Free with
 * g_array_unref. */
GArray *dn_network_live_spans (DnNetwork *net);
void dn_network_forget_live_rows (DnNetwork *net);
/* After an optimizer step: marks DN_ROW_STALE the tracked rows it may have moved,
 * the live ones not idle (all: every row, after a step over the whole arena). */
void dn_network_mark_stepped_rows (DnNetwork *net, gboolean all);
/* Marks every tracked row live (after loading optimizer state from a file). */
void dn_network_mark_all_live (DnNetwork *net);

/* Layers that compute the layers after them (a conv2d with its relu and maxpool2d)
 * leave the outputs in between unwritten. This keeps node i's output (and gradient)
 * written, for a caller that reads it. */
void dn_network_keep_output (DnNetwork *net, int i);

DnShape dn_network_output_shape (DnNetwork *net);
DnNode *dn_network_node (DnNetwork *net, int i);
int dn_network_n_nodes (DnNetwork *net);
DnNode *dn_network_find_node (DnNetwork *net, const char *name);
int64_t dn_network_n_params (DnNetwork *net);

/* Every parameter and buffer with its state-dict name, in a stable order. */
typedef struct {
    char *name; /* "conv1.weight" */
    DnParam *param;
    DnNode *node;
} DnNamedParam;
/* Free with g_ptr_array_unref. */
GPtrArray *dn_network_named_params (DnNetwork *net);

/* A table of the layers: name, kind, settings, output shape, parameters, and
 * the total. */
char *dn_network_summary (DnNetwork *net);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnNetwork, dn_network_free)

G_END_DECLS
