/* dn-layer-private.h: the layer classes, for the registry in dn-layer.c.
 *
 * The settings, defaults, shapes and initialisation of every layer kind (and
 * the loss definitions) are specified in docs/layers.md: implement exactly that. */
#pragma once

#include "dn-layer-dendritic.h"
#include "dn-layer.h"

G_BEGIN_DECLS

/* One line per class; each is defined in its own dn-layer-*.c file. */
extern const DnLayerClass dn_linear_class;
extern const DnLayerClass dn_conv1d_class;
extern const DnLayerClass dn_conv2d_class;
extern const DnLayerClass dn_maxpool2d_class;
extern const DnLayerClass dn_avgpool2d_class;
extern const DnLayerClass dn_adaptive_avgpool2d_class;
extern const DnLayerClass dn_batchnorm1d_class;
extern const DnLayerClass dn_batchnorm2d_class;
extern const DnLayerClass dn_layernorm_class;
extern const DnLayerClass dn_relu_class;
extern const DnLayerClass dn_leaky_relu_class;
extern const DnLayerClass dn_sigmoid_class;
extern const DnLayerClass dn_tanh_class;
extern const DnLayerClass dn_gelu_class;
extern const DnLayerClass dn_softmax_class;
extern const DnLayerClass dn_log_softmax_class;
extern const DnLayerClass dn_dropout_class;
extern const DnLayerClass dn_flatten_class;
extern const DnLayerClass dn_add_class;
extern const DnLayerClass dn_concat_class;
extern const DnLayerClass dn_dendritic_class;
extern const DnLayerClass dn_sparse_linear_class;
extern const DnLayerClass dn_active_dendrite_class;
extern const DnLayerClass dn_kwta_class;

/* A maxpool2d's geometry, and its argmax buffer grown for `batch` samples on `be` (NULL
 * when out of memory): for a layer that computes the pooling itself (DnLayerClass.fuse). */
const DnConvGeom *dn_maxpool_geom (DnLayer *pool);
int32_t *dn_maxpool_argmax (DnLayer *pool, DnBackend *be, int batch);

/* Shape-check helper: sets a DN_ERROR_SHAPE error "layer 'NAME' (TYPE): ..." */
void dn_layer_shape_error (DnLayer *l, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

/* ---- the dendritic node (dn-layer-dendritic.c, dn-layer-candidate.c) ---- */

#define DN_DENDRITIC_GROUP_MAX 8

typedef struct {
    int n;
    DnLayer *layers[DN_DENDRITIC_GROUP_MAX];
    int first_param[DN_DENDRITIC_GROUP_MAX]; /* index of each layer's first param in the parent */
} DnChain;

/* Copy c of the module is chain c: 0 the neuron module, i + 1 dendrite i. Its layer j
 * writes its output at outs[j] + c * batch * numel_j, and reads its gradient from douts[j]
 * alike, so the k + 1 last outputs are the slots of the combination (dendrite_forward).
 *
 * When the module starts with a convolution (groups = 1), the first layers of all copies
 * run as one: `fused` is that convolution with (k + 1) * c_out output channels, whose
 * weight and bias are the copies' stacked (gathered into wcat each step, gradients
 * scattered back from dwcat). It makes one column matrix of the input, one GEMM for the
 * outputs of every copy, one for their weight gradients and one for the input gradient,
 * summed over the copies, where k + 1 separate convolutions would repeat all of it. Its
 * output is stack (batch, k + 1, numel_0): sample-major, which the combination reads as
 * it is when the module is that one layer; a group's later layers get their copies'
 * inputs laid out as above (outs[0]).
 *
 * Fusion with the layers after it (DnLayerClass.fuse): with dendrites, a ReLU and a
 * max pooling after the module are computed by the combination itself
 * (dendrite_forward's DnConvFusion); without, the module's one layer is offered the
 * chain (a conv2d takes the same). */
typedef struct {
    DnLayer parent;
    JsonNode *layer_cfgs; /* the "layers" array */
    int k;
    DnAct act;
    double init_multiplier;
    DnChain main;
    DnChain *dend;    /* k chains */
    DnLayer *fused; /* NULL where the first layers cannot run as one */
    gboolean use_fused;
    int channels;
    int spatial;
    size_t numel;  /* per sample, of the output */
    int t_param;   /* index of T in params, or -1 */
    int d2d_param; /* index of D2D[1] in params; D2D[i] is d2d_param + i - 1 */
    /* Buffers for cap_batch samples, laid out for buffers_fused. */
    float *outs[DN_DENDRITIC_GROUP_MAX], *douts[DN_DENDRITIC_GROUP_MAX];
    float *stack, *dstack; /* the fused layer's output and its gradient */
    float *wcat, *dwcat;   /* the fused layer's parameters and gradients */
    float *comb, *dcomb;   /* T and the cascade weights packed (dendrite_forward's w), grads */
    float *s;              /* (k, batch, numel) */
    int cap_batch;
    int last_batch;
    gboolean buffers_fused;
    /* k >= 1: the layers after it that the combination computes (n_fused of them) */
    int n_fused;
    DnConvFusion fusion;
    DnLayer *fused_pool;
    int inner_fused; /* k = 0: how many layers after it main.layers[0] computes */
    DnBackend *be;       /* of the buffers */
    /* Perforated backpropagation (dn-layer-candidate.c): how backward treats the
     * dendrites; PB modes run the copies one by one (no fused first layer). */
    DnDendriticMode mode;
    gboolean learn_live;
    gboolean want_fused; /* dn_dendritic_set_fused */
} DnDendritic;

/* Copy c of the module: 0 the neuron module, i + 1 dendrite i. */
DnChain *_dn_dendritic_chain (DnDendritic *self, int c);
size_t _dn_dendritic_out_numel (const DnLayer *l);
/* Buffers for `batch` samples on `be` (FALSE when out of memory). */
gboolean _dn_dendritic_ensure_buffers (DnDendritic *self, DnBackend *be, int batch);
/* Back through layers ..first of copy c from dy, the gradient of its last output
 * (written at `last`, or in its slot when NULL); ADDS into dx (may be NULL), into its
 * parameters' gradients and into the douts of its layers before, which the caller zeroed. */
void _dn_dendritic_chain_backward (DnDendritic *self, int c, int first, DnCtx *ctx, int batch,
                                   const DnTensor *x, const float *dy, const float *last,
                                   DnTensor *dx);

G_END_DECLS
