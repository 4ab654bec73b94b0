/* dn-layer.h: one small interface for every kind of layer.
 *
 * A layer is configured from its JSON object (settings only, PyTorch's
 * names and defaults), told its input shapes (per sample, no batch
 * dimension) so it can declare parameters and its output shape, and then
 * runs forward and backward on batches through the backend.
 *
 * Ownership and memory:
 * - Parameters and buffers are declared in `infer` with dn_layer_add_param();
 *   the network allocates them in its arenas and fills value/grad pointers
 *   before `init` or any forward. Layers never free them.
 * - `forward` overwrites `out`. `backward` ADDS into din[i] (NULL when that
 *   input needs no gradient) and into its parameters' grads, unless the layer is
 *   `frozen`: then it leaves its parameters' grads alone and computes only din.
 * - Scratch space: ctx->workspace holds at least the number of floats the
 *   layer asked for with `workspace_per_sample` times the batch size. It is
 *   shared by all layers and does not survive between calls. Anything that
 *   must survive from forward to backward lives in the layer's own struct.
 */
#pragma once

#include "dn-backend.h"
#include "dn-config-reader.h"
#include "dn-rng.h"
#include "dn-tensor.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define DN_LAYER_MAX_INPUTS 8
#define DN_LAYER_MAX_PARAMS 128

typedef struct {
    char *name; /* "weight", "bias", "running_mean" */
    DnShape shape;
    gboolean trainable; /* FALSE for buffers (running statistics) */
    float *value;       /* set by the network */
    float *grad;        /* NULL for buffers */
    /* Row tracking for large parameters that a step touches only in places (the
     * segments of active dendrites): when row_len > 0 the network keeps one flag
     * byte per row of row_len floats in `rows`; the layer ORs DN_ROW_TOUCHED into
     * the rows it writes gradient to. Untouched rows then cost nothing in
     * zero_grad, and rows never touched since the optimizer was made are skipped
     * by its update, which is exact: their gradients and moments are all zero. */
    size_t row_len;
    guint8 *rows;
} DnParam;


/* What a forward or backward call may use besides its tensors. */
typedef struct {
    DnBackend *backend;
    gboolean training;
    uint64_t seed;    /* per-step seed for dropout; changes every batch */
    float *workspace; /* shared scratch, see above */
    size_t workspace_size;
    /* Context vectors for active dendrite layers (dn_network_set_contexts): a table
     * of n_contexts vectors of context_dim floats; sample b uses row
     * context_index[b] (NULL: row 0 for all). context_version changes whenever the
     * table does, so a layer may cache per-context results in evaluation. */
    const float *contexts;
    int n_contexts, context_dim;
    const int32_t *context_index;
    guint64 context_version;
    /* Non-zero while a loop trains with one fixed context and changes the weights of
     * row-tracked parameters only through optimizer steps that mark the rows they
     * move DN_ROW_STALE (dn_network_mark_stepped_rows): a layer may then keep its
     * segment responses from batch to batch and recompute only stale rows. A new
     * value means nothing kept from before may be used. */
    guint64 segment_reuse;
    gboolean profile; /* time every layer into DnLayer.prof_seconds */
} DnCtx;

typedef struct _DnLayer DnLayer;
typedef struct _DnLayerClass DnLayerClass;

