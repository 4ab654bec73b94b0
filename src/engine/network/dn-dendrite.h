/* dn-dendrite.h: adding dendrites to a network (Perforated AI's design).
 *
 * A neuron module (a linear or conv layer, or a group such as conv + batch
 * norm) becomes a "dendritic" node holding k dendrites: copies of the module
 * whose outputs, through a forward function (sigmoid by default), feed later
 * dendrites through cascade weights and add to the module's output through
 * per-channel weights (see dn-layer-dendritic.c for the maths).
 *
 * The life of a run: dn_dendrite_wrap_network() turns the layers an
 * experiment selects into dendritic nodes with k = 0 (the network computes
 * exactly what it did); each switch calls dn_network_add_dendrites(), which
 * builds a network with k + 1 dendrites per module, copies every existing
 * weight and starts the new dendrite at N(0, 1) * init_multiplier with zero
 * output and cascade weights, so the function is unchanged at insertion.
 */
#pragma once

#include "dn-layer-dendritic.h"
#include "dn-network.h"

G_BEGIN_DECLS

/* The layer side of perforated backpropagation (correlation-trained dendrites), under
 * perforatedai 3.2.9's names in the "dendrites" section; the tracker reads
 * "perforated_backpropagation" and the phase rules. */
typedef struct {
    int initial_correlation_batches; /* batches that warm the running means up (100) */
    gboolean learn_dendrites_live;   /* installed dendrites keep learning (FALSE) */
    gboolean normalized_covariance;  /* Pearson r rather than the covariance (TRUE) */
    gboolean correlations_by_mean;   /* a conv channel's positions averaged, not summed (TRUE) */
    double candidate_grad_clipping;  /* clip each candidate gradient to +-this; 0 = off */
    int global_candidates;           /* candidates per node: 1 (the only one built) */
} DnPbSettings;

/* How an experiment chooses the layers that get dendrites. */
typedef struct {
    char **perforate_types; /* layer types that get dendrites (default linear, conv1d, conv2d) */
    char **perforate_names; /* layer names that get dendrites, whatever their type */
    char **track_names;     /* layers only tracked: never get dendrites */
    char **skip_names;      /* layers left alone */
    char ***groups;         /* NULL-terminated lists of consecutive layer names forming one
                               neuron module (e.g. {"conv1", "bn1"}) */
    DnAct forward_function; /* DN_ACT_SIGMOID, DN_ACT_TANH or DN_ACT_RELU */
    double init_multiplier; /* 0.01 (perforatedai: candidate_weight_initialization_multiplier) */
    DnPbSettings pb;
} DnDendriteSelection;

/* initial_correlation_batches 100, normalized_covariance and correlations_by_mean on,
 * the rest off, one candidate. */
extern const DnPbSettings dn_pb_settings_default;

void dn_dendrite_selection_init (DnDendriteSelection *sel);
void dn_dendrite_selection_clear (DnDendriteSelection *sel);
/* Reads the selection keys of an experiment's "dendrites" section: "perforate_types",
 * "perforate", "track", "skip", "groups", "forward_function", "init_multiplier", and
 * the PB settings of DnPbSettings. Other keys are left for the tracker. The PB
 * settings are written back only where they differ from their defaults. */
gboolean dn_dendrite_selection_from_json (JsonObject *obj, DnDendriteSelection *sel,
                                          GError **error);
void dn_dendrite_selection_to_json (const DnDendriteSelection *sel, JsonBuilder *b);
/* TRUE for the keys dn_dendrite_selection_from_json reads. */
gboolean dn_dendrite_selection_key (const char *key);

/* A new network description in which the selected layers are dendritic nodes with
 * k = 0. *warnings (may be NULL) receives plain-language warnings, e.g. a batch norm
 * left outside a group ("group it with conv1 in "groups" so each dendrite gets its own
 * normalisation"). Free the array with g_ptr_array_unref. */
JsonNode *dn_dendrite_wrap_network (JsonNode *desc, const DnDendriteSelection *sel,
                                    GPtrArray **warnings, GError **error);

/* A network like `net` with one more dendrite in every dendritic node; every
 * existing parameter and buffer is copied; the new dendrites are drawn from rng. */
DnNetwork *dn_network_add_dendrites (DnNetwork *net, DnRng *rng, GError **error);
/* Copies every parameter and buffer that exists in both networks under the same name
 * (and, for dendrites_to_top, the rows that exist in both). */
void dn_network_copy_weights (DnNetwork *dst, DnNetwork *src);

/* Starts dst from src's weights (`--init MODEL`): every parameter and buffer of dst
 * takes src's of the same name, or, for the neuron module of a dendritic node (k = 0),
 * the plain layer's ("fc1.main_module.weight" from "fc1.weight"; a group's layers in
 * order), so a network trained without dendrites becomes the starting neurons of a
 * dendritic one. Every tensor of each side must have its counterpart with the same
 * shape; otherwise nothing is copied and the error names the first mismatch (what:
 * src's file, for messages). A src with more dendrite sets than dst is refused. */
gboolean dn_network_init_from (DnNetwork *dst, DnNetwork *src, const char *what, GError **error);

/* Dendrite sets in the network (the k of its dendritic nodes; 0 without any). */
int dn_network_dendrite_count (DnNetwork *net);
/* Number of dendritic nodes. */
int dn_network_n_dendritic (DnNetwork *net);
/* The spec's parameter counts: the clean (inference) count, which is what the
 * network holds, and the reference library's count, which also counts the old
 * dendrite-to-neuron matrices and the leftover candidate matrix. */
int64_t dn_network_clean_param_count (DnNetwork *net);
int64_t dn_network_reference_param_count (DnNetwork *net);

G_END_DECLS
