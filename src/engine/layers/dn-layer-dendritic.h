/* dn-layer-dendritic.h: the dendritic node, a layer kind (dn-layer-dendritic.c).
 *
 * A dendritic node holds a neuron module and its k dendrites (dn-dendrite.h
 * says how a network gets them). These are the calls the network, the tracker
 * and the app make on one node; for another layer kind they answer -1 or NULL
 * where noted.
 */
#pragma once

#include "dn-layer.h"

G_BEGIN_DECLS

/* The most dendrites a node may hold. */
#define DN_DENDRITE_MAX 32

/* Dendritic nodes: k (-1 for another layer), channels, the neuron module's params. */
int dn_dendritic_count (const DnLayer *l);
int dn_dendritic_channels (const DnLayer *l);
int64_t dn_dendritic_neuron_params (const DnLayer *l);
/* Whether a dendritic node runs the first layers of its k + 1 copies as one convolution
 * (the default, where the module starts with a convolution without groups) or one copy
 * after the other; both compute the same function, this is for comparing them. Not
 * between a forward and its backward. */
void dn_dendritic_set_fused (DnLayer *l, gboolean fused);
/* The forward-function outputs s_i (batch, ...) of dendrite i from the last forward. */
const float *dn_dendritic_outputs (const DnLayer *l, int i, int *batch, size_t *n_per_sample);

/* How well the newest dendrite set follows its neuron's remaining error: per
 * output channel, the Pearson correlation over batch and positions between the
 * set's output s and g, the loss gradient at the module's output (the error the
 * neurons leave), as |r| averaged over channels; in [0, 1]. From the last
 * forward and a g of the same batch; NaN without dendrites. */
double dn_dendritic_correlation (const DnLayer *l, const float *g, int batch);

const char *dn_dendrite_act_name (DnAct act);
gboolean dn_dendrite_act_from_name (const char *name, DnAct *act);
/* A dendrite's forward function ("sigmoid", "tanh" or "relu") read from `key`. */
gboolean dn_dendrite_act_read (DnFieldReader *r, const char *key, DnAct *act);
/* Initialises a fresh dendrite (its layers' buffers as at creation, parameters
 * N(0, 1) * multiplier). */
void dn_dendrite_init_copy (DnLayer **layers, int n, DnRng *rng, float multiplier);

G_END_DECLS