struct _DnLayerClass {
    const char *type;     /* the JSON "type": "conv2d" */
    size_t instance_size; /* sizeof the subclass struct, which starts with DnLayer */
    int min_inputs, max_inputs;
    /* Reads settings; unknown keys are an error naming the key. */
    gboolean (*configure) (DnLayer *l, JsonObject *cfg, GError **error);
    /* Checks the input shapes, declares params, sets l->out_shape. Shape errors name
     * the layer, the shapes and what would connect them. */
    gboolean (*infer) (DnLayer *l, GError **error);
    /* PyTorch's default initialisation of the declared parameters. May be NULL. */
    void (*init) (DnLayer *l, DnRng *rng);
    void (*forward) (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in, DnTensor *out);
    void (*backward) (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *const *in,
                      const DnTensor *out, const DnTensor *dout, DnTensor *const *din);
    /* Writes the settings members (not "type", "name", "inputs"). May be NULL. */
    void (*to_json) (DnLayer *l, JsonBuilder *b);
    /* A short human description: "1→32, 3×3, stride 1". Free with g_free. May be NULL. */
    char *(*describe) (DnLayer *l);
    /* Frees the subclass's own buffers. May be NULL. */
    void (*finalize) (DnLayer *l);
    /* Scratch floats a batch needs when that is not workspace_per_sample * batch
     * (a backend that works sample by sample needs far less). May be NULL. */
    size_t (*workspace_size) (DnLayer *l, DnBackend *be, int batch);
    /* Fusion, for a layer that can do the work of the layers after it while the data is
     * in cache (a conv2d followed by relu and maxpool2d). Offered the n layers that
     * follow it in a chain, each the only reader of the one before, it returns how many
     * of them (from the first) it computes itself from now on: 0 for none. An offer
     * replaces the one before. The network then skips their forward and backward and
     * passes this layer the chain's last output as `out` and its gradient as `dout`;
     * the outputs in between, and their gradients, are never written. May be NULL. */
    int (*fuse) (DnLayer *l, DnLayer *const *next, int n);
    /* Forward and backward are the identity on the floats (flatten): in a network the
     * output and its gradient share the input's memory, and neither is called. */
    gboolean view;
};

struct _DnLayer {
    const DnLayerClass *klass;
    char *name;
    int n_inputs;
    DnShape in_shape[DN_LAYER_MAX_INPUTS];
    DnShape out_shape;
    DnParam params[DN_LAYER_MAX_PARAMS];
    int n_params;
    size_t workspace_per_sample; /* floats of ctx->workspace per sample in the batch */
    int context_dim;             /* > 0: reads context vectors of this length (DnCtx) */
    /* With DnCtx.profile: seconds in forward, backward, and (active dendrites) the
     * segment work included in those two. */
    double prof_seconds[3];
    /* Set by a schedule that steps none of this layer's parameters for a while (a
     * dendrite phase of perforated backpropagation): backward computes no parameter
     * gradients, only the input gradients, so the grads keep what zero_grad left.
     * A layer without parameters ignores it. */
    gboolean frozen;
};

/* Registry. */
const DnLayerClass *dn_layer_class_lookup (const char *type);
/* NULL-terminated list of every registered class. */
const DnLayerClass *const *dn_layer_classes (void);

/* Makes a layer of `type` from its settings (may be NULL for defaults). */
DnLayer *dn_layer_new (const char *type, const char *name, JsonObject *cfg, GError **error);
/* Sets the input shapes and runs infer. */
gboolean dn_layer_infer (DnLayer *l, int n_inputs, const DnShape *in_shapes, GError **error);
void dn_layer_free (DnLayer *l);
/* Declares a parameter (trainable) or buffer; returns its index in l->params. */
int dn_layer_add_param (DnLayer *l, const char *name, DnShape shape, gboolean trainable);
/* Asks the network to track rows of row_len floats of parameter `index` (see DnParam). */
void dn_layer_track_rows (DnLayer *l, int index, size_t row_len);
DnParam *dn_layer_find_param (DnLayer *l, const char *name);
/* Trainable parameter floats (the spec's count). */
int64_t dn_layer_n_params (const DnLayer *l);

/* For configure(): a reader of the layer's settings whose messages start
 * "layer 'fc1' (linear): "; the network's members ("type", "name", "inputs",
 * "dendrites") are always allowed. Declare it g_auto (DnFieldReader). */
DnFieldReader dn_layer_fields (DnLayer *l, JsonObject *cfg, GError **error);
/* A whole number or a pair [h, w] (kernel_size, stride, padding, dilation). */
gboolean dn_layer_int_pair (DnFieldReader *r, const char *key, int min, int max, int out[2]);

/* PyTorch's kaiming_uniform_(a=sqrt(5)) weight / uniform(±1/sqrt(fan_in)) bias. */
void dn_init_uniform (DnRng *rng, float *x, size_t n, float bound);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnLayer, dn_layer_free)

G_END_DECLS
