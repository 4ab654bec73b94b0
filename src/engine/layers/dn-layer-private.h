/* dn-layer-private.h: the layer classes, for the registry in dn-layer.c.
 *
 * The settings, defaults, shapes and initialisation of every layer kind (and
 * the loss definitions) are specified in docs/layers.md: implement exactly that. */
#pragma once

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

G_END_DECLS
