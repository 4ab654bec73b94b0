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

/* ---- Perforated backpropagation (dn-layer-candidate.c) ----
 *
 * In a PB run the newest dendrite of every node is, during a dendrite phase, a
 * candidate that learns to follow its neuron's remaining error, not the loss, while
 * everything else stays frozen. The modes say what backward does:
 *   GD:           every copy gets the loss gradient and passes it to the input (default);
 *   PB_CANDIDATE: the loss gradient reaches the node's input through the neuron module
 *                 only and reaches no dendrite; the candidate's gradient comes from
 *                 dn_dendritic_candidate_backward;
 *   PB_NEURON:    the neuron module and the output weights get the loss gradient, the
 *                 input only through the neuron module (the "perforation"); the
 *                 dendrites get theirs, without passing it on, only when learn_live.
 * PB modes run the copies one by one (no fused first layer); all compute the same
 * forward function. A node in a PB mode must keep its channels apart (see
 * dn_dendritic_candidate_check). */
typedef enum {
    DN_DENDRITIC_GD,
    DN_DENDRITIC_PB_CANDIDATE,
    DN_DENDRITIC_PB_NEURON,
} DnDendriticMode;

void dn_dendritic_set_mode (DnLayer *l, DnDendriticMode mode, gboolean learn_live);
DnDendriticMode dn_dendritic_mode (const DnLayer *l);
/* Whether parameter p of the node belongs to a dendrite (its layers or cascade
 * weights), as opposed to the neuron module or the output weights. */
gboolean dn_dendritic_is_dendrite_param (const DnLayer *l, int p);
/* The candidate's parameters and buffers (the newest dendrite's layers and its row of
 * cascade weights), as indices into l->params; returns how many. */
int dn_dendritic_candidate_params (const DnLayer *l, int idx[DN_LAYER_MAX_PARAMS]);
/* FALSE, naming the layer, where the module mixes channels (a layer norm), so a
 * channel's candidate weights cannot be kept apart. */
gboolean dn_dendritic_candidate_check (const DnLayer *l, GError **error);
/* A snapshot of the candidate: every parameter of dn_dendritic_candidate_params in
 * order, whole; `size` floats. save_channel copies the part of channel c (its rows,
 * and its column of the cascade weights) from the layer into snap; load copies all of
 * snap into the layer. snap is host memory; be is the network's backend. */
size_t dn_dendritic_candidate_size (const DnLayer *l);
void dn_dendritic_candidate_save_channel (DnLayer *l, DnBackend *be, int c, float *snap);
void dn_dendritic_candidate_load (DnLayer *l, DnBackend *be, const float *snap);
/* From the last forward and backward (in PB_CANDIDATE mode) of `batch` samples:
 * v (batch, C), the candidate's output s per channel, and e (batch, C), the loss
 * gradient at the module's output, each averaged (by_mean) or summed over a
 * channel's positions. Host memory. FALSE without a candidate or a forward. */
gboolean dn_dendritic_candidate_values (DnLayer *l, gboolean by_mean, int batch, float *v,
                                        float *e);
/* ADDS into the candidate's parameter gradients d f / d theta, given dv = d f / d v
 * (batch, C, host) for the v of dn_dendritic_candidate_values; x is the node's input
 * of that forward. Only the candidate's own layers and cascade row are touched. */
void dn_dendritic_candidate_backward (DnLayer *l, DnCtx *ctx, int batch, const DnTensor *x,
                                      const float *dv, gboolean by_mean);

/* The candidate objective on one batch, per channel c with the given means:
 *   cov_c = (1/B) sum_b (v_bc - mv_c) (e_bc - me_c)
 * and, normalised, r_c = cov_c / sqrt(var_v,c var_e,c) with the variances about
 * the same means (eps 1e-12 inside the root). score[c] = |cov_c| or |r_c|; returns
 * their sum. dv (may be NULL) receives d(sum)/d v (batch, C), the means held fixed. */
double dn_candidate_objective (int batch, int channels, const float *v, const float *e,
                               const double *mean_v, const double *mean_e, gboolean normalized,
                               double *score, float *dv);

G_END_DECLS
